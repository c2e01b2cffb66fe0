//! DATE and DATE-TIME values (RFC 5545 3.3.4, 3.3.5) read into instants: UTC, floating (read as
//! UTC), local time under a TZID (an IANA name, else the calendar's own VTIMEZONE), or a date
//! (its start on that clock).

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use ical::recur::IcalRecurDateTime;
use ical::tree::cst::IcalCst;
use ical::tree::line::IcalLine;
use ical::tree::param::{tzid::TZID, value::VALUE};
use ical::tz::IcalTz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clock {
    Utc,
    Floating,
    Zone(String),
}

/// A property's date or date-time as written: the local reading and the clock it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub local: NaiveDateTime,
    pub date_only: bool,
    pub clock: Clock,
}

impl Stamp {
    pub fn read(line: &IcalLine<'_>) -> Result<Stamp, String> {
        let name = line.name.get().to_ascii_uppercase();
        let value = line.value.decode();
        let raw = value.trim();
        let bad = || format!("{name} '{raw}' is not an iCalendar DATE or DATE-TIME");
        let tzid = line
            .param::<TZID>()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let clock = |utc: bool| match (&tzid, utc) {
            (_, true) => Clock::Utc,
            (Some(id), false) => Clock::Zone(id.clone()),
            (None, false) => Clock::Floating,
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let date_param = line
            .param::<VALUE>()
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        if date_param || raw.len() == 8 {
            if raw.len() != 8 || !digits(raw) {
                return Err(bad());
            }
            let date = NaiveDate::parse_from_str(raw, "%Y%m%d").map_err(|_| bad())?;
            return Ok(Stamp {
                local: date.and_time(NaiveTime::MIN),
                date_only: true,
                clock: clock(false),
            });
        }
        let (text, utc) = match raw.strip_suffix('Z') {
            Some(text) => (text, true),
            None => (raw, false),
        };
        let shaped = text.len() == 15
            && text.is_ascii()
            && text.as_bytes()[8] == b'T'
            && digits(&text[..8])
            && digits(&text[9..]);
        if !shaped {
            return Err(bad());
        }
        let local = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        Ok(Stamp {
            local,
            date_only: false,
            clock: clock(utc),
        })
    }

    /// The instant this names; `calendar` is the VCALENDAR whose VTIMEZONEs a non-IANA TZID
    /// refers to.
    pub fn instant(&self, calendar: &IcalCst<'_>) -> Result<DateTime<Utc>, String> {
        match &self.clock {
            Clock::Utc | Clock::Floating => Ok(self.local.and_utc()),
            Clock::Zone(id) => match id.parse::<Tz>() {
                Ok(tz) => Ok(local_in(tz, self.local)),
                Err(_) => vtimezone_instant(calendar, id, self.local),
            },
        }
    }
}

/// The instant a written local time names in `tz` (RFC 5545 3.3.5): the earlier of a repeated
/// hour, and in a skipped hour the offset from before the jump.
pub(crate) fn local_in(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            let before = tz
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix();
            (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

fn vtimezone_instant(
    calendar: &IcalCst<'_>,
    id: &str,
    local: NaiveDateTime,
) -> Result<DateTime<Utc>, String> {
    let decoded = calendar.decode();
    let zone = IcalTz::of_calendar(&decoded, id).ok_or_else(|| {
        format!("Time zone '{id}' is neither an IANA name nor defined by a VTIMEZONE")
    })?;
    let civil = IcalRecurDateTime {
        year: local.year(),
        month: local.month() as u8,
        day: local.day() as u8,
        hour: local.hour() as u8,
        minute: local.minute() as u8,
        second: local.second() as u8,
    };
    let seconds = zone.resolve(civil).literal_instant(civil);
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| format!("Time in zone '{id}' is out of range"))
}

/// The date `t` starts in `tz`, when `t` is exactly a midnight there.
pub(crate) fn midnight(tz: Tz, t: DateTime<Utc>) -> Option<NaiveDate> {
    let date = t.with_timezone(&tz).date_naive();
    (local_in(tz, date.and_time(NaiveTime::MIN)) == t).then_some(date)
}

pub(crate) fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

pub(crate) fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string()
}

pub(crate) fn date_text(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// iCalendar holds whole seconds: a model time compares at that precision.
pub(crate) fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(line: &str) -> Stamp {
        let (line, _) = IcalLine::take(line.as_bytes()).unwrap();
        Stamp::read(&line).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn utc_floating_zoned_and_date_values_name_their_instants() {
        let cal = IcalCst::parse("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        let cases = [
            ("DUE:20270105T090000Z\r\n", "2027-01-05T09:00:00Z"),
            ("DUE:20270105T090000\r\n", "2027-01-05T09:00:00Z"),
            (
                "DUE;TZID=Europe/Berlin:20270105T090000\r\n",
                "2027-01-05T08:00:00Z",
            ),
            (
                "DUE;TZID=\"Europe/Berlin\":20270705T090000\r\n",
                "2027-07-05T07:00:00Z",
            ),
            ("DUE;VALUE=DATE:20270105\r\n", "2027-01-05T00:00:00Z"),
        ];
        for (line, want) in cases {
            assert_eq!(stamp(line).instant(&cal).unwrap(), at(want), "{line}");
        }
        for bad in [
            "DUE:2027-01-05\r\n",
            "DUE:20271305T090000Z\r\n",
            "DUE;VALUE=DATE:2027010\r\n",
            "DUE:2027010éT09000Z\r\n",
        ] {
            let (line, _) = IcalLine::take(bad.as_bytes()).unwrap();
            assert!(Stamp::read(&line).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_skipped_hour_takes_the_offset_from_before_the_jump_and_a_repeated_one_the_earlier() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let spring = NaiveDateTime::parse_from_str("20270328T023000", "%Y%m%dT%H%M%S").unwrap();
        assert_eq!(local_in(berlin, spring), at("2027-03-28T01:30:00Z"));
        let autumn = NaiveDateTime::parse_from_str("20271031T023000", "%Y%m%dT%H%M%S").unwrap();
        assert_eq!(local_in(berlin, autumn), at("2027-10-31T00:30:00Z"));
    }

    #[test]
    fn a_midnight_is_recognised_in_its_own_zone_only() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
        assert_eq!(midnight(berlin, at("2027-01-04T23:00:00Z")), Some(date));
        assert_eq!(midnight(berlin, at("2027-01-05T00:00:00Z")), None);
        assert_eq!(midnight(Tz::UTC, at("2027-01-05T00:00:00Z")), Some(date));
    }
}
