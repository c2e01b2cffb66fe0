//! Event-stream tickets: one use, short-lived, bound to the user and session that asked for one.
//! Only a hash of the ticket is stored.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use uuid::Uuid;

/// `false` when the caller's session is gone.
pub fn issue(conn: &mut Conn, me: &Caller, hash: &[u8], ttl_seconds: i64) -> DbResult<bool> {
    let issued = conn.execute(
        "INSERT INTO event_tickets (user_id, ticket_hash, session_id, expires_at)
         SELECT $1, $2, $3, now() + make_interval(secs => $4) WHERE session_ok($1, $3)",
        &[&me.user, &hash, &me.session, &(ttl_seconds as f64)],
    )? == 1;
    me.vouch_if(issued);
    Ok(issued)
}

/// Uses the ticket up (whatever the answer). When it was unexpired and its session lives: that
/// session (`None` inside for a token from before sessions), which the stream stays bound to.
pub fn redeem(conn: &mut Conn, user: Uuid, hash: &[u8]) -> DbResult<Option<Option<Uuid>>> {
    let row = conn.query_opt(
        "WITH used AS (
             DELETE FROM event_tickets WHERE user_id = $1 AND ticket_hash = $2
             RETURNING user_id, session_id, expires_at
         )
         SELECT expires_at > now() AND session_ok(user_id, session_id), session_id FROM used",
        &[&user, &hash],
    )?;
    match row {
        Some(r) if r.try_get::<_, Option<bool>>(0)? == Some(true) => Ok(Some(r.try_get(1)?)),
        _ => Ok(None),
    }
}

pub fn purge_expired(conn: &mut Conn) -> DbResult<u64> {
    conn.execute("DELETE FROM event_tickets WHERE expires_at <= now()", &[])
}
