//! What a VTODO's lines mean in the model's terms: one reading shared by `parse` (to take a
//! client's calendar in) and `render` (to tell whether a stored line still says what the model
//! holds, and so may stay byte for byte).

use super::time::{Clock, Stamp};
use super::Refusal;
use crate::domain::{Description, Priority, Recurrence, Tags, Title, Zone};
use chrono::{DateTime, Utc};
use ical::tree::cst::{IcalCst, IcalItem};
use ical::tree::line::IcalLine;
use ical::tree::param::reltype::RELTYPE;

/// The VTODO properties the model holds one of (RFC 5545 3.6.2 allows one; RRULE "SHOULD NOT"
/// repeat, and the model holds one rule).
pub(super) const SINGLE: [&str; 8] = [
    "UID",
    "SUMMARY",
    "DESCRIPTION",
    "STATUS",
    "COMPLETED",
    "PRIORITY",
    "DUE",
    "RRULE",
];

pub(crate) fn name_is(component: &IcalCst<'_>, name: &str) -> bool {
    component
        .begin
        .as_ref()
        .is_some_and(|b| b.raw_value_str().trim().eq_ignore_ascii_case(name))
}

pub(crate) fn component_name(component: &IcalCst<'_>) -> String {
    component
        .begin
        .as_ref()
        .map(|b| b.raw_value_str().trim().to_ascii_uppercase())
        .unwrap_or_default()
}

pub(crate) fn children<'c, 'a>(
    component: &'c IcalCst<'a>,
) -> impl Iterator<Item = &'c IcalCst<'a>> {
    component.items.iter().filter_map(|item| match item {
        IcalItem::Component(child) => Some(&**child),
        _ => None,
    })
}

pub(crate) fn props<'c, 'a>(
    component: &'c IcalCst<'a>,
    name: &'c str,
) -> impl Iterator<Item = &'c IcalLine<'a>> {
    component.items.iter().filter_map(move |item| match item {
        IcalItem::Prop(line) if line.name.get().eq_ignore_ascii_case(name) => Some(line),
        _ => None,
    })
}

pub(crate) fn prop<'c, 'a>(component: &'c IcalCst<'a>, name: &'c str) -> Option<&'c IcalLine<'a>> {
    props(component, name).next()
}

fn text(todo: &IcalCst<'_>, name: &str) -> Option<String> {
    prop(todo, name).map(|line| line.value.decode().into_owned())
}

pub(super) fn uid(todo: &IcalCst<'_>) -> Option<String> {
    text(todo, "UID")
        .map(|uid| uid.trim().to_string())
        .filter(|uid| !uid.is_empty())
}

pub(super) fn title(todo: &IcalCst<'_>) -> Result<Title, String> {
    Title::parse(&text(todo, "SUMMARY").unwrap_or_default())
}

pub(super) fn description(todo: &IcalCst<'_>) -> Result<Option<Description>, String> {
    text(todo, "DESCRIPTION")
        .map(|d| Description::parse(&d))
        .transpose()
}

pub(super) fn status(todo: &IcalCst<'_>) -> Option<String> {
    text(todo, "STATUS").map(|s| s.trim().to_ascii_uppercase())
}

pub(super) fn completed(todo: &IcalCst<'_>) -> bool {
    status(todo).as_deref() == Some("COMPLETED") || prop(todo, "COMPLETED").is_some()
}

pub(super) fn completed_at(
    todo: &IcalCst<'_>,
    calendar: &IcalCst<'_>,
) -> Result<Option<DateTime<Utc>>, Refusal> {
    prop(todo, "COMPLETED")
        .map(|line| instant(line, calendar))
        .transpose()
}

fn instant(line: &IcalLine<'_>, calendar: &IcalCst<'_>) -> Result<DateTime<Utc>, Refusal> {
    Stamp::read(line)
        .and_then(|stamp| stamp.instant(calendar))
        .map_err(Refusal::data)
}

pub(super) fn priority(todo: &IcalCst<'_>) -> Result<Priority, Refusal> {
    let Some(raw) = text(todo, "PRIORITY") else {
        return Ok(Priority::None);
    };
    match raw.trim().parse::<u8>() {
        Ok(0) => Ok(Priority::None),
        Ok(1..=4) => Ok(Priority::High),
        Ok(5) => Ok(Priority::Medium),
        Ok(6..=9) => Ok(Priority::Low),
        _ => Err(Refusal::data(format!(
            "PRIORITY '{raw}' is not an integer from 0 to 9"
        ))),
    }
}

pub(super) fn priority_value(priority: Priority) -> Option<&'static str> {
    match priority {
        Priority::High => Some("1"),
        Priority::Medium => Some("5"),
        Priority::Low => Some("9"),
        Priority::None => None,
    }
}

/// A DUE as written and as read: its instant, and its zone when that is an IANA name.
pub(super) struct Due {
    pub stamp: Stamp,
    pub at: DateTime<Utc>,
    pub zone: Option<Zone>,
}

pub(super) fn due(todo: &IcalCst<'_>, calendar: &IcalCst<'_>) -> Result<Option<Due>, Refusal> {
    let Some(line) = prop(todo, "DUE") else {
        return Ok(None);
    };
    let stamp = Stamp::read(line).map_err(Refusal::data)?;
    let at = stamp.instant(calendar).map_err(Refusal::data)?;
    let zone = match &stamp.clock {
        Clock::Zone(id) => Zone::parse(id).ok(),
        _ => None,
    };
    Ok(Some(Due { stamp, at, zone }))
}

/// Every CATEGORIES line's values; an empty value (`CATEGORIES:` or `a,,b`) names no tag.
pub(super) fn tags(todo: &IcalCst<'_>) -> Result<Tags, String> {
    let values: Vec<String> = props(todo, "CATEGORIES")
        .flat_map(|line| line.value.decode_list())
        .map(|value| value.into_owned())
        .filter(|value| !value.trim().is_empty())
        .collect();
    Tags::parse(values.iter().map(String::as_str)).map_err(|problems| problems.join("; "))
}

/// RFC 5545 3.2.15: a RELATED-TO without RELTYPE names the parent.
pub(super) fn is_parent(line: &IcalLine<'_>) -> bool {
    line.name.get().eq_ignore_ascii_case("RELATED-TO")
        && line
            .param::<RELTYPE>()
            .is_none_or(|t| t.trim().eq_ignore_ascii_case("PARENT"))
}

pub(super) fn parent(todo: &IcalCst<'_>) -> Option<String> {
    todo.items.iter().find_map(|item| match item {
        IcalItem::Prop(line) if is_parent(line) => {
            Some(line.value.decode().trim().to_string()).filter(|uid| !uid.is_empty())
        }
        _ => None,
    })
}

pub(super) fn recurrence(todo: &IcalCst<'_>) -> Result<Option<Recurrence>, String> {
    prop(todo, "RRULE")
        .map(|line| Recurrence::parse(&line.raw_value_str()))
        .transpose()
}
