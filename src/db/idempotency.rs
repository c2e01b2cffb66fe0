//! Idempotency keys: the first answer to a `POST` with an `Idempotency-Key`, kept 24 hours per user
//! and key in PostgreSQL, so a retry that lands on another instance is recognised too.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use uuid::Uuid;

pub struct Stored {
    pub request_hash: Vec<u8>,
    pub status: i16,
    pub body: Vec<u8>,
    pub etag: Option<String>,
}

/// Takes the key for the rest of the transaction, or says another request holds it now (in
/// flight: 409). The lock ends with the transaction, so a request that died holds nothing.
pub fn lock(conn: &mut Conn, user: Uuid, key: &str) -> DbResult<bool> {
    let row = conn.query_one(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1::uuid::text || ' ' || $2, 7))",
        &[&user, &key],
    )?;
    row.try_get(0)
}

/// The kept answer for this key, if it is younger than 24 hours (and the session lives: a replay
/// is no way around a revoked token).
pub fn find(conn: &mut Conn, me: &Caller, key: &str) -> DbResult<Option<Stored>> {
    let row = conn.query_opt(
        "SELECT request_hash, status, body, etag FROM idempotency_keys
         WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'
           AND session_ok($1, $3)",
        &[&me.user, &key, &me.session],
    )?;
    me.vouch(row)
        .map(|r| {
            Ok(Stored {
                request_hash: r.try_get(0)?,
                status: r.try_get(1)?,
                body: r.try_get(2)?,
                etag: r.try_get(3)?,
            })
        })
        .transpose()
}

/// Keeps the answer (replacing an expired one under the same key).
pub fn store(conn: &mut Conn, user: Uuid, key: &str, answer: &Stored) -> DbResult<()> {
    conn.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, etag)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, key) DO UPDATE SET
             request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
             body = EXCLUDED.body, etag = EXCLUDED.etag, created_at = EXCLUDED.created_at",
        &[
            &user,
            &key,
            &answer.request_hash,
            &answer.status,
            &answer.body,
            &answer.etag,
        ],
    )?;
    Ok(())
}

pub fn purge_expired(conn: &mut Conn) -> DbResult<u64> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= now() - interval '24 hours'",
        &[],
    )
}
