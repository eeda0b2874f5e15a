//! PID to Patient and PV1 to Encounter (ADT, and the patient and visit of every other kind), and
//! the A40 merge: the MRG patient becomes inactive and `replaced-by` the PID patient.

use serde_json::{json, Map, Value};

use super::{patient_request, put, Entries, Mapper};
use crate::ack::Problem;
use crate::clock;
use crate::message::Segment;

impl<'m, 'a> Mapper<'m, 'a> {
    pub(super) fn patient(&self, pid: &Segment<'a>) -> (Value, Option<(String, String)>) {
        let m = self.m;
        let mut p = Map::new();
        p.insert("resourceType".into(), json!("Patient"));
        let identifiers: Vec<Value> = m.repetitions(pid.raw(3)).into_iter().filter_map(|r| self.identifier(r)).collect();
        // The first identifier with a system names the patient for the conditional update.
        let key = identifiers.iter().find_map(|i| Some((i.get("system")?.as_str()?.to_owned(), i.get("value")?.as_str()?.to_owned())));
        put(&mut p, "identifier", json!(identifiers));
        let names: Vec<Value> = m
            .repetitions(pid.raw(5))
            .into_iter()
            .filter_map(|rep| {
                let mut name = Map::new();
                put(&mut name, "use", json!(match m.component(rep, 7).as_ref() {
                    "L" => "official", "A" => "nickname", "M" => "maiden", "N" => "nickname", "D" => "usual", "T" => "temp", _ => "",
                }));
                put(&mut name, "family", json!(self.m.unescape(m.raw_part(rep, 0, 1, 1)).trim()));
                let given: Vec<String> = [2, 3].iter().map(|&c| m.component(rep, c).trim().to_owned()).filter(|g| !g.is_empty()).collect();
                put(&mut name, "given", json!(given));
                let prefix = m.component(rep, 5).trim().to_owned();
                if !prefix.is_empty() {
                    name.insert("prefix".into(), json!([prefix]));
                }
                let suffix = m.component(rep, 4).trim().to_owned();
                if !suffix.is_empty() {
                    name.insert("suffix".into(), json!([suffix]));
                }
                (!name.is_empty()).then_some(Value::Object(name))
            })
            .collect();
        put(&mut p, "name", json!(names));
        let mut telecom = Vec::new();
        for (field, default_use) in [(13, "home"), (14, "work")] {
            for rep in m.repetitions(pid.raw(field)) {
                let equipment = m.component(rep, 3);
                let (system, value) = if equipment == "Internet" || equipment == "X.400" {
                    ("email", m.component(rep, 4).trim().to_owned())
                } else {
                    let number = m.component(rep, 1).trim().to_owned();
                    let composed = format!("{}{}", m.component(rep, 6).trim(), m.component(rep, 7).trim());
                    (if equipment == "FX" { "fax" } else { "phone" }, if number.is_empty() { composed } else { number })
                };
                if !value.is_empty() {
                    let use_ = if m.component(rep, 2) == "WPN" { "work" } else if equipment == "CP" { "mobile" } else { default_use };
                    telecom.push(json!({"system": system, "value": value, "use": use_}));
                }
            }
        }
        put(&mut p, "telecom", json!(telecom));
        put(&mut p, "gender", json!(match self.text(pid, 8, 1).as_str() {
            "M" => "male", "F" => "female", "O" | "A" => "other", "U" | "N" => "unknown", _ => "",
        }));
        put(&mut p, "birthDate", json!(clock::fhir_date(&self.text(pid, 7, 1))));
        let addresses: Vec<Value> = m
            .repetitions(pid.raw(11))
            .into_iter()
            .filter_map(|rep| {
                let mut a = Map::new();
                let lines: Vec<String> = [m.raw_part(rep, 0, 1, 1), m.raw_part(rep, 0, 2, 1)]
                    .iter()
                    .map(|l| m.unescape(l).trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect();
                put(&mut a, "use", json!(match m.component(rep, 7).as_ref() {
                    "H" => "home", "B" | "O" => "work", "C" => "temp", "BA" => "old", _ => "",
                }));
                put(&mut a, "line", json!(lines));
                put(&mut a, "city", json!(m.component(rep, 3).trim()));
                put(&mut a, "state", json!(m.component(rep, 4).trim()));
                put(&mut a, "postalCode", json!(m.component(rep, 5).trim()));
                put(&mut a, "country", json!(m.component(rep, 6).trim()));
                (!a.is_empty()).then_some(Value::Object(a))
            })
            .collect();
        put(&mut p, "address", json!(addresses));
        let marital = self.text(pid, 16, 1);
        if !marital.is_empty() {
            p.insert("maritalStatus".into(), json!({"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": marital}]}));
        }
        if let Some(when) = clock::fhir_datetime(&self.text(pid, 29, 1), &self.options.default_offset) {
            p.insert("deceasedDateTime".into(), json!(when));
        } else if self.text(pid, 30, 1) == "Y" {
            p.insert("deceasedBoolean".into(), json!(true));
        }
        (Value::Object(p), key)
    }

    pub(super) fn encounter(&self, pv1: &Segment<'a>, event: &str, patient_url: &str) -> (Value, Option<String>) {
        let m = self.m;
        let mut e = Map::new();
        e.insert("resourceType".into(), json!("Encounter"));
        let visit = m.repetitions(pv1.raw(19)).into_iter().find_map(|r| self.identifier(r));
        let key = visit.as_ref().and_then(|v| v.get("value")?.as_str().map(str::to_owned));
        if let Some(v) = visit {
            e.insert("identifier".into(), json!([v]));
        }
        // A13 cancels the discharge: the visit goes on, whatever PV1-45 still says.
        let discharged = clock::fhir_datetime(&self.text(pv1, 45, 1), &self.options.default_offset).filter(|_| event != "A13");
        let status = match event {
            "A03" => "finished",
            "A04" => "arrived",
            "A05" => "planned",
            "A11" => "cancelled",
            "A12" | "A13" => "in-progress",
            _ if discharged.is_some() => "finished",
            _ => "in-progress",
        };
        e.insert("status".into(), json!(status));
        let class = self.text(pv1, 2, 1);
        let (code, display) = match class.as_str() {
            "I" => ("IMP", "inpatient encounter"),
            "O" => ("AMB", "ambulatory"),
            "E" => ("EMER", "emergency"),
            "P" => ("PRENC", "pre-admission"),
            "R" | "B" => ("AMB", "ambulatory"),
            _ => ("", ""),
        };
        e.insert("class".into(), if code.is_empty() {
            json!({"system": "http://terminology.hl7.org/CodeSystem/v2-0004", "code": if class.is_empty() { "U" } else { class.as_str() }})
        } else {
            json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display})
        });
        e.insert("subject".into(), json!({"reference": patient_url}));
        let mut period = Map::new();
        put(&mut period, "start", json!(clock::fhir_datetime(&self.text(pv1, 44, 1), &self.options.default_offset)));
        put(&mut period, "end", json!(discharged));
        put(&mut e, "period", Value::Object(period));
        let attending: Vec<Value> = m
            .repetitions(pv1.raw(7))
            .into_iter()
            .filter_map(|rep| {
                let id = m.component(rep, 1).trim().to_owned();
                let name = [3, 2].iter().map(|&c| m.component(rep, c).trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
                if id.is_empty() && name.is_empty() {
                    return None;
                }
                let mut individual = Map::new();
                put(&mut individual, "display", json!(name));
                if !id.is_empty() {
                    individual.insert("identifier".into(), json!({"value": id}));
                }
                Some(json!({
                    "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                    "individual": individual,
                }))
            })
            .collect();
        put(&mut e, "participant", json!(attending));
        let location: Vec<String> = [1, 2, 3, 4].iter().map(|&c| self.text(pv1, 3, c)).filter(|s| !s.is_empty()).collect();
        if !location.is_empty() {
            e.insert("location".into(), json!([{"location": {"display": location.join(" ")}}]));
        }
        let mut hospitalization = Map::new();
        let admit_source = self.text(pv1, 14, 1);
        if !admit_source.is_empty() {
            hospitalization.insert("admitSource".into(), json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0023", "code": admit_source}]}));
        }
        let disposition = self.text(pv1, 36, 1);
        if !disposition.is_empty() {
            hospitalization.insert("dischargeDisposition".into(), json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0112", "code": disposition}]}));
        }
        put(&mut e, "hospitalization", Value::Object(hospitalization));
        (Value::Object(e), key)
    }

    /// Each MRG needs MRG-1, the identifier of the patient merged away.
    pub(super) fn check_merge(&self) -> Result<(), Problem> {
        let mut any = false;
        for (n, mrg) in self.m.segments_named("MRG").enumerate() {
            any = true;
            if self.m.repetitions(mrg.raw(1)).iter().all(|r| self.m.component(r, 1).trim().is_empty()) {
                return Err(Problem::new(101, "MRG-1 (prior patient identifier list) is empty", Some(("MRG", n + 1, 1))));
            }
        }
        if !any {
            return Err(Problem::new(100, "a merge (A40) needs an MRG segment", Some(("MRG", 1, 0))));
        }
        Ok(())
    }

    /// A40: every MRG patient is kept as an inactive Patient `replaced-by` the surviving one,
    /// which `replaces` it (both conditional PUTs on their identifiers).
    pub(super) fn merge(&self, survivor: &mut Value, survivor_url: &str, entries: &mut Entries) {
        let mut links = Vec::new();
        for (n, mrg) in self.m.segments_named("MRG").enumerate() {
            let identifiers: Vec<Value> = self.m.repetitions(mrg.raw(1)).into_iter().filter_map(|r| self.identifier(r)).collect();
            let key = identifiers.iter().find_map(|i| Some((i.get("system")?.as_str()?.to_owned(), i.get("value")?.as_str()?.to_owned())));
            let old_url = entries.url(&format!("Patient/merged/{}", n + 1));
            let mut old = Map::new();
            old.insert("resourceType".into(), json!("Patient"));
            put(&mut old, "identifier", json!(identifiers));
            old.insert("active".into(), json!(false));
            old.insert("link".into(), json!([{"other": {"reference": survivor_url}, "type": "replaced-by"}]));
            let (method, url) = patient_request(&key);
            entries.push(&old_url, Value::Object(old), method, url);
            links.push(json!({"other": {"reference": old_url}, "type": "replaces"}));
        }
        survivor["link"] = json!(links);
    }
}
