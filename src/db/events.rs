//! Event-stream tickets: one use, short-lived, bound to the user and session that asked for one.
//! Only a hash of the ticket is stored.

use super::{Conn, DbResult};
use crate::auth::token::Bearer;
use uuid::Uuid;

/// `false` when the caller's session is gone.
pub fn issue(conn: &mut Conn, me: &Bearer, hash: &[u8], ttl_seconds: i64) -> DbResult<bool> {
    Ok(conn.execute(
        "INSERT INTO event_tickets (user_id, ticket_hash, session_id, expires_at)
         SELECT $1, $2, $3, now() + make_interval(secs => $4) WHERE session_ok($1, $3)",
        &[&me.user, &hash, &me.session, &(ttl_seconds as f64)],
    )? == 1)
}

/// Uses the ticket up (whatever the answer): `true` when it was unexpired and its session lives.
pub fn redeem(conn: &mut Conn, user: Uuid, hash: &[u8]) -> DbResult<bool> {
    let row = conn.query_opt(
        "DELETE FROM event_tickets WHERE user_id = $1 AND ticket_hash = $2
         RETURNING expires_at > now() AND session_ok(user_id, session_id)",
        &[&user, &hash],
    )?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => false,
    })
}

pub fn purge_expired(conn: &mut Conn) -> DbResult<u64> {
    conn.execute("DELETE FROM event_tickets WHERE expires_at <= now()", &[])
}
