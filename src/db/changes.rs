//! The changes feed: the tasks changed and the tasks deleted after a change number, and the purge
//! of old tombstones. Change numbers are handed out by the trigger of `sql/0004_sync.sql`.

use super::tasks::{task_columns, TaskRow};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use uuid::Uuid;

pub enum Item {
    Changed {
        task: TaskRow,
        change_no: i64,
        /// The change that created the task: later than the client's cursor means "created".
        created_no: i64,
    },
    Deleted {
        id: i64,
        change_no: i64,
    },
}

impl Item {
    pub fn change_no(&self) -> i64 {
        match self {
            Item::Changed { change_no, .. } | Item::Deleted { change_no, .. } => *change_no,
        }
    }
}

pub struct Feed {
    /// The user's latest change number in the snapshot that read `items`.
    pub latest: i64,
    /// Tombstones up to this change number are gone: a cursor below it cannot be served.
    pub purged_through: i64,
    /// In change order, at most the `fetch` asked for.
    pub items: Vec<Item>,
}

/// One statement, so one snapshot: every change numbered up to `latest` is committed and visible
/// (see the migration), so "after `since`, up to `latest`" misses nothing. `$1` user, `$2` since,
/// `$3` rows to fetch, `$4` session, `$5` include tombstones, `$6` skip the session check (the
/// instance's own listener). The task columns come first, as `TaskRow` reads them (then `KIND`,
/// `CHANGE`, `CREATED`); the user's row comes back as the one row of kind 0 (no row of kind 0: the
/// session is gone).
pub const FEED_SQL: &str = concat!(
    "SELECT * FROM (
    (SELECT ",
    task_columns!(),
    ", 1::smallint AS kind, o.change_no, created_no
     FROM task_order o JOIN tasks ON user_id = o.owner AND id = o.task_id
     WHERE o.owner = $1 AND user_id = $1 AND o.change_no > $2
     ORDER BY o.change_no LIMIT $3)
    UNION ALL
    (SELECT task_id, user_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            2::smallint, change_no, NULL
     FROM task_tombstones WHERE user_id = $1 AND change_no > $2 AND $5
     ORDER BY change_no LIMIT $3)
    UNION ALL
    SELECT NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0::smallint, change_seq,
           tombstones_purged_through
    FROM users WHERE id = $1 AND ($6 OR session_ok($1, $4))
) feed ORDER BY kind <> 0, change_no LIMIT $3 + 1"
);

/// Where the feed's own columns stand, after the task's.
const KIND: usize = 11;
const CHANGE: usize = 12;
const CREATED: usize = 13;

/// Who reads the feed: a caller whose session the statement checks, or this instance itself (the
/// listener and a stream's replay, whose ticket was checked when it opened).
pub enum Reader<'a> {
    Caller(&'a Caller),
    Instance(Uuid),
}

/// `None` when the caller's session is gone (or, for the instance, the user).
pub fn feed(
    conn: &mut Conn,
    reader: Reader,
    since: i64,
    fetch: i64,
    tombstones: bool,
) -> DbResult<Option<Feed>> {
    let (user, session, internal) = match &reader {
        Reader::Caller(me) => (me.user, me.session, false),
        Reader::Instance(user) => (*user, None, true),
    };
    let rows = conn.query(
        FEED_SQL,
        &[&user, &since, &fetch, &session, &tombstones, &internal],
    )?;
    let Some(head) = rows
        .first()
        .filter(|r| r.try_get::<_, i16>(KIND).ok() == Some(0))
    else {
        return Ok(None);
    };
    if let Reader::Caller(me) = reader {
        me.vouch_if(true);
    }
    let mut feed = Feed {
        latest: head.try_get(CHANGE)?,
        purged_through: head.try_get(CREATED)?,
        items: Vec::with_capacity(rows.len() - 1),
    };
    for row in rows.into_iter().skip(1) {
        let change_no = row.try_get(CHANGE)?;
        feed.items.push(match row.try_get::<_, i16>(KIND)? {
            1 => Item::Changed {
                created_no: row.try_get(CREATED)?,
                task: TaskRow::from(row),
                change_no,
            },
            _ => Item::Deleted {
                id: row.try_get(0)?,
                change_no,
            },
        });
    }
    Ok(Some(feed))
}

/// The user's latest change number (the listener's starting point for a new stream).
pub fn latest(conn: &mut Conn, user: Uuid) -> DbResult<Option<i64>> {
    let row = conn.query_opt("SELECT change_seq FROM users WHERE id = $1", &[&user])?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Forgets deletions older than `days` and moves each user's horizon past them. An advisory lock
/// keeps two instances from purging at once (they would only wait on each other's rows).
pub fn purge(conn: &mut Conn, days: i64) -> DbResult<u64> {
    conn.execute(
        "WITH gone AS (
             DELETE FROM task_tombstones
             WHERE deleted_at < now() - make_interval(days => $1::int)
               AND pg_try_advisory_xact_lock(1937337955)
             RETURNING user_id, change_no
         ), horizon AS (
             SELECT user_id, max(change_no) AS n FROM gone GROUP BY user_id
         )
         UPDATE users u SET tombstones_purged_through = greatest(u.tombstones_purged_through, h.n)
         FROM horizon h WHERE u.id = h.user_id",
        &[&(days.min(i32::MAX as i64) as i32)],
    )
}
