//! The `PUT` of one task: every field it may change in one statement, filtered by the caller's
//! membership with write access, checked against `If-Match` and the stored schedule in its own
//! `WHERE`, over REST and CalDAV alike.

use super::tasks::{task_columns, write_columns, Expected, Schedule, Stored, TaskRow};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use crate::domain::{Description, DueAt, Priority, Tags, Title};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A change over CalDAV: the object the client sent, when it says the task was completed, and a
/// parent UID not in the list yet.
#[derive(Clone, Copy)]
pub struct DavChange<'a> {
    pub ical: &'a str,
    pub completed_at: Option<DateTime<Utc>>,
    pub pending_parent: Option<&'a str>,
}

/// A `PUT`: `None` leaves a field as it is; for the nullable ones `Some(None)` clears it.
pub struct TaskChange<'a> {
    pub title: Option<&'a Title>,
    pub description: Option<Option<&'a Description>>,
    pub completed: Option<bool>,
    pub priority: Option<Priority>,
    pub due_at: Option<Option<DueAt>>,
    pub tags: Option<&'a Tags>,
    /// Moves the task to this list.
    pub list: Option<Uuid>,
    pub assignee: Option<Option<Uuid>>,
    pub parent: Option<Option<i64>>,
    /// A new schedule, computed from the stored one (`seen`), which must still be the task's.
    pub schedule: Option<(&'a Schedule, &'a Stored)>,
    /// Written over CalDAV (REST keeps the calendar object stored, takes the server's clock for
    /// a completion, and clears a pending parent when it names one).
    pub dav: Option<DavChange<'a>>,
}

/// A completion that moves a recurring task to its next occurrence (the `SET` of a toggle or a
/// `PUT`, over the row as it was; `$6` completed and `$17`/`$18`/`$21` the schedule in a `PUT`).
macro_rules! advances {
    () => {
        "($6 IS TRUE AND NOT completed \
          AND (CASE WHEN $17 THEN $18::text ELSE recurrence END) IS NOT NULL \
          AND cardinality(CASE WHEN $17 THEN $21::timestamptz[] ELSE next_dues END) > 0)"
    };
}

/// The `PUT` statement; `$move` sets the list only when the task moves, because an `UPDATE` that
/// names `list_id` (a column of a unique key) locks the row `FOR UPDATE`, which waits for, and
/// deadlocks with, a subtask's writer holding the row `FOR KEY SHARE` as its parent.
macro_rules! update_sql {
    ($move:expr) => {
        concat!(
                "WITH mine AS (
                     SELECT list_id FROM memberships
                     WHERE user_id = $1 AND (role <> 'viewer' OR NOT $16)
                 )
                 UPDATE tasks t SET
                     title = COALESCE($3, title),
                     description = CASE WHEN $4 THEN $5 ELSE description END,
                     completed = CASE WHEN ",
                advances!(),
                " THEN false ELSE COALESCE($6, completed) END,
                     completed_at = CASE
                         WHEN ",
                advances!(),
                " THEN NULL
                         WHEN completed AND $6 IS TRUE AND $29::timestamptz IS NOT NULL THEN $29
                         WHEN $6 IS NULL OR $6 = completed THEN completed_at
                         WHEN $6 THEN coalesce($29, greatest(clock.now, just_after(updated_at)))
                     END,
                     priority = COALESCE($7, priority),
                     due_at = CASE
                         WHEN ",
                advances!(),
                " THEN (CASE WHEN $17 THEN $21::timestamptz[] ELSE next_dues END)[1]
                         WHEN $8 THEN $9
                         ELSE due_at
                     END,
                     next_dues = CASE
                         WHEN ",
                advances!(),
                " THEN (CASE WHEN $17 THEN $21::timestamptz[] ELSE next_dues END)[2:]
                         WHEN $17 THEN $21::timestamptz[]
                         ELSE next_dues
                     END,
                     last_completed_at = CASE
                         WHEN $6 IS TRUE AND NOT completed
                              AND (CASE WHEN $17 THEN $18::text ELSE recurrence END) IS NOT NULL
                         THEN greatest(clock.now, just_after(updated_at))
                         ELSE last_completed_at
                     END,
                     recurrence = CASE WHEN $17 THEN $18::text ELSE recurrence END,
                     timezone = CASE WHEN $17 THEN $19::text ELSE timezone END,
                     recurrence_start = CASE WHEN $17 THEN $20::timestamptz ELSE recurrence_start END,
                     dues_end = CASE WHEN $17 THEN $22::bool ELSE dues_end END,
                     tags = COALESCE($10, tags),
                     ical = COALESCE($28, ical),
                     pending_parent = CASE WHEN $28::text IS NOT NULL THEN $30::text
                                           WHEN $26 THEN NULL ELSE pending_parent END,
    ",
                $move,
                "                 parent_id = CASE
                         WHEN $26 THEN $27::bigint
                         WHEN COALESCE($13, list_id) <> list_id THEN NULL
                         ELSE parent_id
                     END,
                     assignee_id = CASE
                         WHEN $14 THEN $15
                         WHEN EXISTS (SELECT FROM memberships a
                                      WHERE a.list_id = COALESCE($13, t.list_id)
                                        AND a.user_id = t.assignee_id) THEN assignee_id
                     END,
                     updated_at = greatest(clock.now, just_after(updated_at))
                 FROM (SELECT now() AS now) clock
                 WHERE t.id = $2 AND session_ok($1, $11)
                   AND t.list_id IN (SELECT list_id FROM mine)
                   AND ($13::uuid IS NULL OR EXISTS (SELECT FROM mine WHERE list_id = $13))
                   AND (NOT $14 OR $15::uuid IS NULL OR EXISTS (
                       SELECT FROM memberships a
                       WHERE a.list_id = COALESCE($13, t.list_id) AND a.user_id = $15))
                   AND ($12::timestamptz[] IS NULL OR updated_at = ANY($12))
                   AND (NOT $17 OR (t.recurrence IS NOT DISTINCT FROM $23::text
                                    AND t.timezone = $24::text
                                    AND t.due_at IS NOT DISTINCT FROM $25::timestamptz))
                 RETURNING ",
                task_columns!(),
                write_columns!()
            )
    };
}

/// `updated_at` always moves forward; `completed_at` takes the same instant when the task becomes
/// completed, keeps its value while it stays so, and is cleared when it no longer is. A move needs
/// write access to both lists; an assignee who is not a member of the list the task ends in is
/// refused when named, and cleared when the task moves away from them.
pub fn update(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    c: &TaskChange,
    expected: Expected,
) -> DbResult<Option<TaskRow>> {
    let (new, seen) = (c.schedule.map(|s| s.0), c.schedule.map(|s| s.1));
    let row = conn.query_opt(
        match c.list.is_some() {
            true => update_sql!("list_id = $13,"),
            false => update_sql!(""),
        },
        &[
            &me.user,
            &id,
            &c.title.map(|t| &**t),
            &c.description.is_some(),
            &c.description.flatten().map(|d| &**d),
            &c.completed,
            &c.priority.map(Priority::rank),
            &c.due_at.is_some(),
            &c.due_at.flatten().map(DueAt::utc),
            &c.tags.map(Tags::as_slice),
            &me.session,
            &expected,
            &c.list,
            &c.assignee.is_some(),
            &c.assignee.flatten(),
            &me.writes(),
            &c.schedule.is_some(),
            &new.and_then(|n| n.recurrence.as_deref()),
            &new.map(|n| n.timezone.as_str()),
            &new.and_then(|n| n.start),
            &new.and_then(|n| n.next.as_deref()),
            &new.map(|n| n.ended),
            &seen.and_then(|s| s.recurrence.as_deref()),
            &seen.map(|s| s.timezone.as_str()),
            &seen.and_then(|s| s.due_at),
            &c.parent.is_some(),
            &c.parent.flatten(),
            &c.dav.map(|d| d.ical),
            &c.dav.and_then(|d| d.completed_at),
            &c.dav.and_then(|d| d.pending_parent),
        ],
    )?;
    Ok(me.vouch(row).map(TaskRow::from))
}
