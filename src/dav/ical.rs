//! A client's VTODO in the model's terms, and the model's fields merged back into what it stored.
//! All iCalendar syntax goes through ical-rs's byte-faithful tree: a line nobody edits is written
//! back exactly as it arrived.

mod merge;
pub(crate) mod model;
pub(crate) mod time;

use crate::domain::{Description, DueAt, Priority, Recurrence, Tags, Title, Zone};
use chrono::{DateTime, Utc};
use ical::tree::cst::IcalCst;

pub use merge::render;

/// A client's calendar object, checked: one VTODO (plus the VTIMEZONEs it uses), in the model's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Todo {
    pub uid: String,
    pub title: Title,
    pub description: Option<Description>,
    pub completed: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub due_at: Option<DueAt>,
    pub timezone: Option<Zone>,
    pub tags: Tags,
    pub parent_uid: Option<String>,
    pub recurrence: Option<Recurrence>,
}

/// Why a PUT body is refused: the RFC 4791 precondition element (CALDAV namespace local name) and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub precondition: &'static str,
    pub detail: String,
}

impl Refusal {
    pub(crate) fn data(detail: impl Into<String>) -> Refusal {
        Refusal {
            precondition: "valid-calendar-data",
            detail: detail.into(),
        }
    }

    fn component(detail: impl Into<String>) -> Refusal {
        Refusal {
            precondition: "supported-calendar-component",
            detail: detail.into(),
        }
    }

    fn object(detail: impl Into<String>) -> Refusal {
        Refusal {
            precondition: "valid-calendar-object-resource",
            detail: detail.into(),
        }
    }
}

/// What the model holds of a task now, merged into the text a client stored.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    pub uid: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub completed: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub due_at: Option<DateTime<Utc>>,
    /// IANA name, "UTC" by default.
    pub timezone: &'a str,
    pub tags: &'a [String],
    pub parent_uid: Option<&'a str>,
    pub recurrence: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// ical-rs reads nested components by recursion, and a 64 KiB body nesting a few thousand deep
/// overflows a worker's stack (aborting the server), so depth is counted before it reads. A BEGIN
/// counts even on an indented line (ical-rs takes one after a blank line as a line of its own); an
/// END only where it cannot be a folded continuation: the count errs towards too deep.
const MAX_DEPTH: usize = 16;

fn too_deep(text: &str) -> bool {
    let named = |line: &str, name: &str| {
        line.split([':', ';'])
            .next()
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
    };
    let mut depth = 0_usize;
    for line in text.split('\n') {
        if named(line.trim_start_matches([' ', '\t', '\r']), "BEGIN") {
            depth += 1;
            if depth > MAX_DEPTH {
                return true;
            }
        } else if named(line, "END") {
            depth = depth.saturating_sub(1);
        }
    }
    false
}

/// The one VCALENDAR in `text`; anything after it (a second calendar) is refused, not dropped.
pub(crate) fn calendar(text: &str) -> Result<IcalCst<'_>, String> {
    if too_deep(text) {
        return Err(format!(
            "The calendar nests components more than {MAX_DEPTH} deep"
        ));
    }
    let mut all = IcalCst::parse_many(text);
    let calendar = match all.next() {
        Some(Ok(calendar)) => calendar,
        Some(Err(e)) => return Err(format!("The body is not iCalendar: {e}")),
        None => return Err("The body holds no calendar".into()),
    };
    if all.next().is_some() {
        return Err("The body holds more than one VCALENDAR".into());
    }
    if !model::name_is(&calendar, "VCALENDAR") {
        return Err("The body is not a VCALENDAR".into());
    }
    Ok(calendar)
}

pub fn parse(body: &[u8]) -> Result<Todo, Refusal> {
    let text =
        std::str::from_utf8(body).map_err(|_| Refusal::data("The calendar data is not UTF-8"))?;
    let calendar = calendar(text).map_err(Refusal::data)?;
    let mut todos = Vec::new();
    for child in model::children(&calendar) {
        match model::component_name(child).as_str() {
            "VTODO" => todos.push(child),
            "VTIMEZONE" => {}
            // Vendor components ride along untouched, like X- properties.
            name if name.starts_with("X-") => {}
            name => {
                return Err(Refusal::component(format!(
                    "A {name} cannot be stored here: these calendars hold tasks (VTODO) only"
                )))
            }
        }
    }
    let todo = match todos.as_slice() {
        [todo] => *todo,
        [] => return Err(Refusal::component("The calendar holds no VTODO")),
        _ => {
            return Err(Refusal::object(
                "A calendar object holds one task: one VTODO, without RECURRENCE-ID overrides",
            ))
        }
    };
    let uid = model::uid(todo).ok_or_else(|| Refusal::object("The VTODO has no UID"))?;
    for name in model::SINGLE {
        if model::props(todo, name).nth(1).is_some() {
            return Err(Refusal::object(format!(
                "The VTODO has {name} more than once"
            )));
        }
    }
    let due = model::due(todo, &calendar)?;
    let due_at = due
        .as_ref()
        .map(|due| DueAt::from_utc(due.at))
        .transpose()
        .map_err(Refusal::object)?;
    let recurrence = model::recurrence(todo).map_err(Refusal::object)?;
    if recurrence.is_some() && due_at.is_none() {
        return Err(Refusal::object(
            "A recurring task needs a due date: the VTODO has an RRULE but no DUE",
        ));
    }
    Ok(Todo {
        uid,
        title: model::title(todo).map_err(Refusal::object)?,
        description: model::description(todo).map_err(Refusal::object)?,
        completed: model::completed(todo),
        completed_at: model::completed_at(todo, &calendar)?,
        priority: model::priority(todo)?,
        due_at,
        timezone: due.and_then(|due| due.zone),
        tags: model::tags(todo).map_err(Refusal::object)?,
        parent_uid: model::parent(todo),
        recurrence,
    })
}

#[cfg(test)]
mod tests;
