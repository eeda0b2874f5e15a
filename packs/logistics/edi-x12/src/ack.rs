//! Acknowledgments of an inbound interchange: a TA1 when ISA14 asks for one or the envelope is
//! bad, and per functional group a 997 (004010) or a 999 (005010) with AK1, AK2, AK3/AK4 or
//! IK3/IK4, AK5 or IK5, and AK9. Acknowledgments themselves (FA groups) are never acknowledged.

use crate::config::Config;
use crate::envelope::{self, Group, Interchange};
use crate::tokens::Separators;
use crate::writer::{self, Envelope, Writer};

/// The implementation guide a 999 names in ST03 and GS08.
const GUIDE_999: &str = "005010X231A1";

/// How many control numbers the acknowledgment needs: (interchange, groups). `None`: nothing to send.
pub fn needs(ix: &Interchange<'_>) -> Option<usize> {
    let groups = if ix.rejected() { 0 } else { acknowledged(ix).count() };
    (ix.rejected() || ix.ta1_requested() || groups > 0).then_some(groups)
}

fn acknowledged<'a, 'b: 'a>(ix: &'a Interchange<'b>) -> impl Iterator<Item = &'a Group> + use<'a, 'b> {
    ix.groups.iter().filter(move |g| ix.segments[g.gs].get(1) != b"FA")
}

/// The AK9 status of a group and its counts: (status, included, received, accepted).
pub fn group_status(ix: &Interchange<'_>, group: &Group) -> (&'static str, String, usize, usize) {
    let received = group.sets.len();
    let included = group.ge.map(|ge| ix.segments[ge].text(1).to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| received.to_string());
    let accepted = if group.codes.is_empty() { group.sets.iter().filter(|s| s.accepted()).count() } else { 0 };
    let status = if !group.codes.is_empty() || (accepted == 0 && received > 0) {
        "R"
    } else if accepted < received {
        "P"
    } else {
        "A"
    };
    (status, included, received, accepted)
}

/// Separators for the answer: the sender's own, unless they were the problem.
fn answer_separators(ix: &Interchange<'_>) -> Separators {
    if matches!(ix.note, "004" | "026" | "027") {
        Separators::standard(ix.version() >= "00402")
    } else {
        ix.separators
    }
}

/// Writes the acknowledgment interchange with control numbers `isa_control` and `group_controls`
/// (as many as `needs` said).
pub fn build(ix: &Interchange<'_>, config: &Config, isa_control: u64, group_controls: &[u64]) -> String {
    let mut w = Writer::new(answer_separators(ix));
    let (date, time) = writer::now();
    let isa = ix.isa();
    // The sender's own envelope version: every one of them has this ISA layout.
    let version = match ix.version() {
        v if envelope::envelope_version(v) => v,
        _ if config.versions[0] == "005010" => "00501",
        _ => "00401",
    };
    let usage = match isa.text(15) {
        u @ ("P" | "T") => u,
        _ => config.usage.as_str(),
    };
    let own_id = if isa.text(8).is_empty() || ix.note == "009" { config.our.id.clone() } else { isa.text(8).to_owned() };
    let own_qualifier = if isa.text(7).is_empty() { config.our.qualifier.clone() } else { isa.text(7).to_owned() };
    let envelope = Envelope {
        sender_qualifier: &own_qualifier,
        sender: &own_id,
        receiver_qualifier: isa.text(5),
        receiver: isa.text(6),
        version,
        control: isa_control,
        usage,
        ack_requested: false,
    };
    writer::isa(&mut w, &envelope, &date, &time);
    if ix.rejected() || ix.ta1_requested() {
        let status = if ix.rejected() { "R" } else { "A" };
        let control = format!("{:0>9}", w.clean(isa.text(13)).chars().take(9).collect::<String>());
        let isa_date = format!("{:0>6}", w.clean(isa.text(9)).chars().take(6).collect::<String>());
        let isa_time = format!("{:0>4}", w.clean(isa.text(10)).chars().take(4).collect::<String>());
        w.segment("TA1", &[control, isa_date, isa_time, status.to_owned(), ix.note.to_owned()]);
    }
    let mut groups = 0;
    if !ix.rejected() {
        for (group, control) in acknowledged(ix).zip(group_controls) {
            group_ack(&mut w, ix, group, *control, &date, &time);
            groups += 1;
        }
    }
    writer::iea(&mut w, groups, isa_control);
    w.out
}

fn group_ack(w: &mut Writer, ix: &Interchange<'_>, group: &Group, control: u64, date: &str, time: &str) {
    let gs = &ix.segments[group.gs];
    let inbound_version = gs.text(8);
    let is_999 = inbound_version.starts_with("005010");
    let clean = |w: &Writer, s: &str| w.clean(s);
    let gs_version = if is_999 { GUIDE_999.to_owned() } else { clean(w, inbound_version) };
    let fields = [
        "FA".to_owned(), clean(w, gs.text(3)), clean(w, gs.text(2)), date.to_owned(), time.to_owned(),
        control.to_string(), "X".to_owned(), gs_version,
    ];
    w.segment("GS", &fields);
    w.counted = 0;
    let (set_id, guide) = if is_999 { ("999", GUIDE_999) } else { ("997", "") };
    w.segment("ST", &[set_id, "0001", guide]);
    let ak1_version = if is_999 { clean(w, inbound_version) } else { String::new() };
    w.segment("AK1", &[clean(w, gs.text(1)), clean(w, gs.text(6)), ak1_version]);
    // A group refused for its version is answered with AK9 alone: its sets were not read.
    if !group.codes.contains(&"2") {
        for set in &group.sets {
            let st = &ix.segments[set.st];
            let st03 = if is_999 { clean(w, st.text(3)) } else { String::new() };
            w.segment("AK2", &[clean(w, st.text(1)), clean(w, st.text(2)), st03]);
            for error in &set.segment_errors {
                let (seg_tag, elem_tag) = if is_999 { ("IK3", "IK4") } else { ("AK3", "AK4") };
                w.segment(seg_tag, &[error.segment_id.clone(), error.position.to_string(), error.loop_id.to_owned(), error.code.to_owned()]);
                for e in &error.elements {
                    let position = match e.component {
                        Some(c) => format!("{}{}{c}", e.position, w.sep.component as char),
                        None => e.position.to_string(),
                    };
                    let value = if e.code == "1" { String::new() } else { clean(w, &e.value) };
                    w.segment(elem_tag, &[position, e.reference.to_owned(), e.code.to_owned(), value]);
                }
            }
            let mut ak5 = vec![if set.accepted() { "A" } else { "R" }];
            ak5.extend(set.codes.iter().take(5));
            w.segment(if is_999 { "IK5" } else { "AK5" }, &ak5);
        }
    }
    let (status, included, received, accepted) = group_status(ix, group);
    let mut ak9 = vec![status.to_owned(), included, received.to_string(), accepted.to_string()];
    ak9.extend(group.codes.iter().take(5).map(|c| (*c).to_owned()));
    w.segment("AK9", &ak9);
    let count = w.counted + 1;
    w.segment("SE", &[count.to_string(), "0001".to_owned()]);
    w.segment("GE", &["1".to_owned(), control.to_string()]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config, envelope};
    use backworks_plugin_sdk::json;

    fn config() -> Config {
        config::parse(&json!({"trading_partners": [{"id": "WALMART", "formats": ["850"]}], "interchange": {"id": "US"}})).unwrap()
    }

    fn interchange(body: &str, ge: &str) -> String {
        format!(
            "ISA*00*          *00*          *ZZ*WALMART        *ZZ*US             *240301*0930*U*00401*000000009*0*P*>~\
             GS*PO*WALMART*US*20240301*0930*5*X*004010~ST*850*0001~{body}SE*{}*0001~{ge}IEA*1*000000009~",
            body.matches('~').count() + 2
        )
    }

    /// The acknowledgment without its envelope, which carries the date.
    fn answer(text: &str) -> Vec<String> {
        let config = config();
        let ix = envelope::read(text.as_bytes(), &config).unwrap();
        let groups = needs(&ix).unwrap();
        let ack = build(&ix, &config, 1, &vec![2; groups]);
        ack.split('~').filter(|s| !s.is_empty() && !["ISA", "GS", "GE", "IEA"].contains(&&s[..s.find('*').unwrap_or(s.len())])).map(str::to_owned).collect()
    }

    #[test]
    fn a_clean_order_is_accepted() {
        let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~CTT*1~", "GE*1*5~");
        assert_eq!(answer(&text), ["ST*997*0001", "AK1*PO*5", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1", "SE*6*0001"]);
    }

    #[test]
    fn a_missing_loop_and_a_bad_date_are_named() {
        let text = interchange("BEG*00*SA*1**20241301~CTT*1~", "GE*1*5~");
        assert_eq!(
            answer(&text),
            ["ST*997*0001", "AK1*PO*5", "AK2*850*0001", "AK3*BEG*2**8", "AK4*5*373*8*20241301", "AK3*PO1*3**3", "AK5*R*5", "AK9*R*1*1*0", "SE*9*0001"]
        );
    }

    #[test]
    fn isa12_is_the_envelope_version_whatever_gs08_says() {
        let config = config();
        for envelope in ["00200", "00300", "00400", "00401", "00403", "00501"] {
            let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~CTT*1~", "GE*1*5~").replace("*00401*", &format!("*{envelope}*"));
            let ix = envelope::read(text.as_bytes(), &config).unwrap();
            assert!(!ix.rejected(), "{envelope}: {:?}", ix.problems);
            let ack = build(&ix, &config, 1, &[2]);
            assert!(ack.contains(&format!("*{envelope}*000000001*")), "{envelope}: the answer echoes ISA12: {ack}");
            assert!(ack.contains("AK9*A*1*1*1"), "{envelope}: {ack}");
        }
        let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~CTT*1~", "GE*1*5~").replace("*00401*", "*00040*");
        let ix = envelope::read(text.as_bytes(), &config).unwrap();
        assert_eq!(ix.note, "017");
    }

    #[test]
    fn indentation_is_a_warning_and_a_stray_segment_says_what_was_expected() {
        let config = config();
        let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~CTT*1~", "GE*1*5~").replace('~', "~\n    ");
        let ix = envelope::read(text.as_bytes(), &config).unwrap();
        assert!(!ix.rejected(), "{:?}", ix.problems);
        assert_eq!(ix.warnings.len(), 1, "{:?}", ix.warnings);
        assert!(ix.warnings[0].contains("spaces, tabs or blank lines"));
        assert_eq!(answer(&text), ["ST*997*0001", "AK1*PO*5", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1", "SE*6*0001"]);
        let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~CTT*1~", "GE*1*5~").replace("GS*", "XX*1~GS*");
        let ix = envelope::read(text.as_bytes(), &config).unwrap();
        assert_eq!(ix.note, "024");
        assert!(ix.problems[0].contains("segment XX at byte 106 is outside a functional group: expected GS or IEA"), "{:?}", ix.problems);
    }

    #[test]
    fn a_group_trailer_that_does_not_match_rejects_the_group() {
        let text = interchange("BEG*00*SA*1**20240301~PO1*1*2*EA~", "GE*2*6~");
        assert_eq!(answer(&text), ["ST*997*0001", "AK1*PO*5", "AK2*850*0001", "AK5*A", "AK9*R*2*1*0*4*5", "SE*6*0001"]);
    }
}
