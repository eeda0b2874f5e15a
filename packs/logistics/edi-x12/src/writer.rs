//! Writes X12: segments with trailing empty elements trimmed, and the ISA/GS/GE/IEA envelope
//! around them with fixed-width ISA fields and the current UTC date and time.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::tokens::Separators;

/// UTC now as (CCYYMMDD, HHMM).
pub fn now() -> (String, String) {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}{month:02}{day:02}"), format!("{:02}{:02}", rest / 3600, rest % 3600 / 60))
}

/// Accumulates segments; counts them for SE01.
pub struct Writer {
    pub sep: Separators,
    pub out: String,
    /// Segments written since the last `start_count`.
    pub counted: usize,
}

impl Writer {
    pub fn new(sep: Separators) -> Self {
        Writer { sep, out: String::with_capacity(1024), counted: 0 }
    }

    /// Removes every separator from a value so it cannot break the structure.
    pub fn clean(&self, value: &str) -> String {
        let s = self.sep;
        value
            .chars()
            .filter(|c| {
                let b = *c as u8;
                !c.is_ascii() || b != s.element && b != s.component && b != s.segment && Some(b) != s.repetition
            })
            .collect()
    }

    /// Writes one segment from already clean element values.
    pub fn segment<S: AsRef<str>>(&mut self, id: &str, elements: &[S]) {
        let used = elements.iter().rposition(|e| !e.as_ref().is_empty()).map_or(0, |i| i + 1);
        self.out.push_str(id);
        for e in &elements[..used] {
            self.out.push(self.sep.element as char);
            self.out.push_str(e.as_ref());
        }
        self.out.push(self.sep.segment as char);
        self.counted += 1;
    }
}

/// The envelope fields of an interchange we send.
pub struct Envelope<'a> {
    pub sender_qualifier: &'a str,
    pub sender: &'a str,
    pub receiver_qualifier: &'a str,
    pub receiver: &'a str,
    /// "00401" or "00501".
    pub version: &'a str,
    pub control: u64,
    pub usage: &'a str,
    pub ack_requested: bool,
}

fn fixed(value: &str, width: usize) -> String {
    let mut s: String = value.chars().take(width).collect();
    while s.len() < width {
        s.push(' ');
    }
    s
}

pub fn isa(w: &mut Writer, e: &Envelope<'_>, date: &str, time: &str) {
    let sep = w.sep;
    let repetition = sep.repetition.map_or("U".to_owned(), |r| (r as char).to_string());
    let fields = [
        "00".to_owned(), fixed("", 10), "00".to_owned(), fixed("", 10),
        fixed(e.sender_qualifier, 2), fixed(e.sender, 15), fixed(e.receiver_qualifier, 2), fixed(e.receiver, 15),
        date[2..].to_owned(), time.to_owned(), repetition, fixed(e.version, 5), format!("{:09}", e.control),
        if e.ack_requested { "1" } else { "0" }.to_owned(), fixed(e.usage, 1), (sep.component as char).to_string(),
    ];
    // The ISA keeps every field, even empty ones: it is fixed width.
    w.out.push_str("ISA");
    for f in fields {
        w.out.push(sep.element as char);
        w.out.push_str(&f);
    }
    w.out.push(sep.segment as char);
}

pub fn iea(w: &mut Writer, groups: usize, control: u64) {
    w.segment("IEA", &[groups.to_string(), format!("{control:09}")]);
}
