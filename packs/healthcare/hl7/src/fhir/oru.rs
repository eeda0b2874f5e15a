//! OBR to DiagnosticReport and OBX to Observation (ORU^R01, OUL^R22-R24). An OBX without OBX-3
//! is a line of text, not an observation: it goes to its report's conclusion.

use serde_json::{json, Map, Value};

use super::{put, Mapper, V2_0203};
use crate::ack::Problem;
use crate::clock;
use crate::message::Segment;

impl<'m, 'a> Mapper<'m, 'a> {
    /// A numeric OBX-5 (NM, or SN as comparator^number): (comparator, value).
    fn observation_number(&self, first: &'a str, value_type: &str, seq: usize) -> Result<(String, f64), Problem> {
        let m = self.m;
        let (comparator, number) = if value_type == "SN" {
            (m.component(first, 1).trim().to_owned(), m.component(first, 2).trim().to_owned())
        } else {
            (String::new(), m.unescape(first).trim().to_owned())
        };
        let value: f64 = number.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
            Problem::new(102, format!("OBX #{seq}: OBX-5 {number:?} is not a number ({value_type})"), Some(("OBX", seq, 5)))
        })?;
        Ok((comparator, value))
    }

    /// A date/time OBX-5 (DT, TS, DTM) as a FHIR dateTime.
    fn observation_datetime(&self, first: &'a str, seq: usize) -> Result<String, Problem> {
        let raw = self.m.component(first, 1);
        clock::fhir_datetime(&raw, &self.options.default_offset)
            .ok_or_else(|| Problem::new(102, format!("OBX #{seq}: OBX-5 {raw:?} is not a date/time"), Some(("OBX", seq, 5))))
    }

    /// What `observation` can refuse, without building it.
    pub(super) fn check_observation(&self, obx: &Segment<'a>, seq: usize) -> Result<(), Problem> {
        if self.concept(obx.raw(3)).is_none() {
            return Ok(()); // a text line
        }
        let value_type = self.text(obx, 2, 1);
        if let Some(&first) = self.m.repetitions(obx.raw(5)).first() {
            match value_type.as_str() {
                "NM" | "SN" => drop(self.observation_number(first, &value_type, seq)?),
                "DT" | "TS" | "DTM" => drop(self.observation_datetime(first, seq)?),
                _ => {}
            }
        }
        Ok(())
    }

    /// OBR-4, which every DiagnosticReport needs.
    pub(super) fn report_code(&self, obr: &Segment<'a>) -> Result<Value, Problem> {
        self.concept(obr.raw(4)).ok_or_else(|| Problem::new(101, "OBR-4 (universal service identifier) is empty", Some(("OBR", 1, 4))))
    }

    /// OBX to Observation; value by OBX-2. A value its type cannot hold is a content error.
    /// None for a text line (no OBX-3).
    pub(super) fn observation(&self, obx: &Segment<'a>, seq: usize, obr: Option<&Segment<'a>>, refs: &Map<String, Value>) -> Result<Option<Value>, Problem> {
        let m = self.m;
        let Some(code) = self.concept(obx.raw(3)) else { return Ok(None) };
        let mut o = Map::new();
        o.insert("resourceType".into(), json!("Observation"));
        let status = match self.text(obx, 11, 1).as_str() {
            "F" => "final", "P" | "S" => "preliminary", "C" => "corrected", "X" => "cancelled", "D" | "W" => "entered-in-error", "I" | "R" => "registered",
            _ => "unknown",
        };
        o.insert("status".into(), json!(status));
        o.insert("code".into(), code);
        o.extend(refs.clone());
        let when = clock::fhir_datetime(&self.text(obx, 14, 1), &self.options.default_offset)
            .or_else(|| obr.and_then(|obr| clock::fhir_datetime(&self.text(obr, 7, 1), &self.options.default_offset)));
        put(&mut o, "effectiveDateTime", json!(when));
        let value_type = self.text(obx, 2, 1);
        let reps = m.repetitions(obx.raw(5));
        if let Some(&first) = reps.first() {
            match value_type.as_str() {
                "NM" | "SN" => {
                    let (comparator, value) = self.observation_number(first, &value_type, seq)?;
                    let mut q = self.quantity(value, obx.raw(6));
                    if matches!(comparator.as_str(), "<" | "<=" | ">" | ">=") {
                        q.insert("comparator".into(), json!(comparator));
                    }
                    o.insert("valueQuantity".into(), Value::Object(q));
                }
                "CWE" | "CE" | "CNE" | "CF" => {
                    if let Some(c) = self.concept(first) {
                        o.insert("valueCodeableConcept".into(), c);
                    }
                }
                "DT" | "TS" | "DTM" => {
                    o.insert("valueDateTime".into(), json!(self.observation_datetime(first, seq)?));
                }
                _ => {
                    // ST, TX, FT and anything textual: repetitions are lines of one text.
                    let text: Vec<String> = reps.iter().map(|r| m.unescape(r).into_owned()).collect();
                    put(&mut o, "valueString", json!(text.join("\n")));
                }
            }
        }
        let interpretation = self.text(obx, 8, 1);
        if !interpretation.is_empty() {
            o.insert("interpretation".into(), json!([{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": interpretation}]}]));
        }
        let range = m.unescape(obx.raw(7)).trim().to_owned();
        if !range.is_empty() {
            o.insert("referenceRange".into(), json!([{"text": range}]));
        }
        Ok(Some(Value::Object(o)))
    }

    pub(super) fn report(&self, obr: &Segment<'a>, refs: &Map<String, Value>, results: Vec<Value>, conclusion: String) -> Result<Value, Problem> {
        let mut r = Map::new();
        r.insert("resourceType".into(), json!("DiagnosticReport"));
        let identifiers: Vec<Value> = [(2, "PLAC"), (3, "FILL")]
            .iter()
            .filter_map(|&(field, code)| {
                let value = self.text(obr, field, 1);
                (!value.is_empty()).then(|| json!({"type": {"coding": [{"system": V2_0203, "code": code}]}, "value": value}))
            })
            .collect();
        put(&mut r, "identifier", json!(identifiers));
        let status = match self.text(obr, 25, 1).as_str() {
            "F" => "final", "P" => "preliminary", "C" => "corrected", "X" => "cancelled", "A" | "R" | "S" => "partial", "I" | "O" => "registered",
            _ => "unknown",
        };
        r.insert("status".into(), json!(status));
        r.insert("code".into(), self.report_code(obr)?);
        r.extend(refs.clone());
        put(&mut r, "effectiveDateTime", json!(clock::fhir_datetime(&self.text(obr, 7, 1), &self.options.default_offset)));
        put(&mut r, "issued", json!(clock::fhir_instant(&self.text(obr, 22, 1), &self.options.default_offset)));
        put(&mut r, "result", json!(results));
        put(&mut r, "conclusion", json!(conclusion.trim()));
        Ok(Value::Object(r))
    }
}
