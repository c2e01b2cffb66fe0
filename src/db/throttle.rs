//! Attempt counters in fixed windows, shared by every instance: one row per key, expired rows purged.

use super::{Conn, DbResult};

/// One key's count after an attempt, and the seconds until its window resets.
pub struct Count {
    pub key: String,
    pub hits: i32,
    pub resets_in: i64,
}

/// Counts one attempt against each key, in one statement.
pub fn charge(conn: &mut Conn, keys: &[&str], window_seconds: i64) -> DbResult<Vec<Count>> {
    let rows = conn.query(
        "INSERT INTO auth_throttle AS t (key, hits, reset_at)
         SELECT k, 1, now() + make_interval(secs => $2) FROM unnest($1::text[]) AS k
         ON CONFLICT (key) DO UPDATE SET
             hits = CASE WHEN t.reset_at <= now() THEN 1 ELSE t.hits + 1 END,
             reset_at = CASE WHEN t.reset_at <= now() THEN excluded.reset_at ELSE t.reset_at END
         RETURNING key, hits, ceil(extract(epoch FROM reset_at - now()))::bigint",
        &[&keys, &(window_seconds as f64)],
    )?;
    Ok(rows
        .iter()
        .map(|r| Count {
            key: r.get(0),
            hits: r.get(1),
            resets_in: r.get(2),
        })
        .collect())
}

/// After a success: forget `clear`, and give back the attempt charged to `refund`.
pub fn settle(conn: &mut Conn, clear: &str, refund: &str) -> DbResult<()> {
    conn.execute(
        "WITH cleared AS (DELETE FROM auth_throttle WHERE key = $1)
         UPDATE auth_throttle SET hits = hits - 1 WHERE key = $2 AND hits > 0",
        &[&clear, &refund],
    )?;
    Ok(())
}

pub fn purge_expired(conn: &mut Conn) -> DbResult<u64> {
    conn.execute("DELETE FROM auth_throttle WHERE reset_at <= now()", &[])
}
