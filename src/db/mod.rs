//! PostgreSQL: the pool, migrations, the embedded server, and the queries by resource.

pub mod changes;
pub mod embedded;
pub mod events;
pub mod idempotency;
pub mod migrate;
mod pg_time;
pub mod pool;
pub mod sessions;
pub mod task_json;
pub mod task_list;
pub mod tasks;
pub mod throttle;
pub mod users;

pub use pg_time::PgMicros;
pub use pool::{Conn, Pool, Target};

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
pub fn constraint(e: &postgres::Error) -> Option<&str> {
    e.as_db_error().and_then(|d| d.constraint())
}

/// RFC 3339 in UTC with microseconds and a `Z`, as the contract shows.
pub fn timestamp<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 27];
    match format_timestamp(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` without allocating: a list of 10,000 tasks formats 20,000 of
/// these, and chrono's general formatter was a large share of that response's time. Years outside
/// 0..=9999 (which PostgreSQL can hold) take chrono's path.
fn format_timestamp<'a>(
    t: &chrono::DateTime<chrono::Utc>,
    buf: &'a mut [u8; 27],
) -> Option<&'a str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let micros = (t.nanosecond() / 1000).min(999_999);
    let fields: [(u32, usize, usize); 7] = [
        (year, 0, 4),
        (t.month(), 5, 2),
        (t.day(), 8, 2),
        (t.hour(), 11, 2),
        (t.minute(), 14, 2),
        (t.second(), 17, 2),
        (micros, 20, 6),
    ];
    for (value, at, width) in fields {
        let mut v = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        buf[at] = sep;
    }
    std::str::from_utf8(buf).ok()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, SecondsFormat};

    #[test]
    fn timestamps_match_chronos_rfc3339_with_microseconds() {
        for micros in [
            0,
            1,
            1_767_873_600_123_456,
            253_402_300_799_999_999,
            -1,
            951_782_400_000_001,
        ] {
            let t = DateTime::from_timestamp_micros(micros).unwrap();
            let mut buf = [0u8; 27];
            let expected = t.to_rfc3339_opts(SecondsFormat::Micros, true);
            match super::format_timestamp(&t, &mut buf) {
                Some(text) => assert_eq!(text, expected),
                None => panic!("{expected} not formatted"),
            }
        }
    }
}
