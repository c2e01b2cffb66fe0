//! Queries on `tasks`. Every statement filters by the owner's id: that is the isolation rule.

use super::{Conn, DbResult};
use crate::auth::token::Bearer;
use crate::domain::{Description, Title};
use chrono::{DateTime, Utc};
use postgres::Row;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct Task {
    pub id: i64,
    pub user_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    #[serde(serialize_with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Task {
    pub(crate) fn from_row(row: &Row) -> Task {
        Task {
            id: row.get(0),
            user_id: row.get(1),
            title: row.get(2),
            description: row.get(3),
            completed: row.get(4),
            created_at: row.get(5),
            updated_at: row.get(6),
        }
    }
}

/// A position in the list: the `(created_at, id)` of the last task already returned.
pub type Keyset = (DateTime<Utc>, i64);

/// Newest first; `completed` filters when given; `limit` of `None` returns every task. Every
/// statement here also checks the caller's session (`session_ok`), so the common case is one round
/// trip; an empty answer means the session is gone or nothing matched (see `sessions::alive`).
/// The first page of [`list`]: `$1` user, `$2` completed filter (NULL: all), `$3` limit (NULL: all),
/// `$4` session. Public, as the other statements here, so the bench runs the very same SQL.
pub const LIST_SQL: &str =
    "SELECT id, user_id, title, description, completed, created_at, updated_at
     FROM tasks
     WHERE user_id = $1 AND ($2::boolean IS NULL OR completed = $2)
       AND session_ok($1, $4)
     ORDER BY created_at DESC, id DESC
     LIMIT $3";

pub fn list(
    conn: &mut Conn,
    me: &Bearer,
    completed: Option<bool>,
    after: Option<Keyset>,
    limit: Option<i64>,
) -> DbResult<Vec<Task>> {
    let rows = match after {
        None => conn.query(LIST_SQL, &[&me.user, &completed, &limit, &me.session])?,
        Some((created_at, id)) => conn.query(
            "SELECT id, user_id, title, description, completed, created_at, updated_at
             FROM tasks
             WHERE user_id = $1 AND ($2::boolean IS NULL OR completed = $2)
               AND (created_at, id) < ($4, $5) AND session_ok($1, $6)
             ORDER BY created_at DESC, id DESC
             LIMIT $3",
            &[&me.user, &completed, &limit, &created_at, &id, &me.session],
        )?,
    };
    Ok(rows.iter().map(Task::from_row).collect())
}

/// [`create`]: `$1` user, `$2` title, `$3` description, `$4` completed, `$5` session.
pub const CREATE_SQL: &str = "INSERT INTO tasks (user_id, title, description, completed)
     SELECT $1, $2, $3, $4 WHERE session_ok($1, $5)
     RETURNING id, user_id, title, description, completed, created_at, updated_at";

/// `None` when the session is gone.
pub fn create(
    conn: &mut Conn,
    me: &Bearer,
    title: &Title,
    description: Option<&Description>,
    completed: bool,
) -> DbResult<Option<Task>> {
    let row = conn.query_opt(
        CREATE_SQL,
        &[
            &me.user,
            &&**title,
            &description.map(|d| &**d),
            &completed,
            &me.session,
        ],
    )?;
    Ok(row.as_ref().map(Task::from_row))
}

pub fn get(conn: &mut Conn, me: &Bearer, id: i64) -> DbResult<Option<Task>> {
    let row = conn.query_opt(
        "SELECT id, user_id, title, description, completed, created_at, updated_at
         FROM tasks WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)",
        &[&me.user, &id, &me.session],
    )?;
    Ok(row.as_ref().map(Task::from_row))
}

/// `If-Match`: the `updated_at` values the caller's tags name; `None` matches any version. A write
/// statement checks it in its own `WHERE`, so check and change are one step.
pub type Expected<'a> = Option<&'a [DateTime<Utc>]>;

/// Changes only what is given; `description: Some(None)` clears it. `updated_at` always moves forward.
pub fn update(
    conn: &mut Conn,
    me: &Bearer,
    id: i64,
    title: Option<&Title>,
    description: Option<Option<&Description>>,
    completed: Option<bool>,
    expected: Expected,
) -> DbResult<Option<Task>> {
    let row = conn.query_opt(
        "UPDATE tasks SET
             title = COALESCE($3, title),
             description = CASE WHEN $4 THEN $5 ELSE description END,
             completed = COALESCE($6, completed),
             updated_at = greatest(now(), updated_at + interval '1 microsecond')
         WHERE user_id = $1 AND id = $2 AND session_ok($1, $7)
           AND ($8::timestamptz[] IS NULL OR updated_at = ANY($8))
         RETURNING id, user_id, title, description, completed, created_at, updated_at",
        &[
            &me.user,
            &id,
            &title.map(|t| &**t),
            &description.is_some(),
            &description.flatten().map(|d| &**d),
            &completed,
            &me.session,
            &expected,
        ],
    )?;
    Ok(row.as_ref().map(Task::from_row))
}

/// [`toggle`]: `$1` user, `$2` task id, `$3` session, `$4` expected `updated_at` values (NULL: any).
pub const TOGGLE_SQL: &str = "UPDATE tasks SET
         completed = NOT completed,
         updated_at = greatest(now(), updated_at + interval '1 microsecond')
     WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)
       AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))
     RETURNING id, user_id, title, description, completed, created_at, updated_at";

/// One statement, so concurrent toggles serialise on the row lock and none is lost.
pub fn toggle(conn: &mut Conn, me: &Bearer, id: i64, expected: Expected) -> DbResult<Option<Task>> {
    let row = conn.query_opt(TOGGLE_SQL, &[&me.user, &id, &me.session, &expected])?;
    Ok(row.as_ref().map(Task::from_row))
}

pub fn delete(conn: &mut Conn, me: &Bearer, id: i64, expected: Expected) -> DbResult<bool> {
    Ok(conn.execute(
        "DELETE FROM tasks WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)
           AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))",
        &[&me.user, &id, &me.session, &expected],
    )? == 1)
}

/// After a write with `If-Match` changed nothing: does the task exist (412) or not (404)?
pub fn exists(conn: &mut Conn, me: &Bearer, id: i64) -> DbResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM tasks WHERE user_id = $1 AND id = $2",
            &[&me.user, &id],
        )?
        .is_some())
}
