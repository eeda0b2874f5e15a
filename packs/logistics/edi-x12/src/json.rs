//! Writes a read interchange as JSON: envelopes, acknowledgment status, errors, and each
//! transaction set with named segments and loops (`N1_loop`), the 856's HL loops nested by
//! their parent (HL02) under `children`. Written directly into a string: no intermediate tree.

use std::collections::HashMap;
use std::fmt::Write;

use crate::ack;
use crate::dictionary::{self, Kind};
use crate::envelope::{Interchange, TxSet};
use crate::sets::Node;
use crate::standard::Version;
use crate::structure::{Instance, Item, SegmentError};
use crate::tokens::{self, Segment, Separators};

pub fn string(out: &mut String, value: &[u8]) {
    let text = match std::str::from_utf8(value) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(value),
    };
    out.push('"');
    let bytes = text.as_bytes();
    if !bytes.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\') {
        out.push_str(&text);
        out.push('"');
        return;
    }
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[from..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        from = i + 1;
    }
    out.push_str(&text[from..]);
    out.push('"');
}

fn key(out: &mut String, name: &str) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn field(out: &mut String, name: &str, value: &[u8]) {
    key(out, name);
    string(out, value);
    out.push(',');
}

fn close(out: &mut String, bracket: char) {
    if out.ends_with(',') {
        out.pop();
    }
    out.push(bracket);
}

fn trimmed(value: &[u8]) -> &[u8] {
    let end = value.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
    &value[..end]
}

/// The whole interchange as the parse endpoint answers it; without `data` (the validate
/// endpoint) only envelopes, statuses and errors.
pub fn interchange(ix: &Interchange<'_>, data: bool) -> String {
    // The JSON is about three times the X12: one allocation instead of a chain of copies.
    let size = if data { ix.segments.last().map_or(0, |s| s.offset) * 7 / 2 } else { 0 };
    let mut out = String::with_capacity(size + 4096);
    let isa = ix.isa();
    let sep = ix.separators;
    out.push_str("{\"interchange\":{");
    out.push_str("\"sender\":{");
    field(&mut out, "qualifier", isa.get(5));
    field(&mut out, "id", trimmed(isa.get(6)));
    close(&mut out, '}');
    out.push_str(",\"receiver\":{");
    field(&mut out, "qualifier", isa.get(7));
    field(&mut out, "id", trimmed(isa.get(8)));
    close(&mut out, '}');
    out.push(',');
    field(&mut out, "date", isa.get(9));
    field(&mut out, "time", isa.get(10));
    field(&mut out, "version", isa.get(12));
    field(&mut out, "control_number", isa.get(13));
    let _ = write!(out, "\"ack_requested\":{},", ix.ta1_requested());
    field(&mut out, "usage", isa.get(15));
    out.push_str("\"separators\":{");
    field(&mut out, "element", &[sep.element]);
    field(&mut out, "component", &[sep.component]);
    if let Some(r) = sep.repetition {
        field(&mut out, "repetition", &[r]);
    }
    field(&mut out, "segment", &[sep.segment]);
    close(&mut out, '}');
    out.push_str("},");
    field(&mut out, "status", if ix.rejected() { b"rejected" } else { b"accepted" });
    field(&mut out, "ta1_note", ix.note.as_bytes());
    key(&mut out, "problems");
    out.push('[');
    for p in &ix.problems {
        string(&mut out, p.as_bytes());
        out.push(',');
    }
    close(&mut out, ']');
    out.push_str(",\"warnings\":[");
    for w in &ix.warnings {
        string(&mut out, w.as_bytes());
        out.push(',');
    }
    close(&mut out, ']');
    out.push_str(",\"groups\":[");
    for group in &ix.groups {
        let gs = &ix.segments[group.gs];
        out.push('{');
        field(&mut out, "functional_id", gs.get(1));
        field(&mut out, "sender", gs.get(2));
        field(&mut out, "receiver", gs.get(3));
        field(&mut out, "date", gs.get(4));
        field(&mut out, "time", gs.get(5));
        field(&mut out, "control_number", gs.get(6));
        field(&mut out, "version", gs.get(8));
        let (status, _, received, accepted) = ack::group_status(ix, group);
        field(&mut out, "status", status.as_bytes());
        let _ = write!(out, "\"received\":{received},\"accepted\":{accepted},\"codes\":[");
        for c in &group.codes {
            let _ = write!(out, "\"{c}\",");
        }
        close(&mut out, ']');
        out.push_str(",\"transactions\":[");
        for set in &group.sets {
            transaction(&mut out, ix, set, data);
            out.push(',');
        }
        close(&mut out, ']');
        out.push_str("},");
    }
    close(&mut out, ']');
    out.push('}');
    out
}

fn transaction(out: &mut String, ix: &Interchange<'_>, set: &TxSet, data: bool) {
    let st = &ix.segments[set.st];
    out.push('{');
    field(out, "set", st.get(1));
    field(out, "control_number", st.get(2));
    if !st.get(3).is_empty() {
        field(out, "implementation_reference", st.get(3));
    }
    field(out, "status", if set.accepted() { b"accepted" } else { b"rejected" });
    out.push_str("\"codes\":[");
    for c in &set.codes {
        let _ = write!(out, "\"{c}\",");
    }
    close(out, ']');
    out.push_str(",\"errors\":[");
    for e in &set.segment_errors {
        segment_error(out, e);
        out.push(',');
    }
    close(out, ']');
    if let (Some(tree), Some(def), true) = (set.tree.as_ref(), set.def, data) {
        out.push_str(",\"data\":");
        instance(out, tree, &ix.segments[set.body.clone()], &ix.separators, def.version);
    }
    out.push('}');
}

fn segment_error(out: &mut String, e: &SegmentError) {
    out.push('{');
    field(out, "segment", e.segment_id.as_bytes());
    let _ = write!(out, "\"position\":{},", e.position);
    if !e.loop_id.is_empty() {
        field(out, "loop", e.loop_id.as_bytes());
    }
    field(out, "code", e.code.as_bytes());
    if !e.expected.is_empty() {
        out.push_str("\"expected\":[");
        for id in &e.expected {
            let _ = write!(out, "\"{id}\",");
        }
        close(out, ']');
        out.push(',');
    }
    out.push_str("\"elements\":[");
    for el in &e.elements {
        let _ = write!(out, "{{\"position\":{},", el.position);
        if !el.reference.is_empty() {
            field(out, "reference", el.reference.as_bytes());
        }
        field(out, "code", el.code.as_bytes());
        field(out, "value", el.value.as_bytes());
        close(out, '}');
        out.push(',');
    }
    close(out, ']');
    out.push('}');
}

/// One loop occurrence (or the set's body) as an object keyed by segment id and `<id>_loop`.
fn instance(out: &mut String, inst: &Instance, body: &[Segment<'_>], sep: &Separators, version: Version) {
    out.push('{');
    for (index, run) in inst.runs() {
        let items = run.iter().map(|(_, item)| item);
        match &inst.def.nodes[index] {
            Node::Segment { id, max, .. } => {
                key(out, id);
                if *max == 1 {
                    if let Some((_, Item::Segment(i))) = run.first() {
                        segment(out, &body[*i], sep, version);
                    }
                } else {
                    out.push('[');
                    for item in items {
                        if let Item::Segment(i) = item {
                            segment(out, &body[*i], sep, version);
                            out.push(',');
                        }
                    }
                    close(out, ']');
                }
            }
            Node::Loop(def) => {
                key(out, def.key);
                let occurrences = items.filter_map(|i| if let Item::Loop(l) = i { Some(l) } else { None });
                if def.id == "HL" {
                    hierarchy(out, &occurrences.collect::<Vec<_>>(), body, sep, version);
                } else {
                    out.push('[');
                    for occurrence in occurrences {
                        instance(out, occurrence, body, sep, version);
                        out.push(',');
                    }
                    close(out, ']');
                }
            }
        }
        out.push(',');
    }
    close(out, '}');
}

/// HL loops nested by HL02 (parent id): roots are those without a known, earlier parent.
/// Nesting deeper than MAX_DEPTH (real shipments have 3 to 6 levels) is listed flat.
fn hierarchy(out: &mut String, levels: &[&Instance], body: &[Segment<'_>], sep: &Separators, version: Version) {
    const MAX_DEPTH: usize = 32;
    let hl = |inst: &Instance| match inst.items.first() {
        Some((_, Item::Segment(i))) => &body[*i],
        _ => unreachable!("an HL loop starts with HL"),
    };
    let mut index: HashMap<&[u8], usize> = HashMap::with_capacity(levels.len());
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); levels.len()];
    let mut depth = vec![0usize; levels.len()];
    let mut roots = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        let seg = hl(level);
        match index.get(seg.get(2)).copied() {
            Some(parent) if !seg.get(2).is_empty() && depth[parent] < MAX_DEPTH => {
                depth[i] = depth[parent] + 1;
                children[parent].push(i);
            }
            _ => roots.push(i),
        }
        index.entry(seg.get(1)).or_insert(i);
    }
    fn write_level(out: &mut String, at: usize, levels: &[&Instance], children: &[Vec<usize>], body: &[Segment<'_>], sep: &Separators, version: Version) {
        instance(out, levels[at], body, sep, version);
        if children[at].is_empty() {
            return;
        }
        out.pop();
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push_str("\"children\":[");
        for c in &children[at] {
            write_level(out, *c, levels, children, body, sep, version);
            out.push(',');
        }
        close(out, ']');
        out.push('}');
    }
    out.push('[');
    for root in roots {
        write_level(out, root, levels, &children, body, sep, version);
        out.push(',');
    }
    close(out, ']');
}

/// A segment as an object of its non-empty elements, named by the dictionary.
fn segment(out: &mut String, seg: &Segment<'_>, sep: &Separators, version: Version) {
    let def = dictionary::segment(version, seg.id());
    out.push('{');
    for (n, value) in seg.elements().enumerate().skip(1) {
        if value.is_empty() {
            continue;
        }
        let element = def.and_then(|d| d.elements.get(n - 1));
        match element {
            Some(e) => key(out, e.name),
            None => {
                let _ = write!(out, "\"{n:02}\":");
            }
        }
        let composite = element.is_some_and(|e| e.kind == Kind::Composite);
        match sep.repetition {
            Some(r) if tokens::has(value, r) => {
                out.push('[');
                for one in value.split(|b| *b == r) {
                    element_value(out, one, composite, sep.component);
                    out.push(',');
                }
                close(out, ']');
            }
            _ => element_value(out, value, composite, sep.component),
        }
        out.push(',');
    }
    close(out, '}');
}

fn element_value(out: &mut String, value: &[u8], composite: bool, component: u8) {
    if composite {
        out.push('[');
        for part in value.split(|b| *b == component) {
            string(out, part);
            out.push(',');
        }
        close(out, ']');
    } else {
        string(out, value);
    }
}
