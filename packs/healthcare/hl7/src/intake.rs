//! What the gateway stores: every well-formed HL7 v2 message (MSH-9, MSH-10 and a 2.x MSH-12),
//! whatever its type. Whether a message also maps to FHIR is a separate question (`fhir::check`);
//! a site narrows the types with `accept:` / `reject:` (`Policy`). A message that is not
//! well-formed is answered AE and not stored; one the policy refuses (`Policy::refuses`: not a
//! 2.x version, an unknown processing id, a type the lists exclude) is answered AR.

use crate::ack::{Outcome, Problem};
use crate::fhir::{self, Kind};
use crate::message::Message;

/// A well-formed message's envelope.
#[derive(Debug, Clone)]
pub struct Checked {
    /// MSH-9.1 and MSH-9.2, e.g. "ADT" and "A01" (the event is empty in an ACK-like message).
    pub code: String,
    pub event: String,
    pub version: String,
    /// MSH-11.1: P, T or D.
    pub processing: String,
    pub control_id: String,
    /// MSH-3 and MSH-4 as sent: with MSH-10 they identify a message for resend detection.
    pub sender: String,
    /// The FHIR mapping for this type, if the pack has one.
    pub kind: Option<Kind>,
}

impl Checked {
    /// "ADT^A01", or "ADT" when MSH-9 has no event.
    pub fn message_type(&self) -> String {
        if self.event.is_empty() {
            self.code.clone()
        } else {
            format!("{}^{}", self.code, self.event)
        }
    }
}

type Refusal = (Outcome, Problem);

fn missing(field: usize, what: &str) -> Refusal {
    (Outcome::Error, Problem::new(101, format!("MSH-{field} ({what}) is empty"), Some(("MSH", 1, field))))
}

/// Checks the envelope of a parsed message; the refusal says how to answer and why.
pub fn check(m: &Message) -> Result<Checked, Refusal> {
    let msh = &m.segments[0];
    let code = m.msh(9).trim().to_owned();
    if code.is_empty() {
        return Err(missing(9, "message type"));
    }
    let control_id = m.msh(10).into_owned();
    if control_id.is_empty() {
        return Err(missing(10, "message control id"));
    }
    let version = m.msh(12).trim().to_owned();
    if version.is_empty() {
        return Err(missing(12, "version id"));
    }
    let processing = m.value(msh, 11, 0, 1, 1).trim().to_owned();
    let event = m.value(msh, 9, 0, 2, 1).trim().to_owned();
    let kind = fhir::kind_of(&code, &event);
    let sender = format!("{}|{}", msh.raw(3), msh.raw(4));
    Ok(Checked { code, event, version, processing, control_id, sender, kind })
}

/// `accept:` / `reject:` of the pack config: message types ("ADT") or type and event ("ADT^A01").
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Empty: every type is accepted.
    pub accept: Vec<String>,
    pub reject: Vec<String>,
}

fn listed(list: &[String], code: &str, event: &str) -> bool {
    list.iter().any(|entry| match entry.split_once('^') {
        Some((c, e)) => c == code && e == event,
        None => entry == code,
    })
}

impl Policy {
    /// Why the gateway refuses this message (AR with that reason), or None: a version that is
    /// not 2.x, a processing id other than P/T/D, or a type the site's lists exclude.
    pub fn refuses(&self, checked: &Checked) -> Option<Problem> {
        // Every 2.x release shares the envelope read here; what a mapping needs it checks itself.
        let version = &checked.version;
        let v2 = version.strip_prefix("2.").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if !v2 {
            return Some(Problem::new(203, format!("version {version} is not an HL7 v2 version (2.1 to 2.8)"), Some(("MSH", 1, 12))));
        }
        if !matches!(checked.processing.as_str(), "P" | "T" | "D" | "") {
            return Some(Problem::new(202, format!("processing id {} is not P, T or D", checked.processing), Some(("MSH", 1, 11))));
        }
        let (code, event) = (checked.code.as_str(), checked.event.as_str());
        // 201 (unsupported event) when the list names this type with other events, else 200.
        let names_type = |list: &[String]| list.iter().any(|e| e.split('^').next() == Some(code) && e.contains('^'));
        let problem = |why: String, event_level: bool| Problem::new(if event_level { 201 } else { 200 }, why, Some(("MSH", 1, 9)));
        if listed(&self.reject, code, event) || listed(&self.reject, code, "") {
            let event_level = !listed(&self.reject, code, "");
            return Some(problem(format!("message type {} is refused by this gateway (reject: {})", checked.message_type(), self.reject.join(", ")), event_level));
        }
        if !self.accept.is_empty() && !listed(&self.accept, code, event) && !listed(&self.accept, code, "") {
            return Some(problem(format!("message type {} is not accepted by this gateway (accept: {})", checked.message_type(), self.accept.join(", ")), names_type(&self.accept)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> (Outcome, u16) {
        let m = Message::parse(text).unwrap();
        let (outcome, p) = check(&m).unwrap_err();
        (outcome, p.code)
    }

    #[test]
    fn refusals() {
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5\rPID|1||1\rPV1|1"), (Outcome::Error, 101));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1|||1|P|2.5\rPID|1||1"), (Outcome::Error, 101));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|\rPID|1||1"), (Outcome::Error, 101));
        let none = Policy::default();
        let refused = |text: &str| none.refuses(&check(&Message::parse(text).unwrap()).unwrap()).map(|p| p.code);
        assert_eq!(refused("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|3.0\rPID|1||1"), Some(203));
        assert_eq!(refused("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|X|2.5\rPID|1||1"), Some(202));
        assert_eq!(refused("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|T|2.3.1\rPID|1||1"), None);
        // Any type is well-formed; only some map.
        let m = Message::parse("MSH|^~\\&|A|B|C|D|1||ZZZ^Z01|1|P|2.2\rZZ1|1").unwrap();
        let c = check(&m).unwrap();
        assert_eq!((c.message_type().as_str(), c.kind.is_none()), ("ZZZ^Z01", true));
    }

    #[test]
    fn accept_and_reject_lists() {
        let m = Message::parse("MSH|^~\\&|A|B|C|D|1||ADT^A02|1|P|2.5\rPID|1||1").unwrap();
        let c = check(&m).unwrap();
        let policy = |accept: &[&str], reject: &[&str]| Policy {
            accept: accept.iter().map(|s| s.to_string()).collect(),
            reject: reject.iter().map(|s| s.to_string()).collect(),
        };
        assert!(policy(&[], &[]).refuses(&c).is_none());
        assert!(policy(&["ADT"], &[]).refuses(&c).is_none());
        assert!(policy(&["ADT^A02"], &[]).refuses(&c).is_none());
        assert_eq!(policy(&["ADT^A01"], &[]).refuses(&c).unwrap().code, 201);
        assert_eq!(policy(&["ORU"], &[]).refuses(&c).unwrap().code, 200);
        let p = policy(&[], &["ADT^A02"]).refuses(&c).unwrap();
        assert!(p.text.contains("ADT^A02 is refused"), "{}", p.text);
        assert!(policy(&["ADT"], &["ADT^A02"]).refuses(&c).is_some());
    }
}
