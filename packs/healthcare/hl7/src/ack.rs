//! Acknowledgments: original mode (AA/AE/AR) and enhanced mode commit acknowledgments
//! (CA/CE/CR, sent as MSH-15 asks), with sender and receiver swapped, MSA-2 echoing MSH-10 and an
//! ERR segment in the layout of the message's version.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock;
use crate::message::{escape, Message, Separators};

/// Outcome of one message, before the mode turns it into MSA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored (or already stored: a resend).
    Accepted,
    /// Content error: the sender must fix the message (AE / CE).
    Error,
    /// Refused: unsupported version or type, or the buffer cannot commit (AR / CR).
    Rejected,
}

/// An HL7 table 0357 error with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Table 0357 code: 100 segment sequence, 101 required field missing, 102 data type,
    /// 103 table value not found, 200 unsupported message type, 201 unsupported event,
    /// 203 unsupported version, 205 duplicate key identifier (a control id reused for other
    /// content), 207 application internal error.
    pub code: u16,
    pub text: String,
    /// Segment id, segment sequence (1-based), field number.
    pub location: Option<(String, usize, usize)>,
}

impl Problem {
    pub fn new(code: u16, text: impl Into<String>, location: Option<(&str, usize, usize)>) -> Problem {
        Problem { code, text: text.into(), location: location.map(|(s, n, f)| (s.to_owned(), n, f)) }
    }

    fn code_text(&self) -> &'static str {
        match self.code {
            100 => "Segment sequence error",
            101 => "Required field missing",
            102 => "Data type error",
            103 => "Table value not found",
            200 => "Unsupported message type",
            201 => "Unsupported event code",
            202 => "Unsupported processing id",
            203 => "Unsupported version id",
            205 => "Duplicate key identifier",
            _ => "Application internal error",
        }
    }
}

/// What the ACK echoes from the message; read leniently so a broken message still gets an answer.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub separators: Separators,
    pub sending_app: String,
    pub sending_facility: String,
    pub receiving_app: String,
    pub receiving_facility: String,
    pub control_id: String,
    pub processing_id: String,
    pub version: String,
    pub trigger: String,
    pub accept_ack_type: String,
    pub app_ack_type: String,
}

impl Echo {
    /// From a parsed message (fields kept raw, so they are echoed exactly as sent).
    pub fn from_message(m: &Message) -> Echo {
        let msh = &m.segments[0];
        let part = |n: usize| m.raw_part(msh.raw(n), 0, 1, 1).to_owned();
        Echo {
            separators: m.separators,
            sending_app: msh.raw(3).to_owned(),
            sending_facility: msh.raw(4).to_owned(),
            receiving_app: msh.raw(5).to_owned(),
            receiving_facility: msh.raw(6).to_owned(),
            control_id: m.msh(10).into_owned(),
            processing_id: part(11),
            version: part(12),
            trigger: m.raw_part(msh.raw(9), 0, 2, 1).to_owned(),
            accept_ack_type: part(15),
            app_ack_type: part(16),
        }
    }

    /// Best effort from text that did not parse: the MSH line split on its own MSH-1.
    pub fn from_text(text: &str) -> Echo {
        let mut echo = Echo::default();
        let line = text.trim_start().split(|c| c == '\r' || c == '\n').next().unwrap_or("");
        if !line.starts_with("MSH") || line.len() < 4 || !line.is_char_boundary(4) {
            return echo;
        }
        let sep = line.as_bytes()[3];
        if !sep.is_ascii_graphic() {
            return echo;
        }
        let fields: Vec<&str> = line[4..].split(sep as char).collect();
        let f = |n: usize| fields.get(n - 2).copied().unwrap_or("").to_owned();
        echo.separators.field = sep;
        echo.sending_app = f(3);
        echo.sending_facility = f(4);
        echo.receiving_app = f(5);
        echo.receiving_facility = f(6);
        echo.control_id = f(10).split('^').next().unwrap_or("").to_owned();
        echo.processing_id = f(11).split('^').next().unwrap_or("").to_owned();
        echo.version = f(12).split('^').next().unwrap_or("").to_owned();
        echo
    }

    /// Enhanced mode: MSH-15 or MSH-16 is valued.
    pub fn enhanced(&self) -> bool {
        !self.accept_ack_type.is_empty() || !self.app_ack_type.is_empty()
    }

    /// The sender asked for no acknowledgment at all: MSH-15 NE and MSH-16 NE (or empty).
    pub fn silent(&self) -> bool {
        self.accept_ack_type == "NE" && matches!(self.app_ack_type.as_str(), "NE" | "")
    }
}

static ACK_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A control id for the ACK itself: unique per process run, at most 20 characters (ST in 2.3).
fn next_control_id() -> String {
    let n = ACK_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("BW{:X}{:06X}", clock::unix_seconds() & 0xFF_FFFF_FFFF, n & 0xFF_FFFF)
}

fn version_at_least(version: &str, major_minor: (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    v >= major_minor
}

/// The answers to one message, in the order they are written: the accept acknowledgment (or the
/// only one, in original mode), then the application acknowledgment.
pub type Answers = [Option<String>; 2];

/// Whether an acknowledgment condition (table 0155: AL, ER, SU, NE) asks for this outcome.
fn wanted(condition: &str, outcome: Outcome) -> bool {
    match condition {
        "NE" => false,
        "ER" => outcome != Outcome::Accepted,
        "SU" => outcome == Outcome::Accepted,
        _ => true, // AL
    }
}

/// What to answer. Original mode (MSH-15 and MSH-16 empty): one ACK, AA/AE/AR. Enhanced mode:
/// a commit acknowledgment CA/CE/CR as MSH-15 asks (empty = AL) and an application
/// acknowledgment AA/AE/AR as MSH-16 asks (empty = NE). A message that was not accepted always
/// gets a reject when the sender asked for any acknowledgment (a CE/CR where the conditions
/// would send nothing), and one the gateway could not store (`stored` false) gets one even
/// under NE/NE: silence would read as success.
pub fn answers(echo: &Echo, outcome: Outcome, problem: Option<&Problem>, stored: bool) -> Answers {
    let letter = match outcome { Outcome::Accepted => 'A', Outcome::Error => 'E', Outcome::Rejected => 'R' };
    if !echo.enhanced() {
        return [Some(build_one(echo, &format!("A{letter}"), problem)), None];
    }
    let app_condition = if echo.app_ack_type.is_empty() { "NE" } else { echo.app_ack_type.as_str() };
    let mut accept = wanted(&echo.accept_ack_type, outcome).then(|| build_one(echo, &format!("C{letter}"), problem));
    let app = wanted(app_condition, outcome).then(|| build_one(echo, &format!("A{letter}"), problem));
    if outcome != Outcome::Accepted && accept.is_none() && app.is_none() && (!echo.silent() || !stored) {
        accept = Some(build_one(echo, &format!("C{letter}"), problem));
    }
    [accept, app]
}

/// One acknowledgment message with MSA-1 `code`.
fn build_one(echo: &Echo, code: &str, problem: Option<&Problem>) -> String {
    let s = &echo.separators;
    let f = s.field as char;
    let c = s.component as char;
    let version = if echo.version.is_empty() { "2.5" } else { echo.version.as_str() };
    let message_type = if version_at_least(version, (2, 4)) {
        format!("ACK{c}{}{c}ACK", echo.trigger)
    } else if echo.trigger.is_empty() {
        "ACK".to_owned()
    } else {
        format!("ACK{c}{}", echo.trigger)
    };
    let processing = if echo.processing_id.is_empty() { "P" } else { echo.processing_id.as_str() };
    let mut ack = String::with_capacity(256);
    ack.push_str(&format!(
        "MSH{f}{enc}{f}{}{f}{}{f}{}{f}{}{f}{}{f}{f}{message_type}{f}{}{f}{processing}{f}{version}",
        echo.receiving_app,
        echo.receiving_facility,
        echo.sending_app,
        echo.sending_facility,
        clock::hl7_timestamp(),
        next_control_id(),
        enc = s.encoding_characters(),
    ));
    if echo.enhanced() {
        // A commit acknowledgment asks for no acknowledgment of its own.
        ack.push_str(&format!("{f}{f}{f}NE{f}NE"));
    }
    ack.push('\r');
    ack.push_str(&format!("MSA{f}{code}{f}{}", escape(&echo.control_id, s)));
    // MSA-3 (text message) was withdrawn in 2.7; ERR carries the text from then on.
    if let Some(p) = problem.filter(|_| !version_at_least(version, (2, 7))) {
        ack.push_str(&format!("{f}{}", escape(&p.text, s)));
    }
    ack.push('\r');
    if let Some(p) = problem {
        let t = s.subcomponent as char;
        let (seg, seq, field) = p.location.clone().unwrap_or_default();
        let location = if seg.is_empty() { String::new() } else { format!("{seg}{c}{seq}{c}{field}") };
        if version_at_least(version, (2, 5)) {
            let text = escape(&p.text, s);
            // ERR-2 location, ERR-3 error code (CWE, table 0357), ERR-4 severity, ERR-8 user message.
            ack.push_str(&format!(
                "ERR{f}{f}{location}{f}{}{c}{}{c}HL70357{f}E{f}{f}{f}{f}{text}\r",
                p.code,
                p.code_text()
            ));
        } else {
            // 2.3/2.4: ERR-1 (ELD) = segment^sequence^field^code, the code's parts as sub-components.
            let seg_part = if seg.is_empty() { format!("{c}{c}") } else { format!("{seg}{c}{seq}{c}{field}") };
            // The text itself travels in MSA-3 in these versions.
            ack.push_str(&format!("ERR{f}{seg_part}{c}{}{t}{}{t}HL70357\r", p.code, p.code_text()));
        }
    }
    ack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_mode_swaps_and_echoes() {
        let m = Message::parse("MSH|^~\\&|LAB|H1|BW|GW|20240101||ORU^R01|C42|P|2.3\rPID|1").unwrap();
        let ack = answers(&Echo::from_message(&m), Outcome::Accepted, None, true)[0].clone().unwrap();
        assert!(ack.starts_with("MSH|^~\\&|BW|GW|LAB|H1|"), "{ack}");
        assert!(ack.contains("|ACK^R01|"), "{ack}");
        assert!(ack.contains("\rMSA|AA|C42\r"), "{ack}");
    }

    #[test]
    fn enhanced_mode_follows_msh15_and_msh16() {
        let echo = |accept: &str, app: &str| {
            let text = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|9|P|2.6|||{accept}|{app}");
            Echo::from_message(&Message::parse(&text).unwrap())
        };
        let codes = |a: Answers| a.map(|x| x.map(|t| t.split("MSA|").nth(1).unwrap()[..2].to_owned()));
        let p = Problem::new(101, "PID-3 is empty", Some(("PID", 1, 3)));
        assert_eq!(codes(answers(&echo("ER", "NE"), Outcome::Accepted, None, true)), [None, None]);
        let [ce, none] = answers(&echo("ER", "NE"), Outcome::Error, Some(&p), true);
        let ce = ce.unwrap();
        assert!(none.is_none() && ce.contains("MSA|CE|9"), "{ce}");
        assert!(ce.contains("ERR||PID^1^3|101^Required field missing^HL70357|E"), "{ce}");
        assert_eq!(codes(answers(&echo("AL", "AL"), Outcome::Accepted, None, true)), [Some("CA".into()), Some("AA".into())]);
        assert_eq!(codes(answers(&echo("NE", "AL"), Outcome::Accepted, None, true)), [None, Some("AA".into())]);
        assert_eq!(codes(answers(&echo("NE", "ER"), Outcome::Rejected, Some(&p), true)), [None, Some("AR".into())]);
        assert_eq!(codes(answers(&echo("AL", ""), Outcome::Accepted, None, true)), [Some("CA".into()), None]);
        // Asked for success only: a refusal still gets its reject.
        assert_eq!(codes(answers(&echo("SU", "SU"), Outcome::Rejected, Some(&p), true)), [Some("CR".into()), None]);
        // NE/NE: nothing, unless the gateway could not keep the message.
        assert_eq!(codes(answers(&echo("NE", "NE"), Outcome::Rejected, Some(&p), true)), [None, None]);
        assert_eq!(codes(answers(&echo("NE", "NE"), Outcome::Rejected, Some(&p), false)), [Some("CR".into()), None]);
    }
}
