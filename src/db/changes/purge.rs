//! Tombstones and list events past their time, and the horizons they leave.

use crate::db::{Conn, DbResult};

/// Forgets deletions older than `days` and moves each list's (and, for removed lists, each
/// member's) horizon past them. An advisory lock keeps two instances from purging at once (they
/// would only wait on each other's rows).
pub fn purge(conn: &mut Conn, days: i64) -> DbResult<u64> {
    let days = days.clamp(0, i32::MAX as i64) as i32;
    // Two transactions: Citus refuses a write of a reference table (users) after a parallel one
    // of a distributed table (lists) in the same transaction.
    let tasks = purge_alone(conn, |conn| {
        conn.execute(
            "WITH gone AS (
                 DELETE FROM list_tombstones
                 WHERE deleted_at < now() - make_interval(days => $1::int)
                 RETURNING list_id, change_no
             ), horizon AS (
                 SELECT list_id, max(change_no) AS n FROM gone GROUP BY list_id
             )
             UPDATE lists l SET purged_through = greatest(l.purged_through, h.n)
             FROM horizon h WHERE l.id = h.list_id",
            &[&days],
        )
    })?;
    let lists = purge_alone(conn, |conn| {
        conn.execute(
            "WITH gone AS (
                 DELETE FROM list_feed
                 WHERE op IN ('deleted', 'left')
                   AND changed_at < now() - make_interval(days => $1::int)
                 RETURNING owner, change_no
             ), horizon AS (
                 SELECT owner, max(change_no) AS n FROM gone GROUP BY owner
             )
             UPDATE users u SET tombstones_purged_through = greatest(u.tombstones_purged_through, h.n)
             FROM horizon h WHERE u.id = h.owner",
            &[&days],
        )
    })?;
    Ok(tasks + lists)
}

/// `work` in a transaction, unless another instance is purging. The lock is taken apart from the
/// deletions: Citus refuses a VOLATILE function in their WHERE.
fn purge_alone(conn: &mut Conn, work: impl FnOnce(&mut Conn) -> DbResult<u64>) -> DbResult<u64> {
    crate::db::transaction(conn, |conn| {
        let locked = conn.query_one("SELECT pg_try_advisory_xact_lock(1937337955)", &[])?;
        match locked.try_get::<_, bool>(0)? {
            true => work(conn),
            false => Ok(0),
        }
    })
}
