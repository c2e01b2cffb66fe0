//! Queries on one task. Every statement filters by the lists the caller is a member of
//! (`memberships`), with the role the route needs (`Caller::writes`): that is the isolation rule.
//! Every statement also checks the caller's session (`session_ok`), so the common case is one
//! round trip; no row means the session is gone, no task matched, or the role does not allow it
//! (`role_in` tells which). The list is in `task_list`, the tag counts in `tags`, the `PUT` in `task_update`. The SQL texts are
//! public so the bench runs the very same statements.

pub use super::schedule::{Schedule, Stored};
pub use super::task_update::{update, DavChange, TaskChange};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use crate::domain::{Description, DueAt, Priority, Tags, Title};
use chrono::{DateTime, Utc};
use postgres::Row;
use uuid::Uuid;

/// What every task statement returns, in this order (`TaskRow` reads by position). A list in
/// title order adds `title_key` (not shown) for the next page's cursor.
macro_rules! task_columns {
    () => {
        "t.id, t.user_id, t.title, t.description, t.completed, t.created_at, t.updated_at, \
         t.priority, t.due_at, t.tags, t.completed_at, t.list_id, t.assignee_id, t.uid, \
         t.parent_id, t.recurrence, t.timezone, t.last_completed_at"
    };
}

/// After the task's columns: a list in title order adds `title_key`, a write its own columns.
const TITLE_KEY: usize = 18;
const REFILL: usize = 19;
const RULE_START: usize = 20;
const CHANGE_NO: usize = 21;
const MOVED_FROM: usize = 22;

/// A write's extra columns (the first a placeholder where a list puts `title_key`): whether the
/// next occurrences of a recurring task need computing again, the rule's start, the change number
/// the write took in the task's list, and the list it left when it moved (both set by the trigger).
macro_rules! write_columns {
    () => {
        ", NULL, t.recurrence IS NOT NULL AND NOT t.completed \
           AND (t.next_dues IS NULL OR (cardinality(t.next_dues) < 4 AND NOT t.dues_end)), \
           t.recurrence_start, t.change_no, t.moved_from"
    };
}
pub(crate) use {task_columns, write_columns};

/// A task as PostgreSQL sent it. Its JSON is written straight from the row's buffer
/// (`task_json`), so a list of 10,000 tasks is not first copied into 10,000 structs.
pub struct TaskRow(Row, Option<Uuid>);

impl TaskRow {
    pub fn id(&self) -> DbResult<i64> {
        self.0.try_get(0)
    }
    pub fn created_at(&self) -> DbResult<DateTime<Utc>> {
        self.0.try_get(5)
    }
    pub fn updated_at(&self) -> DbResult<DateTime<Utc>> {
        self.0.try_get(6)
    }
    pub fn priority_rank(&self) -> DbResult<i16> {
        self.0.try_get(7)
    }
    pub fn due_at(&self) -> DbResult<Option<DateTime<Utc>>> {
        self.0.try_get(8)
    }
    pub fn list_id(&self) -> DbResult<Uuid> {
        self.0.try_get(11)
    }
    pub(super) fn row(&self) -> &Row {
        &self.0
    }

    /// Only in a list in title order.
    pub fn title_key(&self) -> DbResult<String> {
        self.0.try_get(TITLE_KEY)
    }

    /// Only from a write of one task: its list and the change number the write took there.
    pub fn change(&self) -> DbResult<(Uuid, i64)> {
        Ok((self.list_id()?, self.0.try_get(CHANGE_NO)?))
    }

    /// Only from a write of one task: the list it left, when it moved.
    pub fn moved_from(&self) -> DbResult<Option<Uuid>> {
        Ok(self.1.or(self.0.try_get(MOVED_FROM)?))
    }

    /// The row of a write that moved the task out of `list` before it (a move on Citus).
    pub(super) fn left(row: Row, list: Option<Uuid>) -> TaskRow {
        TaskRow(row, list)
    }

    /// Only from a write of one task: a recurring task whose next occurrences need computing
    /// again, with what they are computed from.
    pub fn refill(&self) -> DbResult<Option<Stored>> {
        if !self.0.try_get::<_, Option<bool>>(REFILL)?.unwrap_or(false) {
            return Ok(None);
        }
        Ok(Some(Stored {
            recurrence: self.0.try_get(15)?,
            timezone: self.0.try_get(16)?,
            start: self.0.try_get(RULE_START)?,
            due_at: self.0.try_get(8)?,
        }))
    }
}

impl From<Row> for TaskRow {
    fn from(row: Row) -> TaskRow {
        TaskRow(row, None)
    }
}

/// The fields of a new task, all checked.
pub struct NewTask<'a> {
    pub title: &'a Title,
    pub description: Option<&'a Description>,
    pub completed: bool,
    pub priority: Priority,
    pub due_at: Option<DueAt>,
    pub tags: &'a Tags,
    /// `None`: the caller's default list.
    pub list: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub parent: Option<i64>,
    pub schedule: &'a Schedule,
    /// Written over CalDAV: what the client sent, and where.
    pub dav: Option<Dav<'a>>,
}

/// A write over CalDAV: the calendar object as the client sent it, its UID, and the name it was
/// put at (`None`: `{uid}.ics`).
#[derive(Clone, Copy)]
pub struct Dav<'a> {
    pub ical: &'a str,
    pub uid: &'a str,
    pub name: Option<&'a str>,
    /// `COMPLETED`, when the client says when.
    pub completed_at: Option<DateTime<Utc>>,
    /// A parent UID not (yet) in the list.
    pub pending_parent: Option<&'a str>,
}

/// [`create`]: `$1` user, `$2` title, `$3` description, `$4` completed, `$5` priority rank, `$6`
/// due, `$7` tags, `$8` session, `$9` list (NULL: the default), `$10` assignee, `$11` writes (the
/// route's need: a viewer may not), `$12` parent, `$13` recurrence, `$14` time zone, `$15` next
/// occurrences, `$16` whether they are the last, `$17` the CalDAV text, `$18` its UID (NULL: a new
/// one), `$19` its name, `$20` when it says the task was completed, `$21` a parent UID not in
/// the list yet.
pub const CREATE_SQL: &str = concat!(
    "WITH target AS (
         SELECT m.list_id FROM memberships m
         WHERE m.user_id = $1 AND (m.role <> 'viewer' OR NOT $11)
           AND m.list_id = coalesce($9, (SELECT id FROM lists WHERE owner_id = $1 AND is_default))
           AND ($10::uuid IS NULL OR EXISTS (
               SELECT FROM memberships a WHERE a.list_id = m.list_id AND a.user_id = $10))
           AND session_ok($1, $8)
     )
     INSERT INTO tasks AS t (user_id, list_id, title, description, completed,
                             priority, due_at, tags, completed_at, assignee_id, parent_id,
                             recurrence, timezone, recurrence_start, next_dues, dues_end,
                             ical, uid, dav_name, pending_parent)
     SELECT $1, list_id, $2, $3, $4, $5, $6::timestamptz, $7,
            CASE WHEN $4 THEN coalesce($20::timestamptz, now()) END, $10, $12,
            $13, $14, CASE WHEN $13::text IS NOT NULL THEN $6::timestamptz END, $15, $16,
            $17, coalesce($18, gen_random_uuid()::text), $19, $21
     FROM target
     RETURNING ",
    task_columns!(),
    write_columns!()
);

/// `None` when the session is gone, or the list or the assignee will not do (`diagnose`).
pub fn create(conn: &mut Conn, me: &Caller, new: &NewTask) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(
        CREATE_SQL,
        &[
            &me.user,
            &&**new.title,
            &new.description.map(|d| &**d),
            &new.completed,
            &new.priority.rank(),
            &new.due_at.map(DueAt::utc),
            &new.tags.as_slice(),
            &me.session,
            &new.list,
            &new.assignee,
            &me.writes(),
            &new.parent,
            &new.schedule.recurrence,
            &new.schedule.timezone,
            &new.schedule.next,
            &new.schedule.ended,
            &new.dav.map(|d| d.ical),
            &new.dav.map(|d| d.uid),
            &new.dav.and_then(|d| d.name),
            &new.dav.and_then(|d| d.completed_at),
            &new.dav.and_then(|d| d.pending_parent),
        ],
    )?;
    Ok(me.vouch(row).map(TaskRow::from))
}

pub fn get(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(
        concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t
             WHERE t.id = $2 AND session_ok($1, $3)
               AND t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)"
        ),
        &[&me.user, &id, &me.session],
    )?;
    Ok(me.vouch(row).map(TaskRow::from))
}

/// `If-Match`: the `updated_at` values the caller's tags name; `None` matches any version. A write
/// statement checks it in its own `WHERE`, so check and change are one step.
pub type Expected<'a> = Option<&'a [DateTime<Utc>]>;

/// A toggle that completes an open recurring task with occurrences left: it moves on instead.
macro_rules! toggle_advances {
    () => {
        "(recurrence IS NOT NULL AND NOT completed AND cardinality(next_dues) > 0)"
    };
}

/// [`toggle`]: `$1` user, `$2` task id, `$3` session, `$4` expected `updated_at` values (NULL: any),
/// `$5` writes (the route's need).
pub const TOGGLE_SQL: &str = concat!(
    "UPDATE tasks t SET
         completed = CASE WHEN ",
    toggle_advances!(),
    " THEN false ELSE NOT completed END,
         completed_at = CASE
             WHEN ",
    toggle_advances!(),
    " THEN NULL
             WHEN NOT completed THEN greatest(clock.now, just_after(updated_at))
         END,
         due_at = CASE WHEN ",
    toggle_advances!(),
    " THEN next_dues[1] ELSE due_at END,
         next_dues = CASE WHEN ",
    toggle_advances!(),
    " THEN next_dues[2:] ELSE next_dues END,
         last_completed_at = CASE
             WHEN recurrence IS NOT NULL AND NOT completed
             THEN greatest(clock.now, just_after(updated_at))
             ELSE last_completed_at
         END,
         updated_at = greatest(clock.now, just_after(updated_at))
     FROM (SELECT now() AS now) clock
     WHERE t.id = $2 AND session_ok($1, $3)
       AND t.list_id IN (
           SELECT list_id FROM memberships WHERE user_id = $1 AND (role <> 'viewer' OR NOT $5))
       AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))
       -- An open recurring task whose next occurrences are not known yet waits for them.
       AND NOT (recurrence IS NOT NULL AND NOT completed
                AND (next_dues IS NULL OR (cardinality(next_dues) = 0 AND NOT dues_end)))
     RETURNING ",
    task_columns!(),
    write_columns!()
);

/// One statement, so concurrent toggles serialise on the row lock and none is lost.
pub fn toggle(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    expected: Expected,
) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(
        TOGGLE_SQL,
        &[&me.user, &id, &me.session, &expected, &me.writes()],
    )?;
    Ok(me.vouch(row).map(TaskRow::from))
}

/// The lists to tell when the task was deleted; `None` when nothing was.
pub fn delete(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    expected: Expected,
) -> DbResult<Option<Vec<Uuid>>> {
    let row = conn.query_opt(
        "DELETE FROM tasks t
         WHERE t.id = $2 AND session_ok($1, $3)
           AND t.list_id IN (
               SELECT list_id FROM memberships WHERE user_id = $1 AND (role <> 'viewer' OR NOT $5))
           AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))
         RETURNING t.list_id",
        &[&me.user, &id, &me.session, &expected, &me.writes()],
    )?;
    me.vouch(row).map(|r| Ok(vec![r.try_get(0)?])).transpose()
}

/// After a write changed nothing: the caller's role in the task's list, `None` when the caller
/// cannot see the task (404); with a role, the write was refused for the role (403) or `If-Match`
/// (412).
pub fn role_in(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<Option<(String, Uuid)>> {
    let row = conn.query_opt(
        "SELECT m.role, t.list_id FROM tasks t
         JOIN memberships m ON m.list_id = t.list_id AND m.user_id = $1
         WHERE t.id = $2",
        &[&me.user, &id],
    )?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}
