//! The model's fields written into the calendar a client stored: a modeled line stays byte for
//! byte while it still reads as what the model holds, and is replaced in place when it does not.

use super::model::{self, Due};
use super::time::{self, Clock};
use super::{calendar, Fields};
use crate::domain::Recurrence;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ical::tree::codec::mode::Escaper;
use ical::tree::cst::{IcalCst, IcalItem};
use ical::tree::leaf::IcalLeaf;
use ical::tree::line::IcalLine;
use ical::tree::param::node::IcalParamNode;

/// The calendar object to send: `stored` (the VCALENDAR a client last PUT, None for tasks made over REST)
/// with every modeled property set from `f`, every other line and component byte for byte as stored.
/// A stored text that no longer reads as a VCALENDAR with a VTODO is replaced by a fresh one.
pub fn render(stored: Option<&str>, f: &Fields) -> String {
    stored
        .and_then(|text| merge(text, f))
        .unwrap_or_else(|| fresh(f))
}

fn line<'a>(name: &str, params: &[(&str, &str)], raw: &str) -> IcalLine<'a> {
    let mut line = IcalLine::text(name.to_string(), raw.to_string());
    line.params = params
        .iter()
        .map(|(name, value)| IcalParamNode {
            name: IcalLeaf::from(name.to_string()),
            values: vec![IcalLeaf::from(value.to_string())],
            escaper: Escaper::Modern,
        })
        .collect();
    line
}

/// A TEXT (or list of TEXT) value, escaped per RFC 5545 3.3.11.
fn text<'a>(name: &str, params: &[(&str, &str)], values: &[&str]) -> IcalLine<'a> {
    let mut line = line(name, params, "");
    line.value.set(values);
    line
}

fn utc<'a>(name: &str, t: DateTime<Utc>) -> IcalLine<'a> {
    line(name, &[], &time::utc_text(t))
}

fn parent<'a>(uid: &str) -> IcalLine<'a> {
    text("RELATED-TO", &[("RELTYPE", "PARENT")], &[uid])
}

fn fresh(f: &Fields) -> String {
    let mut todo = IcalCst::empty("VTODO");
    let mut lines = vec![
        text("UID", &[], &[f.uid]),
        utc("DTSTAMP", f.updated_at),
        utc("CREATED", f.created_at),
        utc("LAST-MODIFIED", f.updated_at),
        text("SUMMARY", &[], &[f.title]),
    ];
    lines.extend(f.description.map(|d| text("DESCRIPTION", &[], &[d])));
    let status = if f.completed {
        "COMPLETED"
    } else {
        "NEEDS-ACTION"
    };
    lines.push(line("STATUS", &[], status));
    if f.completed {
        lines.extend(f.completed_at.map(|t| utc("COMPLETED", t)));
    }
    lines.extend(model::priority_value(f.priority).map(|p| line("PRIORITY", &[], p)));
    lines.extend(f.due_at.map(|t| utc("DUE", t)));
    if !f.tags.is_empty() {
        let tags: Vec<&str> = f.tags.iter().map(String::as_str).collect();
        lines.push(text("CATEGORIES", &[], &tags));
    }
    lines.extend(f.parent_uid.map(parent));
    lines.extend(f.recurrence.map(|r| line("RRULE", &[], r)));
    for l in lines {
        todo.push_line(l);
    }
    let mut calendar = IcalCst::v2();
    calendar.push_line(line("PRODID", &[], "-//todo-api//EN"));
    calendar.push_component(todo);
    String::from_utf8_lossy(&calendar.to_bytes()).into_owned()
}

fn merge(text: &str, f: &Fields) -> Option<String> {
    let mut calendar = calendar(text).ok()?;
    // VTIMEZONEs are read from this copy while the VTODO is edited.
    let zones = calendar.clone();
    let todo = calendar.items.iter_mut().find_map(|item| match item {
        IcalItem::Component(child) if model::name_is(child, "VTODO") => Some(&mut **child),
        _ => None,
    })?;
    let mut m = Merge {
        todo,
        zones: &zones,
        changed: false,
    };
    m.modeled(f);
    let changed = m.changed;
    if changed {
        m.put(
            &|l| named(l, "LAST-MODIFIED"),
            Some(utc("LAST-MODIFIED", f.updated_at)),
        );
    }
    let stamped = model::prop(m.todo, "DTSTAMP").is_some();
    if !stamped {
        m.todo.push_line(utc("DTSTAMP", f.updated_at));
    }
    if !changed && stamped {
        return Some(text.to_string());
    }
    Some(String::from_utf8_lossy(&calendar.to_bytes()).into_owned())
}

fn named(line: &IcalLine<'_>, name: &str) -> bool {
    line.name.get().eq_ignore_ascii_case(name)
}

struct Merge<'m, 'a> {
    todo: &'m mut IcalCst<'a>,
    zones: &'m IcalCst<'a>,
    changed: bool,
}

impl<'a> Merge<'_, 'a> {
    /// Put `new` where the first line `is` picks stands (or after the properties when none
    /// does), and drop every other line it picks; `None` drops them all.
    fn put(&mut self, is: &dyn Fn(&IcalLine<'_>) -> bool, new: Option<IcalLine<'a>>) {
        self.changed = true;
        let mut new = new;
        let mut kept = Vec::with_capacity(self.todo.items.len());
        for item in self.todo.items.drain(..) {
            match item {
                IcalItem::Prop(old) if is(&old) => kept.extend(new.take().map(IcalItem::Prop)),
                other => kept.push(other),
            }
        }
        self.todo.items = kept;
        if let Some(new) = new {
            self.todo.push_line(new);
        }
    }

    fn set(&mut self, name: &str, new: Option<IcalLine<'a>>) {
        self.put(&|l| named(l, name), new);
    }

    fn modeled(&mut self, f: &Fields) {
        if model::uid(self.todo).as_deref() != Some(f.uid) {
            self.set("UID", Some(text("UID", &[], &[f.uid])));
        }
        if model::title(self.todo).ok().as_deref() != Some(f.title) {
            self.set("SUMMARY", Some(text("SUMMARY", &[], &[f.title])));
        }
        let description = model::description(self.todo);
        if description.as_ref().map(|d| d.as_deref()) != Ok(f.description) {
            let new = f.description.map(|d| text("DESCRIPTION", &[], &[d]));
            self.set("DESCRIPTION", new);
        }
        self.completion(f);
        if model::priority(self.todo).ok() != Some(f.priority) {
            let new = model::priority_value(f.priority).map(|p| line("PRIORITY", &[], p));
            self.set("PRIORITY", new);
        }
        self.due(f);
        let tags: Vec<&str> = f.tags.iter().map(String::as_str).collect();
        let stored = model::tags(self.todo);
        if stored.as_ref().map(|t| t.as_slice()) != Ok(f.tags) {
            let new = (!tags.is_empty()).then(|| text("CATEGORIES", &[], &tags));
            self.set("CATEGORIES", new);
        }
        if model::parent(self.todo).as_deref() != f.parent_uid {
            self.put(&model::is_parent, f.parent_uid.map(parent));
        }
        let rule = |r: &str| Recurrence::parse(r).map_or(r.to_string(), |r| r.to_string());
        let stored = model::recurrence(self.todo).map(|r| r.map(|r| r.to_string()));
        if stored != Ok(f.recurrence.map(rule)) {
            self.set("RRULE", f.recurrence.map(|r| line("RRULE", &[], r)));
        }
    }

    fn completion(&mut self, f: &Fields) {
        let was = model::completed(self.todo);
        let percent = model::prop(self.todo, "PERCENT-COMPLETE")
            .and_then(|l| l.value.decode().trim().parse::<u8>().ok());
        if f.completed {
            if !was {
                self.set("STATUS", Some(line("STATUS", &[], "COMPLETED")));
                if percent.is_some_and(|p| p != 100) {
                    self.set(
                        "PERCENT-COMPLETE",
                        Some(line("PERCENT-COMPLETE", &[], "100")),
                    );
                }
            }
            let at = model::completed_at(self.todo, self.zones).ok().flatten();
            if at != f.completed_at.map(time::whole_seconds) {
                self.set("COMPLETED", f.completed_at.map(|t| utc("COMPLETED", t)));
            }
            return;
        }
        if model::prop(self.todo, "COMPLETED").is_some() {
            self.set("COMPLETED", None);
        }
        if model::status(self.todo).as_deref() == Some("COMPLETED") {
            self.set("STATUS", Some(line("STATUS", &[], "NEEDS-ACTION")));
        }
        // A task reopened elsewhere is not 100 % done: clients that derive "done" from
        // PERCENT-COMPLETE (Thunderbird, jtx Board) would otherwise still show it ticked.
        if was && percent == Some(100) {
            self.set("PERCENT-COMPLETE", Some(line("PERCENT-COMPLETE", &[], "0")));
        }
    }

    fn due(&mut self, f: &Fields) {
        let stored = model::due(self.todo, self.zones).ok().flatten();
        let zone = f.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
        let Some(at) = f.due_at.map(time::whole_seconds) else {
            if model::prop(self.todo, "DUE").is_some() {
                self.set("DUE", None);
            }
            return;
        };
        let Some(Due { stamp, at: was, .. }) = stored else {
            self.set("DUE", Some(utc("DUE", at)));
            return;
        };
        let same_zone = match &stamp.clock {
            Clock::Zone(id) => id.parse::<Tz>().ok().map(|tz| tz == zone),
            _ => None,
        };
        let date_in = |tz: Tz| time::midnight(tz, at).filter(|d| *d == stamp.local.date());
        let unchanged = if stamp.date_only {
            // A date reads as its start on the DUE's own clock (UTC when floating); the task's
            // zone is accepted too, so a REST client moving an all-day task by local midnight
            // keeps it all-day.
            was == at || date_in(zone).is_some()
        } else {
            was == at && same_zone != Some(false)
        };
        if unchanged {
            return;
        }
        let mut new = model::prop(self.todo, "DUE").cloned();
        let value = if stamp.date_only {
            time::midnight(zone, at)
                .or_else(|| time::midnight(Tz::UTC, at))
                .map(time::date_text)
        } else if same_zone == Some(true) {
            Some(time::local_text(at, zone))
        } else {
            None
        };
        match (value, new.as_mut()) {
            (Some(value), Some(line)) => line.value.set(&[value]),
            _ => new = Some(utc("DUE", at)),
        }
        self.set("DUE", new);
    }
}

#[cfg(test)]
mod tests;
