//! Outbound 855, 856 and 810: JSON in the shape the parse endpoint answers (named segments and
//! `<id>_loop` arrays; the 856's HL levels nested under `children`) written as X12 inside a full
//! envelope, then read back through the same structure checks before anything is sent.

use backworks_plugin_sdk::{PluginError, PluginResult, Value};

use crate::config::{Config, Partner};
use crate::dictionary::{self, Kind};
use crate::sets::{self, LoopDef, Node, SetDef};
use crate::structure;
use crate::standard::Version;
use crate::tokens::{Segment, Separators};
use crate::writer::{self, Envelope, Writer};

/// Sets this pack generates.
pub const OUTBOUND: [&str; 3] = ["855", "856", "810"];

/// A request, checked: the partner and the transactions' data objects.
pub struct Request<'a> {
    pub partner: &'a Partner,
    pub def: &'static SetDef,
    pub transactions: Vec<&'a Value>,
}

fn bad(message: String) -> PluginError {
    PluginError::BadRequest(message)
}

/// Checks the request body `{"partner": "WALMART", "transaction": {...}}` (or `"transactions": [...]`).
pub fn request<'a>(set: &str, body: &'a Value, config: &'a Config) -> PluginResult<Request<'a>> {
    if !OUTBOUND.contains(&set) {
        return Err(PluginError::NotFound(format!("outbound set {set:?}: this pack generates 855, 856 and 810")));
    }
    let partner_id = body["partner"].as_str().ok_or_else(|| bad("\"partner\" is required: the trading partner's id".into()))?;
    let partner = config.partner(partner_id).ok_or_else(|| bad(format!("partner {partner_id:?} is not a configured trading partner")))?;
    if !partner.formats.iter().any(|f| f == set) {
        return Err(bad(format!("partner {partner_id:?} does not exchange {set} (its formats: {})", partner.formats.join(", "))));
    }
    let version = Version::of_gs08(&partner.version).expect("partner versions are checked by config");
    let def = sets::find(version, set.as_bytes()).expect("outbound sets are defined in both versions");
    let transactions: Vec<&Value> = match (&body["transaction"], &body["transactions"]) {
        (Value::Object(_), Value::Null) => vec![&body["transaction"]],
        (Value::Null, Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        _ => return Err(bad("give either \"transaction\": {...} or a non-empty \"transactions\": [...]".into())),
    };
    Ok(Request { partner, def, transactions })
}

/// Writes the interchange with the given control numbers; errors name the JSON path at fault.
pub fn generate(req: &Request<'_>, config: &Config, isa_control: u64, group_control: u64) -> PluginResult<String> {
    let is_5010 = req.partner.version == "005010";
    let mut w = Writer::new(Separators::standard(is_5010));
    let (date, time) = writer::now();
    let envelope = Envelope {
        sender_qualifier: &config.our.qualifier,
        sender: &config.our.id,
        receiver_qualifier: &req.partner.qualifier,
        receiver: &req.partner.isa_id,
        version: if is_5010 { "00501" } else { "00401" },
        control: isa_control,
        usage: &config.usage,
        ack_requested: false,
    };
    writer::isa(&mut w, &envelope, &date, &time);
    let gs = [
        req.def.functional_id, &config.our.application_id, &req.partner.application_id, &date, &time,
        &group_control.to_string(), "X", &req.partner.version,
    ];
    w.segment("GS", &gs);
    for (n, data) in req.transactions.iter().enumerate() {
        let control = format!("{:04}", n + 1);
        let start = w.out.len();
        w.counted = 0;
        w.segment("ST", &[req.def.id, &control]);
        let path = if req.transactions.len() == 1 { "transaction".to_owned() } else { format!("transactions[{n}]") };
        write_loop(&mut w, req.def.version, &req.def.body, data, &path, None)?;
        let count = w.counted + 1;
        w.segment("SE", &[count.to_string(), control]);
        check(&w.out[start..], req.def, &w.sep, &path)?;
    }
    w.segment("GE", &[req.transactions.len().to_string(), group_control.to_string()]);
    writer::iea(&mut w, 1, isa_control);
    Ok(w.out)
}

/// Reads the written set back through the structure and element checks.
fn check(text: &str, def: &'static SetDef, sep: &Separators, path: &str) -> PluginResult<()> {
    let segments: Vec<Segment<'_>> = text
        .split(sep.segment as char)
        .filter(|s| !s.is_empty())
        .map(|s| Segment::new(0, s.as_bytes(), sep.element))
        .collect();
    let body = &segments[1..segments.len() - 1];
    let (_, errors) = structure::read(def, body, 2, segments.len(), sep, false);
    if errors.is_empty() {
        return Ok(());
    }
    let described: Vec<String> = errors
        .iter()
        .map(|e| {
            let what = match e.code {
                "3" => "mandatory segment missing".to_owned(),
                "8" => e
                    .elements
                    .iter()
                    .map(|el| {
                        let name = dictionary::segment(def.version, e.segment_id.as_bytes()).and_then(|d| d.elements.get(el.position - 1)).map_or("", |d| d.name);
                        format!("element {:02} {name}: {}", el.position, element_problem(el.code))
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                code => format!("segment error {code}"),
            };
            format!("{} (segment {} of the set): {what}", e.segment_id, e.position)
        })
        .collect();
    Err(bad(format!("{path} is not a valid {}: {}", def.id, described.join(", "))))
}

fn element_problem(code: &str) -> &'static str {
    match code {
        "1" => "mandatory, missing",
        "3" => "too many elements",
        "4" => "too short",
        "5" => "too long",
        "6" => "invalid character or number",
        "8" => "invalid date (CCYYMMDD)",
        "9" => "invalid time (HHMM)",
        _ => "invalid",
    }
}

/// Writes one loop occurrence (or the body) from its JSON object, in the definition's order.
fn write_loop(w: &mut Writer, version: Version, def: &LoopDef, data: &Value, path: &str, hl: Option<(usize, Option<usize>, bool)>) -> PluginResult<()> {
    let object = data.as_object().ok_or_else(|| bad(format!("{path}: must be an object")))?;
    for k in object.keys() {
        let known = k == "children" && def.id == "HL"
            || def.nodes.iter().any(|n| match n {
                Node::Segment { id, .. } => id == k,
                Node::Loop(l) => l.key == k,
            });
        if !known {
            let names: Vec<&str> = def.nodes.iter().map(Node::key).collect();
            return Err(bad(format!("{path}.{k}: not part of this {} (expected one of {})", if def.id.is_empty() { "set" } else { "loop" }, names.join(", "))));
        }
    }
    for (index, node) in def.nodes.iter().enumerate() {
        match node {
            Node::Segment { id, .. } => {
                let Some(value) = object.get(*id) else { continue };
                let at = format!("{path}.{id}");
                let items: Vec<&Value> = match value {
                    Value::Array(list) => list.iter().collect(),
                    one => vec![one],
                };
                for (i, item) in items.iter().enumerate() {
                    let at = if matches!(value, Value::Array(_)) { format!("{at}[{i}]") } else { at.clone() };
                    let mut elements = elements(w, version, id, item, &at)?;
                    if index == 0 && def.id == "HL" {
                        if let Some((number, parent, has_children)) = hl {
                            set_hl(&mut elements, number, parent, has_children);
                        }
                    }
                    w.segment(id, &elements);
                }
            }
            Node::Loop(inner) => {
                let key = inner.key;
                let Some(value) = object.get(key) else { continue };
                let list = value.as_array().ok_or_else(|| bad(format!("{path}.{key}: must be an array of loop occurrences")))?;
                if inner.id == "HL" {
                    let mut number = 0;
                    for (i, level) in list.iter().enumerate() {
                        write_hierarchy(w, version, inner, level, &format!("{path}.{key}[{i}]"), None, &mut number)?;
                    }
                } else {
                    for (i, occurrence) in list.iter().enumerate() {
                        write_loop(w, version, inner, occurrence, &format!("{path}.{key}[{i}]"), None)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// HL levels depth first: HL01 numbered in order, HL02 the parent's number, HL04 whether
/// children follow.
fn write_hierarchy(w: &mut Writer, version: Version, def: &LoopDef, level: &Value, path: &str, parent: Option<usize>, number: &mut usize) -> PluginResult<()> {
    *number += 1;
    let mine = *number;
    let children = match &level["children"] {
        Value::Null => &[][..],
        Value::Array(list) => list.as_slice(),
        _ => return Err(bad(format!("{path}.children: must be an array of HL levels"))),
    };
    if level.get("HL").is_none() {
        return Err(bad(format!("{path}.HL: required, at least {{\"level_code\": \"S\"}}")));
    }
    write_loop(w, version, def, level, path, Some((mine, parent, !children.is_empty())))?;
    for (i, child) in children.iter().enumerate() {
        write_hierarchy(w, version, def, child, &format!("{path}.children[{i}]"), Some(mine), number)?;
    }
    Ok(())
}

fn set_hl(elements: &mut Vec<String>, number: usize, parent: Option<usize>, has_children: bool) {
    elements.resize(elements.len().max(4), String::new());
    elements[0] = number.to_string();
    elements[1] = parent.map(|p| p.to_string()).unwrap_or_default();
    elements[3] = if has_children { "1" } else { "0" }.to_owned();
}

/// A segment's elements from `{"name": value}` (names from the dictionary, or "01".."99").
fn elements(w: &Writer, version: Version, id: &str, value: &Value, path: &str) -> PluginResult<Vec<String>> {
    let object = value.as_object().ok_or_else(|| bad(format!("{path}: must be an object of elements")))?;
    let def = dictionary::segment(version, id.as_bytes());
    let mut out: Vec<String> = Vec::new();
    for (name, v) in object {
        let position = match def.and_then(|d| d.elements.iter().position(|e| e.name == name)) {
            Some(p) => p + 1,
            None => match name.parse::<usize>() {
                Ok(n) if (1..=99).contains(&n) && name.len() == 2 => n,
                _ => {
                    let known: Vec<&str> = def.map(|d| d.elements.iter().map(|e| e.name).collect()).unwrap_or_default();
                    return Err(bad(format!("{path}.{name}: unknown element of {id} (known: {})", known.join(", "))));
                }
            },
        };
        let composite = def.and_then(|d| d.elements.get(position - 1)).is_some_and(|e| e.kind == Kind::Composite);
        let text = element_text(w, v, composite, &format!("{path}.{name}"))?;
        if out.len() < position {
            out.resize(position, String::new());
        }
        out[position - 1] = text;
    }
    Ok(out)
}

fn element_text(w: &Writer, value: &Value, composite: bool, path: &str) -> PluginResult<String> {
    let scalar = |v: &Value| -> PluginResult<String> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(bad(format!("{path}: {other} must be a string or a number"))),
        };
        if w.clean(&text) != text {
            return Err(bad(format!("{path}: {text:?} contains a separator character ({} {} {})", w.sep.element as char, w.sep.component as char, w.sep.segment as char)));
        }
        Ok(text)
    };
    match value {
        Value::Array(parts) if composite => {
            Ok(parts.iter().map(scalar).collect::<PluginResult<Vec<_>>>()?.join(&(w.sep.component as char).to_string()))
        }
        Value::Array(parts) => match w.sep.repetition {
            Some(r) => Ok(parts.iter().map(scalar).collect::<PluginResult<Vec<_>>>()?.join(&(r as char).to_string())),
            None => Err(bad(format!("{path}: repeated values need version 005010 (004010 has no repetition separator)"))),
        },
        one => scalar(one),
    }
}
