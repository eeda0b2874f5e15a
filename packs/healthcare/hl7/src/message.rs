//! HL7 v2 messages: separators read from MSH-1/MSH-2, segments split on CR (LF and CRLF
//! tolerated), fields split lazily into repetitions, components and sub-components, escapes
//! (\F\ \S\ \T\ \R\ \E\ \Xhh..\ \.br\) decoded at the leaves only, so delimiters inside escaped
//! text never split anything.

use std::borrow::Cow;
use std::fmt;

/// The delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub field: u8,
    pub component: u8,
    pub repetition: u8,
    pub escape: Option<u8>,
    pub subcomponent: u8,
}

impl Default for Separators {
    fn default() -> Self {
        Separators { field: b'|', component: b'^', repetition: b'~', escape: Some(b'\\'), subcomponent: b'&' }
    }
}

impl Separators {
    /// MSH-2 as written back into a message.
    pub fn encoding_characters(&self) -> String {
        let mut out = String::new();
        for b in [Some(self.component), Some(self.repetition), self.escape, Some(self.subcomponent)].into_iter().flatten() {
            out.push(b as char);
        }
        out
    }
}

/// Why a text is not an HL7 v2 message; `segment` and `field` say where (1-based, HL7 numbering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub segment: Option<(String, usize)>,
    pub field: Option<usize>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.segment, self.field) {
            (Some((id, n)), Some(field)) => write!(f, "{} (segment {id} #{n}, field {id}-{field})", self.message),
            (Some((id, n)), None) => write!(f, "{} (segment {id} #{n})", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

fn error(message: impl Into<String>, segment: Option<(&str, usize)>, field: Option<usize>) -> ParseError {
    ParseError { message: message.into(), segment: segment.map(|(id, n)| (id.to_owned(), n)), field }
}

/// One segment: its id and its raw fields, numbered as HL7 numbers them (`fields[1]` is X-1;
/// for MSH, `fields[1]` is the field separator and `fields[2]` the encoding characters).
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub id: &'a str,
    pub fields: Vec<&'a str>,
}

impl<'a> Segment<'a> {
    /// The raw text of field `n` ("" when absent).
    pub fn raw(&self, n: usize) -> &'a str {
        self.fields.get(n).copied().unwrap_or("")
    }
}

/// A parsed message borrowing the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub separators: Separators,
    pub segments: Vec<Segment<'a>>,
}

/// Splits `text` on `sep` without allocating.
fn split(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    text.split(sep as char)
}

impl<'a> Message<'a> {
    /// Parses a message. Only the structure is checked here (an MSH first, sane separators,
    /// segment ids of three upper-case letters or digits); what the content must hold is the
    /// caller's business (see `intake`).
    pub fn parse(text: &'a str) -> Result<Message<'a>, ParseError> {
        let text = text.trim_start_matches(|c: char| c == '\r' || c == '\n' || c == ' ' || c == '\u{feff}');
        if !text.starts_with("MSH") {
            return Err(error("the message does not start with an MSH segment", None, None));
        }
        let bytes = text.as_bytes();
        if bytes.len() < 8 {
            return Err(error("MSH is too short to hold MSH-1 and MSH-2", Some(("MSH", 1)), Some(2)));
        }
        let field = bytes[3];
        if field.is_ascii_alphanumeric() || !field.is_ascii_graphic() {
            return Err(error(format!("MSH-1 {:?} cannot be a field separator", field as char), Some(("MSH", 1)), Some(1)));
        }
        let encoding_end = bytes[4..].iter().position(|&b| b == field || b == b'\r' || b == b'\n').map(|p| p + 4).unwrap_or(bytes.len());
        let encoding = &bytes[4..encoding_end];
        if !(2..=5).contains(&encoding.len()) {
            return Err(error(format!("MSH-2 must hold 2 to 5 encoding characters, found {}", encoding.len()), Some(("MSH", 1)), Some(2)));
        }
        let mut seen = vec![field];
        for &b in encoding {
            if seen.contains(&b) || b.is_ascii_alphanumeric() || !b.is_ascii_graphic() {
                return Err(error(format!("MSH-2 encoding character {:?} is repeated or not a delimiter", b as char), Some(("MSH", 1)), Some(2)));
            }
            seen.push(b);
        }
        let separators = Separators {
            field,
            component: encoding[0],
            repetition: encoding[1],
            escape: encoding.get(2).copied(),
            // Two encoding characters (no escape, no sub-components) happen in old feeds.
            subcomponent: encoding.get(3).copied().unwrap_or(b'&'),
        };
        let mut segments = Vec::with_capacity(8);
        for (index, line) in text.split(|c| c == '\r' || c == '\n').filter(|l| !l.trim().is_empty()).enumerate() {
            let id = line.get(..3).unwrap_or(line);
            if id.len() != 3 || !id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                let shown: String = line.chars().take(12).collect();
                return Err(error(format!("segment {} starts with {shown:?}, not a three-letter segment id", index + 1), None, None));
            }
            if line.len() > 3 && line.as_bytes()[3] != field {
                return Err(error(format!("segment id {id} is not followed by the field separator"), Some((id, index + 1)), None));
            }
            let fields: Vec<&str> = if id == "MSH" {
                if line.len() < 4 {
                    return Err(error("MSH without a field separator", Some((id, index + 1)), Some(1)));
                }
                let mut f = vec![id, &line[3..4]];
                f.extend(split(&line[4..], field));
                f
            } else {
                split(line, field).collect()
            };
            segments.push(Segment { id, fields });
        }
        if segments.iter().skip(1).any(|s| s.id == "MSH") {
            return Err(error("a second MSH segment: one message per frame", None, None));
        }
        Ok(Message { separators, segments })
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Every segment with this id, in order.
    pub fn segments_named<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        self.segments.iter().filter(move |s| s.id == id)
    }

    /// MSH-n as decoded text (first repetition, first component).
    pub fn msh(&self, n: usize) -> Cow<'a, str> {
        match self.segments.first() {
            Some(msh) if n == 1 => Cow::Owned((msh.raw(1)).to_owned()),
            Some(msh) if n == 2 => Cow::Borrowed(msh.raw(2)),
            Some(msh) => self.value(msh, n, 0, 1, 1),
            None => Cow::Borrowed(""),
        }
    }

    /// Field `field`, repetition `rep` (0-based), component `comp` and sub-component `sub`
    /// (1-based, as HL7 writes PID-5.1.1), decoded; "" when absent.
    pub fn value(&self, segment: &Segment<'a>, field: usize, rep: usize, comp: usize, sub: usize) -> Cow<'a, str> {
        let raw = self.raw_part(segment.raw(field), rep, comp, sub);
        self.unescape(raw)
    }

    /// The raw text of one repetition/component/sub-component of a raw field.
    pub fn raw_part(&self, field: &'a str, rep: usize, comp: usize, sub: usize) -> &'a str {
        let s = &self.separators;
        let r = split(field, s.repetition).nth(rep).unwrap_or("");
        let c = split(r, s.component).nth(comp.saturating_sub(1)).unwrap_or("");
        split(c, s.subcomponent).nth(sub.saturating_sub(1)).unwrap_or("")
    }

    /// The repetitions of a raw field (an empty field has none).
    pub fn repetitions(&self, field: &'a str) -> Vec<&'a str> {
        if field.is_empty() {
            return Vec::new();
        }
        split(field, self.separators.repetition).collect()
    }

    /// Component `comp` (1-based) of one raw repetition, decoded.
    pub fn component(&self, repetition: &'a str, comp: usize) -> Cow<'a, str> {
        let c = split(repetition, self.separators.component).nth(comp.saturating_sub(1)).unwrap_or("");
        self.unescape(split(c, self.separators.subcomponent).next().unwrap_or(""))
    }

    /// Decodes the escape sequences of one leaf value. An unknown or unterminated escape is kept
    /// as written: losing text a sender meant is worse than showing a backslash.
    pub fn unescape(&self, raw: &'a str) -> Cow<'a, str> {
        let Some(esc) = self.separators.escape else { return Cow::Borrowed(raw) };
        if !raw.as_bytes().contains(&esc) {
            return Cow::Borrowed(raw);
        }
        let s = &self.separators;
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find(esc as char) {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find(esc as char) else {
                out.push_str(&rest[start..]);
                return Cow::Owned(out);
            };
            let code = &after[..end];
            match code {
                "F" => out.push(s.field as char),
                "S" => out.push(s.component as char),
                "T" => out.push(s.subcomponent as char),
                "R" => out.push(s.repetition as char),
                "E" => out.push(esc as char),
                ".br" => out.push('\n'),
                "H" | "N" => {} // highlighting on/off: no meaning in plain text
                _ if code.len() > 1 && code.starts_with('X') && code.len() % 2 == 1 && code[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {
                    let bytes: Vec<u8> = (1..code.len()).step_by(2).filter_map(|i| u8::from_str_radix(&code[i..i + 2], 16).ok()).collect();
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
                _ => {
                    out.push(esc as char);
                    out.push_str(code);
                    out.push(esc as char);
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

/// Encodes text for a field of a message with these separators (the reverse of `unescape`).
pub fn escape(text: &str, s: &Separators) -> String {
    let Some(esc) = s.escape else { return text.replace(|c: char| c == '\r' || c == '\n', " ") };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = match c as u32 {
            b if b == esc as u32 => Some("E"),
            b if b == s.field as u32 => Some("F"),
            b if b == s.component as u32 => Some("S"),
            b if b == s.subcomponent as u32 => Some("T"),
            b if b == s.repetition as u32 => Some("R"),
            0x0d | 0x0a => Some(".br"),
            _ => None,
        };
        match code {
            Some(code) => {
                out.push(esc as char);
                out.push_str(code);
                out.push(esc as char);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &str = "MSH|^~\\&|EPIC|HOSP|BW|GW|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5.1\rPID|1||123^^^HOSP^MR~456^^^SSA^SS||Doe^John^Q\\T\\R||19800101|M\r";

    #[test]
    fn separators_and_fields() {
        let m = Message::parse(ADT).unwrap();
        assert_eq!(m.separators, Separators::default());
        assert_eq!(m.msh(9), "ADT");
        assert_eq!(m.msh(10), "MSG1");
        assert_eq!(m.msh(12), "2.5.1");
        let pid = m.segment("PID").unwrap();
        assert_eq!(m.repetitions(pid.raw(3)).len(), 2);
        assert_eq!(m.value(pid, 3, 1, 4, 1), "SSA");
        assert_eq!(m.value(pid, 5, 0, 3, 1), "Q&R");
    }

    #[test]
    fn custom_separators_lf_and_crlf() {
        let m = Message::parse("MSH#*!/$#A#B\r\nPID#1##7*x$y!8\nOBX#1").unwrap();
        assert_eq!(m.separators.field, b'#');
        let pid = m.segment("PID").unwrap();
        assert_eq!(m.value(pid, 3, 0, 2, 2), "y");
        assert_eq!(m.value(pid, 3, 1, 1, 1), "8");
        assert_eq!(m.segments.len(), 3);
    }

    #[test]
    fn escapes_round_trip() {
        let s = Separators::default();
        let text = "a|b^c&d~e\\f\ng";
        let encoded = escape(text, &s);
        let m = Message::parse("MSH|^~\\&|x").unwrap();
        assert_eq!(m.unescape(&encoded), text);
        assert_eq!(m.unescape("\\X4869\\ \\Z\\ \\bad"), "Hi \\Z\\ \\bad");
    }

    #[test]
    fn errors_say_where() {
        assert!(Message::parse("PID|1").unwrap_err().message.contains("MSH"));
        let e = Message::parse("MSH|^^\\&|x").unwrap_err();
        assert_eq!(e.field, Some(2));
        let e = Message::parse("MSH|^~\\&|x\rpid|1").unwrap_err();
        assert!(e.message.contains("segment 2"), "{e}");
    }
}
