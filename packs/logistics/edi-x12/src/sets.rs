//! The structure of each transaction set: its segments in order, their usage and repeat, and its
//! loops, as generated from `definitions/*.json`. The same tree reads a set into JSON and writes
//! JSON back into a set.

use crate::standard::{Version, ALL};

/// A repeat of ">1" in the standard: no upper bound.
pub const MANY: usize = usize::MAX;

/// A segment or a loop in a set's structure. A loop's first node is its trigger segment.
#[derive(Debug)]
pub enum Node {
    /// `code`: the id as `dictionary::code` numbers it, compared instead of the bytes.
    Segment { id: &'static str, code: usize, mandatory: bool, max: usize },
    Loop(LoopDef),
}

/// A loop: `id` is the X12 loop identifier reported in IK303/AK303 (its trigger segment's id).
#[derive(Debug)]
pub struct LoopDef {
    pub id: &'static str,
    /// The JSON key of its occurrences: `N1_loop`.
    pub key: &'static str,
    /// `dictionary::code` of its trigger segment (the body of a set: none).
    pub code: usize,
    pub mandatory: bool,
    pub max: usize,
    /// Nodes from this index on are all optional: past it, nothing can be missing.
    pub required: usize,
    pub nodes: &'static [Node],
}

impl LoopDef {
    pub fn trigger(&self) -> &'static str {
        match &self.nodes[0] {
            Node::Segment { id, .. } => id,
            Node::Loop(_) => unreachable!("a loop starts with a segment"),
        }
    }
}

impl Node {
    /// The segment that starts this node: itself, or a loop's trigger.
    pub fn first_id(&self) -> &'static str {
        match self {
            Node::Segment { id, .. } => id,
            Node::Loop(l) => l.trigger(),
        }
    }
    pub fn mandatory(&self) -> bool {
        match self {
            Node::Segment { mandatory, .. } => *mandatory,
            Node::Loop(l) => l.mandatory,
        }
    }
    /// `dictionary::code` of the segment that starts this node.
    pub fn first_code(&self) -> usize {
        match self {
            Node::Segment { code, .. } => *code,
            Node::Loop(l) => l.code,
        }
    }
    pub fn max(&self) -> usize {
        match self {
            Node::Segment { max, .. } => *max,
            Node::Loop(l) => l.max,
        }
    }
    /// The JSON key: the segment id, or the loop's `<trigger>_loop`.
    pub fn key(&self) -> &'static str {
        match self {
            Node::Segment { id, .. } => id,
            Node::Loop(l) => l.key,
        }
    }
}

/// A transaction set: the body (between ST and SE) as the outermost loop.
#[derive(Debug)]
pub struct SetDef {
    pub id: &'static str,
    pub name: &'static str,
    /// GS01 of the group that carries it.
    pub functional_id: &'static str,
    pub version: Version,
    pub body: LoopDef,
}

/// The definition of set `id` ("850") in `version`, when this pack knows it.
pub fn find(version: Version, id: &[u8]) -> Option<&'static SetDef> {
    version.sets().iter().find(|s| s.id.as_bytes() == id)
}

/// Whether any version defines set `id` (what `formats` may name).
pub fn known(id: &str) -> bool {
    ALL.iter().any(|v| find(*v, id.as_bytes()).is_some())
}

/// Every set id this pack handles, in the order the definitions list them.
pub fn ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for v in ALL {
        for s in v.sets() {
            if !ids.contains(&s.id) {
                ids.push(s.id);
            }
        }
    }
    ids
}

/// Whether segment `id` appears anywhere in `set` (an out-of-place segment is "unexpected",
/// one that appears nowhere is "not in the defined transaction set").
pub fn contains(set: &SetDef, id: &[u8]) -> bool {
    fn walk(l: &LoopDef, id: &[u8]) -> bool {
        l.nodes.iter().any(|n| match n {
            Node::Segment { id: s, .. } => s.as_bytes() == id,
            Node::Loop(inner) => walk(inner, id),
        })
    }
    walk(&set.body, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary;

    #[test]
    fn every_set_of_the_issue_is_defined_in_both_versions() {
        for id in ["810", "850", "855", "856", "860", "865", "997", "204", "210", "214", "990"] {
            for v in ALL {
                assert!(find(v, id.as_bytes()).is_some(), "{id} in {}", v.code());
            }
        }
        assert!(find(Version::V005010, b"999").is_some());
    }

    #[test]
    fn generated_codes_are_the_dictionary_codes_and_every_segment_is_defined() {
        fn walk(v: Version, l: &LoopDef) {
            for n in l.nodes {
                if let Node::Loop(inner) = n {
                    walk(v, inner);
                }
                assert_eq!(Some(n.first_code()), dictionary::code(n.first_id().as_bytes()), "{}", n.first_id());
                assert!(dictionary::segment(v, n.first_id().as_bytes()).is_some(), "{} {}", v.code(), n.first_id());
            }
            assert!(l.nodes[l.required..].iter().all(|n| !n.mandatory()), "{} {}: a mandatory node after required", v.code(), l.id);
            assert!(l.required == 0 || l.nodes[l.required - 1].mandatory(), "{} {}: required is not after the last mandatory node", v.code(), l.id);
        }
        for v in ALL {
            for s in v.sets() {
                walk(v, &s.body);
            }
        }
    }

    #[test]
    fn the_850_has_what_the_hand_cut_table_lacked() {
        let po = find(Version::V004010, b"850").unwrap();
        let top: Vec<&str> = po.body.nodes.iter().map(Node::key).collect();
        for key in ["PKG", "AMT_loop", "N9_loop", "SPI_loop", "PO1_loop", "CTT_loop"] {
            assert!(top.contains(&key), "{key} missing from the 850 header: {top:?}");
        }
        let Some(Node::Loop(line)) = po.body.nodes.iter().find(|n| n.key() == "PO1_loop") else { panic!() };
        assert!(line.nodes.iter().any(|n| n.key() == "N9_loop"));
    }
}
