//! The two X12 versions this pack reads and writes, each with its generated segment and set
//! tables (`generated/`, from `definitions/*.json`). A functional group's GS08 picks one; the
//! interchange envelope (ISA12) is independent of it.

use std::sync::OnceLock;

use crate::dictionary::{self, SegmentDef};
use crate::sets::SetDef;

#[path = "generated/v004010.rs"]
mod v004010;
#[path = "generated/v005010.rs"]
mod v005010;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V004010,
    V005010,
}

pub const ALL: [Version; 2] = [Version::V004010, Version::V005010];

impl Version {
    /// The version a GS08 names: "004010", "004010VICS", "005010X231A1" … (the standard's six
    /// digits, then any industry or implementation suffix).
    pub fn of_gs08(gs08: &str) -> Option<Version> {
        ALL.into_iter().find(|v| gs08.starts_with(v.code()))
    }
    pub fn code(self) -> &'static str {
        match self {
            Version::V004010 => "004010",
            Version::V005010 => "005010",
        }
    }
    pub fn segments(self) -> &'static [SegmentDef] {
        match self {
            Version::V004010 => v004010::SEGMENTS,
            Version::V005010 => v005010::SEGMENTS,
        }
    }
    pub fn sets(self) -> &'static [SetDef] {
        match self {
            Version::V004010 => v004010::SETS,
            Version::V005010 => v005010::SETS,
        }
    }
    /// `dictionary::code(id)` → index into `segments()`, built once.
    pub(crate) fn index(self) -> &'static [u16] {
        static INDEX: [OnceLock<Vec<u16>>; 2] = [OnceLock::new(), OnceLock::new()];
        INDEX[self as usize].get_or_init(|| {
            let mut index = vec![u16::MAX; 37 * 37 * 37];
            for (i, d) in self.segments().iter().enumerate() {
                index[dictionary::code(d.id.as_bytes()).expect("generated ids are valid")] = i as u16;
            }
            index
        })
    }
}
