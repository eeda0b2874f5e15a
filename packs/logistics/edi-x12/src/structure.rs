//! Places each segment of a transaction set in its set's structure (segments and loops in order,
//! usage, repeats) and checks every element against the dictionary. What does not fit becomes a
//! segment error (IK3/AK3) with its element errors (IK4/AK4), numbered as the standard numbers them.

use crate::dictionary::{self, Kind, SegmentDef};
use crate::sets::{self, LoopDef, Node, SetDef};
use crate::tokens::{self, Segment, Separators};

/// IK3/AK3: a segment that is missing, misplaced or has bad elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError {
    pub segment_id: String,
    /// Position in the set, ST being 1.
    pub position: usize,
    pub loop_id: &'static str,
    /// 620/720: 1 unrecognized, 2 unexpected, 3 mandatory missing, 4 loop over maximum,
    /// 5 segment over maximum, 6 not in the set, 8 has data element errors.
    pub code: &'static str,
    pub elements: Vec<ElementError>,
    /// What the structure allowed at this point (segment ids), for people: not sent in IK3/AK3.
    pub expected: Vec<&'static str>,
}

/// IK4/AK4: one bad element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementError {
    pub position: usize,
    pub component: Option<usize>,
    pub reference: &'static str,
    /// 621/723: 1 mandatory missing, 3 too many elements, 4 too short, 5 too long, 6 invalid
    /// character, 8 invalid date, 9 invalid time.
    pub code: &'static str,
    pub value: String,
}

/// One occurrence of a loop: what matched, as (node of its definition, item). The reader only
/// moves forward through the nodes, so the node numbers never decrease.
#[derive(Debug)]
pub struct Instance {
    pub def: &'static LoopDef,
    pub items: Vec<(usize, Item)>,
}

#[derive(Debug)]
pub enum Item {
    /// Index into the set's segments.
    Segment(usize),
    Loop(Instance),
}

impl Instance {
    fn new(def: &'static LoopDef) -> Self {
        Instance { def, items: Vec::new() }
    }

    /// The items of each node that has any, in order.
    pub fn runs(&self) -> impl Iterator<Item = (usize, &[(usize, Item)])> {
        self.items.chunk_by(|a, b| a.0 == b.0).map(|run| (run[0].0, run))
    }
}

struct Open {
    instance: Instance,
    /// Whether matched segments and loops are kept (for JSON); the checks need only the cursor.
    keep: bool,
    /// The node last matched, and how many times in a row.
    cursor: usize,
    run: usize,
}

impl Open {
    fn new(instance: Instance, keep: bool) -> Self {
        Open { instance, keep, cursor: 0, run: 0 }
    }
    /// Occurrences of `node` so far: only the cursor's node can have any beyond it.
    fn count(&self, node: usize) -> usize {
        if node == self.cursor { self.run } else { 0 }
    }
    fn push(&mut self, node: usize, item: Item) {
        if node != self.cursor {
            self.cursor = node;
            self.run = 0;
        }
        self.run += 1;
        if self.keep {
            self.instance.items.push((node, item));
        }
    }
}

/// Matches `segments` (the set's body, between ST and SE) against `set`. `first_position` is the
/// position of the first body segment (2: ST is 1). Returns the tree (empty unless `keep`) and
/// the errors.
pub fn read(set: &'static SetDef, segments: &[Segment<'_>], first_position: usize, end_position: usize, sep: &Separators, keep: bool) -> (Instance, Vec<SegmentError>) {
    let mut errors = Vec::new();
    let mut stack = vec![Open::new(Instance::new(&set.body), keep)];
    for (index, seg) in segments.iter().enumerate() {
        let position = first_position + index;
        let id = seg.id();
        let code = dictionary::code(id);
        match find(&stack, code) {
            Found::At { level, node } => {
                while stack.len() > level + 1 {
                    close(&mut stack, position, &mut errors);
                }
                let open = stack.last_mut().expect("level exists");
                missing_between(open, node, position, &mut errors);
                let def: &'static LoopDef = open.instance.def;
                match &def.nodes[node] {
                    Node::Segment { .. } => {
                        open.push(node, Item::Segment(index));
                        check_elements(dictionary::segment_at(set.version, code), seg, position, def.id, sep, &mut errors);
                    }
                    Node::Loop(inner) => {
                        // The parent's cursor moves to the loop now; the occurrence is filed
                        // in it when it closes.
                        if open.cursor != node {
                            open.cursor = node;
                            open.run = 0;
                        }
                        open.run += 1;
                        let mut child = Open::new(Instance::new(inner), keep);
                        child.push(0, Item::Segment(index));
                        stack.push(child);
                        check_elements(dictionary::segment_at(set.version, code), seg, position, inner.id, sep, &mut errors);
                    }
                }
            }
            Found::Over { code } => {
                let mut error = segment_error(id, position, stack.last().unwrap().instance.def.id, code);
                error.expected = expected(&stack);
                errors.push(error);
            }
            Found::Nowhere => {
                // Unknown to X12 (as far as this pack knows): 1; known but not in this set: 6;
                // in this set but out of place: 2.
                let code = if sets::contains(set, id) {
                    "2"
                } else if valid_id(id) && known_anywhere(id) {
                    "6"
                } else {
                    "1"
                };
                let mut error = segment_error(id, position, stack.last().unwrap().instance.def.id, code);
                error.expected = expected(&stack);
                errors.push(error);
            }
        }
    }
    while stack.len() > 1 {
        close(&mut stack, end_position, &mut errors);
    }
    let mut top = stack.pop().expect("body");
    let nodes = top.instance.def.nodes.len();
    missing_between(&mut top, nodes, end_position, &mut errors);
    (top.instance, errors)
}

enum Found {
    At { level: usize, node: usize },
    /// The segment fits only where its maximum use is already reached (4: loop, 5: segment).
    Over { code: &'static str },
    Nowhere,
}

/// Looks for the segment from the innermost open loop outwards, at or after each loop's cursor.
fn find(stack: &[Open], code: Option<usize>) -> Found {
    let Some(code) = code else { return Found::Nowhere };
    let mut over = None;
    for level in (0..stack.len()).rev() {
        let open = &stack[level];
        for (node, def) in open.instance.def.nodes.iter().enumerate().skip(open.cursor) {
            if def.first_code() != code {
                continue;
            }
            // A loop's own trigger at the innermost level starts a new occurrence one level up.
            if node == 0 && level > 0 {
                continue;
            }
            if open.count(node) < def.max() {
                return Found::At { level, node };
            }
            over.get_or_insert(if matches!(def, Node::Loop(_)) { "4" } else { "5" });
        }
    }
    match over {
        Some(code) => Found::Over { code },
        None => Found::Nowhere,
    }
}

/// Mandatory nodes between the cursor and `until` that never occurred.
fn missing_between(open: &mut Open, until: usize, position: usize, errors: &mut Vec<SegmentError>) {
    let def = open.instance.def;
    for node in open.cursor..until.min(def.required) {
        if def.nodes[node].mandatory() && open.count(node) == 0 {
            errors.push(SegmentError {
                segment_id: def.nodes[node].first_id().to_owned(),
                position,
                loop_id: def.id,
                code: "3",
                elements: Vec::new(),
                expected: vec![def.nodes[node].first_id()],
            });
        }
    }
}

/// Closes the innermost loop occurrence and files it in its parent.
fn close(stack: &mut Vec<Open>, position: usize, errors: &mut Vec<SegmentError>) {
    let mut open = stack.pop().expect("an open loop");
    let nodes = open.instance.def.nodes.len();
    missing_between(&mut open, nodes, position, errors);
    let parent = stack.last_mut().expect("a parent");
    let cursor = parent.cursor;
    if parent.keep {
        parent.instance.items.push((cursor, Item::Loop(open.instance)));
    }
}

fn segment_error(id: &[u8], position: usize, loop_id: &'static str, code: &'static str) -> SegmentError {
    SegmentError { segment_id: String::from_utf8_lossy(&id[..id.len().min(3)]).into_owned(), position, loop_id, code, elements: Vec::new(), expected: Vec::new() }
}

/// The segments that could come next: from the innermost open loop outwards, each node at or
/// after the cursor that has room left, the first few only.
fn expected(stack: &[Open]) -> Vec<&'static str> {
    const SHOWN: usize = 12;
    let mut ids: Vec<&'static str> = Vec::new();
    for (level, open) in stack.iter().enumerate().rev() {
        for (node, def) in open.instance.def.nodes.iter().enumerate().skip(open.cursor) {
            if node == 0 && level > 0 {
                continue;
            }
            if open.count(node) < def.max() && !ids.contains(&def.first_id()) {
                ids.push(def.first_id());
            }
            if ids.len() == SHOWN {
                return ids;
            }
        }
    }
    ids
}

/// Whether either version defines segment `id` (then it is a real segment, not in this set).
fn known_anywhere(id: &[u8]) -> bool {
    crate::standard::ALL.iter().any(|v| dictionary::segment(*v, id).is_some())
}

fn valid_id(id: &[u8]) -> bool {
    (2..=3).contains(&id.len()) && id.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) && id[0].is_ascii_uppercase()
}

/// Checks each element of `seg` against its definition; a bad one adds IK4s under an IK3 code 8.
fn check_elements<'a>(def: Option<&'static SegmentDef>, seg: &Segment<'a>, position: usize, loop_id: &'static str, sep: &Separators, errors: &mut Vec<SegmentError>) {
    let Some(def) = def else { return };
    let mut bad = Vec::new();
    let mut values = seg.elements().skip(1);
    for n in 1.. {
        let value = values.next();
        if value.is_none() && n > def.required {
            break;
        }
        let value = value.unwrap_or(b"");
        let Some(element) = def.elements.get(n - 1) else {
            if !value.is_empty() {
                bad.push(ElementError { position: n, component: None, reference: "", code: "3", value: copy(value) });
            }
            continue;
        };
        if value.is_empty() {
            if element.mandatory {
                bad.push(ElementError { position: n, component: None, reference: element.reference, code: "1", value: String::new() });
            }
            continue;
        }
        let check = |one: &'a [u8]| check_value(element.kind, element.min, element.max, one, sep).map(|c| (one, c));
        let found = match sep.repetition {
            Some(r) if tokens::has(value, r) => value.split(|b| *b == r).find_map(check),
            _ => check(value),
        };
        if let Some((one, code)) = found {
            let reference = if element.reference.starts_with('C') { "" } else { element.reference };
            bad.push(ElementError { position: n, component: None, reference, code, value: copy(one) });
        }
    }
    if !bad.is_empty() {
        errors.push(SegmentError { segment_id: def.id.to_owned(), position, loop_id, code: "8", elements: bad, expected: Vec::new() });
    }
}

fn copy(value: &[u8]) -> String {
    String::from_utf8_lossy(&value[..value.len().min(99)]).into_owned()
}

fn check_value(kind: Kind, min: usize, max: usize, value: &[u8], sep: &Separators) -> Option<&'static str> {
    // One pass: control characters anywhere, and a component separator inside a code.
    let component = if kind == Kind::Id { sep.component } else { 0 };
    if value.iter().any(|b| *b < 0x20 || *b == 0x7f || *b == component) {
        return Some("6");
    }
    match kind {
        Kind::Composite | Kind::Binary => return None,
        Kind::Date => return (!valid_date(value)).then_some("8"),
        Kind::Time => return (!valid_time(value)).then_some("9"),
        Kind::Numeric | Kind::Decimal => {
            let digits = value.strip_prefix(b"-").unwrap_or(value);
            let points = digits.iter().filter(|b| **b == b'.').count();
            let ok = !digits.is_empty()
                && digits.iter().all(|b| b.is_ascii_digit() || *b == b'.')
                && (points == 0 || kind == Kind::Decimal && points == 1 && digits.len() > 1);
            if !ok {
                return Some("6");
            }
            let count = digits.len() - points;
            return length_code(count, min, max);
        }
        Kind::Text | Kind::Id => {}
    }
    length_code(value.len(), min, max)
}

fn length_code(len: usize, min: usize, max: usize) -> Option<&'static str> {
    if len < min {
        Some("4")
    } else if len > max {
        Some("5")
    } else {
        None
    }
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// CCYYMMDD (or YYMMDD) with a real day of a real month.
pub fn valid_date(value: &[u8]) -> bool {
    if !(value.len() == 8 || value.len() == 6) || !value.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (year, rest) = if value.len() == 8 { (number(&value[..4]), &value[4..]) } else { (2000 + number(&value[..2]), &value[2..]) };
    let month = number(&rest[..2]);
    let day = number(&rest[2..4]);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// HHMM, HHMMSS or HHMMSSd..d.
pub fn valid_time(value: &[u8]) -> bool {
    if !(4..=8).contains(&value.len()) || value.len() == 5 || !value.iter().all(u8::is_ascii_digit) {
        return false;
    }
    number(&value[..2]) < 24 && number(&value[2..4]) < 60 && (value.len() < 6 || number(&value[4..6]) < 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert!(valid_date(b"20240229"));
        assert!(!valid_date(b"20230229"));
        assert!(!valid_date(b"20241301"));
        assert!(valid_date(b"240301"));
        assert!(valid_time(b"2359"));
        assert!(valid_time(b"235959"));
        assert!(!valid_time(b"2460"));
        assert!(!valid_time(b"12345"));
    }
}
