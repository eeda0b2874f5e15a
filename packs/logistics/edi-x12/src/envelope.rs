//! Reads an interchange and checks its envelopes: the ISA's 106 characters and fields, the
//! sender and receiver, IEA/GE/SE counts and control numbers, and whether each transaction set is
//! one this partner may send. Every finding carries the code its acknowledgment reports.

use std::collections::HashSet;
use std::ops::Range;

use crate::config::{Config, Partner};
use crate::sets::{self, SetDef};
use crate::standard::Version;
use crate::structure::{self, Instance, SegmentError};
use crate::tokens::{self, NotAnInterchange, Segment, Separators};

/// One transaction set (ST..SE) and what is wrong with it.
#[derive(Debug)]
pub struct TxSet {
    /// Index of the ST segment.
    pub st: usize,
    /// Segments between ST and SE (indices).
    pub body: Range<usize>,
    pub se: Option<usize>,
    pub def: Option<&'static SetDef>,
    /// 718/618 codes (AK5/IK5); empty when accepted.
    pub codes: Vec<&'static str>,
    pub segment_errors: Vec<SegmentError>,
    pub tree: Option<Instance>,
}

impl TxSet {
    pub fn accepted(&self) -> bool {
        self.codes.is_empty()
    }
}

/// One functional group (GS..GE).
#[derive(Debug)]
pub struct Group {
    pub gs: usize,
    pub ge: Option<usize>,
    pub sets: Vec<TxSet>,
    /// 716 codes (AK9); a group with any is rejected as a whole.
    pub codes: Vec<&'static str>,
}

/// A whole interchange as read, with the TA1 note code of its first envelope error.
#[derive(Debug)]
pub struct Interchange<'a> {
    pub separators: Separators,
    pub segments: Vec<Segment<'a>>,
    pub iea: Option<usize>,
    pub groups: Vec<Group>,
    /// The I18 note code for TA105: "000" when the interchange envelope is sound.
    pub note: &'static str,
    /// What is wrong, in words, with where (byte offsets), for people and logs.
    pub problems: Vec<String>,
    /// What was tolerated (indentation between segments), in words: nothing was rejected for it.
    pub warnings: Vec<String>,
    pub partner: Option<&'a Partner>,
    /// Where the next interchange of the same input starts, when another ISA follows the IEA.
    pub next: Option<usize>,
    /// Whether each set's tree is kept for JSON (`read_tree`); the checks do not need it.
    keep_tree: bool,
}

impl<'a> Interchange<'a> {
    pub fn rejected(&self) -> bool {
        self.note != "000"
    }
    pub fn isa(&self) -> &Segment<'a> {
        &self.segments[0]
    }
    /// ISA14: the sender asks for a TA1.
    pub fn ta1_requested(&self) -> bool {
        self.isa().get(14) == b"1"
    }
    pub fn version(&self) -> &str {
        self.isa().text(12)
    }
    fn fail(&mut self, note: &'static str, problem: String) {
        if self.note == "000" {
            self.note = note;
        }
        self.problems.push(problem);
    }
}

/// ISA01..ISA16: required width and the TA1 note code of a bad value.
const ISA_FIELDS: [(usize, &str, &str); 16] = [
    (2, "010", "authorization qualifier"), (10, "011", "authorization information"), (2, "012", "security qualifier"),
    (10, "013", "security information"), (2, "005", "sender qualifier"), (15, "006", "sender id"),
    (2, "007", "receiver qualifier"), (15, "008", "receiver id"), (6, "014", "date"), (4, "015", "time"),
    (1, "016", "standards identifier / repetition separator"), (5, "017", "version"), (9, "018", "control number"),
    (1, "019", "acknowledgment requested"), (1, "020", "usage indicator"), (1, "027", "component separator"),
];

/// Reads and checks `input` against the configured partners. `Err` only when there is no usable
/// ISA at all (nothing to acknowledge, not even with a TA1).
pub fn read<'a>(input: &'a [u8], config: &'a Config) -> Result<Interchange<'a>, NotAnInterchange> {
    read_with(input, config, false)
}

/// `read`, keeping each set's segments in their loops for the JSON of `/edi/x12/parse`.
pub fn read_tree<'a>(input: &'a [u8], config: &'a Config) -> Result<Interchange<'a>, NotAnInterchange> {
    read_with(input, config, true)
}

fn read_with<'a>(input: &'a [u8], config: &'a Config, keep_tree: bool) -> Result<Interchange<'a>, NotAnInterchange> {
    let isa = tokens::read_isa(input)?;
    let (segments, padded) = tokens::segments(input, &isa);
    let mut warnings = Vec::new();
    if let Some(first) = padded.first {
        warnings.push(format!(
            "{} segments start after spaces, tabs or blank lines (the first at byte {first}): ignored, but they are not part of X12",
            padded.count
        ));
    }
    let mut ix = Interchange { separators: isa.separators, segments, iea: None, groups: Vec::new(), note: "000", problems: Vec::new(), warnings, partner: None, next: None, keep_tree };
    check_isa(&mut ix, isa.length, config);
    walk(&mut ix, config);
    if let Some(at) = padded.after_iea {
        // A file of several interchanges, one after the other, is read one interchange at a time.
        if input[at..].starts_with(b"ISA") && tokens::read_isa(&input[at..]).is_ok() {
            ix.next = Some(at);
        } else {
            let shown = String::from_utf8_lossy(&input[at..input.len().min(at + 16)]).into_owned();
            ix.fail("024", format!("content after IEA at byte {at} ({shown:?}): expected the end of the input or another ISA"));
        }
    }
    Ok(ix)
}

fn check_isa<'a>(ix: &mut Interchange<'a>, length: usize, config: &'a Config) {
    let sep = ix.separators;
    let fields: Vec<&[u8]> = ix.segments[0].elements().skip(1).collect();
    if length != 106 {
        let bad = ISA_FIELDS.iter().zip(&fields).find(|((width, _, _), value)| value.len() != *width);
        let (note, what) = bad.map(|((_, note, what), _)| (*note, *what)).unwrap_or(("022", "segment"));
        ix.fail(note, format!("ISA is {length} characters, not 106: the {what} field has the wrong width"));
        return;
    }
    let mut distinct = vec![sep.element, sep.component, sep.segment];
    distinct.extend(sep.repetition);
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != 3 + usize::from(sep.repetition.is_some()) {
        ix.fail("026", "ISA separators are not distinct (element, component, repetition and segment terminator must differ)".into());
    }
    if sep.segment.is_ascii_alphanumeric() {
        ix.fail("004", format!("the segment terminator after ISA16 is {:?}, a letter or digit", sep.segment as char));
    }
    if sep.component.is_ascii_alphanumeric() {
        ix.fail("027", format!("ISA16 component separator {:?} is a letter or digit", sep.component as char));
    }
    let isa = ix.segments[0].clone();
    let (date, time, control, ack, usage) = (isa.get(9), isa.get(10), isa.get(13), isa.get(14), isa.get(15));
    let version = isa.text(12).to_owned();
    let sender = isa.text(6).to_owned();
    let receiver = isa.text(8).to_owned();
    if !structure::valid_date(date) {
        ix.fail("014", format!("ISA09 date {:?} is not a valid YYMMDD", String::from_utf8_lossy(date)));
    }
    if !structure::valid_time(time) {
        ix.fail("015", format!("ISA10 time {:?} is not a valid HHMM", String::from_utf8_lossy(time)));
    }
    if !control.iter().all(u8::is_ascii_digit) {
        ix.fail("018", format!("ISA13 control number {:?} is not 9 digits", String::from_utf8_lossy(control)));
    }
    if ack != b"0" && ack != b"1" {
        ix.fail("019", format!("ISA14 {:?} must be 0 or 1", String::from_utf8_lossy(ack)));
    }
    if usage != b"P" && usage != b"T" && usage != b"I" {
        ix.fail("020", format!("ISA15 {:?} must be P, T or I", String::from_utf8_lossy(usage)));
    }
    if !envelope_version(&version) {
        ix.fail("017", format!("ISA12 version {version:?} is not an interchange control version (00200 to 00501)"));
    }
    match config.partner_for(isa.text(5), &sender) {
        Some(partner) => ix.partner = Some(partner),
        None => ix.fail("006", format!("ISA06 sender {sender:?} is not a configured trading partner")),
    }
    let ours: Vec<&str> = match ix.partner {
        Some(p) if !p.our_ids.is_empty() => p.our_ids.iter().map(String::as_str).collect(),
        _ => vec![config.our.id.as_str()],
    };
    if !ours.iter().any(|id| id.is_empty() || receiver.eq_ignore_ascii_case(id)) {
        ix.fail("009", format!("ISA08 receiver {receiver:?} is not this gateway ({})", ours.join(", ")));
    }
}

/// ISA12 numbers the envelope's own version; every one from 00200 to 00501 has the same ISA
/// layout, and says nothing about the version of the groups inside (GS08).
pub fn envelope_version(version: &str) -> bool {
    version.len() == 5 && version.bytes().all(|b| b.is_ascii_digit()) && ("00200"..="00501").contains(&version)
}

/// The envelope state machine: GS..GE groups of ST..SE sets, then IEA.
fn walk(ix: &mut Interchange<'_>, config: &Config) {
    let count = ix.segments.len();
    let mut i = 1;
    while i < count {
        let (id, offset) = (ix.segments[i].id(), ix.segments[i].offset);
        match id {
            b"GS" => i = read_group(ix, i, config),
            b"IEA" => {
                ix.iea = Some(i);
                break;
            }
            b"TA1" => i += 1,
            _ => {
                let shown = String::from_utf8_lossy(id).into_owned();
                ix.fail("024", format!("segment {shown} at byte {offset} is outside a functional group: expected GS or IEA"));
                i += 1;
            }
        }
    }
    let Some(iea) = ix.iea else {
        ix.fail("023", "the interchange ends without an IEA segment".into());
        return;
    };
    let (groups, control) = (ix.segments[iea].text(1).to_owned(), ix.segments[iea].get(2));
    if control != ix.segments[0].get(13) {
        let (a, b) = (String::from_utf8_lossy(control).into_owned(), ix.segments[0].text(13).to_owned());
        ix.fail("001", format!("IEA02 {a:?} does not match ISA13 {b:?}"));
    }
    if groups != ix.groups.len().to_string() {
        ix.fail("021", format!("IEA01 says {groups} functional groups, the interchange has {}", ix.groups.len()));
    }
}

/// Reads GS at `gs` up to its GE (or to where its GE should have been); returns the next index.
fn read_group(ix: &mut Interchange<'_>, gs: usize, config: &Config) -> usize {
    let mut group = Group { gs, ge: None, sets: Vec::new(), codes: Vec::new() };
    let version = ix.segments[gs].text(8).to_owned();
    let control = ix.segments[gs].get(6);
    if control.is_empty() || control.len() > 9 || !control.iter().all(u8::is_ascii_digit) {
        group.codes.push("6");
    }
    let standard = Version::of_gs08(&version).filter(|v| config.versions.iter().any(|c| c == v.code()));
    if standard.is_none() {
        group.codes.push("2");
        ix.problems.push(format!("GS08 version {version:?} at byte {} is not one of {:?}", ix.segments[gs].offset, config.versions));
    }
    let mut i = gs + 1;
    while i < ix.segments.len() {
        match ix.segments[i].id() {
            b"ST" => i = read_set(ix, &mut group, i, standard),
            b"GE" => {
                group.ge = Some(i);
                i += 1;
                break;
            }
            b"GS" | b"IEA" => break,
            other => {
                let (shown, at) = (String::from_utf8_lossy(other).into_owned(), ix.segments[i].offset);
                ix.fail("024", format!("segment {shown} at byte {at} is outside a transaction set: expected ST or GE"));
                i += 1;
            }
        }
    }
    match group.ge {
        None => {
            group.codes.push("3");
            ix.problems.push(format!("the group starting at byte {} has no GE", ix.segments[gs].offset));
        }
        Some(ge) => {
            let ge_seg = &ix.segments[ge];
            if ge_seg.get(2) != ix.segments[gs].get(6) {
                group.codes.push("4");
                ix.problems.push(format!("GE02 {:?} does not match GS06 {:?}", ge_seg.text(2), ix.segments[gs].text(6)));
            }
            if ge_seg.text(1) != group.sets.len().to_string() {
                group.codes.push("5");
                ix.problems.push(format!("GE01 says {} transaction sets, the group has {}", ge_seg.text(1), group.sets.len()));
            }
        }
    }
    let partner = ix.partner;
    let functional_id = ix.segments[gs].text(1).to_owned();
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for set in &mut group.sets {
        let st = &ix.segments[set.st];
        let (set_id, control) = (st.get(1), st.get(2));
        let allowed = partner.map_or(true, |p| p.formats.iter().any(|f| f.as_bytes() == set_id));
        match set.def {
            None => set.codes.push("1"),
            Some(_) if !allowed => set.codes.push("1"),
            Some(def) if def.functional_id != functional_id => set.codes.push("6"),
            Some(_) => {}
        }
        if control.len() < 4 || control.len() > 9 {
            set.codes.push("7");
        } else if !seen.insert(control) {
            set.codes.push("23");
        }
        if let Some(se) = set.se {
            let se_seg = &ix.segments[se];
            if se_seg.get(2) != control {
                set.codes.push("3");
            }
            if se_seg.text(1) != (set.body.len() + 2).to_string() {
                set.codes.push("4");
            }
        }
        if !set.segment_errors.is_empty() && set.codes.is_empty() {
            set.codes.push("5");
        }
        if set.codes.first() == Some(&"1") {
            set.segment_errors.clear();
            set.tree = None;
        }
    }
    ix.groups.push(group);
    i
}

/// Reads ST at `st` up to its SE; returns the next index.
fn read_set(ix: &mut Interchange<'_>, group: &mut Group, st: usize, standard: Option<Version>) -> usize {
    let mut i = st + 1;
    let mut se = None;
    while i < ix.segments.len() {
        match ix.segments[i].id() {
            b"SE" => {
                se = Some(i);
                break;
            }
            b"ST" | b"GE" | b"GS" | b"IEA" => break,
            _ => i += 1,
        }
    }
    let body = st + 1..i;
    let def = standard.and_then(|v| sets::find(v, ix.segments[st].get(1)));
    let mut set = TxSet { st, body: body.clone(), se, def, codes: Vec::new(), segment_errors: Vec::new(), tree: None };
    if se.is_none() {
        set.codes.push("2");
    }
    if let Some(def) = def {
        let end_position = body.len() + 2;
        let (tree, errors) = structure::read(def, &ix.segments[body], 2, end_position, &ix.separators, ix.keep_tree);
        set.tree = Some(tree);
        set.segment_errors = errors;
    }
    group.sets.push(set);
    se.map_or(i, |se| se + 1)
}
