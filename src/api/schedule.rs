//! When a recurring task is next due: its schedule computed when a write sets the rule, zone or
//! due date (`plan`, `reschedule`), and more occurrences computed when a completion has used up
//! most of those kept (`planned`).

use super::input::{invalid, TaskPatch};
use super::tasks::NOT_FOUND;
use crate::auth::caller::Caller;
use crate::db::{self, schedule, tasks};
use crate::domain::{DueAt, Recurrence, Zone};
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};

/// The next occurrences of a recurring task (none for a task that does not recur): computed
/// when its rule, zone or due date is set, and kept with it, so completing it is one statement.
pub fn plan(
    rule: Option<&Recurrence>,
    zone: Zone,
    start: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
) -> ApiResult<tasks::Schedule> {
    let mut schedule = tasks::Schedule {
        recurrence: rule.map(|r| r.to_string()),
        timezone: zone.name().to_string(),
        start,
        next: None,
        ended: false,
    };
    if let Some(rule) = rule {
        let (Some(start), Some(due)) = (start, due) else {
            return Err(ApiError::Validation(vec![invalid(
                "recurrence",
                "A recurring task needs a due_at",
            )]));
        };
        let (next, ended) = rule
            .after(zone, start, due, UPCOMING)
            .map_err(|problem| ApiError::Validation(vec![invalid("recurrence", &problem)]))?;
        schedule.next = Some(next);
        schedule.ended = ended;
    }
    Ok(schedule)
}

/// Occurrences kept ahead; a write that leaves fewer than half computes them again.
const UPCOMING: u16 = 8;

/// After a write: a recurring task that has used up most of its kept occurrences gets the next
/// ones (a statement that is not a change: see `tasks::set_next`).
pub fn planned(conn: &mut db::Conn, task: &tasks::TaskRow) -> ApiResult<()> {
    let Some(stored) = task.refill()? else {
        return Ok(());
    };
    replan(conn, task.id()?, &stored)
}

pub fn replan(conn: &mut db::Conn, id: i64, stored: &tasks::Stored) -> ApiResult<()> {
    let Some(rule) = stored
        .recurrence
        .as_deref()
        .and_then(|r| Recurrence::parse(r).ok())
    else {
        return Ok(());
    };
    let zone = Zone::parse(&stored.timezone).unwrap_or(Zone::UTC);
    let (Some(start), Some(due)) = (stored.start.or(stored.due_at), stored.due_at) else {
        return Ok(());
    };
    // A rule the engine cannot run (set by plain SQL) ends: the next completion completes it.
    let (next, ended) = rule
        .after(zone, start, due, UPCOMING)
        .unwrap_or((Vec::new(), true));
    schedule::set_next(conn, id, stored, &next, ended)?;
    Ok(())
}

/// A `PUT` that changes when the task is due or how it recurs, or completes it: the schedule it
/// leaves, computed from the one stored (which the write checks is still the task's). `None` for a
/// completion of a task that does not recur.
pub fn reschedule(
    conn: &mut db::Conn,
    me: &Caller,
    id: i64,
    patch: &TaskPatch,
) -> ApiResult<Option<(tasks::Schedule, tasks::Stored)>> {
    let Some(seen) = schedule::stored(conn, me, id)? else {
        return Err(NOT_FOUND);
    };
    if !patch.reschedules() && seen.recurrence.is_none() {
        return Ok(None);
    }
    let rule = match &patch.recurrence {
        Some(rule) => rule.clone(),
        None => seen
            .recurrence
            .as_deref()
            .and_then(|r| Recurrence::parse(r).ok()),
    };
    let zone = match patch.timezone {
        Some(zone) => zone,
        None => Zone::parse(&seen.timezone).unwrap_or(Zone::UTC),
    };
    let due = match patch.due_at {
        Some(due) => due.map(DueAt::utc),
        None => seen.due_at,
    };
    // A rule set now starts at the due date it is set with; one kept keeps its start.
    let start = match patch.recurrence {
        Some(_) => due,
        None => seen.start.or(due),
    };
    if rule.is_some() && due.is_none() && patch.due_at.is_some() {
        return Err(ApiError::Validation(vec![invalid(
            "due_at",
            "A recurring task needs a due_at",
        )]));
    }
    Ok(Some((plan(rule.as_ref(), zone, start, due)?, seen)))
}
