//! ORC/OBR to ServiceRequest (ORM^O01, OML^O21/O33/O35): one request per ORC, with the OBR that
//! follows it (an OBR without an ORC is a request of its own).

use serde_json::{json, Map, Value};

use super::{put, Entries, Mapper};
use crate::message::Segment;

impl<'m, 'a> Mapper<'m, 'a> {
    /// ORC-5 order status (table 0038), else ORC-1 order control (table 0119).
    fn request_status(&self, orc: Option<&Segment<'a>>) -> &'static str {
        let Some(orc) = orc else { return "active" };
        match self.text(orc, 5, 1).as_str() {
            "CM" => return "completed",
            "CA" | "DC" => return "revoked",
            "HD" => return "on-hold",
            "A" | "IP" | "SC" => return "active",
            _ => {}
        }
        match self.text(orc, 1, 1).as_str() {
            "CA" | "OC" | "DC" | "OD" | "CR" | "DR" => "revoked",
            "HD" | "OH" => "on-hold",
            "NW" | "XO" | "OK" | "SC" | "RE" | "SN" | "RL" | "XR" => "active",
            _ => "unknown",
        }
    }

    fn service_request(&self, orc: Option<&Segment<'a>>, obr: Option<&Segment<'a>>, refs: &Map<String, Value>) -> Value {
        let mut r = Map::new();
        r.insert("resourceType".into(), json!("ServiceRequest"));
        // Placer and filler numbers: ORC-2/3, else OBR-2/3.
        let identifiers: Vec<Value> = [(2, "PLAC"), (3, "FILL")]
            .iter()
            .filter_map(|&(field, code)| {
                let raw = orc.map(|s| s.raw(field)).filter(|r| !r.is_empty()).or_else(|| obr.map(|s| s.raw(field)))?;
                self.entity_identifier(raw, code)
            })
            .collect();
        put(&mut r, "identifier", json!(identifiers));
        r.insert("status".into(), json!(self.request_status(orc)));
        r.insert("intent".into(), json!("order"));
        if let Some(code) = obr.and_then(|obr| self.concept(obr.raw(4))) {
            r.insert("code".into(), code);
        }
        r.extend(refs.clone());
        if let Some(orc) = orc {
            put(&mut r, "authoredOn", json!(super::clock::fhir_datetime(&self.text(orc, 9, 1), &self.options.default_offset)));
            let requester = self.m.repetitions(orc.raw(12)).first().map(|rep| self.person_name(rep)).unwrap_or_default();
            if !requester.is_empty() {
                r.insert("requester".into(), json!({"display": requester}));
            }
        }
        Value::Object(r)
    }

    pub(super) fn orders(&self, refs: &Map<String, Value>, entries: &mut Entries) {
        let mut orders: Vec<(Option<&Segment<'a>>, Option<&Segment<'a>>)> = Vec::new();
        for seg in &self.m.segments {
            match seg.id {
                "ORC" => orders.push((Some(seg), None)),
                "OBR" => match orders.last_mut() {
                    Some((_, obr @ None)) => *obr = Some(seg),
                    _ => orders.push((None, Some(seg))),
                },
                _ => {}
            }
        }
        for (n, (orc, obr)) in orders.into_iter().enumerate() {
            let request = self.service_request(orc, obr, refs);
            entries.post(&format!("ServiceRequest/{}", n + 1), request);
        }
    }
}
