//! Recurring tasks: the RFC 5545 RRULE subset the contract allows (FREQ of DAILY, WEEKLY,
//! MONTHLY or YEARLY, with INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL), an IANA time zone,
//! and the occurrences after a due date. Rules are evaluated by the `rrule` crate in the task's
//! time zone, so a daily 09:00 task stays at 09:00 local time across daylight-saving changes.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::ops::Deref;

/// A valid rule, normalised (parts upper-cased, in the order given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence(String);

/// An IANA time zone name, known to the compiled-in database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn numbers(value: &str, allowed: impl Fn(i32) -> bool) -> bool {
    !value.is_empty()
        && value
            .split(',')
            .all(|n| n.parse::<i32>().is_ok_and(&allowed) && !n.starts_with('+'))
}

fn weekday(value: &str) -> bool {
    let (ordinal, day) = value.split_at(value.len().saturating_sub(2));
    WEEKDAYS.contains(&day)
        && (ordinal.is_empty()
            || ordinal
                .trim_start_matches(['+', '-'])
                .parse::<u8>()
                .is_ok_and(|n| (1..=53).contains(&n)))
}

/// `YYYYMMDD` or `YYYYMMDDTHHMMSSZ`.
fn until(value: &str) -> bool {
    NaiveDate::parse_from_str(value, "%Y%m%d").is_ok()
        || (value.ends_with('Z')
            && NaiveDateTime::parse_from_str(&value[..value.len() - 1], "%Y%m%dT%H%M%S").is_ok())
}

/// A rule whose BYMONTH and BYMONTHDAY never meet (February 30th) would be searched for until the
/// rule engine gives up, at a fraction of a second of CPU a request: refused instead.
fn possible(rule: &str) -> bool {
    let part = |name: &str| {
        rule.split(';')
            .find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(|v| {
                v.split(',')
                    .filter_map(|n| n.parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
    };
    let (Some(months), Some(days)) = (part("BYMONTH"), part("BYMONTHDAY")) else {
        return true;
    };
    const LONGEST: [i32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    months.iter().any(|m| {
        let longest = LONGEST[(*m as usize).clamp(1, 12) - 1];
        days.iter().any(|d| d.abs() <= longest)
    })
}

impl Recurrence {
    pub fn parse(raw: &str) -> Result<Recurrence, String> {
        let text = raw.trim().to_ascii_uppercase();
        let text = text.strip_prefix("RRULE:").unwrap_or(&text);
        let mut seen: Vec<&str> = Vec::new();
        let mut freq = false;
        for part in text.split(';') {
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("Recurrence: '{part}' is not NAME=VALUE"));
            };
            if seen.contains(&name) {
                return Err(format!("Recurrence: {name} is given twice"));
            }
            seen.push(name);
            let valid = match name {
                "FREQ" => {
                    freq = true;
                    ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(&value)
                }
                "INTERVAL" => value.parse::<u16>().is_ok_and(|n| n >= 1),
                "COUNT" => value.parse::<u16>().is_ok_and(|n| n >= 1),
                "UNTIL" => until(value),
                "BYDAY" => !value.is_empty() && value.split(',').all(weekday),
                "BYMONTHDAY" => numbers(value, |n| n != 0 && (-31..=31).contains(&n)),
                "BYMONTH" => numbers(value, |n| (1..=12).contains(&n)),
                _ => {
                    return Err(format!(
                        "Recurrence: {name} is not supported (FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL)"
                    ))
                }
            };
            if !valid {
                return Err(format!("Recurrence: {name}={value} is not valid"));
            }
        }
        if !freq {
            return Err("Recurrence needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY".into());
        }
        if seen.contains(&"COUNT") && seen.contains(&"UNTIL") {
            return Err("Recurrence: COUNT and UNTIL cannot both be given".into());
        }
        if !possible(text) {
            return Err("Recurrence: no month of BYMONTH has a day of BYMONTHDAY".into());
        }
        Ok(Recurrence(text.to_string()))
    }

    /// The occurrences strictly after `after`, at most `limit`, of this rule started at `start`
    /// in `zone`; `true` with them when there are no more.
    pub fn after(
        &self,
        zone: Zone,
        start: DateTime<Utc>,
        after: DateTime<Utc>,
        limit: u16,
    ) -> Result<(Vec<DateTime<Utc>>, bool), String> {
        let tz = rrule::Tz::Tz(zone.0);
        let local = start.with_timezone(&zone.0).naive_local();
        // Floating UNTIL dates are read as the end of that day in the task's zone, in UTC (RFC
        // 5545 wants UNTIL in UTC once DTSTART has a zone).
        let rule: Vec<String> = self
            .0
            .split(';')
            .map(|part| match part.strip_prefix("UNTIL=") {
                Some(date) if !date.ends_with('Z') => {
                    let end = NaiveDate::parse_from_str(date, "%Y%m%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(23, 59, 59))
                        .and_then(|t| zone.0.from_local_datetime(&t).latest())
                        .map(|t| t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string());
                    format!("UNTIL={}", end.unwrap_or_else(|| date.to_string()))
                }
                _ => part.to_string(),
            })
            .collect();
        let text = format!(
            "DTSTART;TZID={}:{}\nRRULE:{}",
            zone.0.name(),
            local.format("%Y%m%dT%H%M%S"),
            rule.join(";")
        );
        let set: rrule::RRuleSet = text.parse().map_err(|e| match e {
            rrule::RRuleError::ValidationError(_) if self.0.contains("UNTIL=") => {
                "Recurrence: UNTIL is before the task's due date".to_string()
            }
            e => format!("Recurrence: {e}"),
        })?;
        let from = (after + chrono::Duration::seconds(1)).with_timezone(&tz);
        let found = set.after(from).all(limit);
        let mut ended = !found.limited;
        let mut dates: Vec<DateTime<Utc>> = found
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d > after)
            .collect();
        // Past year 9999 no RFC 3339 timestamp can say when: the rule ends there.
        if let Some(last) = dates.iter().position(|d| d.year() > 9999) {
            dates.truncate(last);
            ended = true;
        }
        Ok((dates, ended))
    }
}

impl Zone {
    pub const UTC: Zone = Zone(chrono_tz::Tz::UTC);

    pub fn parse(raw: &str) -> Result<Zone, String> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(Zone)
            .map_err(|_| format!("Time zone '{raw}' is not an IANA time zone name"))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Deref for Recurrence {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(rule: &str, zone: &str, start: &str, after: &str, n: u16) -> Vec<String> {
        let (dates, _) = Recurrence::parse(rule)
            .unwrap()
            .after(Zone::parse(zone).unwrap(), at(start), at(after), n)
            .unwrap();
        dates.iter().map(|d| d.to_rfc3339()).collect()
    }

    #[test]
    fn only_the_contracts_subset_is_accepted() {
        for good in [
            "FREQ=DAILY",
            "freq=weekly;interval=2;byday=MO,WE",
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "FREQ=DAILY;COUNT=3",
            "FREQ=DAILY;UNTIL=20270101",
            "RRULE:FREQ=DAILY;UNTIL=20270101T000000Z",
        ] {
            assert!(Recurrence::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=9",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=2;UNTIL=20270101",
            "INTERVAL=2",
            "FREQ=DAILY;FREQ=WEEKLY",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=MONTHLY;BYMONTHDAY=0",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=YEARLY;BYMONTH=13",
            "FREQ=DAILY;UNTIL=tomorrow",
            "FREQ",
        ] {
            assert!(Recurrence::parse(bad).is_err(), "{bad}");
        }
        assert!(Zone::parse("Europe/Berlin").is_ok());
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn a_daily_0900_task_stays_at_0900_local_across_both_daylight_saving_changes() {
        // Berlin: clocks go forward on 2027-03-28 (UTC+1 -> +2), back on 2027-10-31.
        let spring = next(
            "FREQ=DAILY",
            "Europe/Berlin",
            "2027-03-26T08:00:00Z",
            "2027-03-27T08:00:00Z",
            2,
        );
        assert_eq!(
            spring,
            ["2027-03-28T07:00:00+00:00", "2027-03-29T07:00:00+00:00"]
        );
        let autumn = next(
            "FREQ=DAILY",
            "Europe/Berlin",
            "2027-10-29T07:00:00Z",
            "2027-10-30T07:00:00Z",
            2,
        );
        assert_eq!(
            autumn,
            ["2027-10-31T08:00:00+00:00", "2027-11-01T08:00:00+00:00"]
        );
    }

    #[test]
    fn monthly_on_the_31st_skips_months_without_one_and_a_leap_day_waits_for_a_leap_year() {
        let months = next(
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "UTC",
            "2027-01-31T09:00:00Z",
            "2027-01-31T09:00:00Z",
            3,
        );
        assert_eq!(
            months,
            [
                "2027-03-31T09:00:00+00:00",
                "2027-05-31T09:00:00+00:00",
                "2027-07-31T09:00:00+00:00"
            ]
        );
        let leap = next(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "UTC",
            "2028-02-29T09:00:00Z",
            "2028-02-29T09:00:00Z",
            1,
        );
        assert_eq!(leap, ["2032-02-29T09:00:00+00:00"]);
    }

    #[test]
    fn count_and_until_end_the_rule() {
        let rule = Recurrence::parse("FREQ=DAILY;COUNT=3").unwrap();
        let (dates, ended) = rule
            .after(
                Zone::UTC,
                at("2027-01-01T09:00:00Z"),
                at("2027-01-01T09:00:00Z"),
                10,
            )
            .unwrap();
        assert_eq!(dates.len(), 2);
        assert!(ended);
        let rule = Recurrence::parse("FREQ=WEEKLY;UNTIL=20270115").unwrap();
        let (dates, ended) = rule
            .after(
                Zone::UTC,
                at("2027-01-01T09:00:00Z"),
                at("2027-01-01T09:00:00Z"),
                10,
            )
            .unwrap();
        assert_eq!(
            dates,
            [at("2027-01-08T09:00:00Z"), at("2027-01-15T09:00:00Z")]
        );
        assert!(ended);
        let (_, ended) = Recurrence::parse("FREQ=DAILY")
            .unwrap()
            .after(
                Zone::UTC,
                at("2027-01-01T09:00:00Z"),
                at("2027-01-01T09:00:00Z"),
                10,
            )
            .unwrap();
        assert!(!ended, "an endless rule never ends");
    }

    #[test]
    fn interval_and_byday_with_and_without_bymonth() {
        // 2027-01-04 is a Monday.
        let fortnightly = next(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
            "UTC",
            "2027-01-04T09:00:00Z",
            "2027-01-04T09:00:00Z",
            3,
        );
        assert_eq!(
            fortnightly,
            [
                "2027-01-07T09:00:00+00:00",
                "2027-01-18T09:00:00+00:00",
                "2027-01-21T09:00:00+00:00"
            ]
        );
        // The last Friday of March, each year.
        let yearly = next(
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1FR",
            "UTC",
            "2027-03-26T09:00:00Z",
            "2027-03-26T09:00:00Z",
            2,
        );
        assert_eq!(
            yearly,
            ["2028-03-31T09:00:00+00:00", "2029-03-30T09:00:00+00:00"]
        );
    }
}
