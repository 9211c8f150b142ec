//! Times as the logs keep them: microseconds since 1970 in memory, RFC 3339 text with
//! exactly six fractional digits and `Z` on disk (SQLite) and on the wire, so that text
//! order is time order.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, RFC 3339 (seconds precision and more, as `time` writes it).
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Now, in microseconds since 1970.
pub fn now_micros() -> i64 {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1000) as i64
}

/// `micros` as `2026-11-29T20:03:55.123456Z`.
pub fn micros_to_text(micros: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// An RFC 3339 time (any precision, any offset) in microseconds since 1970.
pub fn parse_time(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_sorts_like_time() {
        let a = parse_time("2026-11-29T20:03:55Z").unwrap();
        let b = parse_time("2026-11-29T21:03:55.1+01:00").unwrap();
        assert_eq!(b - a, 100_000);
        assert_eq!(micros_to_text(a), "2026-11-29T20:03:55.000000Z");
        assert_eq!(parse_time(&micros_to_text(b)), Some(b));
        assert!(micros_to_text(a) < micros_to_text(b));
        assert_eq!(parse_time("yesterday"), None);
    }
}
