//! The segments of each version: every element's JSON name, position id (PER01), X12 data
//! element reference number (where known), type, length bounds and usage, from the generated
//! tables (`definitions/*.json`). A mandatory element that is empty is reported as IK4/AK4 code 1.

use crate::standard::Version;

/// How an element's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Alphanumeric string.
    Text,
    /// Identifier (a code).
    Id,
    /// Date, CCYYMMDD.
    Date,
    /// Time, HHMM[SS[d..]].
    Time,
    /// Integer with an implied number of decimals.
    Numeric,
    /// Decimal number with an optional explicit point.
    Decimal,
    /// Binary data (BIN segments): not checked.
    Binary,
    /// Composite: components separated by the component separator.
    Composite,
}

/// One element of a segment.
#[derive(Debug)]
pub struct Element {
    /// Position id: "PER01"; a composite's components "REF04-01".
    pub id: &'static str,
    pub name: &'static str,
    /// X12 data element reference number, reported in IK402/AK402 ("C030" style ids report none).
    pub reference: &'static str,
    pub kind: Kind,
    pub min: usize,
    pub max: usize,
    pub mandatory: bool,
    /// A composite's components, in order; empty for simple elements.
    pub components: &'static [Element],
}

/// One segment's elements, in position order (index 0 is element 01).
#[derive(Debug)]
pub struct SegmentDef {
    pub id: &'static str,
    pub name: &'static str,
    /// Elements up to this position include every mandatory one: past it, absent ones need no check.
    pub required: usize,
    pub elements: &'static [Element],
}

/// A segment id (two or three of A-Z, 0-9) as a small number: a direct index, no hashing.
pub fn code(id: &[u8]) -> Option<usize> {
    fn digit(b: u8) -> Option<usize> {
        match b {
            b'A'..=b'Z' => Some(usize::from(b - b'A')),
            b'0'..=b'9' => Some(26 + usize::from(b - b'0')),
            _ => None,
        }
    }
    match id {
        [a, b] => Some((digit(*a)? * 37 + digit(*b)?) * 37 + 36),
        [a, b, c] => Some((digit(*a)? * 37 + digit(*b)?) * 37 + digit(*c)?),
        _ => None,
    }
}

/// The definition of segment `id` in `version`, when that version's sets use it.
pub fn segment(version: Version, id: &[u8]) -> Option<&'static SegmentDef> {
    segment_at(version, code(id))
}

/// `segment` by the id's `code`, for a caller that already has it.
pub fn segment_at(version: Version, code: Option<usize>) -> Option<&'static SegmentDef> {
    let i = *version.index().get(code?)?;
    version.segments().get(usize::from(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard::ALL;

    #[test]
    fn names_are_unique_per_segment_and_lengths_ordered() {
        for version in ALL {
            for def in version.segments() {
                let mut names: Vec<_> = def.elements.iter().map(|e| e.name).collect();
                names.sort();
                let before = names.len();
                names.dedup();
                assert_eq!(before, names.len(), "duplicate element name in {} {}", version.code(), def.id);
                assert!(def.elements.iter().all(|e| e.min <= e.max), "min > max in {}", def.id);
                for (i, e) in def.elements.iter().enumerate() {
                    assert_eq!(e.id, format!("{}{:02}", def.id, i + 1));
                }
            }
        }
        assert_eq!(segment(Version::V004010, b"BEG").unwrap().elements[2].name, "po_number");
        assert!(segment(Version::V004010, b"XYZ").is_none());
    }

    #[test]
    fn the_segments_the_issue_named_are_complete() {
        let count = |v, id: &[u8]| segment(v, id).unwrap().elements.len();
        assert_eq!(count(Version::V004010, b"PER"), 9);
        assert_eq!(count(Version::V004010, b"ACK"), 29);
        assert_eq!(count(Version::V004010, b"TD5"), 15);
        assert_eq!(count(Version::V004010, b"CSH"), 10);
        let td5 = segment(Version::V004010, b"TD5").unwrap();
        assert_eq!(td5.elements[8].name, "transit_direction_code");
        assert_eq!(td5.elements[11].name, "service_level_code");
        assert_eq!(segment(Version::V005010, b"REF").unwrap().elements[1].max, 50);
        assert_eq!(segment(Version::V004010, b"REF").unwrap().elements[1].max, 30);
    }
}
