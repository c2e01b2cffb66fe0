//! Queries on one task. Every statement filters by the owner's id (`user_id = $1`): that is the
//! isolation rule. Every statement also checks the caller's session (`session_ok`), so the common
//! case is one round trip; no row means the session is gone or no task matched (see
//! `sessions::alive`). The list and the tag counts are in `task_list`. The SQL texts are public so
//! the bench runs the very same statements.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use crate::domain::{Description, DueAt, Priority, Tags, Title};
use chrono::{DateTime, Utc};
use postgres::Row;

/// What every task statement returns, in this order (`TaskRow` reads by position). A list in
/// title order adds `title_key` (not shown) for the next page's cursor.
macro_rules! task_columns {
    () => {
        "id, user_id, title, description, completed, created_at, updated_at, \
         priority, due_at, tags, completed_at"
    };
}
pub(crate) use task_columns;

/// A task as PostgreSQL sent it. Its JSON is written straight from the row's buffer
/// (`task_json`), so a list of 10,000 tasks is not first copied into 10,000 structs.
pub struct TaskRow(Row);

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
    pub(super) fn row(&self) -> &Row {
        &self.0
    }

    /// Only in a list in title order.
    pub fn title_key(&self) -> DbResult<String> {
        self.0.try_get(11)
    }

    /// Only from a write of one task (update, toggle): the change number the write took.
    pub fn change_no(&self) -> DbResult<i64> {
        self.0.try_get(11)
    }
}

impl From<Row> for TaskRow {
    fn from(row: Row) -> TaskRow {
        TaskRow(row)
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
}

/// [`create`]: `$1` user, `$2` title, `$3` description, `$4` completed, `$5` priority rank, `$6`
/// due, `$7` tags, `$8` session.
pub const CREATE_SQL: &str = concat!(
    "INSERT INTO tasks
         (user_id, title, description, completed, priority, due_at, tags, completed_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $4 THEN now() END
     WHERE session_ok($1, $8)
     RETURNING ",
    task_columns!()
);

/// `None` when the session is gone.
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
        ],
    )?;
    Ok(me.vouch(row).map(TaskRow))
}

pub fn get(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(
        concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)"
        ),
        &[&me.user, &id, &me.session],
    )?;
    Ok(me.vouch(row).map(TaskRow))
}

/// `If-Match`: the `updated_at` values the caller's tags name; `None` matches any version. A write
/// statement checks it in its own `WHERE`, so check and change are one step.
pub type Expected<'a> = Option<&'a [DateTime<Utc>]>;

/// A `PUT`: `None` leaves a field as it is; for the nullable ones `Some(None)` clears it.
pub struct TaskChange<'a> {
    pub title: Option<&'a Title>,
    pub description: Option<Option<&'a Description>>,
    pub completed: Option<bool>,
    pub priority: Option<Priority>,
    pub due_at: Option<Option<DueAt>>,
    pub tags: Option<&'a Tags>,
}

/// `updated_at` always moves forward; `completed_at` takes the same instant when the task becomes
/// completed, keeps its value while it stays so, and is cleared when it no longer is.
pub fn update(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    c: &TaskChange,
    expected: Expected,
) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(
        concat!(
            "UPDATE tasks SET
                 title = COALESCE($3, title),
                 description = CASE WHEN $4 THEN $5 ELSE description END,
                 completed = COALESCE($6, completed),
                 completed_at = CASE
                     WHEN $6 IS NULL OR $6 = completed THEN completed_at
                     WHEN $6 THEN greatest(now(), updated_at + interval '1 microsecond')
                 END,
                 priority = COALESCE($7, priority),
                 due_at = CASE WHEN $8 THEN $9 ELSE due_at END,
                 tags = COALESCE($10, tags),
                 updated_at = greatest(now(), updated_at + interval '1 microsecond')
             WHERE user_id = $1 AND id = $2 AND session_ok($1, $11)
               AND ($12::timestamptz[] IS NULL OR updated_at = ANY($12))
             RETURNING ",
            task_columns!(),
            ", change_no"
        ),
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
        ],
    )?;
    Ok(me.vouch(row).map(TaskRow))
}

/// [`toggle`]: `$1` user, `$2` task id, `$3` session, `$4` expected `updated_at` values (NULL: any).
pub const TOGGLE_SQL: &str = concat!(
    "UPDATE tasks SET
         completed = NOT completed,
         completed_at = CASE
             WHEN NOT completed THEN greatest(now(), updated_at + interval '1 microsecond')
         END,
         updated_at = greatest(now(), updated_at + interval '1 microsecond')
     WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)
       AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))
     RETURNING ",
    task_columns!(),
    ", change_no"
);

/// One statement, so concurrent toggles serialise on the row lock and none is lost.
pub fn toggle(
    conn: &mut Conn,
    me: &Caller,
    id: i64,
    expected: Expected,
) -> DbResult<Option<TaskRow>> {
    let row = conn.query_opt(TOGGLE_SQL, &[&me.user, &id, &me.session, &expected])?;
    Ok(me.vouch(row).map(TaskRow))
}

pub fn delete(conn: &mut Conn, me: &Caller, id: i64, expected: Expected) -> DbResult<bool> {
    let deleted = conn.execute(
        "DELETE FROM tasks WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)
           AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))",
        &[&me.user, &id, &me.session, &expected],
    )? == 1;
    me.vouch_if(deleted);
    Ok(deleted)
}

/// After a write with `If-Match` changed nothing: does the task exist (412) or not (404)?
pub fn exists(conn: &mut Conn, me: &Caller, id: i64) -> DbResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM tasks WHERE user_id = $1 AND id = $2",
            &[&me.user, &id],
        )?
        .is_some())
}
