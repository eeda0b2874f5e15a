//! The plugin's `config:`: one session at the top level (`session_id`,
//! `target_comp_id`), more under `sessions:`, each inheriting the top level's settings.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::dictionary::Dictionary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Acceptor,
    Initiator,
}

/// What happens to inbound application messages (after they are committed to the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Application {
    /// Stored in the buffer; nothing is answered at the application level.
    Store,
    /// Also echoes NewOrderSingle and SecurityDefinition back and answers any other type with a
    /// BusinessMessageReject, as QuickFIX's acceptance-test application does (tests, benchmarks).
    Echo,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The name in the API (`/fix/:session/messages`) and in /health.
    pub name: String,
    pub begin_string: String,
    pub sender_comp_id: String,
    pub target_comp_id: String,
    pub role: Role,
    pub host: String,
    pub port: u16,
    /// HeartBtInt an initiator proposes; an acceptor uses the one its peer proposes.
    pub heartbeat_ms: i64,
    pub reset_on_logon: bool,
    /// UTC seconds into the day; outside [start, end) the session is not logged on.
    pub schedule: Option<(i64, i64)>,
    pub max_latency_ms: i64,
    pub logout_timeout_ms: i64,
    pub logon_timeout_ms: i64,
    pub reconnect_interval_ms: i64,
    pub validate: bool,
    pub application: Application,
    /// Sequence numbers and sent messages kept in the host's durable state (false: in memory).
    pub persist: bool,
    /// Each received application message also as a reading, which the fleet link publishes.
    pub fleet_readings: bool,
    pub dictionary: Arc<Dictionary>,
}

/// "500ms", "30s", "2m", "1h", or a number of seconds.
pub fn parse_duration_ms(value: &Value, key: &str) -> Result<i64, String> {
    if let Some(seconds) = value.as_f64() {
        return Ok((seconds * 1000.0) as i64);
    }
    let text = value.as_str().ok_or_else(|| format!("{key} must be a duration like \"30s\""))?.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let number: f64 = text[..split].parse().map_err(|_| format!("{key}: {text:?} is not a duration like \"30s\""))?;
    let unit = match &text[split..] {
        "ms" => 1.0,
        "s" | "" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        other => return Err(format!("{key}: unknown unit {other:?} in {text:?} (use ms, s, m, h)")),
    };
    Ok((number * unit) as i64)
}

fn time_of_day(value: &Value, key: &str) -> Result<i64, String> {
    let text = value.as_str().ok_or_else(|| format!("{key} must be a UTC time like \"08:00:00\""))?;
    crate::time::parse_time_of_day(text).map(|ms| ms / 1000).ok_or_else(|| format!("{key}: {text:?} is not HH:MM:SS"))
}

fn text(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{path}{key} must be a non-empty string")),
    }
}

const KEYS: &[&str] = &[
    "session_id", "sender_comp_id", "target_comp_id", "begin_string", "role", "host", "port", "heartbeat_interval",
    "reset_on_logon", "start_time", "end_time", "max_latency", "logout_timeout", "logon_timeout", "reconnect_interval",
    "validate", "application", "persist", "fleet_readings", "data_dictionary", "sessions",
];

fn session(map: &Map<String, Value>, path: &str) -> Result<SessionConfig, String> {
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("{path}{unknown}: unknown key (known: {})", KEYS.join(", ")));
    }
    let name = text(map, "session_id", path)?.ok_or_else(|| format!("{path}session_id is required"))?;
    let target_comp_id = text(map, "target_comp_id", path)?.ok_or_else(|| format!("{path}target_comp_id is required"))?;
    let begin_string = text(map, "begin_string", path)?.unwrap_or_else(|| "FIX.4.4".into());
    let dictionary = match text(map, "data_dictionary", path)? {
        Some(file) => {
            let xml = std::fs::read_to_string(&file).map_err(|e| format!("{path}data_dictionary {file}: {e}"))?;
            Arc::new(Dictionary::from_xml(&xml).map_err(|e| format!("{path}data_dictionary {file}: {e}"))?)
        }
        None => Dictionary::builtin(&begin_string)
            .ok_or_else(|| format!("{path}begin_string {begin_string:?}: built in are FIX.4.2 and FIX.4.4 (or give data_dictionary)"))?,
    };
    if dictionary.begin_string != begin_string {
        return Err(format!("{path}data_dictionary is for {}, not {begin_string}", dictionary.begin_string));
    }
    let role = match text(map, "role", path)?.as_deref() {
        None | Some("acceptor") => Role::Acceptor,
        Some("initiator") => Role::Initiator,
        Some(other) => return Err(format!("{path}role {other:?}: use acceptor or initiator")),
    };
    let port = map.get("port").and_then(Value::as_u64).filter(|p| *p < 65536)
        .ok_or_else(|| format!("{path}port is required (0-65535; 0: any free port, shown in /health)"))? as u16;
    let host = text(map, "host", path)?;
    if role == Role::Initiator && (host.is_none() || port == 0) {
        return Err(format!("{path}host and port are required for an initiator (the counterparty's address)"));
    }
    let duration = |key: &str, default: &str| match map.get(key) {
        Some(v) => parse_duration_ms(v, &format!("{path}{key}")),
        None => parse_duration_ms(&json!(default), key),
    };
    let flag = |key: &str, default: bool| match map.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{path}{key} must be true or false")),
    };
    let schedule = match (map.get("start_time"), map.get("end_time")) {
        (None, None) => None,
        (Some(s), Some(e)) => Some((time_of_day(s, "start_time")?, time_of_day(e, "end_time")?)),
        _ => return Err(format!("{path}start_time and end_time go together")),
    };
    let application = match text(map, "application", path)?.as_deref() {
        None | Some("store") => Application::Store,
        Some("echo") => Application::Echo,
        Some(other) => return Err(format!("{path}application {other:?}: use store or echo")),
    };
    Ok(SessionConfig {
        sender_comp_id: text(map, "sender_comp_id", path)?.unwrap_or_else(|| name.clone()),
        name,
        begin_string,
        target_comp_id,
        role,
        host: host.unwrap_or_else(|| "0.0.0.0".into()),
        port,
        heartbeat_ms: duration("heartbeat_interval", "30s")?,
        reset_on_logon: flag("reset_on_logon", false)?,
        schedule,
        max_latency_ms: duration("max_latency", "120s")?,
        logout_timeout_ms: duration("logout_timeout", "2s")?,
        logon_timeout_ms: duration("logon_timeout", "10s")?,
        reconnect_interval_ms: duration("reconnect_interval", "5s")?,
        validate: flag("validate", true)?,
        application,
        persist: flag("persist", true)?,
        fleet_readings: flag("fleet_readings", true)?,
        dictionary,
    })
}

/// Every session the config describes. Errors name the key (`sessions[1].port`).
pub fn parse(config: &Value) -> Result<Vec<SessionConfig>, String> {
    let top = config.as_object().ok_or("config must be an object")?;
    let mut sessions = Vec::new();
    if top.contains_key("session_id") {
        sessions.push(session(top, "")?);
    }
    if let Some(list) = top.get("sessions") {
        let list = list.as_array().ok_or("sessions must be a list")?;
        for (i, entry) in list.iter().enumerate() {
            let path = format!("sessions[{i}].");
            let own = entry.as_object().ok_or_else(|| format!("{path} must be an object"))?;
            if own.contains_key("sessions") {
                return Err(format!("{path}sessions: sessions do not nest"));
            }
            let mut merged: Map<String, Value> = top.iter().filter(|(k, _)| *k != "sessions" && *k != "session_id").map(|(k, v)| (k.clone(), v.clone())).collect();
            merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            sessions.push(session(&merged, &path)?);
        }
    }
    if sessions.is_empty() {
        return Err("no session: give session_id and target_comp_id (or a sessions: list)".into());
    }
    for (i, s) in sessions.iter().enumerate() {
        if sessions[..i].iter().any(|o| o.name == s.name) {
            return Err(format!("session_id {:?} is used twice", s.name));
        }
    }
    Ok(sessions)
}

/// JSON Schema of `config:` (shown by `backworks plugin inspect`, checked by `backworks check`).
pub fn schema() -> Value {
    let session = json!({
        "session_id": {"type": "string", "description": "Session name in the API and /health; SenderCompID unless sender_comp_id is given"},
        "sender_comp_id": {"type": "string"},
        "target_comp_id": {"type": "string"},
        "begin_string": {"enum": ["FIX.4.2", "FIX.4.4"], "default": "FIX.4.4"},
        "role": {"enum": ["acceptor", "initiator"], "default": "acceptor"},
        "host": {"type": "string", "format": "host", "description": "Acceptor: address to listen on (0.0.0.0). Initiator: the counterparty"},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535, "description": "0: any free port (acceptor; the port is shown in /health)"},
        "heartbeat_interval": {"type": ["string", "number"], "default": "30s"},
        "reset_on_logon": {"type": "boolean", "default": false},
        "start_time": {"type": "string", "description": "UTC HH:MM:SS"},
        "end_time": {"type": "string", "description": "UTC HH:MM:SS"},
        "max_latency": {"type": ["string", "number"], "default": "120s"},
        "logout_timeout": {"type": ["string", "number"], "default": "2s"},
        "logon_timeout": {"type": ["string", "number"], "default": "10s"},
        "reconnect_interval": {"type": ["string", "number"], "default": "5s"},
        "validate": {"type": "boolean", "default": true},
        "application": {"enum": ["store", "echo"], "default": "store"},
        "persist": {"type": "boolean", "default": true},
        "fleet_readings": {"type": "boolean", "default": true, "description": "Each received application message also as a reading (device fix.<session_id>), published by the fleet link"},
        "data_dictionary": {"type": "string", "description": "QuickFIX-format XML; default: the built-in one for begin_string"}
    });
    let mut top = session.as_object().cloned().unwrap_or_default();
    top.insert("sessions".into(), json!({"type": "array", "items": {"type": "object", "properties": session, "additionalProperties": false}}));
    json!({"type": "object", "properties": top, "additionalProperties": false})
}
