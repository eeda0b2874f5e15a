//! The plugin's `config:` block: trading partners, our own interchange and
//! group identifiers, the versions we accept, and the drop and outbound folders.

use std::path::PathBuf;

use backworks_plugin_sdk::{json, PluginError, PluginResult, Value};

use crate::sets;

/// Who we are in the envelopes we write, and whom we accept as ISA08 receiver.
#[derive(Debug, Clone)]
pub struct Party {
    pub qualifier: String,
    pub id: String,
    pub application_id: String,
}

/// A trading partner: `id` is matched against ISA06 (or `isa_id` when set).
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub formats: Vec<String>,
    pub qualifier: String,
    pub isa_id: String,
    pub application_id: String,
    /// The version we write to this partner: "004010" or "005010".
    pub version: String,
    /// ISA08 ids this partner addresses us by, when it does not use `interchange.id`.
    pub our_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DropFolder {
    pub path: PathBuf,
    pub poll_ms: u64,
    /// A file is taken only once its size and mtime have not changed for this long.
    pub settle_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub partners: Vec<Partner>,
    pub our: Party,
    pub versions: Vec<String>,
    pub usage: String,
    pub inbound: Option<DropFolder>,
    pub outbound: Option<PathBuf>,
}

impl Config {
    pub fn partner_for(&self, _qualifier: &str, sender: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.isa_id.eq_ignore_ascii_case(sender))
    }
    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.id == id)
    }
}

fn bad(path: &str, what: impl std::fmt::Display) -> PluginError {
    PluginError::InvalidConfig(format!("edi-x12 config {path}: {what}"))
}

fn text(value: &Value, path: &str, default: Option<&str>) -> PluginResult<String> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Null => default.map(str::to_owned).ok_or_else(|| bad(path, "is required")),
        other => Err(bad(path, format!("must be a non-empty string, not {other}"))),
    }
}

/// "500ms", "2s", "5m" → milliseconds.
pub fn duration_ms(value: &Value, path: &str, default: u64) -> PluginResult<u64> {
    let Value::String(s) = value else {
        return if value.is_null() { Ok(default) } else { Err(bad(path, "must be a duration like \"500ms\" or \"2s\"")) };
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad(path, format!("{s:?} is not a duration like \"500ms\" or \"2s\"")))?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad(path, format!("{s:?}: unit must be ms, s, m or h"))),
    };
    Ok(n * factor)
}

const KEYS: [&str; 6] = ["trading_partners", "interchange", "versions", "usage", "inbound", "outbound"];

pub fn parse(config: &Value) -> PluginResult<Config> {
    let object = config.as_object().ok_or_else(|| bad("", "must be an object"))?;
    if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(unknown, format!("unknown key (expected one of {})", KEYS.join(", "))));
    }
    let versions: Vec<String> = match &config["versions"] {
        Value::Null => vec!["004010".into(), "005010".into()],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                Some(s @ ("004010" | "005010")) => Ok(s.to_owned()),
                _ => Err(bad(&format!("versions[{i}]"), format!("{v} is not \"004010\" or \"005010\""))),
            })
            .collect::<PluginResult<_>>()?,
        other => return Err(bad("versions", format!("must be a list, not {other}"))),
    };
    if versions.is_empty() {
        return Err(bad("versions", "must name at least one version"));
    }
    let our = &config["interchange"];
    let our_id = text(&our["id"], "interchange.id", Some("BACKWORKS"))?;
    let our = Party {
        qualifier: text(&our["qualifier"], "interchange.qualifier", Some("ZZ"))?,
        application_id: text(&our["application_id"], "interchange.application_id", Some(&our_id))?,
        id: our_id,
    };
    check_isa_id(&our.id, "interchange.id")?;
    let list = config["trading_partners"].as_array().ok_or_else(|| bad("trading_partners", "is required: a list of {id, formats}"))?;
    let mut partners = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!("trading_partners[{i}]");
        let id = text(&p["id"], &format!("{at}.id"), None)?;
        let formats = p["formats"].as_array().ok_or_else(|| bad(&format!("{at}.formats"), "is required: a list like [\"850\", \"855\"]"))?;
        let formats = formats
            .iter()
            .enumerate()
            .map(|(j, f)| match f.as_str() {
                Some(s) if sets::known(s) => Ok(s.to_owned()),
                _ => Err(bad(&format!("{at}.formats[{j}]"), format!("{f} is not a set this pack handles ({})", sets::ids().join(", ")))),
            })
            .collect::<PluginResult<Vec<_>>>()?;
        let isa_id = text(&p["isa_id"], &format!("{at}.isa_id"), Some(&id))?;
        check_isa_id(&isa_id, &format!("{at}.isa_id"))?;
        let version = text(&p["version"], &format!("{at}.version"), Some(&versions[0]))?;
        let our_ids = match &p["our_ids"] {
            Value::Null => Vec::new(),
            Value::Array(ids) if !ids.is_empty() => ids
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let at = format!("{at}.our_ids[{j}]");
                    let id = text(v, &at, None)?;
                    check_isa_id(&id, &at).map(|()| id)
                })
                .collect::<PluginResult<_>>()?,
            other => return Err(bad(&format!("{at}.our_ids"), format!("must be a non-empty list of ISA08 ids, not {other}"))),
        };
        if !versions.contains(&version) {
            return Err(bad(&format!("{at}.version"), format!("{version:?} is not one of versions {versions:?}")));
        }
        if partners.iter().any(|q: &Partner| q.id == id) {
            return Err(bad(&format!("{at}.id"), format!("{id:?} is listed twice")));
        }
        partners.push(Partner {
            qualifier: text(&p["qualifier"], &format!("{at}.qualifier"), Some("ZZ"))?,
            application_id: text(&p["application_id"], &format!("{at}.application_id"), Some(&id))?,
            id,
            formats,
            isa_id,
            version,
            our_ids,
        });
    }
    let usage = text(&config["usage"], "usage", Some("P"))?;
    if usage != "P" && usage != "T" {
        return Err(bad("usage", format!("{usage:?} must be \"P\" (production) or \"T\" (test)")));
    }
    let inbound = match &config["inbound"] {
        Value::Null => None,
        folder => Some(DropFolder {
            path: PathBuf::from(text(&folder["path"], "inbound.path", None)?),
            poll_ms: duration_ms(&folder["poll_interval"], "inbound.poll_interval", 1000)?,
            settle_ms: duration_ms(&folder["settle"], "inbound.settle", 1000)?,
        }),
    };
    let outbound = match &config["outbound"] {
        Value::Null => None,
        folder => Some(PathBuf::from(text(&folder["path"], "outbound.path", None)?)),
    };
    Ok(Config { partners, our, versions, usage, inbound, outbound })
}

fn check_isa_id(id: &str, path: &str) -> PluginResult<()> {
    if id.len() > 15 || !id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(bad(path, format!("{id:?} must be at most 15 printable characters (ISA06/ISA08)")));
    }
    Ok(())
}

/// JSON Schema of `config:`, for `backworks check`.
pub fn schema() -> Value {
    let duration = json!({"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"});
    let version = json!({"enum": ["004010", "005010"]});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["trading_partners"],
        "properties": {
            "trading_partners": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["id", "formats"],
                "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 15, "description": "matched against ISA06"},
                    "formats": {"type": "array", "items": {"enum": sets::ids()}, "description": "transaction sets exchanged with this partner"},
                    "qualifier": {"type": "string", "minLength": 2, "maxLength": 2, "default": "ZZ"},
                    "isa_id": {"type": "string", "maxLength": 15, "description": "ISA06 when it differs from id"},
                    "application_id": {"type": "string", "description": "GS03 of what we send (default: id)"},
                    "version": version.clone(),
                    "our_ids": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 15}, "description": "ISA08 ids this partner sends to us, when it does not use interchange.id"}
                }
            }},
            "interchange": {"type": "object", "additionalProperties": false, "properties": {
                "qualifier": {"type": "string", "minLength": 2, "maxLength": 2, "default": "ZZ"},
                "id": {"type": "string", "maxLength": 15, "default": "BACKWORKS", "description": "our ISA06/ISA08"},
                "application_id": {"type": "string", "description": "our GS02 (default: id)"}
            }},
            "versions": {"type": "array", "items": version, "minItems": 1},
            "usage": {"enum": ["P", "T"]},
            "inbound": {"type": "object", "additionalProperties": false, "required": ["path"], "properties": {
                "path": {"type": "string"}, "poll_interval": duration.clone(), "settle": duration
            }},
            "outbound": {"type": "object", "additionalProperties": false, "required": ["path"], "properties": {"path": {"type": "string"}}}
        }
    })
}
