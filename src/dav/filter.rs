//! `calendar-query` filters (RFC 4791 9.7), evaluated against one calendar object.

use crate::dav::ical::model::{children, name_is, prop, props};
use crate::dav::ical::{calendar, time::Stamp};
use chrono::{DateTime, Duration, Utc};
use ical::tree::cst::IcalCst;
use ical::tree::line::IcalLine;
use ical::value::duration::IcalDuration;

/// RFC 4791 9.7.1: a component of `name` exists (or, with `is_not_defined`, does not) and, for
/// one such component, the time range and every nested filter match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub props: Vec<PropFilter>,
    pub comps: Vec<CompFilter>,
}

/// RFC 4791 9.7.2: with neither test given, the property only has to exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub text_match: Option<TextMatch>,
    pub params: Vec<ParamFilter>,
}

/// RFC 4791 9.7.3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

/// RFC 4791 9.7.5 (and RFC 7809/9253's match types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextMatch {
    pub text: String,
    pub negate: bool,
    pub collation: Collation,
    pub match_type: MatchType,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Collation {
    #[default]
    AsciiCasemap,
    Octet,
    UnicodeCasemap,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchType {
    #[default]
    Contains,
    Equals,
    StartsWith,
    EndsWith,
}

/// RFC 4791 9.9; a missing bound is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Collation {
    /// The `collation` attribute's value; `None` for one this server does not support (the
    /// CALDAV:supported-collation precondition).
    pub fn parse(raw: &str) -> Option<Collation> {
        match raw.trim() {
            "i;ascii-casemap" => Some(Collation::AsciiCasemap),
            "i;octet" => Some(Collation::Octet),
            "i;unicode-casemap" => Some(Collation::UnicodeCasemap),
            _ => None,
        }
    }
}

impl MatchType {
    /// The `match-type` attribute's value (RFC 9253 / 7809).
    pub fn parse(raw: &str) -> Option<MatchType> {
        match raw.trim() {
            "contains" => Some(MatchType::Contains),
            "equals" => Some(MatchType::Equals),
            "starts-with" => Some(MatchType::StartsWith),
            "ends-with" => Some(MatchType::EndsWith),
            _ => None,
        }
    }
}

impl TimeRange {
    fn after_start(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|start| start <= t)
    }

    fn strictly_after_start(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|start| start < t)
    }

    fn before_end(&self, t: DateTime<Utc>) -> bool {
        self.end.is_none_or(|end| end > t)
    }

    fn until_end(&self, t: DateTime<Utc>) -> bool {
        self.end.is_none_or(|end| end >= t)
    }

    /// Whether `[from, to)` overlaps the range; an instant (`from == to`) overlaps a range that
    /// holds it.
    fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        let started = if from == to {
            self.after_start(from)
        } else {
            self.strictly_after_start(to)
        };
        started && self.before_end(from)
    }

    /// RFC 4791 9.9's VTODO table, row by row.
    fn overlaps_todo(&self, todo: &IcalCst<'_>, calendar: &IcalCst<'_>) -> bool {
        let at = |name| instant(todo, name, calendar).map(|(t, _)| t);
        let duration = prop(todo, "DURATION")
            .and_then(|line| IcalDuration(line.value.decode()).seconds())
            .map(Duration::seconds);
        match (
            at("DTSTART"),
            duration,
            at("DUE"),
            at("COMPLETED"),
            at("CREATED"),
        ) {
            (Some(start), Some(duration), _, _, _) => {
                let end = start + duration;
                self.after_start(end) && (self.before_end(start) || self.until_end(end))
            }
            (Some(start), None, Some(due), _, _) => {
                (self.strictly_after_start(due) || self.after_start(start))
                    && (self.before_end(start) || self.until_end(due))
            }
            (Some(start), None, None, _, _) => self.after_start(start) && self.before_end(start),
            (None, _, Some(due), _, _) => self.strictly_after_start(due) && self.until_end(due),
            (None, _, None, Some(completed), Some(created)) => {
                (self.after_start(created) || self.after_start(completed))
                    && (self.until_end(created) || self.until_end(completed))
            }
            (None, _, None, Some(completed), None) => {
                self.after_start(completed) && self.until_end(completed)
            }
            (None, _, None, None, Some(created)) => self.before_end(created),
            (None, _, None, None, None) => true,
        }
    }

    fn overlaps_component(&self, component: &IcalCst<'_>, calendar: &IcalCst<'_>) -> bool {
        let base = if name_is(component, "VTODO") {
            self.overlaps_todo(component, calendar)
        } else {
            match instant(component, "DTSTART", calendar) {
                Some((start, date_only)) => {
                    let end = instant(component, "DTEND", calendar)
                        .map(|(end, _)| end)
                        .or_else(|| {
                            prop(component, "DURATION")
                                .and_then(|line| IcalDuration(line.value.decode()).seconds())
                                .map(|s| start + Duration::seconds(s))
                        })
                        .unwrap_or(if date_only {
                            start + Duration::days(1)
                        } else {
                            start
                        });
                    self.overlaps(start, end)
                }
                None => true,
            }
        };
        // Recurrences are not expanded: a recurring component matches any range that ends after
        // its first instance begins, and the client picks the instances it wants. Too many
        // answers cost a client a little; a missing one hides a task.
        base || (prop(component, "RRULE").is_some()
            && self.recurring_may_overlap(component, calendar))
    }

    fn recurring_may_overlap(&self, component: &IcalCst<'_>, calendar: &IcalCst<'_>) -> bool {
        ["DTSTART", "DUE"]
            .into_iter()
            .find_map(|name| instant(component, name, calendar))
            .is_none_or(|(first, _)| self.before_end(first))
    }
}

/// A property's date or date-time as an instant, and whether it was a date.
fn instant(
    component: &IcalCst<'_>,
    name: &str,
    calendar: &IcalCst<'_>,
) -> Option<(DateTime<Utc>, bool)> {
    let stamp = Stamp::read(prop(component, name)?).ok()?;
    Some((stamp.instant(calendar).ok()?, stamp.date_only))
}

/// Whether the calendar object `ics` (a VCALENDAR) matches `filter` (the top comp-filter, name VCALENDAR).
/// A text that is not one VCALENDAR matches nothing.
pub fn matches(filter: &CompFilter, ics: &str) -> bool {
    let Ok(calendar) = calendar(ics) else {
        return false;
    };
    let exists = name_is(&calendar, &filter.name);
    if filter.is_not_defined {
        return !exists;
    }
    exists && component_matches(filter, &calendar, &calendar)
}

fn component_matches(filter: &CompFilter, component: &IcalCst<'_>, calendar: &IcalCst<'_>) -> bool {
    filter
        .time_range
        .is_none_or(|range| range.overlaps_component(component, calendar))
        && filter
            .props
            .iter()
            .all(|p| prop_matches(p, component, calendar))
        && filter.comps.iter().all(|c| {
            let mut named = children(component).filter(|child| name_is(child, &c.name));
            if c.is_not_defined {
                named.next().is_none()
            } else {
                named.any(|child| component_matches(c, child, calendar))
            }
        })
}

fn prop_matches(filter: &PropFilter, component: &IcalCst<'_>, calendar: &IcalCst<'_>) -> bool {
    let mut named = props(component, &filter.name);
    if filter.is_not_defined {
        return named.next().is_none();
    }
    named.any(|line| {
        filter.time_range.is_none_or(|range| {
            Stamp::read(line)
                .and_then(|stamp| {
                    let from = stamp.instant(calendar)?;
                    let to = if stamp.date_only {
                        from + Duration::days(1)
                    } else {
                        from
                    };
                    Ok(range.overlaps(from, to))
                })
                .unwrap_or(false)
        }) && filter
            .text_match
            .as_ref()
            .is_none_or(|text| value_matches(text, line))
            && filter.params.iter().all(|p| param_matches(p, line))
    })
}

/// A list value (CATEGORIES, RESOURCES) matches when any of its values does; negation applies to
/// that whole answer, so "not work" leaves out a task tagged home and work.
fn value_matches(text: &TextMatch, line: &IcalLine<'_>) -> bool {
    let name = line.name.get();
    let list = ["CATEGORIES", "RESOURCES"]
        .iter()
        .any(|l| name.eq_ignore_ascii_case(l));
    let found = if list {
        line.value
            .decode_list()
            .iter()
            .any(|value| hit(text, value))
    } else {
        hit(text, &line.value.decode())
    };
    found != text.negate
}

fn param_matches(filter: &ParamFilter, line: &IcalLine<'_>) -> bool {
    let mut named = line
        .params
        .iter()
        .filter(|param| param.name.get().eq_ignore_ascii_case(&filter.name));
    if filter.is_not_defined {
        return named.next().is_none();
    }
    named.any(|param| {
        filter.text_match.as_ref().is_none_or(|text| {
            let found = param
                .values
                .iter()
                .any(|value| hit(text, value.get().trim_matches('"')));
            found != text.negate
        })
    })
}

fn hit(text: &TextMatch, value: &str) -> bool {
    let fold = |s: &str| -> String {
        match text.collation {
            Collation::Octet => s.to_string(),
            Collation::AsciiCasemap => s.to_ascii_lowercase(),
            Collation::UnicodeCasemap => s.to_lowercase(),
        }
    };
    let (value, wanted) = (fold(value), fold(&text.text));
    match text.match_type {
        MatchType::Contains => value.contains(&wanted),
        MatchType::Equals => value == wanted,
        MatchType::StartsWith => value.starts_with(&wanted),
        MatchType::EndsWith => value.ends_with(&wanted),
    }
}

#[cfg(test)]
mod tests;
