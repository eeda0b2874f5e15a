//! Checks a message against the data dictionary in QuickFIX's order, so the first problem found
//! is the one the reference engine reports: structure, message type, required fields, then each
//! field of the header, trailer and body by tag (repeated, empty, format, value, known tag, in
//! this message type, group count), then each group instance.

use crate::dictionary::{Dictionary, FieldType, Layout};
use crate::message::{FieldMap, Message};
use crate::time;

/// SessionRejectReason (373) values and their standard texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    InvalidTagNumber = 0,
    RequiredTagMissing = 1,
    TagNotDefinedForMessageType = 2,
    TagSpecifiedWithoutValue = 4,
    ValueIsIncorrect = 5,
    IncorrectDataFormat = 6,
    CompIdProblem = 9,
    SendingTimeAccuracyProblem = 10,
    InvalidMsgType = 11,
    TagAppearsMoreThanOnce = 13,
    TagSpecifiedOutOfRequiredOrder = 14,
    IncorrectNumInGroupCount = 16,
}

impl Reason {
    pub fn text(self) -> &'static str {
        match self {
            Reason::InvalidTagNumber => "Invalid tag number",
            Reason::RequiredTagMissing => "Required tag missing",
            Reason::TagNotDefinedForMessageType => "Tag not defined for this message type",
            Reason::TagSpecifiedWithoutValue => "Tag specified without a value",
            Reason::ValueIsIncorrect => "Value is incorrect (out of range) for this tag",
            Reason::IncorrectDataFormat => "Incorrect data format for value",
            Reason::CompIdProblem => "CompID problem",
            Reason::SendingTimeAccuracyProblem => "SendingTime accuracy problem",
            Reason::InvalidMsgType => "Invalid MsgType",
            Reason::TagAppearsMoreThanOnce => "Tag appears more than once",
            Reason::TagSpecifiedOutOfRequiredOrder => "Tag specified out of required order",
            Reason::IncorrectNumInGroupCount => "Incorrect NumInGroup count for repeating group",
        }
    }
}

/// Why a message is rejected, and the tag concerned (RefTagID), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub reason: Reason,
    pub tag: Option<i32>,
}

impl Problem {
    fn new(reason: Reason, tag: i32) -> Problem {
        Problem { reason, tag: Some(tag) }
    }

    /// "Required tag missing: ClOrdID (11)", for logs and HTTP answers.
    pub fn describe(&self, dict: &Dictionary) -> String {
        match self.tag {
            Some(tag) => format!("{}: {} ({tag})", self.reason.text(), dict.field_name(tag)),
            None => self.reason.text().to_owned(),
        }
    }
}

fn is_float(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next().unwrap_or("");
    (!whole.is_empty() || !fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

fn well_formed(kind: FieldType, value: &str) -> bool {
    match kind {
        FieldType::Int => crate::wire::parse_int(value).is_some(),
        FieldType::Float => is_float(value),
        FieldType::Char => value.chars().count() == 1,
        FieldType::Boolean => value == "Y" || value == "N",
        FieldType::UtcTimestamp => time::parse_timestamp(value).is_some(),
        FieldType::UtcTimeOnly => time::parse_time_of_day(value).is_some(),
        FieldType::UtcDate => time::parse_date(value).is_some(),
        FieldType::Text | FieldType::Data | FieldType::MultipleValue => true,
    }
}

fn allowed(dict: &Dictionary, tag: i32, value: &str) -> bool {
    let Some(def) = dict.fields.get(&tag) else { return true };
    let Some(values) = &def.values else { return true };
    if def.kind == FieldType::MultipleValue {
        value.split(' ').all(|v| values.contains(v))
    } else {
        values.contains(value)
    }
}

/// Every required field of `layout` is in `map`, then in each instance of each group.
fn check_required(map: &FieldMap, layout: &Layout) -> Result<(), Problem> {
    if let Some(&tag) = layout.required.iter().find(|t| !map.has(**t)) {
        return Err(Problem::new(Reason::RequiredTagMissing, tag));
    }
    for (counter, instances) in &map.groups {
        if let Some(group) = layout.groups.get(counter) {
            instances.iter().try_for_each(|i| check_required(i, group))?;
        }
    }
    Ok(())
}

/// `layout` is None for the header and trailer, whose fields are not checked per message type.
fn check_fields(map: &FieldMap, layout: Option<&Layout>, dict: &Dictionary) -> Result<(), Problem> {
    let mut fields: Vec<_> = map.fields.iter().collect();
    fields.sort_by_key(|f| f.tag);
    let mut last = None;
    for f in fields {
        let tag = f.tag;
        if last == Some(tag) {
            return Err(Problem::new(Reason::TagAppearsMoreThanOnce, tag));
        }
        last = Some(tag);
        if f.value.is_empty() {
            return Err(Problem::new(Reason::TagSpecifiedWithoutValue, tag));
        }
        let def = dict.fields.get(&tag);
        if def.is_some_and(|d| !well_formed(d.kind, &f.value)) {
            return Err(Problem::new(Reason::IncorrectDataFormat, tag));
        }
        if !allowed(dict, tag, &f.value) {
            return Err(Problem::new(Reason::ValueIsIncorrect, tag));
        }
        if def.is_none() {
            return Err(Problem::new(Reason::InvalidTagNumber, tag));
        }
        if let Some(layout) = layout {
            if !layout.fields.contains(&tag) {
                return Err(Problem::new(Reason::TagNotDefinedForMessageType, tag));
            }
            if layout.groups.contains_key(&tag) && f.value.parse::<usize>().ok() != Some(map.instances(tag).len()) {
                return Err(Problem::new(Reason::IncorrectNumInGroupCount, tag));
            }
        }
    }
    for (counter, instances) in &map.groups {
        let group = layout.and_then(|l| l.groups.get(counter)).or_else(|| dict.header.groups.get(counter));
        if let Some(group) = group {
            instances.iter().try_for_each(|i| check_fields(i, Some(group), dict))?;
        }
    }
    Ok(())
}

/// The first problem QuickFIX would report for `msg`, or Ok.
pub fn validate(msg: &Message, dict: &Dictionary) -> Result<(), Problem> {
    if let Some(tag) = msg.misplaced {
        return Err(Problem::new(Reason::TagSpecifiedOutOfRequiredOrder, tag));
    }
    let def = dict.messages.get(msg.msg_type()).ok_or(Problem { reason: Reason::InvalidMsgType, tag: None })?;
    check_required(&msg.header, &dict.header)?;
    check_required(&msg.trailer, &dict.trailer)?;
    check_required(&msg.body, &def.layout)?;
    check_fields(&msg.header, None, dict)?;
    check_fields(&msg.trailer, None, dict)?;
    check_fields(&msg.body, Some(&def.layout), dict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    fn check(text: &str) -> Result<(), Problem> {
        let dict = Dictionary::builtin("FIX.4.4").unwrap();
        let fields = wire::split_fields(text.replace('|', "\x01").as_bytes(), |_| false).unwrap();
        validate(&Message::from_fields(fields, &dict), &dict)
    }

    const HEAD: &str = "8=FIX.4.4|9=1|35=D|34=2|49=A|52=20240101-00:00:00|56=B|";

    #[test]
    fn reports_what_quickfix_reports() {
        let ok = "11=ID|21=1|40=1|54=1|55=INTC|60=20240101-00:00:00|10=000|";
        assert_eq!(check(&format!("{HEAD}{ok}")), Ok(()));
        let cases = [
            ("11=ID|21=4|40=1|54=1|55=INTC|60=20240101-00:00:00|10=000|", Reason::ValueIsIncorrect, 21),
            ("11=ID|21=1|40=1|54=1|38=+200|55=INTC|60=20240101-00:00:00|10=000|", Reason::IncorrectDataFormat, 38),
            ("11=ID|21=1|40=1|40=2|54=1|55=INTC|60=20240101-00:00:00|10=000|", Reason::TagAppearsMoreThanOnce, 40),
            ("21=1|40=1|54=1|55=INTC|60=20240101-00:00:00|10=000|", Reason::RequiredTagMissing, 11),
            ("11=ID|21=1|40=1|54=1|386=3|336=A|336=B|60=20240101-00:00:00|10=000|", Reason::IncorrectNumInGroupCount, 386),
            ("11=ID|21=1|40=1|54=1|60=20240101-00:00:00|5000=x|10=000|", Reason::InvalidTagNumber, 5000),
            ("11=ID|21=1|40=1|54=1|60=20240101-00:00:00|112=x|10=000|", Reason::TagNotDefinedForMessageType, 112),
        ];
        for (body, reason, tag) in cases {
            assert_eq!(check(&format!("{HEAD}{body}")), Err(Problem::new(reason, tag)), "{body}");
        }
    }
}
