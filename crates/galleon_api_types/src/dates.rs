//! ARM date-times: RFC 3339 in and out; a bare `YYYY-MM-DD` is accepted as midnight UTC, and a
//! date-time without an offset (as Python's `isoformat()` writes, e.g. az's activity-log filter)
//! as UTC.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use galleon_model::Invalid;

/// Parses a date-time sent for `target`.
pub fn parse(target: &str, value: &str) -> Result<OffsetDateTime, Invalid> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t);
    }
    let naive = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    if let Ok(t) = PrimitiveDateTime::parse(value, naive) {
        return Ok(t.assume_utc());
    }
    if let Ok(d) = Date::parse(value, format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_utc());
    }
    Err(Invalid::param(
        target,
        format!(
            "The value '{value}' of '{target}' is not a valid date-time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)."
        ),
    ))
}

/// Parses an optional date-time.
pub fn parse_opt(target: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, Invalid> {
    value.map(|v| parse(target, v)).transpose()
}

/// Formats a date-time as ARM does.
pub fn format(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
