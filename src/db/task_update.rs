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
    if let (true, Some(to)) = (conn.distributed(), c.list) {
        return super::transaction(conn, |conn| {
            let rest = TaskChange { list: None, ..*c };
            Ok(
                match moved_on_citus(conn, me, id, to, c.assignee, expected)? {
                    Move::Refused => None,
                    Move::Stays => {
                        update_in_place(conn, me, id, &rest, expected)?.map(TaskRow::from)
                    }
                    // A moved task has a new version: `If-Match` was checked by the move.
                    Move::Moved(from) => update_in_place(conn, me, id, &rest, None)?
                        .map(|row| TaskRow::left(row, Some(from))),
                },
            )
        });
    }
    Ok(update_in_place(conn, me, id, c, expected)?.map(TaskRow::from))
}

enum Move {
    /// Not the caller's to move (or not to `to`), not as expected, or to be assigned to someone
    /// who is not a member of `to`: the `PUT` changes nothing, and answers as it would.
    Refused,
    /// Already in `to`.
    Stays,
    /// Moved out of this list.
    Moved(Uuid),
}

/// On Citus a task cannot change its list in place: its list is its shard. The move copies the
/// task and its subtree into `to`, a level at a time so that each parent is there before its
/// children (the root leaves its parent behind, an assignee who is not a member of `to` is
/// cleared), then deletes the old rows, whose triggers leave the tombstones and CalDAV's 404s.
fn moved_on_citus(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    to: Uuid,
    assignee: Option<Option<Uuid>>,
    expected: Expected,
) -> DbResult<Move> {
    let found = conn.query_opt(
        "SELECT t.list_id FROM tasks t
         WHERE t.id = $2 AND session_ok($1, $4)
           AND t.list_id IN (
               SELECT list_id FROM memberships WHERE user_id = $1 AND role <> 'viewer')
           AND EXISTS (SELECT FROM memberships
                       WHERE user_id = $1 AND list_id = $3 AND role <> 'viewer')
           AND ($5::timestamptz[] IS NULL OR t.updated_at = ANY($5))",
        &[&me.user, &id, &to, &me.session, &expected],
    )?;
    let from = match found.map(|r| r.try_get::<_, Uuid>(0)).transpose()? {
        None => return Ok(Move::Refused),
        Some(from) if from == to => return Ok(Move::Stays),
        Some(from) => from,
    };
    conn.execute(
        "SELECT 1 FROM tasks WHERE list_id = $1 AND id = $2 FOR UPDATE",
        &[&from, &id],
    )?;
    // Then the two lists' rows, in id order, as a move in place takes them: two moves between
    // the same lists in opposite directions cannot wait on each other.
    for list in [from.min(to), from.max(to)] {
        conn.execute(
            "SELECT 1 FROM lists WHERE id = $1 FOR NO KEY UPDATE",
            &[&list],
        )?;
    }
    let members: Vec<Uuid> = conn
        .query("SELECT user_id FROM memberships WHERE list_id = $1", &[&to])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if matches!(assignee, Some(Some(a)) if !members.contains(&a)) {
        return Ok(Move::Refused);
    }
    let mut level = vec![id];
    while !level.is_empty() {
        conn.execute(
            "INSERT INTO tasks (id, user_id, title, description, completed, created_at,
                                updated_at, priority, due_at, tags, completed_at, list_id,
                                assignee_id, uid, parent_id, recurrence, timezone,
                                recurrence_start, next_dues, dues_end, last_completed_at, ical,
                                pending_parent)
             SELECT id, user_id, title, description, completed, created_at,
                    greatest(now(), just_after(updated_at)), priority, due_at, tags,
                    completed_at, $2, CASE WHEN assignee_id = ANY($4) THEN assignee_id END,
                    uid, CASE WHEN id = $5 THEN NULL ELSE parent_id END, recurrence, timezone,
                    recurrence_start, next_dues, dues_end, last_completed_at, ical,
                    pending_parent
             FROM tasks WHERE list_id = $1 AND id = ANY($3)",
            &[&from, &to, &level, &members, &id],
        )?;
        level = conn
            .query(
                "SELECT id FROM tasks WHERE list_id = $1 AND parent_id = ANY($2)",
                &[&from, &level],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    }
    conn.execute(
        "DELETE FROM tasks WHERE list_id = $1 AND id = $2",
        &[&from, &id],
    )?;
    Ok(Move::Moved(from))
}

fn update_in_place(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    c: &TaskChange,
    expected: Expected,
) -> DbResult<Option<postgres::Row>> {
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
    Ok(me.vouch(row))
}
