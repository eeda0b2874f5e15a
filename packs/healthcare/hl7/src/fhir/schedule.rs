//! SCH (with TQ1, AIS, AIL, AIP) to Appointment (SIU^S12-S26).

use serde_json::{json, Map, Value};

use super::{put, Entries, Mapper};

impl<'m, 'a> Mapper<'m, 'a> {
    pub(super) fn appointment(&self, event: &str, refs: &Map<String, Value>, entries: &mut Entries) {
        let m = self.m;
        let sch = m.segment("SCH").expect("check requires SCH");
        let mut a = Map::new();
        a.insert("resourceType".into(), json!("Appointment"));
        let identifiers: Vec<Value> = [(1, "PLAC"), (2, "FILL")].iter().filter_map(|&(f, code)| self.entity_identifier(sch.raw(f), code)).collect();
        put(&mut a, "identifier", json!(identifiers));
        let status = match event {
            "S15" | "S16" | "S20" | "S21" => "cancelled",
            "S17" | "S22" => "entered-in-error",
            "S26" => "noshow",
            _ => "booked",
        };
        a.insert("status".into(), json!(status));
        if let Some(kind) = self.concept(sch.raw(8)) {
            a.insert("appointmentType".into(), kind);
        }
        if let Some(reason) = self.concept(sch.raw(7)) {
            a.insert("reasonCode".into(), json!([reason]));
        }
        let service: Vec<Value> = m.segments_named("AIS").filter_map(|ais| self.concept(ais.raw(3))).collect();
        put(&mut a, "serviceType", json!(service));
        // Start and end: TQ1-7/8 (2.5 on), else SCH-11.4/11.5 (TQ); both or neither.
        let tq1 = m.segment("TQ1");
        let start = tq1.and_then(|t| self.instant(&self.text(t, 7, 1))).or_else(|| self.instant(&self.text(sch, 11, 4)));
        let end = tq1.and_then(|t| self.instant(&self.text(t, 8, 1))).or_else(|| self.instant(&self.text(sch, 11, 5)));
        if let (Some(start), Some(end)) = (start, end) {
            a.insert("start".into(), json!(start));
            a.insert("end".into(), json!(end));
        }
        let minutes = self.text(sch, 9, 1).parse::<u64>().ok().filter(|&n| n > 0);
        let unit = self.text(sch, 10, 1);
        if let Some(n) = minutes {
            match unit.as_str() {
                "min" | "M" | "m" | "MIN" | "" => drop(a.insert("minutesDuration".into(), json!(n))),
                "h" | "H" | "hr" => drop(a.insert("minutesDuration".into(), json!(n * 60))),
                _ => {}
            }
        }
        let comment: Vec<String> = m.segments_named("NTE").map(|n| m.unescape(n.raw(3)).trim().to_owned()).filter(|t| !t.is_empty()).collect();
        put(&mut a, "comment", json!(comment.join("\n")));
        let mut participants = vec![json!({"actor": refs["subject"].clone(), "status": "accepted"})];
        for aip in m.segments_named("AIP") {
            let name = m.repetitions(aip.raw(3)).first().map(|r| self.person_name(r)).unwrap_or_default();
            if !name.is_empty() {
                participants.push(json!({"actor": {"display": name}, "status": "accepted"}));
            }
        }
        for ail in m.segments_named("AIL") {
            let place: Vec<String> = [1, 2, 4].iter().map(|&c| self.text(ail, 3, c)).filter(|s| !s.is_empty()).collect();
            if !place.is_empty() {
                participants.push(json!({"actor": {"display": place.join(" ")}, "status": "accepted"}));
            }
        }
        a.insert("participant".into(), json!(participants));
        entries.post("Appointment", Value::Object(a));
    }
}
