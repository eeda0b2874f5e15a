//! The plugin's `config:` block, its JSON Schema, and the duration/size units of backworks.yaml.

use std::time::Duration;

use backworks_plugin_sdk::{json, PluginError, PluginResult, Value};

use crate::http::{Client, Url};
use crate::intake::Policy;
use crate::mllp::Limits;
use crate::tls;
use crate::uplink::UplinkConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub mllp: Option<(String, Limits)>,
    pub dedup_window: Duration,
    pub default_offset: String,
    /// Acknowledge before the commit: a crash then loses acknowledged messages. Benchmarks only.
    pub unsafe_ack_before_commit: bool,
    /// Wait this long between commit and ACK: fault drills (kill the gateway in that window).
    pub ack_delay: Duration,
    /// `accept:` / `reject:`: which message types the site takes.
    pub policy: Policy,
    /// None without base_url; Err when base_url cannot be used (shown in health, outbox kept).
    pub uplink: Option<Result<UplinkConfig, String>>,
}

pub fn parse_duration(text: &str, key: &str) -> PluginResult<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad(key, text, "a duration like 500ms, 2s, 5m, 1h, 7d"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        "h" => n * 3600e3,
        "d" => n * 86_400e3,
        _ => return Err(bad(key, text, "a duration like 500ms, 2s, 5m, 1h, 7d")),
    };
    Ok(Duration::from_millis(ms as u64))
}

pub fn parse_size(text: &str, key: &str) -> PluginResult<usize> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad(key, text, "a size like 512KB, 1MB"))?;
    let factor = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad(key, text, "a size like 512KB, 1MB")),
    };
    Ok((n * factor) as usize)
}

fn bad(key: &str, value: &str, expected: &str) -> PluginError {
    PluginError::InvalidConfig(format!("{key}: {value:?} is not {expected}"))
}

fn string<'a>(v: &'a Value, key: &str, default: &'a str) -> PluginResult<&'a str> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(PluginError::InvalidConfig(format!("{key}: expected a string, found {other}"))),
    }
}

const KNOWN: &[&str] = &["fhir_version", "base_url", "tls", "mllp", "dedup_window", "timezone", "uplink", "unsafe_ack_before_commit", "ack_delay", "accept", "reject"];

/// `accept:` / `reject:`: a list of message types ("ADT") or types with their event ("ADT^A01").
fn type_list(v: &Value, key: &str) -> PluginResult<Vec<String>> {
    let items = match v.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(PluginError::InvalidConfig(format!("{key}: expected a list of message types like [ADT, ORU^R01], found {other}"))),
    };
    let code = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    items
        .iter()
        .map(|item| {
            let text = item.as_str().unwrap_or("");
            let valid = match text.split_once('^') {
                Some((c, e)) => code(c) && code(e),
                None => code(text),
            };
            if valid {
                Ok(text.to_owned())
            } else {
                Err(PluginError::InvalidConfig(format!("{key}: {item} is not a message type like ADT or ADT^A01 (MSH-9.1, optionally ^MSH-9.2)")))
            }
        })
        .collect()
}

/// `tls: {ca_file}`: the private CA's certificates, read and checked now, so that a wrong file is
/// a config error naming it rather than a stream of failed deliveries later.
fn private_cas(v: &Value) -> PluginResult<Vec<rustls::Certificate>> {
    let Some(t) = v.get("tls").filter(|t| !t.is_null()) else { return Ok(Vec::new()) };
    let Some(object) = t.as_object() else { return Err(PluginError::InvalidConfig("tls: expected an object like {ca_file: PATH}".into())) };
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "ca_file") {
        return Err(PluginError::InvalidConfig(format!("tls: unknown key {unknown:?} (known: ca_file)")));
    }
    match string(t, "ca_file", "")? {
        "" => Ok(Vec::new()),
        path => tls::read_ca_file(path).map_err(PluginError::InvalidConfig),
    }
}

pub fn parse(v: &Value) -> PluginResult<Config> {
    let Some(object) = v.as_object() else { return Err(PluginError::InvalidConfig("config must be an object".into())) };
    if let Some(unknown) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(PluginError::InvalidConfig(format!("unknown key {unknown:?} (known: {})", KNOWN.join(", "))));
    }
    let version = string(v, "fhir_version", "R4")?;
    if version != "R4" {
        return Err(PluginError::InvalidConfig(format!("fhir_version: {version:?} is not supported (R4)")));
    }
    let mllp = match v.get("mllp") {
        None | Some(Value::Null) => None,
        Some(m) => {
            let listen = string(m, "listen", "0.0.0.0:2575")?.to_owned();
            let limits = Limits {
                max_message_bytes: parse_size(string(m, "max_message_size", "1MB")?, "mllp.max_message_size")?,
                idle_timeout: parse_duration(string(m, "idle_timeout", "5m")?, "mllp.idle_timeout")?,
                max_connections: m.get("max_connections").and_then(Value::as_u64).unwrap_or(256) as usize,
            };
            Some((listen, limits))
        }
    };
    let up = v.get("uplink").cloned().unwrap_or(json!({}));
    let cas = private_cas(v)?;
    let timeout = parse_duration(string(&up, "timeout", "10s")?, "uplink.timeout")?;
    let uplink = match v.get("base_url").and_then(Value::as_str) {
        None => None,
        Some(url) => Some(Url::parse(url).and_then(|url| Client::new(url, &cas, timeout)).map(|client| -> PluginResult<UplinkConfig> {
            Ok(UplinkConfig {
                client,
                max_attempts: up.get("max_attempts").and_then(Value::as_u64).unwrap_or(5).max(1) as u32,
                backoff: parse_duration(string(&up, "backoff", "1s")?, "uplink.backoff")?,
                max_backoff: parse_duration(string(&up, "max_backoff", "1m")?, "uplink.max_backoff")?,
                poll: parse_duration(string(&up, "poll", "500ms")?, "uplink.poll")?,
            })
        })),
    };
    let uplink = match uplink {
        None => None,
        Some(Ok(built)) => Some(Ok(built?)),
        Some(Err(why)) => Some(Err(why)),
    };
    let timezone = string(v, "timezone", "Z")?;
    let valid_offset = timezone == "Z"
        || (timezone.len() == 6 && matches!(&timezone[..1], "+" | "-") && &timezone[3..4] == ":" && timezone[1..3].bytes().chain(timezone[4..].bytes()).all(|b| b.is_ascii_digit()));
    if !valid_offset {
        return Err(PluginError::InvalidConfig(format!("timezone: {timezone:?} is not Z or an offset like +01:00")));
    }
    Ok(Config {
        mllp,
        dedup_window: parse_duration(string(v, "dedup_window", "24h")?, "dedup_window")?,
        default_offset: timezone.to_owned(),
        unsafe_ack_before_commit: v.get("unsafe_ack_before_commit").and_then(Value::as_bool).unwrap_or(false),
        ack_delay: parse_duration(string(v, "ack_delay", "0ms")?, "ack_delay")?,
        policy: Policy { accept: type_list(v, "accept")?, reject: type_list(v, "reject")? },
        uplink,
    })
}

pub fn schema() -> Value {
    let duration = json!({"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$"});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "fhir_version": {"enum": ["R4"], "description": "FHIR release the Bundles follow"},
            "base_url": {"type": "string", "description": "FHIR server the uplink POSTs transaction Bundles to (http:// or https://; https is checked against the system CA store and tls.ca_file, host name always verified)"},
            "tls": {
                "type": "object",
                "additionalProperties": false,
                "description": "https settings of the FHIR uplink",
                "properties": {
                    "ca_file": {"type": "string", "description": "PEM file of a private CA trusted besides the system store (absolute, or relative to backworks.yaml)"}
                }
            },
            "mllp": {
                "type": "object",
                "additionalProperties": false,
                "description": "MLLP listener; absent: no listener (endpoints only)",
                "properties": {
                    "listen": {"type": "string", "description": "host:port, default 0.0.0.0:2575"},
                    "max_message_size": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(B|KB|MB|GB)?$"},
                    "idle_timeout": duration,
                    "max_connections": {"type": "integer", "minimum": 1}
                }
            },
            "dedup_window": duration,
            "timezone": {"type": "string", "description": "offset for v2 times without one: Z or +01:00"},
            "uplink": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "max_attempts": {"type": "integer", "minimum": 1},
                    "backoff": duration,
                    "max_backoff": duration,
                    "timeout": duration,
                    "poll": duration
                }
            },
            "unsafe_ack_before_commit": {"type": "boolean", "description": "UNSAFE, benchmarks only: ACK before the buffer committed; a crash loses acknowledged messages"},
            "ack_delay": duration,
            "accept": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Z0-9]{3}(\\^[A-Z0-9]{3})?$"},
                "description": "message types the gateway takes (ADT, or ADT^A01 for one event); absent or empty: every type. Others are answered AR with the reason"
            },
            "reject": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Z0-9]{3}(\\^[A-Z0-9]{3})?$"},
                "description": "message types the gateway refuses (AR with the reason), even when accept lists them"
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse_duration("500ms", "k").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m", "k").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_size("64KB", "k").unwrap(), 65536);
        assert!(parse(&json!({"mllp": {"idle_timeout": "5 minutes"}})).unwrap_err().to_string().contains("mllp.idle_timeout"));
        assert!(parse(&json!({"nope": 1})).unwrap_err().to_string().contains("nope"));
        let c = parse(&json!({"accept": ["ADT", "ORU^R01"], "reject": ["ADT^A45"]})).unwrap();
        assert_eq!((c.policy.accept.len(), c.policy.reject.len()), (2, 1));
        assert!(parse(&json!({"accept": ["adt"]})).unwrap_err().to_string().contains("accept: \"adt\" is not a message type"));
        assert!(parse(&json!({"reject": "ADT"})).unwrap_err().to_string().contains("reject: expected a list"));
    }

    #[test]
    fn https_and_the_private_ca() {
        let ca = crate::tls::tests::test_ca();
        let c = parse(&json!({"base_url": "https://fhir.hospital.com", "tls": {"ca_file": ca}})).unwrap();
        assert!(matches!(c.uplink, Some(Ok(_))));
        let missing = parse(&json!({"base_url": "https://fhir.hospital.com", "tls": {"ca_file": "nope/ca.pem"}})).unwrap_err().to_string();
        assert!(missing.contains("tls.ca_file nope/ca.pem: cannot open it"), "{missing}");
        assert!(parse(&json!({"tls": {"ca_file": ca, "insecure": true}})).unwrap_err().to_string().contains("\"insecure\""));
        assert!(parse(&json!({"tls": "ca.pem"})).unwrap_err().to_string().contains("{ca_file: PATH}"));
        // Still a URL problem: the uplink stays stopped and health says why, the listener runs.
        let ip = parse(&json!({"base_url": "https://10.0.0.5", "tls": {"ca_file": ca}})).unwrap();
        assert!(matches!(ip.uplink, Some(Err(ref why)) if why.contains("host name")));
    }
}
