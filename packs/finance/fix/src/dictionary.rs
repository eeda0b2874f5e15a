//! The data dictionary: which fields exist, their types and allowed values, and which fields
//! (and repeating groups) each message type holds — read from a QuickFIX-format XML file
//! (`spec/FIX42.xml`, `spec/FIX44.xml` are built in; `data_dictionary:` may name another).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a. The dictionary's maps are filled once from its XML, then only read, for every field
/// of every message: SipHash's resistance to chosen keys guards inserts these maps never get
/// from the wire, and cost the engine more than the rest of its validation.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;
use std::sync::{Arc, OnceLock};

/// Field types, grouped by how their values are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Char,
    Int,
    Float,
    Boolean,
    UtcTimestamp,
    UtcTimeOnly,
    UtcDate,
    Data,
    /// MULTIPLEVALUESTRING and friends: space-separated values, each checked against the enum.
    MultipleValue,
}

impl FieldType {
    fn from_xml(name: &str) -> FieldType {
        match name {
            "CHAR" => FieldType::Char,
            "INT" | "LENGTH" | "NUMINGROUP" | "SEQNUM" | "TAGNUM" | "DAYOFMONTH" => FieldType::Int,
            "FLOAT" | "PRICE" | "QTY" | "AMT" | "PRICEOFFSET" | "PERCENTAGE" => FieldType::Float,
            "BOOLEAN" => FieldType::Boolean,
            "UTCTIMESTAMP" | "TIME" => FieldType::UtcTimestamp,
            "UTCTIMEONLY" => FieldType::UtcTimeOnly,
            "UTCDATEONLY" | "UTCDATE" | "DATE" => FieldType::UtcDate,
            "DATA" => FieldType::Data,
            "MULTIPLEVALUESTRING" | "MULTIPLESTRINGVALUE" | "MULTIPLECHARVALUE" => FieldType::MultipleValue,
            _ => FieldType::Text,
        }
    }
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldType,
    /// Allowed values, when the dictionary lists them.
    pub values: Option<FastSet<String>>,
}

/// The fields a message, its header or trailer, or one instance of a group may hold.
#[derive(Debug, Default)]
pub struct Layout {
    /// In definition order; a group's first field is its delimiter.
    pub order: Vec<i32>,
    pub fields: FastSet<i32>,
    pub required: Vec<i32>,
    /// Repeating groups by their NumInGroup tag.
    pub groups: FastMap<i32, Layout>,
}

impl Layout {
    fn add(&mut self, tag: i32, required: bool) {
        if self.fields.insert(tag) {
            self.order.push(tag);
        }
        if required && !self.required.contains(&tag) {
            self.required.push(tag);
        }
    }

    /// A group's delimiter: the first field of each instance.
    pub fn delimiter(&self) -> i32 {
        self.order.first().copied().unwrap_or(0)
    }
}

#[derive(Debug)]
pub struct MessageDef {
    pub name: String,
    pub admin: bool,
    pub layout: Layout,
}

#[derive(Debug)]
pub struct Dictionary {
    pub begin_string: String,
    pub fields: FastMap<i32, FieldDef>,
    pub by_name: HashMap<String, i32>,
    pub header: Layout,
    pub trailer: Layout,
    pub messages: FastMap<String, MessageDef>,
    /// Message names ("NewOrderSingle") to MsgType ("D").
    pub types_by_name: HashMap<String, String>,
}

fn attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Result<&'a str, String> {
    node.attribute(name).ok_or_else(|| {
        let pos = node.document().text_pos_at(node.position());
        format!("<{}> at line {}:{} has no {name}", node.tag_name().name(), pos.row, pos.col)
    })
}

struct Builder<'a, 'i> {
    by_name: &'a HashMap<String, i32>,
    components: HashMap<&'a str, roxmltree::Node<'a, 'i>>,
}

impl<'a, 'i> Builder<'a, 'i> {
    /// Adds the fields, components and groups under `node` to `layout`. A field is required when
    /// it says so and everything around it (a component reference) is required too.
    fn add_items(&self, layout: &mut Layout, node: roxmltree::Node<'a, 'i>, required: bool, depth: usize) -> Result<(), String> {
        if depth > 32 {
            return Err("components nest more than 32 deep (a cycle?)".into());
        }
        for child in node.children().filter(|n| n.is_element()) {
            let name = attr(child, "name")?;
            let is_required = required && child.attribute("required") == Some("Y");
            match child.tag_name().name() {
                "field" => layout.add(self.tag(name)?, is_required),
                "component" => {
                    let component = self.components.get(name).ok_or_else(|| format!("component {name} is not defined"))?;
                    self.add_items(layout, *component, is_required, depth + 1)?;
                }
                "group" => {
                    let counter = self.tag(name)?;
                    layout.add(counter, is_required);
                    let mut group = Layout::default();
                    self.add_items(&mut group, child, true, depth + 1)?;
                    layout.groups.insert(counter, group);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn tag(&self, name: &str) -> Result<i32, String> {
        self.by_name.get(name).copied().ok_or_else(|| format!("field {name} is used but not defined in <fields>"))
    }
}

impl Dictionary {
    /// Reads a QuickFIX-format dictionary. Errors name what is missing.
    pub fn from_xml(xml: &str) -> Result<Dictionary, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
        let root = doc.root_element();
        let begin_string = format!("{}.{}.{}", attr(root, "type")?, attr(root, "major")?, attr(root, "minor")?);
        let section = |name: &str| root.children().find(|n| n.has_tag_name(name));

        let mut fields = FastMap::default();
        let mut by_name = HashMap::new();
        for f in section("fields").ok_or("no <fields>")?.children().filter(|n| n.has_tag_name("field")) {
            let tag: i32 = attr(f, "number")?.parse().map_err(|_| format!("field {:?} has a bad number", f.attribute("name")))?;
            let name = attr(f, "name")?.to_owned();
            let values: FastSet<String> =
                f.children().filter(|n| n.has_tag_name("value")).filter_map(|v| v.attribute("enum")).map(str::to_owned).collect();
            let kind = FieldType::from_xml(attr(f, "type")?);
            by_name.insert(name.clone(), tag);
            fields.insert(tag, FieldDef { name, kind, values: (!values.is_empty()).then_some(values) });
        }

        let components = section("components")
            .map(|c| c.children().filter(|n| n.has_tag_name("component")).filter_map(|n| Some((n.attribute("name")?, n))).collect())
            .unwrap_or_default();
        let builder = Builder { by_name: &by_name, components };
        let mut header = Layout::default();
        builder.add_items(&mut header, section("header").ok_or("no <header>")?, true, 0)?;
        let mut trailer = Layout::default();
        builder.add_items(&mut trailer, section("trailer").ok_or("no <trailer>")?, true, 0)?;

        let mut messages = FastMap::default();
        let mut types_by_name = HashMap::new();
        for m in section("messages").ok_or("no <messages>")?.children().filter(|n| n.has_tag_name("message")) {
            let mut layout = Layout::default();
            builder.add_items(&mut layout, m, true, 0)?;
            let msg_type = attr(m, "msgtype")?.to_owned();
            let name = attr(m, "name")?.to_owned();
            types_by_name.insert(name.clone(), msg_type.clone());
            messages.insert(msg_type, MessageDef { name, admin: m.attribute("msgcat") == Some("admin"), layout });
        }
        Ok(Dictionary { begin_string, fields, by_name, header, trailer, messages, types_by_name })
    }

    /// The built-in dictionary for FIX.4.2 or FIX.4.4.
    pub fn builtin(begin_string: &str) -> Option<Arc<Dictionary>> {
        static FIX42: OnceLock<Arc<Dictionary>> = OnceLock::new();
        static FIX44: OnceLock<Arc<Dictionary>> = OnceLock::new();
        let (cell, xml) = match begin_string {
            "FIX.4.2" => (&FIX42, include_str!("../spec/FIX42.xml")),
            "FIX.4.4" => (&FIX44, include_str!("../spec/FIX44.xml")),
            _ => return None,
        };
        Some(cell.get_or_init(|| Arc::new(Dictionary::from_xml(xml).expect("the built-in dictionaries parse"))).clone())
    }

    pub fn is_header(&self, tag: i32) -> bool {
        self.header.fields.contains(&tag)
    }

    pub fn is_trailer(&self, tag: i32) -> bool {
        self.trailer.fields.contains(&tag)
    }

    pub fn is_data(&self, tag: i32) -> bool {
        self.fields.get(&tag).is_some_and(|f| f.kind == FieldType::Data)
    }

    /// A tag by its name ("ClOrdID") or number ("11").
    pub fn resolve(&self, key: &str) -> Option<i32> {
        match key.parse::<i32>() {
            Ok(tag) => Some(tag),
            Err(_) => self.by_name.get(key).copied(),
        }
    }

    pub fn field_name(&self, tag: i32) -> String {
        self.fields.get(&tag).map(|f| f.name.clone()).unwrap_or_else(|| tag.to_string())
    }

    /// Application message types are every type the dictionary does not mark admin.
    pub fn is_admin(&self, msg_type: &str) -> bool {
        self.messages.get(msg_type).map(|m| m.admin).unwrap_or(matches!(msg_type, "0" | "1" | "2" | "3" | "4" | "5" | "A"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_builtin_dictionaries() {
        let fix44 = Dictionary::builtin("FIX.4.4").unwrap();
        let nos = &fix44.messages["D"];
        assert_eq!(nos.name, "NewOrderSingle");
        assert!(nos.layout.required.contains(&11) && nos.layout.required.contains(&60));
        assert_eq!(nos.layout.groups[&386].delimiter(), 336);
        assert!(fix44.is_header(115) && fix44.is_trailer(10));
        let fix42 = Dictionary::builtin("FIX.4.2").unwrap();
        assert_eq!(fix42.begin_string, "FIX.4.2");
        assert!(fix42.messages["D"].layout.required.contains(&21));
    }
}
