//! One inbound interchange, from the HTTP endpoint or the drop folder: read and check it, write
//! its acknowledgment, store it in the buffer, and only then hand the acknowledgment back.

use backworks_plugin_sdk::{json, Host, PluginError, PluginResult, Value};

use crate::ack;
use crate::config::Config;
use crate::control::Controls;
use crate::envelope::{self, Interchange};

/// What became of the interchanges of one input, all stored.
pub struct Receipt {
    /// The acknowledgment interchanges, one after the other; empty when none is due (ISA14=0
    /// and only FA groups).
    pub ack: String,
    /// Nothing was rejected: every envelope, group and set was accepted.
    pub accepted: bool,
    /// One stored document per interchange, in order.
    pub document_ids: Vec<i64>,
}

/// Reads, acknowledges and stores each interchange of `input` (a file may hold several, one
/// after the other). `Err(BadRequest)` when there is no ISA to answer (nothing is stored);
/// `Err(Unavailable)` when the buffer refused one (nothing is acknowledged; interchanges before
/// it stay stored).
pub fn receive(host: &Host, config: &Config, controls: &Controls, input: &str, source: &str) -> PluginResult<Receipt> {
    let mut receipt = Receipt { ack: String::new(), accepted: true, document_ids: Vec::new() };
    let mut at = 0;
    loop {
        let text = &input[at..];
        let ix = envelope::read(text.as_bytes(), config).map_err(|e| PluginError::BadRequest(format!("not an X12 interchange: {}", e.0)))?;
        let end = ix.next.map_or(text.len(), |n| n);
        let ack = match ack::needs(&ix) {
            Some(groups) => {
                let (isa, gs) = controls.reserve(host, groups)?;
                ack::build(&ix, config, isa, &gs)
            }
            None => String::new(),
        };
        receipt.accepted &= !ix.rejected() && ix.groups.iter().all(|g| ack::group_status(&ix, g).0 == "A");
        let mut meta = summary(&ix, source, &ack);
        if at > 0 || ix.next.is_some() {
            meta["offset"] = json!(at);
        }
        let document = json!({"type": "edi-x12", "body": &text[..end], "meta": meta});
        let id = host
            .emit_durable(&document)
            .map_err(|e| PluginError::Unavailable(format!("the buffer did not store the interchange, so it is not acknowledged; send it again ({e})")))?;
        receipt.document_ids.push(id);
        receipt.ack.push_str(&ack);
        match ix.next {
            Some(next) => at += next,
            None => return Ok(receipt),
        }
    }
}

/// What the stored document's meta says: who sent what, and how each part was acknowledged.
pub fn summary(ix: &Interchange<'_>, source: &str, ack: &str) -> Value {
    let isa = ix.isa();
    let groups: Vec<Value> = ix
        .groups
        .iter()
        .map(|g| {
            let gs = &ix.segments[g.gs];
            let sets: Vec<Value> = g
                .sets
                .iter()
                .map(|s| {
                    let st = &ix.segments[s.st];
                    json!({"set": st.text(1), "control_number": st.text(2), "accepted": s.accepted(), "codes": s.codes})
                })
                .collect();
            json!({
                "functional_id": gs.text(1), "control_number": gs.text(6), "version": gs.text(8),
                "status": ack::group_status(ix, g).0, "codes": g.codes, "transactions": sets,
            })
        })
        .collect();
    json!({
        "source": source,
        "partner": ix.partner.map(|p| p.id.as_str()),
        "sender": isa.text(6),
        "receiver": isa.text(8),
        "interchange_control_number": isa.text(13),
        "version": isa.text(12),
        "status": if ix.rejected() { "rejected" } else { "accepted" },
        "ta1_note": ix.note,
        "problems": ix.problems,
        "warnings": ix.warnings,
        "groups": groups,
        "acknowledgment": ack,
    })
}
