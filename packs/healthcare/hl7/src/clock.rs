//! Time without a date crate: the current time as HL7 writes it, and HL7 DTM values
//! (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) as FHIR date, dateTime and instant.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn unix_seconds() -> u64 {
    unix_millis() / 1000
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Now, UTC, as an HL7 DTM with its offset: 20240131235959+0000.
pub fn hl7_timestamp() -> String {
    let secs = unix_seconds() as i64;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}+0000", t / 3600, t % 3600 / 60, t % 60)
}

/// Now, UTC, as a FHIR instant.
pub fn fhir_now() -> String {
    let ms = unix_millis() as i64;
    let secs = ms / 1000;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", t / 3600, t % 3600 / 60, t % 60, ms % 1000)
}

/// A DTM split into its digits and its offset; None when it is not a DTM.
struct Dtm<'a> {
    digits: &'a str,
    fraction: &'a str,
    offset: Option<&'a str>,
}

fn split_dtm(value: &str) -> Option<Dtm<'_>> {
    let value = value.trim();
    let (main, offset) = match value.find(|c| c == '+' || c == '-') {
        Some(at) => (&value[..at], Some(&value[at..])),
        None => (value, None),
    };
    let (digits, fraction) = match main.find('.') {
        Some(at) => (&main[..at], &main[at + 1..]),
        None => (main, ""),
    };
    let valid_len = matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14);
    if !valid_len || !digits.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(o) = offset {
        if o.len() != 5 || !o[1..].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let num = |a: usize, b: usize| digits.get(a..b).map(|s| s.parse::<u32>().unwrap_or(99));
    let in_range = |v: Option<u32>, lo: u32, hi: u32| v.map_or(true, |v| (lo..=hi).contains(&v));
    let ok = in_range(num(4, 6), 1, 12)
        && in_range(num(6, 8), 1, 31)
        && in_range(num(8, 10), 0, 23)
        && in_range(num(10, 12), 0, 59)
        && in_range(num(12, 14), 0, 59)
        && digits != "0000";
    ok.then_some(Dtm { digits, fraction, offset })
}

/// FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) from a DTM; the time part is dropped.
pub fn fhir_date(value: &str) -> Option<String> {
    let d = split_dtm(value)?.digits;
    Some(match d.len() {
        4 => d.to_owned(),
        6 => format!("{}-{}", &d[..4], &d[4..6]),
        _ => format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]),
    })
}

/// FHIR dateTime. A time needs an offset in FHIR: the DTM's own, else `default_offset` ("Z" or "+01:00").
pub fn fhir_datetime(value: &str, default_offset: &str) -> Option<String> {
    let dtm = split_dtm(value)?;
    let d = dtm.digits;
    if d.len() <= 8 {
        return fhir_date(value);
    }
    let minutes = d.get(10..12).unwrap_or("00");
    let seconds = d.get(12..14).unwrap_or("00");
    let fraction = if dtm.fraction.is_empty() { String::new() } else { format!(".{}", dtm.fraction) };
    let offset = match dtm.offset {
        Some(o) => format!("{}{}:{}", &o[..1], &o[1..3], &o[3..5]),
        None => default_offset.to_owned(),
    };
    Some(format!("{}-{}-{}T{}:{minutes}:{seconds}{fraction}{offset}", &d[..4], &d[4..6], &d[6..8], &d[8..10]))
}

/// FHIR instant: a dateTime precise to the second; None when the DTM is less precise.
pub fn fhir_instant(value: &str, default_offset: &str) -> Option<String> {
    if split_dtm(value)?.digits.len() < 14 {
        return None;
    }
    fhir_datetime(value, default_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
    }

    #[test]
    fn dtm_to_fhir() {
        assert_eq!(fhir_date("19800101").as_deref(), Some("1980-01-01"));
        assert_eq!(fhir_date("198001").as_deref(), Some("1980-01"));
        assert_eq!(fhir_datetime("202401021030", "Z").as_deref(), Some("2024-01-02T10:30:00Z"));
        assert_eq!(fhir_datetime("20240102103045.12-0500", "Z").as_deref(), Some("2024-01-02T10:30:45.12-05:00"));
        assert_eq!(fhir_instant("202401021030", "Z"), None);
        assert_eq!(fhir_date("2024130"), None);
        assert_eq!(fhir_date("20241301"), None);
    }
}
