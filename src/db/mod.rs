//! PostgreSQL: the pool, migrations, the embedded server, and the queries by resource.

pub mod changes;
pub mod dav;
pub mod embedded;
pub mod events;
pub mod idempotency;
pub mod invitations;
pub mod lists;
pub mod migrate;
mod pg_time;
pub mod pool;
pub mod schedule;
pub mod sessions;
pub mod tags;
mod target;
pub mod task_json;
pub mod task_list;
mod task_query;
mod task_update;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use pg_time::PgMicros;
pub use pool::{Conn, Pool};
pub use target::{PoolLimits, Target};

/// The SQL layer's error is PostgreSQL's own; the HTTP layer decides what a client is told.
pub type DbResult<T> = Result<T, postgres::Error>;

/// Runs `work` in a transaction: committed when it returns `Ok`, rolled back otherwise, and also
/// when it panics (the guard), so no pooled connection is handed on inside a transaction.
pub fn transaction<T, E: From<postgres::Error>>(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E> {
    struct Open<'a>(&'a mut Conn, bool);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let _ = self.0.client.batch_execute("ROLLBACK");
            }
        }
    }
    conn.client.batch_execute("BEGIN")?;
    let mut open = Open(conn, false);
    let result = work(open.0)?;
    open.0.client.batch_execute("COMMIT")?;
    open.1 = true;
    Ok(result)
}

/// The unique or foreign-key constraint a statement broke, if any.
/// On Citus a shard's copy of a constraint carries the shard's id (`users_email_key_102008`): the
/// name is the schema's, without it.
pub fn constraint(e: &postgres::Error) -> Option<&str> {
    let name = e.as_db_error()?.constraint()?;
    Some(match name.rsplit_once('_') {
        Some((base, shard)) if !shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => name,
    })
}

/// RFC 3339 in UTC with microseconds and a `Z`, as the contract shows (the task JSON's own writer).
pub fn timestamp<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut out = Vec::with_capacity(27);
    PgMicros::from(*t).write(&mut out);
    s.serialize_str(&String::from_utf8_lossy(&out))
}
