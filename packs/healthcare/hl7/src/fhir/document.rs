//! TXA and its OBX to DocumentReference (MDM^T01-T11): the document's text (TX, FT, ST lines) or
//! its encapsulated data (ED, base64) as the attachment, a reference pointer (RP) as its URL.

use serde_json::{json, Map, Value};

use super::{put, Entries, Mapper};

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(super) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn is_base64(text: &str) -> bool {
    !text.is_empty() && text.len().is_multiple_of(4) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

impl<'m, 'a> Mapper<'m, 'a> {
    pub(super) fn document(&self, event: &str, refs: &Map<String, Value>, entries: &mut Entries) {
        let m = self.m;
        let txa = m.segment("TXA").expect("check requires TXA");
        let mut d = Map::new();
        d.insert("resourceType".into(), json!("DocumentReference"));
        let unique = self.text(txa, 12, 1);
        if !unique.is_empty() {
            d.insert("masterIdentifier".into(), json!({"value": unique}));
        }
        d.insert("status".into(), json!(if event == "T11" { "entered-in-error" } else { "current" }));
        let doc_status = match self.text(txa, 17, 1).as_str() {
            "AU" | "LA" | "DO" => "final",
            "IP" | "IN" | "PA" | "DI" => "preliminary",
            _ => "",
        };
        put(&mut d, "docStatus", json!(doc_status));
        let kind = self.text(txa, 2, 1);
        if !kind.is_empty() {
            d.insert("type".into(), json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0270", "code": kind}]}));
        }
        d.insert("subject".into(), refs["subject"].clone());
        put(&mut d, "date", json!(self.instant(&self.text(txa, 4, 1))));
        let authors: Vec<Value> = m.repetitions(txa.raw(9)).iter().map(|r| self.person_name(r)).filter(|n| !n.is_empty()).map(|n| json!({"display": n})).collect();
        put(&mut d, "author", json!(authors));
        let mut text_lines = Vec::new();
        let mut content = Vec::new();
        for obx in m.segments_named("OBX") {
            let value = obx.raw(5);
            match self.text(obx, 2, 1).as_str() {
                "ED" => {
                    // ED: source ^ type ^ subtype ^ encoding ^ data
                    let data = m.component(value, 5).trim().to_owned();
                    let media = format!("{}/{}", m.component(value, 2).trim().to_ascii_lowercase(), m.component(value, 3).trim().to_ascii_lowercase());
                    if m.component(value, 4).eq_ignore_ascii_case("Base64") && is_base64(&data) {
                        let content_type = if media.len() > 1 && !media.starts_with('/') && !media.ends_with('/') { media } else { "application/octet-stream".into() };
                        content.push(json!({"attachment": {"contentType": content_type, "data": data}}));
                    }
                }
                "RP" => {
                    let url = m.component(value, 1).trim().to_owned();
                    if !url.is_empty() && !url.contains(char::is_whitespace) {
                        content.push(json!({"attachment": {"url": url}}));
                    }
                }
                "TX" | "FT" | "ST" | "CF" => {
                    for rep in m.repetitions(value) {
                        text_lines.push(m.unescape(rep).into_owned());
                    }
                }
                _ => {}
            }
        }
        if !text_lines.is_empty() {
            content.insert(0, json!({"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64(text_lines.join("\n").as_bytes())}}));
        }
        if content.is_empty() {
            // The notification carries no content of its own: the attachment names the document.
            let title = if kind.is_empty() { "document".to_owned() } else { format!("{kind} document") };
            content.push(json!({"attachment": {"title": title}}));
        }
        d.insert("content".into(), json!(content));
        if let Some(encounter) = refs.get("encounter") {
            d.insert("context".into(), json!({"encounter": [encounter]}));
        }
        entries.post("DocumentReference", Value::Object(d));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_encodes() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
