//! The pipeline every path shares: bytes to text, text to a checked message, message to JSON
//! (POST /hl7/parse) or to a FHIR Bundle (POST /hl7/fhir, intake, uplink).

use std::borrow::Cow;

use backworks_plugin_sdk::{json, Value};

use crate::ack::{Outcome, Problem};
use crate::fhir::{self, Kind, MapOptions};
use crate::intake::{self, Checked};
use crate::message::{Message, Separators};

/// HL7 v2 is ASCII by default and often Latin-1 (MSH-18 8859/1) in practice: take UTF-8 when the
/// bytes are UTF-8, else read them as Latin-1, which never fails and loses no byte.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// Why a text was refused, and how to answer its sender.
#[derive(Debug, Clone)]
pub struct Refused {
    pub outcome: Outcome,
    pub problem: Problem,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem.location {
            Some((seg, n, field)) if *field > 0 => write!(f, "{} at {seg}-{field} (segment {seg} #{n})", self.problem.text),
            Some((seg, n, _)) => write!(f, "{} at segment {seg} #{n}", self.problem.text),
            None => f.write_str(&self.problem.text),
        }
    }
}

fn structural(e: crate::message::ParseError) -> Refused {
    let location = e.segment.as_ref().map(|(s, n)| (s.as_str(), *n, e.field.unwrap_or(0)));
    let code = if e.field.is_some() { 102 } else { 100 };
    Refused { outcome: Outcome::Error, problem: Problem::new(code, e.message.clone(), location) }
}

#[derive(Debug, Clone)]
pub struct Converter {
    pub options: MapOptions,
}

impl Converter {
    /// Parses and checks the envelope: the message is well-formed and can be stored.
    pub fn accept<'a>(&self, text: &'a str) -> Result<(Message<'a>, Checked), Refused> {
        let m = Message::parse(text).map_err(structural)?;
        let checked = intake::check(&m).map_err(|(outcome, problem)| Refused { outcome, problem })?;
        Ok((m, checked))
    }

    /// Whether the message maps to FHIR, and why not. The Bundle itself is not built: the ACK
    /// waits only for the verdict (`fhir::check`); the uplink builds it from the stored message.
    pub fn mapping(&self, m: &Message, checked: &Checked) -> Result<Kind, Problem> {
        fhir::check(m, checked, &self.options)
    }

    pub fn bundle(&self, text: &str) -> Result<Value, Refused> {
        let (m, checked) = self.accept(text)?;
        fhir::to_bundle(&m, &checked, &self.options).map_err(|problem| Refused { outcome: Outcome::Error, problem })
    }
}

/// A leaf, a list of parts, or a list of lists: the shape says the structure.
fn leaf_or_parts(m: &Message, raw: &str, sep: u8, inner: Option<u8>) -> Value {
    if !raw.as_bytes().contains(&sep) {
        return match inner {
            Some(next) if raw.as_bytes().contains(&next) => leaf_or_parts(m, raw, next, None),
            _ => json!(m.unescape(raw)),
        };
    }
    Value::Array(
        raw.split(sep as char)
            .map(|part| match inner {
                Some(next) if part.as_bytes().contains(&next) => leaf_or_parts(m, part, next, None),
                _ => json!(m.unescape(part)),
            })
            .collect(),
    )
}

/// One field as JSON: a string when it holds no delimiter; otherwise an array of repetitions,
/// each a string or an array of components, each a string or an array of sub-components.
fn field_json(m: &Message, raw: &str) -> Value {
    let s: &Separators = &m.separators;
    let has = |b: u8| raw.as_bytes().contains(&b);
    if !has(s.repetition) && !has(s.component) && !has(s.subcomponent) {
        return json!(m.unescape(raw));
    }
    Value::Array(raw.split(s.repetition as char).map(|rep| leaf_or_parts(m, rep, s.component, Some(s.subcomponent))).collect())
}

/// POST /hl7/parse: the message as JSON, with what the gateway would answer it.
pub fn to_json(m: &Message, checked: Result<&Checked, &Refused>, mapping: Option<&Result<Kind, Problem>>) -> Value {
    let segments: Vec<Value> = m
        .segments
        .iter()
        .map(|seg| {
            let fields: Vec<Value> = seg
                .fields
                .iter()
                .enumerate()
                .skip(1)
                .map(|(n, raw)| if seg.id == "MSH" && n <= 2 { json!(raw) } else { field_json(m, raw) })
                .collect();
            json!({"id": seg.id, "fields": fields})
        })
        .collect();
    let s = &m.separators;
    let mut out = json!({
        "separators": {
            "field": (s.field as char).to_string(),
            "component": (s.component as char).to_string(),
            "repetition": (s.repetition as char).to_string(),
            "escape": s.escape.map(|e| (e as char).to_string()),
            "subcomponent": (s.subcomponent as char).to_string(),
        },
        "segments": segments,
    });
    match checked {
        Ok(c) => {
            out["message_type"] = json!(c.message_type());
            out["version"] = json!(c.version);
            out["control_id"] = json!(c.control_id);
            out["accepted"] = json!(true);
            match mapping {
                Some(Ok(_)) => out["mapped"] = json!(true),
                Some(Err(p)) => {
                    out["mapped"] = json!(false);
                    out["not_mapped"] = json!(p.text);
                }
                None => {}
            }
        }
        Err(r) => {
            out["accepted"] = json!(false);
            out["problem"] = json!({"code": r.problem.code, "text": r.to_string()});
        }
    }
    out
}

/// Parses for the endpoint, with a structural error as a message naming where.
pub fn parse_for_endpoint<'a>(text: &'a str) -> Result<Message<'a>, String> {
    Message::parse(text).map_err(|e| structural(e).to_string())
}
