//! PostgreSQL: the pool, migrations, the embedded server, and the queries by resource.

pub mod embedded;
pub mod migrate;
pub mod pool;
pub mod tasks;
pub mod users;

pub use pool::{Conn, Pool, Target};

/// RFC 3339 in UTC with microseconds and a `Z`, as the contract shows.
pub fn timestamp<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}
