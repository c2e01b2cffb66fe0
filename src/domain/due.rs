//! Points in time a client sends: a task's due date and the bounds of a due-date filter.

use chrono::{DateTime, Datelike, Utc};

/// An RFC 3339 timestamp with any offset, held in UTC, in years 1 to 9999 (what every client and
/// PostgreSQL agree on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueAt(DateTime<Utc>);

impl DueAt {
    /// `label` names the field or parameter in the sentence.
    pub fn parse(raw: &str, label: &str) -> Result<DueAt, String> {
        match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(t) if t.with_timezone(&Utc).year() >= 1 => Ok(DueAt(t.with_timezone(&Utc))),
            _ => Err(format!(
                "{label} must be an RFC 3339 timestamp such as 2026-01-08T12:00:00Z or \
                 2026-01-08T13:00:00+01:00"
            )),
        }
    }

    /// An instant read from elsewhere (an iCalendar `DUE`), held to the same years.
    pub fn from_utc(t: DateTime<Utc>) -> Result<DueAt, String> {
        if (1..=9999).contains(&t.year()) {
            Ok(DueAt(t))
        } else {
            Err("Due date must be in the years 1 to 9999".into())
        }
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_is_read_into_utc() {
        let t = DueAt::parse("2026-01-08T13:30:00+01:30", "due_at").unwrap();
        assert_eq!(t.utc().to_rfc3339(), "2026-01-08T12:00:00+00:00");
        assert!(DueAt::parse("2026-01-08", "due_at").is_err());
        assert!(DueAt::parse("0000-01-01T00:00:00Z", "due_at").is_err());
        assert!(DueAt::parse("tomorrow", "Due date")
            .unwrap_err()
            .starts_with("Due date must be"));
    }

    #[test]
    fn an_instant_from_elsewhere_is_held_to_years_1_to_9999() {
        let t = DateTime::parse_from_rfc3339("9999-12-31T23:00:00-05:00").unwrap();
        assert!(DueAt::from_utc(t.with_timezone(&Utc)).is_err());
        let t = DateTime::parse_from_rfc3339("2027-01-05T00:00:00Z").unwrap();
        assert_eq!(DueAt::from_utc(t.with_timezone(&Utc)).unwrap().utc(), t);
    }
}
