//! The HTTP side: `POST /fix/:session/messages` turns JSON (tag names or numbers) into an
//! application message and sends it; `GET /fix` and `GET /fix/:session` show session states.

use serde_json::{json, Map, Value};

use crate::dictionary::{Dictionary, Layout};
use crate::engine::Engine;
use crate::message::{FieldMap, Message};
use crate::time::now_ms;
use crate::validate;

/// Set by the session itself; a caller giving them is told so.
const SESSION_TAGS: [i32; 7] = [8, 9, 10, 34, 49, 52, 56];

fn scalar(value: &Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "Y" } else { "N" }.to_owned()),
        _ => Err(format!("{key}: a field value must be a string, number or boolean")),
    }
}

/// Fills `map` from a JSON object; arrays become repeating groups of `layout`.
fn fill(map: &mut FieldMap, object: &Map<String, Value>, layout: Option<&Layout>, dict: &Dictionary, path: &str) -> Result<(), String> {
    for (key, value) in object {
        let tag = dict.resolve(key).ok_or_else(|| format!("{path}{key}: no such field in {}", dict.begin_string))?;
        let Value::Array(items) = value else {
            map.fields.push(crate::wire::Field::new(tag, scalar(value, &format!("{path}{key}"))?));
            continue;
        };
        let group = layout
            .and_then(|l| l.groups.get(&tag))
            .ok_or_else(|| format!("{path}{key}: not a repeating group of this message"))?;
        map.fields.push(crate::wire::Field::new(tag, items.len().to_string()));
        let mut instances = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let entry = item.as_object().ok_or_else(|| format!("{path}{key}[{i}] must be an object"))?;
            let mut instance = FieldMap::default();
            fill(&mut instance, entry, Some(group), dict, &format!("{path}{key}[{i}]."))?;
            // Instance fields in the group's defined order: the delimiter first.
            instance.fields.sort_by_key(|f| group.order.iter().position(|t| *t == f.tag).unwrap_or(usize::MAX));
            instances.push(instance);
        }
        map.groups.push((tag, instances));
    }
    Ok(())
}

/// Builds and checks an application message from JSON; errors say which field is wrong.
pub fn message_from_json(body: &str, dict: &Dictionary) -> Result<Message, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let object = value.as_object().ok_or("the body must be a JSON object of fields, e.g. {\"MsgType\": \"D\", \"ClOrdID\": \"1\"}")?;
    let type_key = object.keys().find(|k| dict.resolve(k) == Some(35)).ok_or("MsgType (35) is required")?;
    let type_value = scalar(&object[type_key], type_key)?;
    let msg_type = dict.types_by_name.get(&type_value).cloned().unwrap_or(type_value);
    let def = dict.messages.get(&msg_type).ok_or_else(|| format!("MsgType {msg_type:?} is not a message of {}", dict.begin_string))?;
    if def.admin {
        return Err(format!("{} is a session message: the session sends those itself", def.name));
    }
    let mut msg = Message::default();
    let mut all = FieldMap::default();
    let rest: Map<String, Value> = object.iter().filter(|(k, _)| *k != type_key).map(|(k, v)| (k.clone(), v.clone())).collect();
    fill(&mut all, &rest, Some(&def.layout), dict, "")?;
    msg.header.set(35, msg_type.clone());
    for field in all.fields {
        if SESSION_TAGS.contains(&field.tag) {
            return Err(format!("{} ({}) is set by the session", dict.field_name(field.tag), field.tag));
        }
        let target = if dict.is_header(field.tag) { &mut msg.header } else { &mut msg.body };
        target.fields.push(field);
    }
    msg.body.groups = all.groups;
    // Checked as the counterparty will check it, with the header the session will add.
    let mut probe = msg.clone();
    for (tag, value) in [(8, dict.begin_string.as_str()), (9, "0"), (34, "1"), (49, "S"), (52, "20000101-00:00:00"), (56, "T")] {
        probe.header.set(tag, value);
    }
    probe.trailer.set(10, "000");
    validate::validate(&probe, dict).map_err(|p| format!("{} is not valid: {}", def.name, p.describe(dict)))?;
    Ok(msg)
}

pub fn session_status(engine: &Engine, name: &str) -> Option<Value> {
    let slot = engine.slot(name)?;
    let live = slot.lock();
    let s = &live.session;
    let c = s.counters;
    Some(json!({
        "state": s.state_name(),
        "role": if s.role() == crate::config::Role::Acceptor { "acceptor" } else { "initiator" },
        "begin_string": slot.cfg.begin_string,
        "sender_comp_id": slot.cfg.sender_comp_id,
        "target_comp_id": slot.cfg.target_comp_id,
        "port": engine.listening.get(&slot.cfg.port).map(|a| a.port()).unwrap_or(slot.cfg.port),
        "peer": live.peer,
        "next_sender_seq": s.next_sender(),
        "next_target_seq": s.next_target(),
        "received": c.received, "sent": c.sent, "rejected": c.rejected, "garbled": c.garbled, "stored": c.stored,
    }))
}

/// Answers an endpoint call, or None when the path is not the plugin's.
pub fn handle(engine: &Engine, endpoint: &str, method: &str, data: &str) -> Option<Result<String, (u16, String)>> {
    let path = endpoint.split('?').next().unwrap_or("").trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match (method, parts.as_slice()) {
        ("GET", ["fix"]) => {
            let all: Map<String, Value> =
                engine.slots.iter().filter_map(|s| Some((s.cfg.name.clone(), session_status(engine, &s.cfg.name)?))).collect();
            Some(Ok(json!({ "sessions": all }).to_string()))
        }
        ("GET", ["fix", name]) => Some(session_status(engine, name).map(|s| s.to_string()).ok_or((404, format!("no FIX session {name:?}")))),
        ("POST", ["fix", name, "messages"]) => Some(send(engine, name, data)),
        ("GET", ["fix", name, "messages"]) => Some(received(engine, name, 0)),
        ("GET", ["fix", name, "messages", after]) => match after.parse::<i64>() {
            Ok(after) => Some(received(engine, name, after)),
            Err(_) => Some(Err((400, format!("{after:?} is not a message id")))),
        },
        _ => None,
    }
}

fn send(engine: &Engine, name: &str, data: &str) -> Result<String, (u16, String)> {
    let slot = engine.slot(name).ok_or((404, format!("no FIX session {name:?}")))?;
    let msg = message_from_json(data, &slot.cfg.dictionary).map_err(|e| (400, e))?;
    let (seq, sent, outcome) = {
        let mut live = slot.lock();
        let sent = live.session.logged_on();
        let seq = live.session.send_app(msg, now_ms());
        (seq, sent, slot.flush(&mut live, true))
    };
    // Answered once committed (and sent when logged on).
    if let Some(outcome) = outcome {
        outcome.recv().unwrap_or_else(|_| Err("the session stopped".into())).map_err(|e| (503, format!("not stored, not sent: {e}")))?;
    }
    Ok(json!({ "session": name, "seq": seq, "sent": sent, "queued": !sent }).to_string())
}

/// Application messages the session received and the buffer holds, oldest first, 100 a page;
/// `next` is the path of the following page.
fn received(engine: &Engine, name: &str, after_id: i64) -> Result<String, (u16, String)> {
    let slot = engine.slot(name).ok_or((404, format!("no FIX session {name:?}")))?;
    let store = slot.lock().session.store.clone();
    let mut messages = Vec::new();
    let mut cursor = after_id;
    while messages.len() < 100 {
        let page = store.documents(cursor, 1000).map_err(|e| (503, e))?;
        let Some(last) = page.last().and_then(|d| d["id"].as_i64()) else { break };
        cursor = last;
        for doc in page.into_iter().filter(|d| d["meta"]["session"] == name).take(100 - messages.len()) {
            let body = doc["body"].as_str().unwrap_or("");
            let fields: Vec<Value> = crate::wire::split_fields(body.as_bytes(), |t| slot.cfg.dictionary.is_data(t))
                .unwrap_or_default()
                .into_iter()
                .map(|f| json!([slot.cfg.dictionary.field_name(f.tag), f.value]))
                .collect();
            messages.push(json!({
                "id": doc["id"], "received_at": doc["received_at"], "msg_type": doc["meta"]["msg_type"],
                "msg_seq_num": doc["meta"]["msg_seq_num"], "poss_dup": doc["meta"]["poss_dup"].as_bool().unwrap_or(false),
                "fix": body.replace('\x01', "|"), "fields": fields,
            }));
        }
    }
    let next = messages.last().and_then(|m| m["id"].as_i64()).map(|id| format!("/fix/{name}/messages/{id}"));
    Ok(json!({ "session": name, "messages": messages, "next": next }).to_string())
}
