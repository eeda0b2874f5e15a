//! FIX on the wire: cutting a TCP byte stream into messages, splitting a message into its
//! `tag=value` fields, and writing one back with BodyLength and CheckSum.
//!
//! Framing follows QuickFIX's parser, because the acceptance scripts test its exact behaviour:
//! skip to `8=`, read BodyLength, jump that far, then take everything up to the next `\x0110=…\x01`.
//! A frame whose BodyLength or CheckSum is wrong, whose fields cannot be split, or whose first
//! fields are not 8, 9, 35 is *garbled*: the standard says ignore it (and a garbled Logon
//! ends the connection).

pub const SOH: u8 = 0x01;
/// A peer sending more than this without a complete message is not speaking FIX.
const MAX_FRAME: usize = 1 << 20;

/// One `tag=value` field. Tags are signed because a peer may send `-1=…` (rejected as invalid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub tag: i32,
    pub value: String,
}

impl Field {
    pub fn new(tag: i32, value: impl Into<String>) -> Field {
        Field { tag, value: value.into() }
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Accumulates bytes from a socket and hands out complete frames.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Where the bytes not yet handed out begin: frames are taken from the front without moving
    /// the rest each time (a read of a few hundred messages would move its bytes a few hundred times).
    start: usize,
}

/// What [`FrameReader::next_frame`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A candidate message, from `8=` through the CheckSum's SOH (still to be checked).
    Message(Vec<u8>),
    /// Bytes that cannot be a message (a BodyLength that is not a number); already dropped.
    Garbage(String),
}

impl FrameReader {
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received and not yet handed out.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn next_frame(&mut self) -> Option<Frame> {
        let rest = &self.buf[self.start..];
        let Some(begin) = find(rest, b"8=", 0) else {
            // Nothing here can start a message: keep at most the last byte (a '8' whose '=' is to come).
            self.start = self.buf.len().saturating_sub(1).max(self.start);
            return None;
        };
        self.start += begin;
        let buf = &self.buf[self.start..];
        let Some(length_at) = find(buf, b"\x019=", 0).map(|p| p + 3) else { return self.overflow() };
        let Some(length_end) = find(buf, &[SOH], length_at) else { return self.overflow() };
        let length = std::str::from_utf8(&buf[length_at..length_end]).ok().and_then(|s| s.parse::<usize>().ok());
        let Some(length) = length else {
            // QuickFIX drops everything it holds: there is no way to find the message's end.
            self.clear();
            return Some(Frame::Garbage("BodyLength is not a number".into()));
        };
        let body_end = length_end + 1 + length;
        if buf.len() < body_end {
            return self.overflow();
        }
        let Some(checksum_at) = find(buf, b"\x0110=", body_end.saturating_sub(1)) else { return self.overflow() };
        let Some(end) = find(buf, &[SOH], checksum_at + 4) else { return self.overflow() };
        let frame = buf[..=end].to_vec();
        self.start += end + 1;
        if self.start == self.buf.len() {
            self.clear();
        }
        Some(Frame::Message(frame))
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    fn overflow(&mut self) -> Option<Frame> {
        if self.pending() > MAX_FRAME {
            self.clear();
            return Some(Frame::Garbage(format!("more than {MAX_FRAME} bytes without a complete message")));
        }
        None
    }
}

/// Splits a frame into fields. `is_data(tag)` says whether a tag is a DATA field, whose value
/// may contain SOH and is as long as the LENGTH field before it says.
pub fn split_fields(frame: &[u8], is_data: impl Fn(i32) -> bool) -> Result<Vec<Field>, String> {
    let mut fields: Vec<Field> = Vec::with_capacity(24);
    let mut at = 0;
    while at < frame.len() {
        let eq = find(frame, b"=", at).ok_or("equal sign not found in field")?;
        let tag_text = std::str::from_utf8(&frame[at..eq]).map_err(|_| "field tag is not text")?;
        let tag: i32 = parse_int(tag_text).ok_or_else(|| format!("field tag {tag_text:?} is not a number"))?;
        let value_at = eq + 1;
        let declared = fields.last().filter(|_| is_data(tag)).and_then(|prev| prev.value.parse::<usize>().ok());
        let value_end = match declared {
            Some(len) if value_at + len < frame.len() && frame[value_at + len] == SOH => value_at + len,
            _ => find(frame, &[SOH], value_at).ok_or("SOH not found at end of field")?,
        };
        let value = &frame[value_at..value_end];
        // Nearly always ASCII, which from_utf8 checks fastest; anything else is read leniently.
        let value = match std::str::from_utf8(value) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(value).into_owned(),
        };
        fields.push(Field { tag, value });
        at = value_end + 1;
    }
    Ok(fields)
}

/// QuickFIX's integer syntax: an optional '-' and at least one digit; no '+', no spaces.
pub fn parse_int(text: &str) -> Option<i32> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

pub fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |sum, b| sum.wrapping_add(u32::from(*b))) % 256
}

/// Checks what makes a frame a message: 8, 9, 35 first, BodyLength and CheckSum right.
pub fn check_envelope(frame: &[u8], fields: &[Field]) -> Result<(), String> {
    let tags: Vec<i32> = fields.iter().take(3).map(|f| f.tag).collect();
    if tags != [8, 9, 35] {
        return Err(format!("the first fields are {tags:?}, not BeginString, BodyLength, MsgType"));
    }
    let last = fields.last().filter(|f| f.tag == 10).ok_or("CheckSum is not the last field")?;
    let body_start = find(frame, b"\x019=", 0).and_then(|p| find(frame, &[SOH], p + 1)).map(|p| p + 1).unwrap_or(0);
    let trailer_start = frame.len() - (last.value.len() + 4);
    let declared: usize = fields[1].value.parse().map_err(|_| "BodyLength is not a number")?;
    if trailer_start < body_start || trailer_start - body_start != declared {
        return Err(format!("BodyLength {declared} but the body has {} bytes", trailer_start.saturating_sub(body_start)));
    }
    let computed = checksum(&frame[..trailer_start]);
    match last.value.parse::<u32>() {
        Ok(sum) if sum == computed => Ok(()),
        _ => Err(format!("CheckSum {} but the message sums to {computed:03}", last.value)),
    }
}

/// Writes a message: `8=begin`, `9=` the length of `fields`, `fields` in the order given, `10=`.
pub fn encode<F: std::borrow::Borrow<Field>>(begin_string: &str, fields: &[F]) -> Vec<u8> {
    use std::io::Write;
    let mut body = Vec::with_capacity(256);
    for f in fields {
        let f = f.borrow();
        let _ = write!(body, "{}=", f.tag);
        body.extend_from_slice(f.value.as_bytes());
        body.push(SOH);
    }
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(format!("8={begin_string}\x019={}\x01", body.len()).as_bytes());
    out.extend_from_slice(&body);
    let sum = checksum(&out);
    out.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    out
}

/// The value of the first `tag` in a frame, without splitting it all (identifying a Logon).
pub fn peek(frame: &[u8], tag: &str) -> Option<String> {
    let needle = format!("\x01{tag}=");
    let at = find(frame, needle.as_bytes(), 0)? + needle.len();
    let end = find(frame, &[SOH], at)?;
    Some(String::from_utf8_lossy(&frame[at..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soh(text: &str) -> Vec<u8> {
        text.replace('|', "\x01").into_bytes()
    }

    #[test]
    fn frames_and_checks_a_message() {
        let msg = encode("FIX.4.4", &[Field::new(35, "0"), Field::new(34, "2")]);
        let mut reader = FrameReader::default();
        reader.push(b"junk");
        reader.push(&msg[..10]);
        assert_eq!(reader.next_frame(), None);
        reader.push(&msg[10..]);
        let Some(Frame::Message(frame)) = reader.next_frame() else { panic!("no frame") };
        let fields = split_fields(&frame, |_| false).unwrap();
        assert_eq!(check_envelope(&frame, &fields), Ok(()));
    }

    #[test]
    fn a_wrong_body_length_is_garbled() {
        let frame = soh("8=FIX.4.4|9=5|35=0|34=2|10=000|");
        let fields = split_fields(&frame, |_| false).unwrap();
        assert!(check_envelope(&frame, &fields).unwrap_err().contains("BodyLength"));
        assert!(split_fields(&soh("8=FIX.4.4|9=5|4x9=TW|"), |_| false).is_err());
    }
}
