//! Personal access tokens: stored by a hash of their secret, listed without it, deleted at once
//! for every instance (each statement's session check reads the table).

use super::{Conn, DbResult};
use crate::auth::caller::{Caller, Token};
use uuid::Uuid;

/// At most this many tokens a user.
pub const MAX_PER_USER: i64 = 50;

/// A live (unexpired) token by the hash of its secret; with `email` (HTTP Basic), only the
/// account's with that e-mail.
pub fn find(conn: &mut Conn, hash: &[u8], email: Option<&str>) -> DbResult<Option<Token>> {
    let row = conn.query_opt(
        "SELECT t.id, t.user_id, t.scope = 'write' FROM access_tokens t
         WHERE t.token_hash = $1 AND coalesce(t.expires_at > now(), true)
           AND ($2::text IS NULL OR EXISTS (
               SELECT FROM users u WHERE u.id = t.user_id AND u.email = $2))",
        &[&hash, &email],
    )?;
    row.map(|r| {
        Ok(Token {
            id: r.try_get(0)?,
            user: r.try_get(1)?,
            writes: r.try_get(2)?,
        })
    })
    .transpose()
}

/// `last_used_at` may lag (by up to ten minutes): the caller touches a token only now and then.
pub fn touch(conn: &mut Conn, id: Uuid) -> DbResult<()> {
    conn.execute(
        "UPDATE access_tokens SET last_used_at = now() WHERE id = $1",
        &[&id],
    )?;
    Ok(())
}

/// A token `t` as the API shows it (never its secret or hash).
macro_rules! token_json {
    () => {
        "json_build_object(
            'id', t.id, 'name', t.name, 'scope', t.scope,
            'created_at', to_char(t.created_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
            'expires_at', to_char(t.expires_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
            'last_used_at', to_char(t.last_used_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
    };
}

pub enum Created {
    /// The token as shown, without its secret.
    Token(serde_json::Value),
    TooMany,
}

/// A new token of the caller's. The user's row is locked first, so two creations cannot both pass
/// the limit.
pub fn create(
    conn: &mut Conn,
    me: &Caller,
    name: &str,
    writes: bool,
    days: Option<i32>,
    hash: &[u8],
) -> DbResult<Option<Created>> {
    super::transaction(conn, |conn| {
        if !super::users::lock_caller(conn, me)? {
            return Ok(None);
        }
        let count = conn.query_one(
            "SELECT count(*) FROM access_tokens WHERE user_id = $1",
            &[&me.user],
        )?;
        if count.try_get::<_, i64>(0)? >= MAX_PER_USER {
            return Ok(Some(Created::TooMany));
        }
        let row = conn.query_one(
            concat!(
                "WITH t AS (
                     INSERT INTO access_tokens (id, user_id, name, scope, token_hash, expires_at)
                     VALUES ($1, $2, $3, CASE WHEN $4 THEN 'write' ELSE 'read' END, $5,
                             now() + make_interval(days => $6::int))
                     RETURNING *
                 )
                 SELECT ",
                token_json!(),
                "::text FROM t"
            ),
            &[&Uuid::new_v4(), &me.user, &name, &writes, &hash, &days],
        )?;
        let json: String = row.try_get(0)?;
        Ok(Some(Created::Token(
            serde_json::from_str(&json).unwrap_or_default(),
        )))
    })
}

/// The caller's tokens, newest first, as a JSON array.
pub fn list(conn: &mut Conn, me: &Caller) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        concat!(
            "SELECT (SELECT coalesce(json_agg(",
            token_json!(),
            " ORDER BY t.created_at DESC, t.id), '[]')::text
                     FROM access_tokens t WHERE t.user_id = u.id)
             FROM users u WHERE u.id = $1 AND session_ok($1, $2)"
        ),
        &[&me.user, &me.session],
    )?;
    me.vouch(row)
        .map(|r| r.try_get::<_, String>(0).map(String::into_bytes))
        .transpose()
}

/// `false` when the caller has no such token.
pub fn delete(conn: &mut Conn, me: &Caller, id: Uuid) -> DbResult<bool> {
    let gone = conn.execute(
        "DELETE FROM access_tokens WHERE user_id = $1 AND id = $2 AND session_ok($1, $3)",
        &[&me.user, &id, &me.session],
    )? == 1;
    me.vouch_if(gone);
    Ok(gone)
}
