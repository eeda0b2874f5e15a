//! The segments this pack knows: each element's JSON name, X12 data element reference number,
//! type, length bounds and whether it is mandatory. One line per segment, read once.
//!
//! Line format: `ID name:ref:type:min:max[:M] ...` — type is AN, ID, DT, TM, N0, N2, R or C
//! (composite, kept as an array of components). Requirements are the usual ones for the 004010
//! and 005010 sets of this pack; a mandatory element that is empty is reported as IK4/AK4 code 1.

use std::sync::OnceLock;

const SEGMENTS: &str = "\
ST set_id:143:ID:3:3:M control_number:329:AN:4:9:M implementation_reference:1705:AN:1:35
SE segment_count:96:N0:1:10:M control_number:329:AN:4:9:M
BEG purpose_code:353:ID:2:2:M type_code:92:ID:2:2:M po_number:324:AN:1:22:M release_number:328:AN:1:30 date:373:DT:8:8:M contract_number:367:AN:1:30 acknowledgment_type:587:ID:2:2 invoice_type:1019:ID:3:3 contract_type:1166:ID:2:2
BAK purpose_code:353:ID:2:2:M acknowledgment_type:587:ID:2:2:M po_number:324:AN:1:22:M po_date:373:DT:8:8:M release_number:328:AN:1:30 request_reference:326:AN:1:45 contract_number:367:AN:1:30 reference_id:127:AN:1:50 date:373:DT:8:8
BSN purpose_code:353:ID:2:2:M shipment_id:396:AN:2:30:M date:373:DT:8:8:M time:337:TM:4:8:M structure_code:1005:ID:4:4 transaction_type:640:ID:2:2 status_reason:641:ID:3:3
BIG date:373:DT:8:8:M invoice_number:76:AN:1:22:M po_date:373:DT:8:8 po_number:324:AN:1:22 release_number:328:AN:1:30 change_sequence:327:AN:1:8 transaction_type:640:ID:2:2 purpose_code:353:ID:2:2
CUR entity_code:98:ID:2:3:M currency:100:ID:3:3:M exchange_rate:280:R:4:10
REF qualifier:128:ID:2:3:M value:127:AN:1:50 description:352:AN:1:80 reference:C040:C:1:80
PER function_code:366:ID:2:2:M name:93:AN:1:60 qualifier_1:365:ID:2:2 number_1:364:AN:1:256 qualifier_2:365:ID:2:2 number_2:364:AN:1:256 qualifier_3:365:ID:2:2 number_3:364:AN:1:256
DTM qualifier:374:ID:3:3:M date:373:DT:8:8 time:337:TM:4:8 time_code:623:ID:2:2 period_format:1250:ID:2:3 period:1251:AN:1:35
FOB payment_method:146:ID:2:2:M location_qualifier:309:ID:1:2 description:352:AN:1:80 transportation_terms_qualifier:334:ID:2:2 transportation_terms:335:ID:3:3
ITD terms_type:336:ID:2:2 basis_date_code:333:ID:1:2 discount_percent:338:R:1:6 discount_due_date:370:DT:8:8 discount_days_due:351:N0:1:3 net_due_date:446:DT:8:8 net_days:386:N0:1:3 discount_amount:362:N2:1:10 deferred_due_date:388:DT:8:8 deferred_amount:389:N2:1:10 percent_payable:342:R:1:5 description:352:AN:1:80
TD1 packaging_code:103:AN:3:5 lading_quantity:80:N0:1:7 commodity_qualifier:23:ID:1:1 commodity_code:22:AN:1:30 lading_description:79:AN:1:50 weight_qualifier:187:ID:1:2 weight:81:R:1:10 unit:355:ID:2:2 volume:183:R:1:8 volume_unit:355:ID:2:2
TD3 equipment_code:40:ID:2:2 initial:206:AN:1:4 number:207:AN:1:15 weight_qualifier:187:ID:1:2 weight:81:R:1:10 unit:355:ID:2:2 ownership:102:ID:1:1 seal_status:407:ID:2:2 seal_number:225:AN:2:15 equipment_type:24:ID:4:4
TD4 special_handling:152:ID:2:3 hazmat_qualifier:208:ID:1:1 hazmat_code:209:AN:2:10 description:352:AN:1:80
TD5 routing_sequence:133:ID:1:2 id_qualifier:66:ID:1:2 id_code:67:AN:2:80 transport_method:91:ID:1:2 routing:387:AN:1:35 status_code:368:ID:2:2 location_qualifier:309:ID:1:2 location:310:AN:1:30 service_level:284:ID:2:2
N1 entity_code:98:ID:2:3:M name:93:AN:1:60 id_qualifier:66:ID:1:2 id_code:67:AN:2:80 relationship:706:ID:2:2 related_entity:98:ID:2:3
N2 name:93:AN:1:60:M name_2:93:AN:1:60
N3 address:166:AN:1:55:M address_2:166:AN:1:55
N4 city:19:AN:2:30 state:156:ID:2:2 postal_code:116:ID:3:15 country:26:ID:2:3 location_qualifier:309:ID:1:2 location:310:AN:1:30 country_subdivision:1715:ID:1:3
N9 qualifier:128:ID:2:3:M value:127:AN:1:50 description:369:AN:1:45 date:373:DT:8:8 time:337:TM:4:8
MSG text:933:AN:1:264:M printer_carriage:934:ID:2:2 number:1470:N0:1:9
NTE reference_code:363:ID:3:3 description:352:AN:1:80:M
TAX tax_id:325:AN:1:20 location_qualifier:309:ID:1:2 location:310:AN:1:30
CTP class_of_trade:687:ID:2:2 price_qualifier:236:ID:3:3 unit_price:212:R:1:17 quantity:380:R:1:15 unit:C001:C:2:2 multiplier_qualifier:648:ID:3:3 multiplier:649:R:1:10
CSH sales_requirement:563:ID:1:2 action_code:306:ID:1:2 amount:610:N2:1:15
DIS discount_terms:653:ID:3:3 discount_base_qualifier:654:ID:2:2 discount_base:655:R:1:10 discount_control:656:ID:2:10 upper_bound:657:R:1:10 lower_bound:657:R:1:10
SAC indicator:248:ID:1:1:M code:1300:ID:4:4 agency_qualifier:559:ID:2:2 agency_code:1301:AN:1:10 amount:610:N2:1:15 percent_qualifier:378:ID:1:1 percent:332:R:1:6 rate:118:R:1:9 unit:355:ID:2:2 quantity:380:R:1:15 quantity_2:380:R:1:15 handling_code:331:ID:1:2 reference:127:AN:1:50 option_number:770:AN:1:20 description:352:AN:1:80
PO1 line_number:350:AN:1:20 quantity:330:R:1:15 unit:355:ID:2:2 unit_price:212:R:1:17 price_basis:639:ID:2:2 id_qualifier_1:235:ID:2:2 id_1:234:AN:1:48 id_qualifier_2:235:ID:2:2 id_2:234:AN:1:48 id_qualifier_3:235:ID:2:2 id_3:234:AN:1:48 id_qualifier_4:235:ID:2:2 id_4:234:AN:1:48 id_qualifier_5:235:ID:2:2 id_5:234:AN:1:48
PO3 change_reason:371:ID:2:2:M date:373:DT:8:8 price_qualifier:236:ID:3:3 unit_price:212:R:1:17 price_basis:639:ID:2:2 quantity:380:R:1:15:M unit:355:ID:2:2 description:352:AN:1:80
PID type:349:ID:1:1:M characteristic_code:750:ID:2:3 agency_qualifier:559:ID:2:2 product_description_code:751:AN:1:12 description:352:AN:1:80 surface_code:752:ID:2:2 source_subqualifier:822:AN:1:15 yes_no:1073:ID:1:1 language:819:ID:2:3
PO4 pack:356:N0:1:6 size:357:R:1:8 unit:355:ID:2:2 packaging_code:103:AN:3:5 weight_qualifier:187:ID:1:2 gross_weight:384:R:1:9 weight_unit:355:ID:2:2 gross_volume:385:R:1:9 volume_unit:355:ID:2:2 length:82:R:1:8 width:189:R:1:8 height:65:R:1:8 dimension_unit:355:ID:2:2 inner_pack:810:N0:1:6
MEA reference_code:737:ID:2:2 qualifier:738:ID:1:3 value:739:R:1:20 unit:C001:C:2:2 range_min:740:R:1:20 range_max:741:R:1:20 significance:935:ID:2:2
MAN qualifier:88:ID:1:2:M number:87:AN:1:48:M number_2:87:AN:1:48
SDQ unit:355:ID:2:2:M id_qualifier:66:ID:1:2 location_1:67:AN:2:80:M quantity_1:380:R:1:15:M
SCH quantity:380:R:1:15:M unit:355:ID:2:2:M entity_code:98:ID:2:3 name:93:AN:1:60 date_qualifier:374:ID:3:3:M date:373:DT:8:8:M
ACK status:668:ID:2:2:M quantity:380:R:1:15 unit:355:ID:2:2 date_qualifier:374:ID:3:3 date:373:DT:8:8 request_reference:326:AN:1:45 id_qualifier_1:235:ID:2:2 id_1:234:AN:1:48 id_qualifier_2:235:ID:2:2 id_2:234:AN:1:48
CTT line_count:354:N0:1:6:M hash_total:347:R:1:10 weight:81:R:1:10 weight_unit:355:ID:2:2 volume:183:R:1:8 volume_unit:355:ID:2:2 description:352:AN:1:80
AMT qualifier:522:ID:1:3:M amount:782:R:1:18:M credit_debit:478:ID:1:1
HL id:628:AN:1:12:M parent_id:734:AN:1:12 level_code:735:ID:1:2:M child_code:736:ID:1:1
LIN assigned_id:350:AN:1:20 id_qualifier_1:235:ID:2:2:M id_1:234:AN:1:48:M id_qualifier_2:235:ID:2:2 id_2:234:AN:1:48 id_qualifier_3:235:ID:2:2 id_3:234:AN:1:48 id_qualifier_4:235:ID:2:2 id_4:234:AN:1:48
SN1 assigned_id:350:AN:1:20 quantity:382:R:1:10:M unit:355:ID:2:2:M quantity_shipped_to_date:646:R:1:15 quantity_ordered:330:R:1:15 ordered_unit:355:ID:2:2 returnable_container_load:728:R:1:15 line_status:668:ID:2:2
SLN assigned_id:350:AN:1:20:M assigned_id_2:350:AN:1:20 relationship:662:ID:1:1:M quantity:380:R:1:15 unit:C001:C:2:2 unit_price:212:R:1:17 price_basis:639:ID:2:2
PRF po_number:324:AN:1:22:M release_number:328:AN:1:30 change_sequence:327:AN:1:8 po_date:373:DT:8:8 line_number:350:AN:1:20 contract_number:367:AN:1:30
PKG description_type:349:ID:1:1 characteristic_code:753:ID:2:3 agency_qualifier:559:ID:2:2 description_code:754:AN:1:7 description:352:AN:1:80
PWK report_type:755:ID:2:2:M transmission_code:756:ID:1:2
IT1 line_number:350:AN:1:20 quantity:358:R:1:10 unit:355:ID:2:2 unit_price:212:R:1:17 price_basis:639:ID:2:2 id_qualifier_1:235:ID:2:2 id_1:234:AN:1:48 id_qualifier_2:235:ID:2:2 id_2:234:AN:1:48 id_qualifier_3:235:ID:2:2 id_3:234:AN:1:48 id_qualifier_4:235:ID:2:2 id_4:234:AN:1:48
IT3 quantity:382:R:1:10 unit:355:ID:2:2 shipment_status:368:ID:2:2 quantity_difference:383:R:1:9 change_reason:371:ID:2:2
QTY qualifier:673:ID:2:2:M quantity:380:R:1:15 unit:C001:C:2:2
TXI tax_type:963:ID:2:2:M amount:782:R:1:18 percent:954:R:1:10 jurisdiction_qualifier:955:ID:2:2 jurisdiction:956:AN:1:10 exempt_code:441:ID:1:1
TDS total_amount:610:N2:1:15:M amount_subject_to_discount:610:N2:1:15 discounted_amount:610:N2:1:15 discount_amount:610:N2:1:15
CAD transport_method:91:ID:1:2 equipment_initial:206:AN:1:4 equipment_number:207:AN:1:15 carrier_code:140:ID:2:4 routing:387:AN:1:35 status_code:368:ID:2:2 reference_qualifier:128:ID:2:3 reference:127:AN:1:50 service_level:284:ID:2:2
ISS units_shipped:382:R:1:10 unit:355:ID:2:2 weight:81:R:1:10 weight_unit:355:ID:2:2 volume:183:R:1:8 volume_unit:355:ID:2:2
PAM quantity_qualifier:673:ID:2:2 quantity:380:R:1:15 unit:C001:C:2:2 amount_qualifier:522:ID:1:3 amount:782:R:1:18
AK1 functional_id:479:ID:2:2:M group_control_number:28:N0:1:9:M version:480:AN:1:12
AK2 set_id:143:ID:3:3:M control_number:329:AN:4:9:M implementation_reference:1705:AN:1:35
AK3 segment_id:721:ID:2:3:M position:719:N0:1:10:M loop_id:447:AN:1:4 error_code:720:ID:1:3
AK4 position:C030:C:1:4:M element_reference:725:N0:1:4 error_code:723:ID:1:3:M bad_value:724:AN:1:99
AK5 status:717:ID:1:1:M error_code_1:718:ID:1:3 error_code_2:718:ID:1:3 error_code_3:718:ID:1:3 error_code_4:718:ID:1:3 error_code_5:718:ID:1:3
AK9 status:715:ID:1:1:M sets_included:97:N0:1:6:M sets_received:123:N0:1:6:M sets_accepted:2:N0:1:6:M error_code_1:716:ID:1:3 error_code_2:716:ID:1:3 error_code_3:716:ID:1:3 error_code_4:716:ID:1:3 error_code_5:716:ID:1:3
IK3 segment_id:721:ID:2:3:M position:719:N0:1:10:M loop_id:447:AN:1:4 error_code:620:ID:1:3
CTX context:C998:C:1:35:M segment_id:721:ID:2:3 position:719:N0:1:10 loop_id:447:AN:1:4 element_position:C030:C:1:4 reference:C999:C:1:4
IK4 position:C030:C:1:4:M element_reference:725:N0:1:4 error_code:621:ID:1:3:M bad_value:724:AN:1:99
IK5 status:717:ID:1:1:M error_code_1:618:ID:1:3 error_code_2:618:ID:1:3 error_code_3:618:ID:1:3 error_code_4:618:ID:1:3 error_code_5:618:ID:1:3
";

/// How an element's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Alphanumeric string.
    Text,
    /// Identifier (a code).
    Id,
    /// Date, CCYYMMDD.
    Date,
    /// Time, HHMM[SS[d..]].
    Time,
    /// Integer with an implied number of decimals.
    Numeric,
    /// Decimal number with an optional explicit point.
    Decimal,
    /// Composite: components separated by the component separator.
    Composite,
}

/// One element of a segment.
#[derive(Debug)]
pub struct Element {
    pub name: &'static str,
    /// X12 data element reference number, reported in IK402/AK402 ("C030" style ids report none).
    pub reference: &'static str,
    pub kind: Kind,
    pub min: usize,
    pub max: usize,
    pub mandatory: bool,
}

/// One segment's elements, in position order (index 0 is element 01).
#[derive(Debug)]
pub struct SegmentDef {
    pub id: &'static str,
    pub elements: Vec<Element>,
}

fn parse_line(line: &'static str) -> SegmentDef {
    let mut words = line.split(' ');
    let id = words.next().expect("segment id");
    let elements = words
        .map(|word| {
            let f: Vec<&'static str> = word.split(':').collect();
            let kind = match f[2] {
                "AN" => Kind::Text,
                "ID" => Kind::Id,
                "DT" => Kind::Date,
                "TM" => Kind::Time,
                "N0" | "N2" => Kind::Numeric,
                "R" => Kind::Decimal,
                "C" => Kind::Composite,
                other => panic!("dictionary: unknown type {other} in {id}"),
            };
            Element {
                name: f[0],
                reference: f[1],
                kind,
                min: f[3].parse().expect("min"),
                max: f[4].parse().expect("max"),
                mandatory: f.get(5) == Some(&"M"),
            }
        })
        .collect();
    SegmentDef { id, elements }
}

/// A segment id (two or three of A-Z, 0-9) as a small number: a direct index, no hashing.
pub fn code(id: &[u8]) -> Option<usize> {
    fn digit(b: u8) -> Option<usize> {
        match b {
            b'A'..=b'Z' => Some(usize::from(b - b'A')),
            b'0'..=b'9' => Some(26 + usize::from(b - b'0')),
            _ => None,
        }
    }
    match id {
        [a, b] => Some((digit(*a)? * 37 + digit(*b)?) * 37 + 36),
        [a, b, c] => Some((digit(*a)? * 37 + digit(*b)?) * 37 + digit(*c)?),
        _ => None,
    }
}

struct Table {
    defs: Vec<SegmentDef>,
    index: Vec<u16>,
}

/// The definition of segment `id`, when this pack knows it.
pub fn segment(id: &[u8]) -> Option<&'static SegmentDef> {
    static TABLE: OnceLock<Table> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let defs: Vec<SegmentDef> = SEGMENTS.lines().map(parse_line).collect();
        let mut index = vec![u16::MAX; 37 * 37 * 37];
        for (i, d) in defs.iter().enumerate() {
            index[code(d.id.as_bytes()).expect("dictionary ids are valid")] = i as u16;
        }
        Table { defs, index }
    });
    let i = *table.index.get(code(id)?)?;
    table.defs.get(usize::from(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_names_are_unique_per_segment() {
        for line in SEGMENTS.lines() {
            let def = parse_line(line);
            let mut names: Vec<_> = def.elements.iter().map(|e| e.name).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate element name in {}", def.id);
            assert!(def.elements.iter().all(|e| e.min <= e.max), "min > max in {}", def.id);
        }
        assert_eq!(segment(b"BEG").unwrap().elements[2].name, "po_number");
        assert!(segment(b"XYZ").is_none());
    }
}
