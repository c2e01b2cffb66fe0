//! Sessions: one row per sign-in; deleting it revokes its token on every instance at once.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct Session {
    pub id: Uuid,
    #[serde(serialize_with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::timestamp")]
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// A new session for `user`, valid as long as its token.
pub fn open(
    conn: &mut Conn,
    user: Uuid,
    user_agent: Option<&str>,
    ttl_seconds: i64,
) -> DbResult<Uuid> {
    let id = Uuid::new_v4();
    conn.execute(
        "INSERT INTO sessions (id, user_id, user_agent, expires_at)
         VALUES ($2, $1, $3, now() + make_interval(secs => $4))",
        &[&user, &id, &user_agent, &(ttl_seconds as f64)],
    )?;
    Ok(id)
}

/// Is the caller's session (or, for a token without one, its user) still valid?
pub fn alive(conn: &mut Conn, me: &Caller) -> DbResult<bool> {
    let row = conn.query_one("SELECT session_ok($1, $2)", &[&me.user, &me.session])?;
    Ok(row.get(0))
}

/// The caller's live sessions, newest first; empty when the caller's own session is gone.
pub fn list(conn: &mut Conn, me: &Caller) -> DbResult<Vec<Session>> {
    let rows = conn.query(
        "SELECT id, created_at, last_used_at, user_agent, id = $2 AS current
         FROM sessions
         WHERE user_id = $1 AND expires_at > now() AND session_ok($1, $2)
         ORDER BY created_at DESC, id DESC",
        &[&me.user, &me.session],
    )?;
    Ok(rows
        .iter()
        .map(|r| Session {
            id: r.get(0),
            created_at: r.get(1),
            last_used_at: r.get(2),
            user_agent: r.get(3),
            current: r.get::<_, Option<bool>>(4).unwrap_or(false),
        })
        .collect())
}

/// Revokes one of the user's sessions; `false` when there was no such session.
pub fn revoke(conn: &mut Conn, user: Uuid, id: Uuid) -> DbResult<bool> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND id = $2",
        &[&user, &id],
    )? == 1)
}

/// Revokes every session of the user, and the tokens issued before sessions existed, except
/// `keep` when given. One statement, so no new session can slip between the two.
pub fn revoke_all(conn: &mut Conn, user: Uuid, keep: Option<Uuid>) -> DbResult<()> {
    conn.execute(
        "WITH gone AS (
             DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2
         )
         UPDATE users SET legacy_tokens_revoked = true WHERE id = $1",
        &[&user, &keep],
    )?;
    Ok(())
}

/// Which of `ids` (sessions of `user`) still live, and whether the user's tokens from before
/// sessions still do.
pub fn live(conn: &mut Conn, user: Uuid, ids: &[Uuid]) -> DbResult<(Vec<Uuid>, bool)> {
    let rows = conn.query(
        "SELECT id FROM sessions WHERE user_id = $1 AND id = ANY($2) AND expires_at > now()
         UNION ALL
         SELECT id FROM access_tokens WHERE user_id = $1 AND id = ANY($2)
           AND coalesce(expires_at > now(), true)
         UNION ALL
         SELECT NULL FROM users WHERE id = $1 AND NOT legacy_tokens_revoked",
        &[&user, &ids],
    )?;
    let (mut live, mut legacy) = (Vec::new(), false);
    for row in rows {
        match row.try_get::<_, Option<Uuid>>(0)? {
            Some(id) => live.push(id),
            None => legacy = true,
        }
    }
    Ok((live, legacy))
}

/// Ends the tokens issued before sessions existed; `false` when they were already ended.
pub fn revoke_legacy(conn: &mut Conn, user: Uuid) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE users SET legacy_tokens_revoked = true WHERE id = $1 AND NOT legacy_tokens_revoked",
        &[&user],
    )? == 1)
}

/// `last_used_at` may lag (the contract allows ten minutes): callers touch a session only now and then.
pub fn touch(conn: &mut Conn, user: Uuid, id: Uuid) -> DbResult<()> {
    conn.execute(
        "UPDATE sessions SET last_used_at = now() WHERE user_id = $1 AND id = $2",
        &[&user, &id],
    )?;
    Ok(())
}

pub fn purge_expired(conn: &mut Conn) -> DbResult<u64> {
    conn.execute("DELETE FROM sessions WHERE expires_at <= now()", &[])
}
