//! A FIX message as header, body and trailer, with repeating groups nested under their
//! NumInGroup field — built from the wire fields the way QuickFIX builds it, so validation
//! sees the same structure — and written back in the order FIX engines send: 8, 9, 35, the
//! rest of the header by tag, the body by tag (each group's instances after its counter), 10.

use crate::dictionary::{Dictionary, Layout};
use crate::wire::{self, Field};

/// Fields of one level, and the instances of each repeating group whose counter is among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    pub fields: Vec<Field>,
    pub groups: Vec<(i32, Vec<FieldMap>)>,
}

impl FieldMap {
    pub fn get(&self, tag: i32) -> Option<&str> {
        self.fields.iter().find(|f| f.tag == tag).map(|f| f.value.as_str())
    }

    pub fn has(&self, tag: i32) -> bool {
        self.fields.iter().any(|f| f.tag == tag)
    }

    pub fn instances(&self, counter: i32) -> &[FieldMap] {
        self.groups.iter().find(|(t, _)| *t == counter).map(|(_, g)| g.as_slice()).unwrap_or(&[])
    }

    /// Sets a field, replacing every field with that tag.
    pub fn set(&mut self, tag: i32, value: impl Into<String>) {
        self.remove(tag);
        self.fields.push(Field::new(tag, value));
    }

    pub fn remove(&mut self, tag: i32) {
        self.fields.retain(|f| f.tag != tag);
        self.groups.retain(|(t, _)| *t != tag);
    }

    /// Appends this level's fields but `skip` to `out` (borrowed, not copied), sorted by tag
    /// when `sorted`, each group's instances (in their own order) right after its counter.
    fn write<'a>(&'a self, out: &mut Vec<&'a Field>, sorted: bool, skip: &[i32]) {
        let start = out.len();
        out.extend(self.fields.iter().filter(|f| !skip.contains(&f.tag)));
        if sorted {
            out[start..].sort_by_key(|f| f.tag);
        }
        if self.groups.is_empty() {
            return;
        }
        let mine: Vec<&'a Field> = out.drain(start..).collect();
        for f in mine {
            out.push(f);
            for instance in self.instances(f.tag) {
                instance.write(out, false, &[]);
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub header: FieldMap,
    pub body: FieldMap,
    pub trailer: FieldMap,
    /// The first field found outside its section (a header field after the body, a body field
    /// after the trailer): "Tag specified out of required order".
    pub misplaced: Option<i32>,
    /// The bytes it arrived as (empty for a message built here): what the buffer stores.
    pub raw: Vec<u8>,
}

/// Reads the instances of one group starting at `fields[*pos]` (QuickFIX's setGroup): a new
/// instance starts at the delimiter, or at a group field the current instance already holds;
/// the first field that does not belong to the group ends it.
fn read_group(fields: &mut [Field], pos: &mut usize, layout: &Layout) -> Vec<FieldMap> {
    let delimiter = layout.delimiter();
    let mut instances = Vec::new();
    let mut current: Option<FieldMap> = None;
    while let Some(f) = fields.get(*pos) {
        let belongs = layout.fields.contains(&f.tag);
        if !belongs {
            break;
        }
        if f.tag == delimiter || current.as_ref().is_none_or(|c| c.has(f.tag)) {
            instances.extend(current.take());
            current = Some(FieldMap::default());
        }
        let tag = f.tag;
        let instance = current.as_mut().expect("an instance was just started");
        instance.fields.push(Field { tag, value: std::mem::take(&mut fields[*pos].value) });
        *pos += 1;
        if let Some(sub) = layout.groups.get(&tag) {
            let nested = read_group(fields, pos, sub);
            instance.groups.push((tag, nested));
        }
    }
    instances.extend(current);
    instances
}

impl Message {
    /// Sorts wire fields into header, body and trailer, reading repeating groups as the
    /// dictionary defines them for this message type. The fields' values move into the message.
    pub fn from_fields(mut fields: Vec<Field>, dict: &Dictionary) -> Message {
        let msg_type = fields.iter().find(|f| f.tag == 35).map(|f| f.value.as_str()).unwrap_or("");
        let body_layout = dict.messages.get(msg_type).map(|m| &m.layout);
        #[derive(PartialEq)]
        enum Section {
            Header,
            Body,
            Trailer,
        }
        let mut section = Section::Header;
        let mut msg = Message::default();
        let mut pos = 0;
        while let Some(f) = fields.get_mut(pos) {
            pos += 1;
            let f = Field { tag: f.tag, value: std::mem::take(&mut f.value) };
            let (map, layout) = if dict.is_header(f.tag) {
                if section != Section::Header {
                    msg.misplaced.get_or_insert(f.tag);
                }
                (&mut msg.header, Some(&dict.header))
            } else if dict.is_trailer(f.tag) {
                section = Section::Trailer;
                (&mut msg.trailer, None)
            } else {
                if section == Section::Trailer {
                    msg.misplaced.get_or_insert(f.tag);
                }
                section = Section::Body;
                (&mut msg.body, body_layout)
            };
            let tag = f.tag;
            map.fields.push(f);
            if let Some(group) = layout.and_then(|l| l.groups.get(&tag)) {
                let instances = read_group(&mut fields, &mut pos, group);
                map.groups.push((tag, instances));
            }
        }
        msg
    }

    /// Splits and structures a frame without checking its envelope (stored messages we wrote).
    pub fn from_frame(frame: &[u8], dict: &Dictionary) -> Option<Message> {
        let fields = wire::split_fields(frame, |t| dict.is_data(t)).ok()?;
        Some(Message::from_fields(fields, dict))
    }

    pub fn msg_type(&self) -> &str {
        self.header.get(35).unwrap_or("")
    }

    /// A header field, or else a body field.
    pub fn get(&self, tag: i32) -> Option<&str> {
        self.header.get(tag).or_else(|| self.body.get(tag))
    }

    pub fn seq_num(&self) -> Option<u64> {
        self.header.get(34).and_then(|s| s.parse().ok())
    }

    /// The wire bytes: 8, 9, 35, the header by tag, the body by tag, 10.
    pub fn encode(&self, begin_string: &str) -> Vec<u8> {
        let mut out: Vec<&Field> = Vec::with_capacity(self.header.fields.len() + self.body.fields.len() + 4);
        out.extend(self.header.fields.iter().find(|f| f.tag == 35));
        self.header.write(&mut out, true, &[8, 9, 10, 35]);
        self.body.write(&mut out, true, &[]);
        wire::encode(begin_string, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Field> {
        wire::split_fields(text.replace('|', "\x01").as_bytes(), |_| false).unwrap()
    }

    #[test]
    fn reads_groups_and_misplaced_fields() {
        let dict = Dictionary::builtin("FIX.4.4").unwrap();
        let msg = Message::from_fields(fields("8=FIX.4.4|9=1|35=D|34=2|11=ID|386=3|336=A|336=B|60=x|10=000|"), &dict);
        assert_eq!(msg.body.instances(386).len(), 2);
        assert!(msg.body.has(60) && msg.misplaced.is_none());
        let msg = Message::from_fields(fields("8=FIX.4.4|9=1|35=D|11=id|34=2|10=000|"), &dict);
        assert_eq!(msg.misplaced, Some(34));
    }

    #[test]
    fn encodes_in_engine_order() {
        let dict = Dictionary::builtin("FIX.4.4").unwrap();
        let msg = Message::from_fields(fields("8=FIX.4.4|9=1|35=D|56=B|49=A|34=3|55=X|11=id|10=000|"), &dict);
        let text = String::from_utf8(msg.encode("FIX.4.4")).unwrap().replace('\x01', "|");
        assert!(text.starts_with("8=FIX.4.4|9=31|35=D|34=3|49=A|56=B|11=id|55=X|10="), "{text}");
    }
}
