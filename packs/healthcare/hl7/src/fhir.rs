//! HL7 v2 to FHIR R4 transaction Bundles, after the HL7 v2-to-FHIR mapping guide for the fields
//! mapped here: PID to Patient, PV1 to Encounter, OBR to DiagnosticReport, OBX to Observation.
//! Ids are derived from the message (sender, MSH-10, position), so converting the same stored
//! message again yields the same Bundle, and conditional PUTs on identifiers make a resend to
//! the FHIR server update rather than duplicate. This file builds the Bundle; `fhir/adt.rs` maps
//! PID and PV1, `fhir/oru.rs` OBR and OBX.

use serde_json::{json, Map, Value};

use crate::ack::Problem;
use crate::clock;
use crate::intake::Checked;
use crate::message::{Message, Segment};

mod adt;
mod oru;

/// The message types mapped to FHIR, each by its own step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ADT^A01 admit, A04 register, A08 update: Patient and Encounter.
    Adt(&'static str),
    /// ORU^R01: Patient, Observations and DiagnosticReports.
    Result,
}

const ADT_EVENTS: &[&str] = &["A01", "A04", "A08"];

/// The mapping for MSH-9 `code`^`event`, if there is one.
pub fn kind_of(code: &str, event: &str) -> Option<Kind> {
    match (code, event) {
        ("ADT", e) => ADT_EVENTS.iter().find(|&&known| known == e).map(|&known| Kind::Adt(known)),
        ("ORU", "R01") => Some(Kind::Result),
        _ => None,
    }
}

/// Options of the mapping.
#[derive(Debug, Clone)]
pub struct MapOptions {
    /// Offset given to v2 times that carry none (FHIR requires one): "Z" or "+01:00".
    pub default_offset: String,
}

/// The mapping's view of one message.
struct Mapper<'m, 'a> {
    m: &'m Message<'a>,
    checked: &'m Checked,
    options: &'m MapOptions,
}

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// A UUID (version 4 layout) derived from `seed` with FNV-1a: stable across conversions.
fn stable_uuid(seed: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in seed.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3).rotate_left(7);
    }
    let hex = format!("{a:016x}{b:016x}");
    format!("{}-{}-4{}-{:x}{}-{}", &hex[..8], &hex[8..12], &hex[13..16], 8 | (b >> 60 & 3), &hex[17..20], &hex[20..32])
}

/// Code systems the guide names for CWE-3 coding system identifiers.
fn code_system(name: &str) -> String {
    match name {
        "LN" => "http://loinc.org".into(),
        "SCT" | "SNM" => "http://snomed.info/sct".into(),
        "UCUM" => "http://unitsofmeasure.org".into(),
        "I10" | "ICD10" => "http://hl7.org/fhir/sid/icd-10".into(),
        "" => String::new(),
        n if n.starts_with("HL7") && n.len() == 7 => format!("http://terminology.hl7.org/CodeSystem/v2-{}", &n[3..]),
        n => format!("urn:hl7v2:coding-system:{}", n.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.', "_")),
    }
}

fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if !empty {
        obj.insert(key.to_owned(), value);
    }
}

impl<'m, 'a> Mapper<'m, 'a> {
    fn text(&self, seg: &Segment<'a>, field: usize, comp: usize) -> String {
        self.m.value(seg, field, 0, comp, 1).trim().to_owned()
    }

    /// CWE/CE (code^text^system) as a CodeableConcept; None when empty.
    fn concept(&self, rep: &'a str) -> Option<Value> {
        let code = self.m.component(rep, 1).trim().to_owned();
        let display = self.m.component(rep, 2).trim().to_owned();
        let system = code_system(self.m.component(rep, 3).trim());
        if code.is_empty() && display.is_empty() {
            return None;
        }
        let mut concept = Map::new();
        if !code.is_empty() {
            let mut coding = Map::new();
            put(&mut coding, "system", json!(system));
            put(&mut coding, "code", json!(code));
            put(&mut coding, "display", json!(display));
            concept.insert("coding".into(), json!([coding]));
        }
        put(&mut concept, "text", json!(display));
        Some(Value::Object(concept))
    }

    /// CX to Identifier: CX.1 value, CX.4 assigning authority as system, CX.5 type (table 0203).
    fn identifier(&self, rep: &'a str) -> Option<Value> {
        let value = self.m.component(rep, 1).trim().to_owned();
        if value.is_empty() {
            return None;
        }
        let mut id = Map::new();
        let authority = self.m.raw_part(rep, 0, 4, 1);
        let universal = self.m.raw_part(rep, 0, 4, 2);
        let universal_type = self.m.raw_part(rep, 0, 4, 3);
        let system = if !universal.is_empty() && universal_type.eq_ignore_ascii_case("ISO") {
            format!("urn:oid:{}", self.m.unescape(universal))
        } else if !authority.is_empty() {
            format!("urn:hl7v2:assigning-authority:{}", self.m.unescape(authority).trim().replace(' ', "_"))
        } else {
            String::new()
        };
        put(&mut id, "system", json!(system));
        put(&mut id, "value", json!(value));
        let type_code = self.m.component(rep, 5).trim().to_owned();
        if !type_code.is_empty() {
            id.insert("type".into(), json!({"coding": [{"system": V2_0203, "code": type_code}]}));
        }
        Some(Value::Object(id))
    }
}

fn entry(full_url: &str, resource: Value, method: &str, url: String) -> Value {
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": method, "url": url}})
}

/// Percent-encodes a search parameter value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What `to_bundle` would refuse, and the same first refusal, without building the Bundle: the
/// ACK path needs the verdict, not the Bundle (the uplink builds it from the stored message).
/// It walks the segments in the order `to_bundle` does; a unit test holds the two together.
pub fn check(m: &Message, checked: &Checked, options: &MapOptions) -> Result<Kind, Problem> {
    let Some(kind) = checked.kind else {
        return Err(Problem::new(200, format!("no FHIR mapping for {}", checked.message_type()), Some(("MSH", 1, 9))));
    };
    let Some(pid) = m.segment("PID") else {
        return Err(Problem::new(100, "the message has no PID segment", Some(("PID", 1, 0))));
    };
    if m.repetitions(pid.raw(3)).iter().all(|rep| m.component(rep, 1).is_empty()) {
        return Err(Problem::new(101, "PID-3 (patient identifier list) is empty", Some(("PID", 1, 3))));
    }
    match kind {
        Kind::Adt(_) if m.segment("PV1").is_none() => {
            return Err(Problem::new(100, "an ADT message needs a PV1 segment", Some(("PV1", 1, 0))));
        }
        Kind::Result if m.segment("OBR").is_none() => {
            return Err(Problem::new(100, "an ORU^R01 message needs an OBR segment", Some(("OBR", 1, 0))));
        }
        Kind::Result => {
            // OBX before any OBR has no order to belong to.
            if let Some(first_obx) = m.segments.iter().position(|s| s.id == "OBX") {
                if !m.segments[..first_obx].iter().any(|s| s.id == "OBR") {
                    return Err(Problem::new(100, "OBX before any OBR", Some(("OBX", 1, 0))));
                }
            }
        }
        Kind::Adt(_) => return Ok(kind), // Patient and Encounter have no fallible field
    }
    let mapper = Mapper { m, checked, options };
    let segments = &m.segments;
    let (mut obx_seq, mut i) = (0, 0);
    while i < segments.len() {
        if segments[i].id != "OBR" {
            i += 1;
            continue;
        }
        let obr = &segments[i];
        i += 1;
        while i < segments.len() && segments[i].id != "OBR" {
            if segments[i].id == "OBX" {
                obx_seq += 1;
                mapper.check_observation(&segments[i], obx_seq)?;
            }
            i += 1;
        }
        mapper.report_code(obr)?;
    }
    Ok(kind)
}

/// The transaction Bundle for a checked message.
pub fn to_bundle(m: &Message, checked: &Checked, options: &MapOptions) -> Result<Value, Problem> {
    let kind = check(m, checked, options)?;
    let mapper = Mapper { m, checked, options };
    let seed = format!("{}|{}", checked.sender, checked.control_id);
    let url = |what: &str| format!("urn:uuid:{}", stable_uuid(&format!("{seed}|{what}")));
    let pid = m.segment("PID").expect("check requires PID");
    let patient_url = url("Patient");
    let (patient, patient_key) = mapper.patient(pid);
    let mut entries = Vec::new();
    let patient_request = match &patient_key {
        Some((system, value)) => ("PUT", format!("Patient?identifier={}|{}", encode(system), encode(value))),
        None => ("POST", "Patient".to_owned()),
    };
    entries.push(entry(&patient_url, patient, patient_request.0, patient_request.1));
    let mut refs = Map::new();
    refs.insert("subject".into(), json!({"reference": patient_url}));
    if let Some(pv1) = m.segment("PV1") {
        let event = match kind { Kind::Adt(e) => e, Kind::Result => "R01" };
        let encounter_url = url("Encounter");
        let (encounter, visit) = mapper.encounter(pv1, event, &patient_url);
        let request = match visit {
            Some(v) => ("PUT", format!("Encounter?identifier={}", encode(&v))),
            None => ("POST", "Encounter".to_owned()),
        };
        // An ORU's PV1 only gives context: its Encounter is referenced, not re-stated as admitted.
        if matches!(kind, Kind::Adt(_)) || request.0 == "PUT" {
            entries.push(entry(&encounter_url, encounter, request.0, request.1));
            refs.insert("encounter".into(), json!({"reference": encounter_url}));
        }
    }
    if kind == Kind::Result {
        let mut obr_seq = 0;
        let mut obx_seq = 0;
        let mut i = 0;
        let segments = &m.segments;
        while i < segments.len() {
            if segments[i].id != "OBR" {
                i += 1;
                continue;
            }
            obr_seq += 1;
            let obr = &segments[i];
            let mut results = Vec::new();
            let mut observations = Vec::new();
            i += 1;
            while i < segments.len() && segments[i].id != "OBR" {
                if segments[i].id == "OBX" {
                    obx_seq += 1;
                    let obs_url = url(&format!("Observation/{obx_seq}"));
                    let observation = mapper.observation(&segments[i], obx_seq, obr, &refs)?;
                    results.push(json!({"reference": obs_url}));
                    observations.push(entry(&obs_url, observation, "POST", "Observation".into()));
                }
                i += 1;
            }
            let report = mapper.report(obr, &refs, results)?;
            let report_url = url(&format!("DiagnosticReport/{obr_seq}"));
            entries.push(entry(&report_url, report, "POST", "DiagnosticReport".into()));
            entries.extend(observations);
        }
    }
    let _ = &mapper.checked;
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": clock::fhir_now(),
        "identifier": {"system": "urn:hl7v2:message-control-id", "value": format!("{}|{}", checked.sender, checked.control_id)},
        "entry": entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::check;

    #[test]
    fn oru_bundle_links_report_and_observations() {
        let text = "MSH|^~\\&|LAB|H|BW|GW|20240101||ORU^R01|77|P|2.5.1\rPID|1||123^^^H^MR||Doe^Jane||19700101|F\r\
                    OBR|1|P1|F1|24331-1^Lipid panel^LN|||20240101083000|||||||||||||||20240101093000|||F\r\
                    OBX|1|NM|2093-3^Cholesterol^LN||182|mg/dL^^UCUM|<200|N|||F\rOBX|2|ST|8251-1^Note^LN||fasting\\F\\ok||||||F";
        let m = Message::parse(text).unwrap();
        let checked = check(&m).unwrap();
        let bundle = to_bundle(&m, &checked, &MapOptions { default_offset: "Z".into() }).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0]["request"]["url"], "Patient?identifier=urn:hl7v2:assigning-authority:H|123");
        let report = &entries[1]["resource"];
        assert_eq!(report["result"].as_array().unwrap().len(), 2);
        assert_eq!(entries[2]["resource"]["valueQuantity"]["value"], 182.0);
        assert_eq!(entries[3]["resource"]["valueString"], "fasting|ok");
        assert_eq!(report["effectiveDateTime"], "2024-01-01T08:30:00Z");
        assert_eq!(stable_uuid("x"), stable_uuid("x"));
    }

    /// `check` must refuse exactly what `to_bundle` refuses, with the same first problem: the
    /// fixtures, and each of them with OBR/OBX fields 2 to 5 emptied or replaced by bad values.
    #[test]
    fn check_agrees_with_to_bundle() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures/hl7");
        let options = MapOptions { default_offset: "Z".into() };
        let verdict = |text: &str| -> Option<(Option<(u16, String)>, Option<(u16, String)>)> {
            let m = Message::parse(text).ok()?;
            let checked = check(&m).ok()?;
            let key = |p: Problem| (p.code, format!("{} {:?}", p.text, p.location));
            Some((super::check(&m, &checked, &options).err().map(key), to_bundle(&m, &checked, &options).err().map(key)))
        };
        let (mut compared, mut refused) = (0, 0);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("hl7") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap().replace("\r\n", "\r").replace('\n', "\r");
            let segments: Vec<&str> = text.split('\r').collect();
            let mut variants = vec![text.clone()];
            for (n, seg) in segments.iter().enumerate() {
                if !(seg.starts_with("OBX|") || seg.starts_with("OBR|")) {
                    continue;
                }
                for field in 2..=5 {
                    for bad in ["", "high", "CE", "NM", "DT", "SN", "<^x", "2024xx"] {
                        let mut fields: Vec<String> = seg.split('|').map(str::to_owned).collect();
                        if fields.len() <= field {
                            fields.resize(field + 1, String::new());
                        }
                        fields[field] = bad.to_owned();
                        let mut copy: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
                        copy[n] = fields.join("|");
                        variants.push(copy.join("\r"));
                    }
                }
            }
            for v in variants {
                if let Some((checked, built)) = verdict(&v) {
                    assert_eq!(checked, built, "check and to_bundle disagree on:\n{v}");
                    compared += 1;
                    refused += usize::from(built.is_some());
                }
            }
        }
        assert!(compared > 100 && refused > 20, "too few cases: {compared} compared, {refused} refused");
    }

    #[test]
    fn bad_number_is_a_content_error() {
        let text = "MSH|^~\\&|LAB|H|BW|GW|20240101||ORU^R01|77|P|2.5\rPID|1||1\rOBR|1|||X^Y^LN\rOBX|1|NM|A^B^LN||high";
        let m = Message::parse(text).unwrap();
        let p = to_bundle(&m, &check(&m).unwrap(), &MapOptions { default_offset: "Z".into() }).unwrap_err();
        assert_eq!((p.code, p.location.unwrap().2), (102, 5));
    }
}
