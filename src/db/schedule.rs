//! Recurring tasks as stored: the rule, its zone and start, and the next occurrences the
//! application computed (the rule engine is in Rust), kept with the task so that completing it is
//! one statement. Computing them again is upkeep, not a change a client sees.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use chrono::{DateTime, Utc};

/// How a task recurs, as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub recurrence: Option<String>,
    pub timezone: String,
    /// The rule's DTSTART.
    pub start: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A task's recurrence as a write sets it: the rule, its zone and start, and the occurrences after
/// its due date (`ended`: there are no others).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub recurrence: Option<String>,
    pub timezone: String,
    pub start: Option<DateTime<Utc>>,
    pub next: Option<Vec<DateTime<Utc>>>,
    pub ended: bool,
}

/// How a task the caller can see recurs now (for a `PUT` that reschedules or completes it).
pub fn stored(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<Option<Stored>> {
    let row = conn.query_opt(
        "SELECT t.recurrence, t.timezone, t.recurrence_start, t.due_at FROM tasks t
         WHERE t.id = $2 AND t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)",
        &[&me.user, &id],
    )?;
    row.map(|r| {
        Ok(Stored {
            recurrence: r.try_get(0)?,
            timezone: r.try_get(1)?,
            start: r.try_get(2)?,
            due_at: r.try_get(3)?,
        })
    })
    .transpose()
}

/// Keeps the next occurrences of a recurring task, unless it moved on meanwhile (its due date or
/// rule changed: the write that did it computed its own). Not a change a client sees: `updated_at`
/// stays, so the change trigger does not number it.
pub fn set_next(
    conn: &mut Conn,
    id: i64,
    was: &Stored,
    next: &[DateTime<Utc>],
    ended: bool,
) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE tasks SET next_dues = $4, dues_end = $5
         WHERE id = $1 AND due_at IS NOT DISTINCT FROM $2 AND recurrence IS NOT DISTINCT FROM $3",
        &[&id, &was.due_at, &was.recurrence, &next, &ended],
    )? == 1)
}

/// An open recurring task the caller can see whose next occurrences are unknown (set by plain
/// SQL, or before this version): what they are computed from.
pub fn unplanned(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<Option<Stored>> {
    let row = conn.query_opt(
        "SELECT t.recurrence, t.timezone, t.recurrence_start, t.due_at FROM tasks t
         WHERE t.id = $2 AND t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)
           AND t.recurrence IS NOT NULL AND NOT t.completed
           AND (t.next_dues IS NULL OR (cardinality(t.next_dues) = 0 AND NOT t.dues_end))",
        &[&me.user, &id],
    )?;
    row.map(|r| {
        Ok(Stored {
            recurrence: r.try_get(0)?,
            timezone: r.try_get(1)?,
            start: r.try_get(2)?,
            due_at: r.try_get(3)?,
        })
    })
    .transpose()
}
