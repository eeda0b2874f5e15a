//! UTC timestamps as FIX writes them (`YYYYMMDD-HH:MM:SS[.sss]`), without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// `YYYYMMDD-HH:MM:SS.sss`.
pub fn format_timestamp(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}{m:02}{d:02}-{h:02}:{mi:02}:{s:02}.{milli:03}")
}

fn digits(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0i64, |n, b| n * 10 + i64::from(b - b'0')))
}

/// `HH:MM:SS[.fraction]` as milliseconds into the day.
pub fn parse_time_of_day(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, mi, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut ms = 0;
    if b.len() > 8 {
        if b[8] != b'.' || b.len() == 9 || b.len() > 18 {
            return None;
        }
        let fraction = &b[9..];
        digits(fraction)?;
        ms = fraction.iter().take(3).enumerate().map(|(i, c)| i64::from(c - b'0') * [100, 10, 1][i]).sum();
    }
    Some(((h * 60 + mi) * 60 + s) * 1000 + ms)
}

/// `YYYYMMDD` as days since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[4..6])?, digits(&b[6..8])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYYMMDD-HH:MM:SS[.fraction]` as milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if text.len() < 17 || text.as_bytes()[8] != b'-' {
        return None;
    }
    Some(parse_date(&text[0..8])? * 86_400_000 + parse_time_of_day(&text[9..])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ms = parse_timestamp("20240229-23:59:58.123").unwrap();
        assert_eq!(format_timestamp(ms), "20240229-23:59:58.123");
        assert_eq!(parse_timestamp("19700101-00:00:00"), Some(0));
        assert_eq!(parse_timestamp("20040415"), None);
        assert_eq!(parse_timestamp("20041315-00:00:00"), None);
    }
}
