//! The structure of each transaction set: its segments in order, their usage and repeat, and its
//! loops. The same tree reads a set into JSON and writes JSON back into a set.

use std::sync::OnceLock;

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
    pub mandatory: bool,
    pub max: usize,
    pub nodes: Vec<Node>,
    /// The JSON key of its occurrences: `N1_loop`.
    pub key: String,
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
            Node::Loop(l) => l.nodes[0].first_code(),
        }
    }
    pub fn max(&self) -> usize {
        match self {
            Node::Segment { max, .. } => *max,
            Node::Loop(l) => l.max,
        }
    }
}

/// A transaction set: the body (between ST and SE) as the outermost loop.
#[derive(Debug)]
pub struct SetDef {
    pub id: &'static str,
    /// GS01 of the group that carries it.
    pub functional_id: &'static str,
    pub body: LoopDef,
}

const MANY: usize = usize::MAX;

fn segment(id: &'static str, mandatory: bool, max: usize) -> Node {
    Node::Segment { id, code: crate::dictionary::code(id.as_bytes()).expect("valid segment id"), mandatory, max }
}
fn m(id: &'static str, max: usize) -> Node {
    segment(id, true, max)
}
fn o(id: &'static str, max: usize) -> Node {
    segment(id, false, max)
}
fn lp(mandatory: bool, max: usize, nodes: Vec<Node>) -> Node {
    let id = nodes[0].first_id();
    Node::Loop(LoopDef { id, mandatory, max, nodes, key: format!("{id}_loop") })
}
fn body(nodes: Vec<Node>) -> LoopDef {
    LoopDef { id: "", mandatory: true, max: 1, nodes, key: String::new() }
}

fn party(max: usize) -> Node {
    lp(false, max, vec![o("N1", 1), o("N2", 2), o("N3", 2), o("N4", MANY), o("REF", 12), o("PER", MANY), o("FOB", 1)])
}

fn po_850() -> SetDef {
    let line = lp(true, 100_000, vec![
        o("PO1", 1), o("CUR", 1), o("PO3", 25), o("CTP", MANY), o("MEA", 40), lp(false, 1000, vec![o("PID", 1), o("MEA", 10)]),
        o("PO4", MANY), o("REF", MANY), o("PER", 3), o("SAC", 25), o("ITD", 2), o("DIS", MANY), o("TAX", MANY), o("FOB", MANY),
        o("SDQ", 500), o("DTM", 10), o("TD1", MANY), o("TD5", MANY), o("TD3", MANY), o("TD4", 5), o("MAN", 10), o("MSG", 12),
        lp(false, 1000, vec![o("SLN", 1), o("MSG", 1000), o("PID", 1000), o("PO3", 104), o("CTP", 25), o("SAC", 25), o("DTM", 10)]),
        party(200), lp(false, 104, vec![o("SCH", 1), o("TD1", 2), o("TD5", 1), o("TD3", 1), o("TD4", 1), o("REF", MANY)]),
    ]);
    SetDef {
        id: "850",
        functional_id: "PO",
        body: body(vec![
            m("BEG", 1), o("CUR", 1), o("REF", MANY), o("PER", 3), o("TAX", MANY), o("FOB", MANY), o("CTP", MANY), o("PAM", 10),
            o("CSH", 5), lp(false, 25, vec![o("SAC", 1), o("CUR", 1)]), o("ITD", MANY), o("DIS", 20), o("DTM", 10),
            o("TD1", 2), o("TD5", 12), o("TD3", 12), o("TD4", 5), o("PWK", 25), lp(false, 1000, vec![o("N9", 1), o("DTM", 10), o("MSG", 1000)]),
            party(200), line, lp(false, 1, vec![o("CTT", 1), o("AMT", 1)]),
        ]),
    }
}

fn ack_855() -> SetDef {
    let line = lp(false, 100_000, vec![
        o("PO1", 1), o("CUR", 1), o("PO3", 25), o("CTP", MANY), o("MEA", 40), lp(false, 1000, vec![o("PID", 1), o("MEA", 10)]),
        o("PO4", MANY), o("REF", MANY), o("PER", 3), o("SAC", 25), o("ITD", 2), o("DIS", MANY), o("TAX", MANY), o("FOB", MANY),
        o("SDQ", 500), o("DTM", 10), o("TD1", MANY), o("TD5", MANY), o("TD3", MANY), o("TD4", 5), o("MAN", 10), o("MSG", 12),
        lp(false, 104, vec![o("ACK", 1), o("DTM", 1)]), party(200),
    ]);
    SetDef {
        id: "855",
        functional_id: "PR",
        body: body(vec![
            m("BAK", 1), o("CUR", 1), o("REF", MANY), o("PER", 3), o("TAX", MANY), o("FOB", MANY), o("CTP", MANY), o("PAM", 10),
            o("CSH", 5), lp(false, 25, vec![o("SAC", 1), o("CUR", 1)]), o("ITD", MANY), o("DIS", 20), o("DTM", 10),
            o("TD1", 2), o("TD5", 12), o("TD3", 12), o("TD4", 5), lp(false, 1000, vec![o("N9", 1), o("DTM", 10), o("MSG", 1000)]),
            party(200), line, lp(false, 1, vec![o("CTT", 1), o("AMT", 1)]),
        ]),
    }
}

fn ship_856() -> SetDef {
    let level = lp(true, 200_000, vec![
        m("HL", 1), o("LIN", 1), o("SN1", 1), o("SLN", 1000), o("PRF", 1), o("PO4", 1), o("PID", 200), o("MEA", 40),
        o("PWK", 25), o("PKG", 25), o("TD1", 20), o("TD5", 12), o("TD3", 12), o("TD4", 5), o("REF", MANY), o("PER", 3),
        o("MAN", MANY), o("DTM", 10), o("FOB", 1), party(200), o("SDQ", 50),
    ]);
    SetDef {
        id: "856",
        functional_id: "SH",
        body: body(vec![m("BSN", 1), o("DTM", 10), level, o("CTT", 1)]),
    }
}

fn invoice_810() -> SetDef {
    let line = lp(false, 200_000, vec![
        o("IT1", 1), o("CRC", 1), o("QTY", 5), o("CUR", 1), o("IT3", 5), o("TXI", 10), o("CTP", 25), o("PAM", 10), o("MEA", 40),
        lp(false, 1000, vec![o("PID", 1), o("MEA", 10)]), o("PO4", 1), o("REF", MANY), o("PER", 5), o("SDQ", 500), o("DTM", 10),
        o("CAD", MANY), lp(false, 25, vec![o("SAC", 1), o("TXI", 10)]), party(200),
    ]);
    SetDef {
        id: "810",
        functional_id: "IN",
        body: body(vec![
            m("BIG", 1), o("NTE", 100), o("CUR", 1), o("REF", 12), o("PER", 3), party(200), o("ITD", MANY), o("DTM", 10),
            o("FOB", 1), o("PID", 200), o("MEA", 40), o("PWK", 25), o("PKG", 25), o("TD1", 2), o("TD5", 12), o("TD3", 12),
            o("TD4", 5), line, m("TDS", 1), o("TXI", 10), o("CAD", 1), o("AMT", MANY), lp(false, 25, vec![o("SAC", 1), o("TXI", 10)]),
            lp(false, MANY, vec![o("ISS", 1), o("PID", 1)]), o("CTT", 1),
        ]),
    }
}

fn fa_997() -> SetDef {
    SetDef {
        id: "997",
        functional_id: "FA",
        body: body(vec![
            m("AK1", 1),
            lp(false, MANY, vec![o("AK2", 1), lp(false, MANY, vec![o("AK3", 1), o("AK4", 99)]), m("AK5", 1)]),
            m("AK9", 1),
        ]),
    }
}

fn fa_999() -> SetDef {
    SetDef {
        id: "999",
        functional_id: "FA",
        body: body(vec![
            m("AK1", 1),
            lp(false, MANY, vec![
                o("AK2", 1),
                lp(false, MANY, vec![o("IK3", 1), o("CTX", 10), lp(false, 99, vec![o("IK4", 1), o("CTX", 10)])]),
                m("IK5", 1),
            ]),
            m("AK9", 1),
        ]),
    }
}

/// Every set this pack reads and writes.
pub fn all() -> &'static [SetDef] {
    static SETS: OnceLock<Vec<SetDef>> = OnceLock::new();
    SETS.get_or_init(|| vec![po_850(), ack_855(), ship_856(), invoice_810(), fa_997(), fa_999()])
}

/// The definition of set `id` ("850"), when this pack knows it.
pub fn find(id: &[u8]) -> Option<&'static SetDef> {
    all().iter().find(|s| s.id.as_bytes() == id)
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
