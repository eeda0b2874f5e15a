//! What the gateway accepts: versions 2.3 to 2.8, ADT^A01/A04/A08 and ORU^R01, with the fields
//! the FHIR mapping needs. A message that fails here is answered AE (content) or AR (unsupported)
//! and never stored.

use crate::ack::{Outcome, Problem};
use crate::message::Message;

pub const SUPPORTED_VERSIONS: &[&str] = &["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"];

/// The message kinds this pack stores and maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ADT^A01 admit, A04 register, A08 update: Patient and Encounter.
    Adt(&'static str),
    /// ORU^R01: Patient, Observations and DiagnosticReports.
    OruR01,
}

impl Kind {
    pub fn name(&self) -> String {
        match self {
            Kind::Adt(event) => format!("ADT^{event}"),
            Kind::OruR01 => "ORU^R01".to_owned(),
        }
    }
}

/// A message that passed the checks.
#[derive(Debug, Clone)]
pub struct Checked {
    pub kind: Kind,
    pub version: String,
    pub control_id: String,
    /// MSH-3 and MSH-4 as sent: with MSH-10 they identify a message for duplicate detection.
    pub sender: String,
}

type Refusal = (Outcome, Problem);

fn missing(segment: &str, field: usize, what: &str) -> Refusal {
    (Outcome::Error, Problem::new(101, format!("{segment}-{field} ({what}) is empty"), Some((segment, 1, field))))
}

/// Checks a parsed message; the refusal says how to answer and why.
pub fn check(m: &Message) -> Result<Checked, Refusal> {
    let code = m.msh(9);
    let msh = &m.segments[0];
    let event = m.value(msh, 9, 0, 2, 1);
    if code.is_empty() {
        return Err(missing("MSH", 9, "message type"));
    }
    let control_id = m.msh(10).into_owned();
    if control_id.is_empty() {
        return Err(missing("MSH", 10, "message control id"));
    }
    let version = m.msh(12).into_owned();
    if version.is_empty() {
        return Err(missing("MSH", 12, "version id"));
    }
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        let text = format!("version {version} is not supported (2.3 to 2.8)");
        return Err((Outcome::Rejected, Problem::new(203, text, Some(("MSH", 1, 12)))));
    }
    let kind = match (code.as_ref(), event.as_ref()) {
        ("ADT", "A01") => Kind::Adt("A01"),
        ("ADT", "A04") => Kind::Adt("A04"),
        ("ADT", "A08") => Kind::Adt("A08"),
        ("ORU", "R01") => Kind::OruR01,
        ("ADT", _) | ("ORU", _) => {
            let text = format!("event {code}^{event} is not supported (ADT^A01, ADT^A04, ADT^A08, ORU^R01)");
            return Err((Outcome::Rejected, Problem::new(201, text, Some(("MSH", 1, 9)))));
        }
        _ => {
            let text = format!("message type {code} is not supported (ADT, ORU)");
            return Err((Outcome::Rejected, Problem::new(200, text, Some(("MSH", 1, 9)))));
        }
    };
    let processing = m.value(msh, 11, 0, 1, 1);
    if !matches!(processing.as_ref(), "P" | "T" | "D" | "") {
        let text = format!("processing id {processing} is not P, T or D");
        return Err((Outcome::Rejected, Problem::new(202, text, Some(("MSH", 1, 11)))));
    }
    let Some(pid) = m.segment("PID") else {
        return Err((Outcome::Error, Problem::new(100, "the message has no PID segment", Some(("PID", 1, 0)))));
    };
    if m.repetitions(pid.raw(3)).iter().all(|rep| m.component(rep, 1).is_empty()) {
        return Err(missing("PID", 3, "patient identifier list"));
    }
    match kind {
        Kind::Adt(_) if m.segment("PV1").is_none() => {
            return Err((Outcome::Error, Problem::new(100, "an ADT message needs a PV1 segment", Some(("PV1", 1, 0)))));
        }
        Kind::OruR01 if m.segment("OBR").is_none() => {
            return Err((Outcome::Error, Problem::new(100, "an ORU^R01 message needs an OBR segment", Some(("OBR", 1, 0)))));
        }
        _ => {}
    }
    // OBX before any OBR has no order to belong to.
    if let Some(first_obx) = m.segments.iter().position(|s| s.id == "OBX") {
        if kind == Kind::OruR01 && !m.segments[..first_obx].iter().any(|s| s.id == "OBR") {
            return Err((Outcome::Error, Problem::new(100, "OBX before any OBR", Some(("OBX", 1, 0)))));
        }
    }
    let sender = format!("{}|{}", msh.raw(3), msh.raw(4));
    Ok(Checked { kind, version, control_id, sender })
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
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.2\rPID|1||1\rPV1|1"), (Outcome::Rejected, 203));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A02|1|P|2.5\rPID|1||1\rPV1|1"), (Outcome::Rejected, 201));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||SIU^S12|1|P|2.5\rPID|1||1"), (Outcome::Rejected, 200));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1||\rPV1|1"), (Outcome::Error, 101));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5\rPID|1||1\rPV1|1"), (Outcome::Error, 101));
        assert_eq!(refusal("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1||1"), (Outcome::Error, 100));
    }
}
