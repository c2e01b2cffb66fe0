//! The changes feed: the tasks changed and the tasks deleted after a change number, the lists that
//! changed or went, and the purge of old tombstones. Change numbers are per user, handed out to
//! every member of a list by the trigger of `sql/0007_lists.sql`.

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

/// A list in a member's feed: `json` (the list object) while the member has it, `None` when it
/// is gone from them (`op` deleted or left).
pub struct ListItem {
    pub id: Uuid,
    pub json: Option<serde_json::Value>,
    pub op: String,
    /// 0 in an initial sync (every current list).
    pub change_no: i64,
}

pub struct Feed {
    /// The user's latest change number in the snapshot that read `items`.
    pub latest: i64,
    /// Tombstones up to this change number are gone: a cursor below it cannot be served.
    pub purged_through: i64,
    /// In change order, at most the `fetch` asked for.
    pub items: Vec<Item>,
    /// The lists changed after `since` (every current one without `since`), in change order; a
    /// reader that stops before the last item keeps those numbered up to where it stopped.
    pub lists: Vec<ListItem>,
}

/// One statement, so one snapshot: every change numbered up to `latest` is committed and visible
/// (see the migrations), so "after `since`, up to `latest`" misses nothing. `$1` user, `$2` since,
/// `$3` rows to fetch, `$4` session, `$5` incremental (tombstones and changed lists; else every
/// current list), `$6` skip the session check (the instance's own listener). The task columns come
/// first, as `TaskRow` reads them (then `KIND`, `CHANGE`, `CREATED`, `LIST`, `OP`); a list's id is
/// in the task's `list_id` column. The user's row comes back as the one row of kind 0 (no row of
/// kind 0: the session is gone).
pub const FEED_SQL: &str = concat!(
    "SELECT * FROM (
    (SELECT ",
    task_columns!(),
    ", 1::smallint AS kind, o.change_no, o.created_no, NULL::text AS list, NULL::text AS op
     FROM task_order o JOIN tasks t ON t.id = o.task_id
     WHERE o.owner = $1 AND o.change_no > $2
     ORDER BY o.change_no LIMIT $3)
    UNION ALL
    (SELECT task_id, user_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, 2::smallint, change_no, NULL, NULL, NULL
     FROM task_tombstones d WHERE user_id = $1 AND change_no > $2 AND $5
       -- Moved out of the reader's lists and back in later: the task itself answers.
       AND NOT EXISTS (SELECT FROM task_order o
                       WHERE o.owner = $1 AND o.task_id = d.task_id AND o.change_no > d.change_no)
     ORDER BY change_no LIMIT $3)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, l.id, NULL, NULL,
           3::smallint, coalesce(f.change_no, 0), NULL, list_json(l, m.role)::text,
           coalesce(f.op, 'created')
    FROM memberships m JOIN lists l ON l.id = m.list_id
    LEFT JOIN list_feed f ON f.owner = m.user_id AND f.list_id = m.list_id
    WHERE m.user_id = $1 AND (NOT $5 OR f.change_no > $2)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, list_id, NULL, NULL,
           4::smallint, change_no, NULL, NULL, op
    FROM list_feed WHERE owner = $1 AND $5 AND change_no > $2 AND op IN ('deleted', 'left')
    UNION ALL
    SELECT NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           0::smallint, change_seq, tombstones_purged_through, NULL, NULL
    FROM users WHERE id = $1 AND ($6 OR session_ok($1, $4))
) feed ORDER BY kind <> 0, change_no"
);

/// Where the feed's own columns stand, after the task's.
const LIST_ID: usize = 11;
const KIND: usize = 14;
const CHANGE: usize = 15;
const CREATED: usize = 16;
const LIST: usize = 17;
const OP: usize = 18;

impl Feed {
    /// How far this answer covers the user's changes, when `fetch` items were asked for: to its
    /// last item when it may have stopped short, else to the latest change.
    pub fn reach(&self, fetch: i64) -> i64 {
        match self.items.last() {
            Some(last) if self.items.len() as i64 >= fetch => last.change_no(),
            _ => self.latest,
        }
    }
}

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
        lists: Vec::new(),
    };
    for row in rows.into_iter().skip(1) {
        let change_no = row.try_get(CHANGE)?;
        match row.try_get::<_, i16>(KIND)? {
            1 => feed.items.push(Item::Changed {
                created_no: row.try_get(CREATED)?,
                task: TaskRow::from(row),
                change_no,
            }),
            2 => feed.items.push(Item::Deleted {
                id: row.try_get(0)?,
                change_no,
            }),
            _ => feed.lists.push(ListItem {
                id: row.try_get(LIST_ID)?,
                json: row
                    .try_get::<_, Option<&str>>(LIST)?
                    .and_then(|j| serde_json::from_str(j).ok()),
                op: row.try_get(OP)?,
                change_no,
            }),
        }
    }
    // Tasks and tombstones were each limited to `fetch`: together they may be twice that.
    feed.items.truncate(fetch.max(0) as usize);
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
         ), lists_gone AS (
             DELETE FROM list_feed
             WHERE op IN ('deleted', 'left')
               AND changed_at < now() - make_interval(days => $1::int)
               AND pg_try_advisory_xact_lock(1937337955)
             RETURNING owner AS user_id, change_no
         ), horizon AS (
             SELECT user_id, max(change_no) AS n
             FROM (SELECT * FROM gone UNION ALL SELECT * FROM lists_gone) g GROUP BY user_id
         )
         UPDATE users u SET tombstones_purged_through = greatest(u.tombstones_purged_through, h.n)
         FROM horizon h WHERE u.id = h.user_id",
        &[&(days.min(i32::MAX as i64) as i32)],
    )
}
