//! HL7 v2 to FHIR R4 transaction Bundles, after the HL7 v2-to-FHIR mapping guide for the fields
//! mapped here, one step per message kind (`Kind`): PID to Patient and PV1 to Encounter
//! (`fhir/adt.rs`, with the A40 merge), OBR/OBX to DiagnosticReport/Observation (`fhir/oru.rs`),
//! ORC/OBR to ServiceRequest (`fhir/order.rs`), SCH to Appointment (`fhir/schedule.rs`), TXA and
//! its OBX to DocumentReference (`fhir/document.rs`), RXA to Immunization
//! (`fhir/immunization.rs`); units are marked UCUM only when `fhir/ucum.rs` says they are.
//! Ids are derived from the message (sender, MSH-10, position), so converting the same stored
//! message again yields the same Bundle, and conditional PUTs on identifiers make a resend to
//! the FHIR server update rather than duplicate.

use serde_json::{json, Map, Value};

use crate::ack::Problem;
use crate::clock;
use crate::intake::Checked;
use crate::message::{Message, Segment};

mod adt;
mod document;
mod immunization;
mod order;
mod oru;
mod schedule;
pub mod ucum;

/// The message kinds mapped to FHIR, each by its own step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ADT^A01-A08 (admit, transfer, discharge, register, pre-admit, class changes, update) and
    /// A11-A13 (cancel admit, transfer, discharge): Patient and Encounter.
    Adt(&'static str),
    /// ADT^A28/A31: add or update person information, Patient only.
    Person(&'static str),
    /// ADT^A40: merge patient; the MRG patient is `replaced-by` the PID patient.
    Merge,
    /// ORM^O01, OML^O21/O33/O35: ServiceRequest per order.
    Order,
    /// ORU^R01, OUL^R22/R23/R24: DiagnosticReport per OBR and Observation per OBX.
    Result,
    /// SIU^S12-S26: Appointment.
    Schedule(&'static str),
    /// MDM^T01-T11: DocumentReference.
    Document(&'static str),
    /// VXU^V04: Immunization per RXA.
    Immunization,
}

const ADT_EVENTS: &[&str] = &["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13"];
const PERSON_EVENTS: &[&str] = &["A28", "A31"];
const SIU_EVENTS: &[&str] = &["S12", "S13", "S14", "S15", "S16", "S17", "S18", "S19", "S20", "S21", "S22", "S23", "S24", "S26"];
const MDM_EVENTS: &[&str] = &["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09", "T10", "T11"];

fn known(events: &[&'static str], event: &str) -> Option<&'static str> {
    events.iter().find(|&&e| e == event).copied()
}

/// The mapping for MSH-9 `code`^`event`, if there is one.
pub fn kind_of(code: &str, event: &str) -> Option<Kind> {
    match (code, event) {
        ("ADT", "A40") => Some(Kind::Merge),
        ("ADT", e) => known(ADT_EVENTS, e).map(Kind::Adt).or_else(|| known(PERSON_EVENTS, e).map(Kind::Person)),
        ("ORM", "O01") | ("OML", "O21" | "O33" | "O35") => Some(Kind::Order),
        ("ORU", "R01") | ("OUL", "R22" | "R23" | "R24") => Some(Kind::Result),
        ("SIU", e) => known(SIU_EVENTS, e).map(Kind::Schedule),
        ("MDM", e) => known(MDM_EVENTS, e).map(Kind::Document),
        ("VXU", "V04") => Some(Kind::Immunization),
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
        "I9" | "I9C" | "I9CDX" | "I9M" => "http://hl7.org/fhir/sid/icd-9-cm".into(),
        "CVX" => "http://hl7.org/fhir/sid/cvx".into(),
        "NDC" => "http://hl7.org/fhir/sid/ndc".into(),
        "MVX" => "http://hl7.org/fhir/sid/mvx".into(),
        "RXNORM" => "http://www.nlm.nih.gov/research/umls/rxnorm".into(),
        "C4" | "CPT" => "http://www.ama-assn.org/go/cpt".into(),
        "NCIT" => "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl".into(),
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

    /// A number with CWE units (code^text^system) as a Quantity: the code is marked UCUM only
    /// when it is valid UCUM and the sender named no other system; otherwise only its text stays.
    fn quantity(&self, value: f64, unit_rep: &'a str) -> Map<String, Value> {
        let m = self.m;
        let mut q = Map::new();
        q.insert("value".into(), json!(value));
        let unit_code = m.component(unit_rep, 1).trim().to_owned();
        let unit_text = m.component(unit_rep, 2).trim().to_owned();
        let unit_system = m.component(unit_rep, 3).trim().to_owned();
        put(&mut q, "unit", json!(if unit_text.is_empty() { &unit_code } else { &unit_text }));
        if matches!(unit_system.as_str(), "" | "UCUM") && ucum::is_valid(&unit_code) {
            q.insert("system".into(), json!("http://unitsofmeasure.org"));
            q.insert("code".into(), json!(unit_code));
        }
        q
    }

    /// A DTM as a FHIR instant: to the minute at least (seconds :00 when not sent).
    fn instant(&self, raw: &str) -> Option<String> {
        clock::fhir_datetime(raw, &self.options.default_offset).filter(|t| t.contains('T'))
    }

    /// XCN/XPN (id^family^given) as a display name.
    fn person_name(&self, rep: &'a str) -> String {
        let m = self.m;
        let name = [3, 2].iter().map(|&c| m.component(rep, c).trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        if name.is_empty() { m.component(rep, 1).trim().to_owned() } else { name }
    }

    /// EI (entity id^namespace) as an Identifier with a v2-0203 type code.
    fn entity_identifier(&self, raw: &'a str, type_code: &str) -> Option<Value> {
        let value = self.m.component(raw, 1).trim().to_owned();
        (!value.is_empty()).then(|| json!({"type": {"coding": [{"system": V2_0203, "code": type_code}]}, "value": value}))
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

/// The OBX of a result message grouped by the OBR they follow (None: before any OBR).
fn result_groups<'s, 'a>(m: &'s Message<'a>) -> Vec<(Option<&'s Segment<'a>>, Vec<&'s Segment<'a>>)> {
    let mut groups: Vec<(Option<&Segment>, Vec<&Segment>)> = Vec::new();
    for seg in &m.segments {
        match seg.id {
            "OBR" => groups.push((Some(seg), Vec::new())),
            "OBX" => match groups.last_mut() {
                Some(group) => group.1.push(seg),
                None => groups.push((None, vec![seg])),
            },
            _ => {}
        }
    }
    groups
}

fn need(m: &Message, id: &str, why: &str) -> Result<(), Problem> {
    match m.segment(id) {
        Some(_) => Ok(()),
        None => Err(Problem::new(100, why, Some((id, 1, 0)))),
    }
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
    let mapper = Mapper { m, checked, options };
    match kind {
        Kind::Adt(_) => need(m, "PV1", "an ADT message needs a PV1 segment")?,
        Kind::Person(_) => {}
        Kind::Merge => mapper.check_merge()?,
        Kind::Order => {
            if m.segment("ORC").is_none() && m.segment("OBR").is_none() {
                return Err(Problem::new(100, "an order needs an ORC or OBR segment", Some(("ORC", 1, 0))));
            }
        }
        Kind::Schedule(_) => need(m, "SCH", "a scheduling message needs an SCH segment")?,
        Kind::Document(_) => need(m, "TXA", "a document message needs a TXA segment")?,
        Kind::Immunization => mapper.check_immunizations()?,
        Kind::Result => {
            if m.segment("OBR").is_none() && m.segment("OBX").is_none() {
                return Err(Problem::new(100, "a result message needs an OBR or OBX segment", Some(("OBR", 1, 0))));
            }
            let mut obx_seq = 0;
            for (obr, observations) in result_groups(m) {
                for obx in observations {
                    obx_seq += 1;
                    mapper.check_observation(obx, obx_seq)?;
                }
                if let Some(obr) = obr {
                    mapper.report_code(obr)?;
                }
            }
        }
    }
    Ok(kind)
}

/// Collects a Bundle's entries with full URLs derived from the message.
struct Entries {
    seed: String,
    list: Vec<Value>,
}

impl Entries {
    fn url(&self, what: &str) -> String {
        format!("urn:uuid:{}", stable_uuid(&format!("{}|{what}", self.seed)))
    }

    fn push(&mut self, full_url: &str, resource: Value, method: &str, url: String) {
        self.list.push(entry(full_url, resource, method, url));
    }

    /// A resource that is created once per message (POST).
    fn post(&mut self, what: &str, resource: Value) -> String {
        let full_url = self.url(what);
        let resource_type = resource["resourceType"].as_str().unwrap_or("Basic").to_owned();
        self.push(&full_url, resource, "POST", resource_type);
        full_url
    }
}

/// Patient entry: a conditional PUT on its first identifier with a system, else a POST.
fn patient_request(key: &Option<(String, String)>) -> (&'static str, String) {
    match key {
        Some((system, value)) => ("PUT", format!("Patient?identifier={}|{}", encode(system), encode(value))),
        None => ("POST", "Patient".to_owned()),
    }
}

/// The transaction Bundle for a checked message.
pub fn to_bundle(m: &Message, checked: &Checked, options: &MapOptions) -> Result<Value, Problem> {
    let kind = check(m, checked, options)?;
    let mapper = Mapper { m, checked, options };
    let mut entries = Entries { seed: format!("{}|{}", checked.sender, checked.control_id), list: Vec::new() };
    let pid = m.segment("PID").expect("check requires PID");
    let patient_url = entries.url("Patient");
    let (mut patient, patient_key) = mapper.patient(pid);
    if kind == Kind::Merge {
        mapper.merge(&mut patient, &patient_url, &mut entries);
    }
    let (method, url) = patient_request(&patient_key);
    entries.list.insert(0, entry(&patient_url, patient, method, url));
    let mut refs = Map::new();
    refs.insert("subject".into(), json!({"reference": patient_url}));
    if let Some(pv1) = m.segment("PV1").filter(|_| !matches!(kind, Kind::Person(_) | Kind::Merge)) {
        let event = match kind { Kind::Adt(e) => e, _ => "" };
        let encounter_url = entries.url("Encounter");
        let (encounter, visit) = mapper.encounter(pv1, event, &patient_url);
        let request = match visit {
            Some(v) => ("PUT", format!("Encounter?identifier={}", encode(&v))),
            None => ("POST", "Encounter".to_owned()),
        };
        // Outside ADT a PV1 only gives context: its Encounter is referenced, not re-stated.
        if matches!(kind, Kind::Adt(_)) || request.0 == "PUT" {
            entries.push(&encounter_url, encounter, request.0, request.1);
            refs.insert("encounter".into(), json!({"reference": encounter_url}));
        }
    }
    match kind {
        Kind::Adt(_) | Kind::Person(_) | Kind::Merge => {}
        Kind::Order => mapper.orders(&refs, &mut entries),
        Kind::Schedule(event) => mapper.appointment(event, &refs, &mut entries),
        Kind::Document(event) => mapper.document(event, &refs, &mut entries),
        Kind::Immunization => mapper.immunizations(&refs, &mut entries),
        Kind::Result => {
            let (mut obr_seq, mut obx_seq) = (0, 0);
            for (obr, observations) in result_groups(m) {
                let mut results = Vec::new();
                let mut conclusion = Vec::new();
                let mut built = Vec::new();
                for obx in observations {
                    obx_seq += 1;
                    match mapper.observation(obx, obx_seq, obr, &refs)? {
                        Some(observation) => {
                            let obs_url = entries.url(&format!("Observation/{obx_seq}"));
                            results.push(json!({"reference": obs_url}));
                            built.push((obs_url, observation));
                        }
                        // A text line without an identifier belongs to the report's narrative.
                        None => conclusion.push(mapper.m.unescape(obx.raw(5)).into_owned()),
                    }
                }
                if let Some(obr) = obr {
                    obr_seq += 1;
                    let report = mapper.report(obr, &refs, results, conclusion.join("\n"))?;
                    entries.post(&format!("DiagnosticReport/{obr_seq}"), report);
                }
                for (obs_url, observation) in built {
                    entries.push(&obs_url, observation, "POST", "Observation".into());
                }
            }
        }
    }
    let _ = &mapper.checked;
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": clock::fhir_now(),
        "identifier": {"system": "urn:hl7v2:message-control-id", "value": format!("{}|{}", checked.sender, checked.control_id)},
        "entry": entries.list,
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
        // The pack's fixtures and every message of the public corpora, one message per text.
        let mut texts = Vec::new();
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        for sub in files.clone().iter().filter(|p| p.is_dir()) {
            files.extend(std::fs::read_dir(sub).unwrap().map(|e| e.unwrap().path()));
        }
        for path in files.iter().filter(|p| p.is_file()) {
            let name = path.file_name().unwrap().to_string_lossy();
            if name == "LICENSE" || name.ends_with(".md") || name.ends_with(".tsv") {
                continue;
            }
            let bytes = std::fs::read(path).unwrap();
            let text = crate::convert::decode(&bytes).trim_start_matches('\u{feff}').replace("\r\n", "\r").replace('\n', "\r");
            let mut current: Vec<&str> = Vec::new();
            for seg in text.split('\r') {
                if seg.starts_with("MSH") && !current.is_empty() {
                    texts.push(current.join("\r"));
                    current.clear();
                }
                current.push(seg);
            }
            texts.push(current.join("\r"));
        }
        for text in texts {
            // The corpora's long messages get the sharpest mutations only: the test stays quick.
            let bad_values: &[&str] = if text.len() < 3000 { &["", "high", "CE", "NM", "DT", "SN", "<^x", "2024xx"] } else { &["", "high", "2024xx"] };
            let segments: Vec<&str> = text.split('\r').collect();
            let mut variants = vec![text.clone()];
            for (n, seg) in segments.iter().enumerate() {
                if !(seg.starts_with("OBX|") || seg.starts_with("OBR|") || seg.starts_with("RXA|") || seg.starts_with("MRG|")) {
                    continue;
                }
                for field in 1..=5 {
                    for bad in bad_values {
                        let mut fields: Vec<String> = seg.split('|').map(str::to_owned).collect();
                        if fields.len() <= field {
                            fields.resize(field + 1, String::new());
                        }
                        fields[field] = (*bad).to_owned();
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
        assert!(compared > 1000 && refused > 100, "too few cases: {compared} compared, {refused} refused");
    }

    fn corpus_bundle(file: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures/hl7/microsoft-fhir-converter").join(file);
        let text = std::fs::read_to_string(path).unwrap().trim_start_matches('\u{feff}').replace("\r\n", "\r").replace('\n', "\r");
        let m = Message::parse(text.trim_end()).unwrap();
        to_bundle(&m, &check(&m).unwrap(), &MapOptions { default_offset: "Z".into() }).unwrap()
    }

    fn resources<'b>(bundle: &'b Value, kind: &str) -> Vec<&'b Value> {
        bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == kind).collect()
    }

    #[test]
    fn every_kind_maps_its_own_resources() {
        let merge = corpus_bundle("ADT-A40-01.hl7");
        let patients = resources(&merge, "Patient");
        assert_eq!(patients.len(), 2);
        assert_eq!(patients[1]["link"][0]["type"], "replaced-by");
        assert_eq!(patients[1]["active"], false);
        assert_eq!(patients[0]["link"][0]["type"], "replaces");
        assert_eq!(patients[1]["link"][0]["other"]["reference"], merge["entry"][0]["fullUrl"]);
        assert_eq!(resources(&corpus_bundle("ADT-A11-01.hl7"), "Encounter")[0]["status"], "cancelled");
        assert_eq!(resources(&corpus_bundle("ADT-A03-01.hl7"), "Encounter")[0]["status"], "finished");
        assert!(resources(&corpus_bundle("ADT-A28-01.hl7"), "Encounter").is_empty());
        let order = corpus_bundle("OML-O21-01.hl7");
        let request = resources(&order, "ServiceRequest")[0];
        assert_eq!((request["intent"].as_str(), request["code"]["coding"][0]["code"].as_str()), (Some("order"), Some("57698-3")));
        let appointment = corpus_bundle("SIU-S12-01.hl7");
        let a = resources(&appointment, "Appointment")[0];
        assert_eq!((a["status"].as_str(), a["start"].as_str()), (Some("booked"), Some("2021-09-24T09:30:00+02:15")));
        assert_eq!(resources(&corpus_bundle("SIU-S15-01.hl7"), "Appointment")[0]["status"], "cancelled");
        let document = corpus_bundle("MDM-T02-01.hl7");
        assert_eq!(resources(&document, "DocumentReference")[0]["docStatus"], "final");
        let vaccine = corpus_bundle("VXU-V04-01.hl7");
        let im = resources(&vaccine, "Immunization")[0];
        assert_eq!(im["vaccineCode"]["coding"][0]["system"], "http://hl7.org/fhir/sid/ndc");
        assert_eq!(im["doseQuantity"], json!({"value": 0.5, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}));
        let lab = corpus_bundle("OUL-R22-01.hl7");
        assert!(!resources(&lab, "Observation").is_empty());
    }

    #[test]
    fn only_valid_ucum_is_marked_ucum() {
        let units = |unit: &str| {
            let text = format!("MSH|^~\\&|LAB|H|BW|GW|20240101||ORU^R01|77|P|2.5\rPID|1||1\rOBR|1|||X^Y^LN\rOBX|1|NM|A^B^LN||72|{unit}");
            let m = Message::parse(&text).unwrap();
            let bundle = to_bundle(&m, &check(&m).unwrap(), &MapOptions { default_offset: "Z".into() }).unwrap();
            bundle["entry"][2]["resource"]["valueQuantity"].clone()
        };
        assert_eq!(units("mg/dL^^UCUM")["system"], "http://unitsofmeasure.org");
        assert_eq!(units("{beats}/min")["code"], "{beats}/min");
        let text_only = units("beats/min^^ISO");
        assert_eq!((text_only.get("system"), text_only["unit"].as_str()), (None, Some("beats/min")));
        assert_eq!(units("mmHg").get("system"), None);
        assert_eq!(units("mg/dL^milligrams^ISO+").get("code"), None);
    }

    #[test]
    fn bad_number_is_a_content_error() {
        let text = "MSH|^~\\&|LAB|H|BW|GW|20240101||ORU^R01|77|P|2.5\rPID|1||1\rOBR|1|||X^Y^LN\rOBX|1|NM|A^B^LN||high";
        let m = Message::parse(text).unwrap();
        let p = to_bundle(&m, &check(&m).unwrap(), &MapOptions { default_offset: "Z".into() }).unwrap_err();
        assert_eq!((p.code, p.location.unwrap().2), (102, 5));
    }
}
