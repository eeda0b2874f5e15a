//! Splits an interchange into segments and elements with the separators its ISA declares:
//! the element separator at byte 3, the repetition separator in ISA11 (version 00402 and later),
//! the component separator in ISA16 and the segment terminator right after it. A byte-order mark,
//! whitespace before the ISA and line breaks after each terminator are tolerated.

use memchr::memchr;

/// Whether `byte` occurs in `bytes`: a plain loop, faster than memchr on a few bytes.
pub fn has(bytes: &[u8], byte: u8) -> bool {
    bytes.iter().any(|b| *b == byte)
}

/// The delimiters of one interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub element: u8,
    pub component: u8,
    /// `None` before version 00402, where ISA11 is the standards identifier `U`.
    pub repetition: Option<u8>,
    pub segment: u8,
}

impl Separators {
    /// What this pack writes when it starts an interchange of its own.
    pub fn standard(version_00501: bool) -> Self {
        Separators { element: b'*', component: b'>', repetition: version_00501.then_some(b'^'), segment: b'~' }
    }
}

/// One segment, from its id to its terminator (exclusive). `offset` is the byte where it starts
/// in the input. Elements are split when read: holding them costs no allocation per segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub offset: usize,
    pub raw: &'a [u8],
    pub separator: u8,
}

/// The elements of a segment, id first.
pub struct Elements<'a> {
    raw: &'a [u8],
    from: usize,
    separator: u8,
    done: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let from = self.from;
        // Elements are a few bytes long: a plain loop beats memchr's setup.
        match self.raw[from..].iter().position(|b| *b == self.separator) {
            Some(i) => {
                self.from = from + i + 1;
                Some(&self.raw[from..from + i])
            }
            None => {
                self.done = true;
                Some(&self.raw[from..])
            }
        }
    }
}

impl<'a> Segment<'a> {
    pub fn new(offset: usize, raw: &'a [u8], separator: u8) -> Self {
        Segment { offset, raw, separator }
    }
    pub fn elements(&self) -> Elements<'a> {
        Elements { raw: self.raw, from: 0, separator: self.separator, done: false }
    }
    pub fn id(&self) -> &'a [u8] {
        &self.raw[..self.raw.iter().position(|b| *b == self.separator).unwrap_or(self.raw.len())]
    }
    /// Element `n` (1-based, as X12 numbers them), empty when absent.
    pub fn get(&self, n: usize) -> &'a [u8] {
        self.elements().nth(n).unwrap_or(b"")
    }
    /// Element `n` as text with the ISA's padding removed.
    pub fn text(&self, n: usize) -> &'a str {
        std::str::from_utf8(self.get(n)).unwrap_or("").trim()
    }
}

/// Why an input is not an interchange at all: nothing can be acknowledged, not even with a TA1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnInterchange(pub String);

/// The ISA as read by counting its 16 element separators, and where its terminator sits.
#[derive(Debug)]
pub struct Isa<'a> {
    pub separators: Separators,
    pub segment: Segment<'a>,
    /// Offset of the ISA's first byte (after any BOM and leading whitespace).
    pub start: usize,
    /// Bytes from "ISA" to the terminator inclusive: 106 in a well-formed interchange.
    pub length: usize,
}

/// Finds the ISA and reads the separators from it.
pub fn read_isa(input: &[u8]) -> Result<Isa<'_>, NotAnInterchange> {
    let mut start = 0;
    if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        start = 3;
    }
    while start < input.len() && input[start].is_ascii_whitespace() {
        start += 1;
    }
    let rest = &input[start..];
    if !rest.starts_with(b"ISA") {
        let shown: String = String::from_utf8_lossy(&rest[..rest.len().min(16)]).into_owned();
        return Err(NotAnInterchange(format!("no ISA segment at byte {start}: the input starts with {shown:?}")));
    }
    if rest.len() < 4 {
        return Err(NotAnInterchange("the ISA segment is cut short after \"ISA\"".into()));
    }
    let element = rest[3];
    if element.is_ascii_alphanumeric() || element.is_ascii_whitespace() && element != b'\t' {
        return Err(NotAnInterchange(format!("ISA byte 3 ({:?}) cannot be an element separator", element as char)));
    }
    // ISA16 follows the 16th element separator; the segment terminator follows ISA16.
    let mut seen = 0;
    let mut at = 3;
    while seen < 16 {
        match memchr(element, &rest[at..]) {
            Some(i) => {
                at += i;
                seen += 1;
                if seen < 16 {
                    at += 1;
                }
            }
            None => {
                return Err(NotAnInterchange(format!(
                    "the ISA segment has {seen} element separators ({:?}) where 16 are needed",
                    element as char
                )))
            }
        }
    }
    if at + 2 >= rest.len() {
        return Err(NotAnInterchange("the interchange ends inside the ISA segment (no ISA16 or terminator)".into()));
    }
    let component = rest[at + 1];
    let segment = rest[at + 2];
    let isa = Segment::new(start, &rest[..at + 2], element);
    let version = isa.get(12);
    let repetition = if version >= &b"00402"[..] { isa.get(11).first().copied() } else { None };
    Ok(Isa {
        separators: Separators { element, component, repetition, segment },
        segment: isa,
        start,
        length: at + 3,
    })
}

/// What the split noticed besides the segments.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Padded {
    /// Segments that began after more than one line break: spaces, tabs, blank lines.
    pub count: usize,
    /// Where the first of them starts.
    pub first: Option<usize>,
    /// Where something other than whitespace follows the IEA (another interchange, or junk).
    pub after_iea: Option<usize>,
}

/// Splits everything after the ISA into segments. Empty segments (a terminator followed by
/// another, or trailing line breaks) are skipped. Whitespace before a segment is skipped too;
/// a single line break is how many senders end segments, anything more is counted in `Padded`.
/// The split ends at the IEA.
pub fn segments<'a>(input: &'a [u8], isa: &Isa<'a>) -> (Vec<Segment<'a>>, Padded) {
    let sep = isa.separators;
    let mut out = Vec::with_capacity(input.len() / 40 + 1);
    let mut padded = Padded::default();
    out.push(isa.segment.clone());
    let mut at = isa.start + isa.length;
    while at < input.len() {
        let from = at;
        while at < input.len() && is_filler(input[at], sep) {
            at += 1;
        }
        let gap = &input[from..at];
        let plain = matches!(gap, b"" | b"\n" | b"\r\n" | b"\r");
        if !plain && at < input.len() {
            padded.count += 1;
            padded.first.get_or_insert(at);
        }
        if at >= input.len() {
            break;
        }
        let end = memchr(sep.segment, &input[at..]).map(|i| at + i).unwrap_or(input.len());
        let raw = &input[at..end];
        if !raw.is_empty() {
            let segment = Segment::new(at, raw, sep.element);
            out.push(segment);
            if segment.id() == b"IEA" {
                let next = input[(end + 1).min(input.len())..].iter().position(|b| !b.is_ascii_whitespace() && *b != sep.segment);
                padded.after_iea = next.map(|i| end + 1 + i);
                break;
            }
        }
        at = end + 1;
    }
    (out, padded)
}

/// Whitespace that cannot be data here: not a separator of this interchange.
fn is_filler(b: u8, sep: Separators) -> bool {
    b != sep.segment && b != sep.element && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}


#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*WALMART        *ZZ*BACKWORKS      *240301*1200*^*00501*000000101*1*P*>~";

    #[test]
    fn separators_come_from_the_isa() {
        let isa = read_isa(ISA.as_bytes()).unwrap();
        assert_eq!(isa.length, 106);
        assert_eq!(isa.separators, Separators { element: b'*', component: b'>', repetition: Some(b'^'), segment: b'~' });
        let other = ISA.replace('*', "|").replace('~', "\n").replace("^|00501", "U|00401");
        let isa = read_isa(other.as_bytes()).unwrap();
        assert_eq!(isa.separators, Separators { element: b'|', component: b'>', repetition: None, segment: b'\n' });
    }

    #[test]
    fn bom_and_line_breaks_are_tolerated() {
        let text = format!("\u{feff}{ISA}\r\nGS*PO*A*B*20240301*1200*1*X*005010~\r\n\r\nGE*0*1~\nIEA*1*000000101~\n");
        let isa = read_isa(text.as_bytes()).unwrap();
        let (segs, padded) = segments(text.as_bytes(), &isa);
        assert_eq!(padded.count, 1, "the blank line before GE");
        let ids: Vec<_> = segs.iter().map(|s| std::str::from_utf8(s.id()).unwrap()).collect();
        assert_eq!(ids, ["ISA", "GS", "GE", "IEA"]);
        assert_eq!(segs[1].text(6), "1");
    }

    #[test]
    fn indentation_is_skipped_and_counted() {
        let text = format!("{ISA}\n  GS*PO*A*B*20240301*1200*1*X*005010~\n    GE*0*1~\nIEA*1*000000101~\n");
        let isa = read_isa(text.as_bytes()).unwrap();
        let (segs, padded) = segments(text.as_bytes(), &isa);
        let ids: Vec<_> = segs.iter().map(|s| std::str::from_utf8(s.id()).unwrap()).collect();
        assert_eq!(ids, ["ISA", "GS", "GE", "IEA"]);
        assert_eq!(padded, Padded { count: 2, first: Some(text.find("GS").unwrap()), after_iea: None });
    }

    #[test]
    fn garbage_is_named() {
        assert!(read_isa(b"hello").unwrap_err().0.contains("no ISA segment at byte 0"));
        assert!(read_isa(b"ISA*00*").unwrap_err().0.contains("element separators"));
    }
}
