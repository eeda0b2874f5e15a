//! RXA (with RXR) to Immunization (VXU^V04); the dose's units are marked UCUM only when valid.

use serde_json::{json, Map, Value};

use super::{put, Entries, Mapper};
use crate::ack::Problem;
use crate::clock;

impl<'m, 'a> Mapper<'m, 'a> {
    /// Every RXA needs RXA-3 (when) and RXA-5 (which vaccine): Immunization requires both.
    pub(super) fn check_immunizations(&self) -> Result<(), Problem> {
        let mut any = false;
        for (n, rxa) in self.m.segments_named("RXA").enumerate() {
            any = true;
            if clock::fhir_datetime(&self.text(rxa, 3, 1), &self.options.default_offset).is_none() {
                let raw = self.text(rxa, 3, 1);
                return Err(Problem::new(102, format!("RXA #{}: RXA-3 {raw:?} is not a date/time", n + 1), Some(("RXA", n + 1, 3))));
            }
            if self.concept(rxa.raw(5)).is_none() {
                return Err(Problem::new(101, format!("RXA #{}: RXA-5 (administered code) is empty", n + 1), Some(("RXA", n + 1, 5))));
            }
        }
        if !any {
            return Err(Problem::new(100, "an immunization message needs an RXA segment", Some(("RXA", 1, 0))));
        }
        Ok(())
    }

    pub(super) fn immunizations(&self, refs: &Map<String, Value>, entries: &mut Entries) {
        let m = self.m;
        let segments = &m.segments;
        let mut n = 0;
        for (i, rxa) in segments.iter().enumerate().filter(|(_, s)| s.id == "RXA") {
            n += 1;
            let mut im = Map::new();
            im.insert("resourceType".into(), json!("Immunization"));
            let status = if self.text(rxa, 21, 1) == "D" {
                "entered-in-error"
            } else {
                match self.text(rxa, 20, 1).as_str() {
                    "RE" | "NA" => "not-done",
                    _ => "completed",
                }
            };
            im.insert("status".into(), json!(status));
            if status == "not-done" {
                if let Some(reason) = self.concept(rxa.raw(18)) {
                    im.insert("statusReason".into(), reason);
                }
            }
            im.insert("vaccineCode".into(), self.concept(rxa.raw(5)).expect("checked"));
            im.insert("patient".into(), refs["subject"].clone());
            if let Some(encounter) = refs.get("encounter") {
                im.insert("encounter".into(), encounter.clone());
            }
            let when = clock::fhir_datetime(&self.text(rxa, 3, 1), &self.options.default_offset).expect("checked");
            im.insert("occurrenceDateTime".into(), json!(when));
            let manufacturer = [2, 1].iter().map(|&c| self.text(rxa, 17, c)).find(|s| !s.is_empty()).unwrap_or_default();
            if !manufacturer.is_empty() {
                im.insert("manufacturer".into(), json!({"display": manufacturer}));
            }
            put(&mut im, "lotNumber", json!(self.text(rxa, 15, 1)));
            put(&mut im, "expirationDate", json!(clock::fhir_date(&self.text(rxa, 16, 1))));
            // 999 means "amount unknown" in RXA-6.
            if let Some(amount) = self.text(rxa, 6, 1).parse::<f64>().ok().filter(|v| v.is_finite() && *v != 999.0) {
                im.insert("doseQuantity".into(), Value::Object(self.quantity(amount, rxa.raw(7))));
            }
            if let Some(rxr) = segments.get(i + 1).filter(|s| s.id == "RXR") {
                if let Some(route) = self.concept(rxr.raw(1)) {
                    im.insert("route".into(), route);
                }
                if let Some(site) = self.concept(rxr.raw(2)) {
                    im.insert("site".into(), site);
                }
            }
            entries.post(&format!("Immunization/{n}"), Value::Object(im));
        }
    }
}
