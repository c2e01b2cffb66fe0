//! The changes feed: the tasks changed and the tasks deleted after a member's position in each of
//! their lists, the lists that changed or went, and the purge of old tombstones. Tasks are
//! numbered per list, lists themselves per member, by the triggers of
//! `sql/0011_per_list_numbering.sql`.

use super::tasks::{task_columns, TaskRow};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use uuid::Uuid;

mod mark;
mod parts;
mod purge;

pub use mark::Mark;
pub use purge::purge;

/// The lists of the user `$1` and their numbers, as two arrays in list id order (`ids`, `seqs`).
macro_rules! held_numbers {
    () => {
        "SELECT coalesce(array_agg(l.id ORDER BY l.id), '{}') AS ids,
                coalesce(array_agg(l.change_seq ORDER BY l.id), '{}') AS seqs
         FROM memberships m JOIN lists l ON l.id = m.list_id WHERE m.user_id = $1"
    };
}
pub(crate) use held_numbers;

pub enum Item {
    Changed {
        task: TaskRow,
        list: Uuid,
        change_no: i64,
        /// The change that brought the task into its list: after the client's position means
        /// "created".
        created_no: i64,
    },
    Deleted {
        id: i64,
        list: Uuid,
        change_no: i64,
    },
}

impl Item {
    pub fn change_no(&self) -> i64 {
        match self {
            Item::Changed { change_no, .. } | Item::Deleted { change_no, .. } => *change_no,
        }
    }

    pub fn list(&self) -> Uuid {
        match self {
            Item::Changed { list, .. } | Item::Deleted { list, .. } => *list,
        }
    }
}

/// A list in a member's feed: `json` (the list object) while the member has it, `None` when it
/// is gone from them (`op` deleted or left).
pub struct ListItem {
    pub id: Uuid,
    pub json: Option<serde_json::Value>,
    pub op: String,
    /// The member's number; 0 in an initial sync (every current list).
    pub change_no: i64,
}

/// A list the reader holds, as of the feed's snapshot.
pub struct Held {
    pub id: Uuid,
    pub seq: i64,
    /// Its tombstones up to this number are gone: a position below it cannot be served.
    pub purged_through: i64,
}

pub struct Feed {
    /// The member's own number in the snapshot that read the rest.
    pub user: i64,
    /// Removed lists up to this number of the member's are forgotten.
    pub user_purged: i64,
    /// Sorted by id.
    pub held: Vec<Held>,
    /// By list, then in change order; at most the `fetch` asked for.
    pub items: Vec<Item>,
    /// The lists changed after the member's number (every current one in an initial sync).
    pub lists: Vec<ListItem>,
}

/// One statement, so one snapshot: every change numbered up to a list's number is committed and
/// visible (the list's row lock orders its writes), so "after the position, up to the numbers
/// read" misses nothing. `$1` user, `$2` the member's number, `$3`/`$4` the lists and numbers of
/// the position, `$5` rows to fetch, `$6` session, `$7` incremental (tombstones and changed
/// lists; else every current list), `$8` skip the session check (the instance's own listener).
/// The task columns come first, as `TaskRow` reads them (then `KIND`, `CHANGE`, `CREATED`,
/// `LIST`, `OP`); a list's id is in the task's `list_id` column. The user's row comes back as the
/// one row of kind 0 (none: the session is gone), each list held as a row of kind 5.
pub const FEED_SQL: &str = concat!(
    "WITH held AS MATERIALIZED (
    SELECT m.list_id, m.role, l.change_seq, l.purged_through, k.n AS since
    FROM memberships m JOIN lists l ON l.id = m.list_id
    LEFT JOIN unnest($3::uuid[], $4::bigint[]) AS k (list_id, n) ON k.list_id = m.list_id
    WHERE m.user_id = $1
)
SELECT * FROM (
    (SELECT ",
    task_columns!(),
    ", 1::smallint AS kind, c.change_no, c.created_no, NULL::text AS list, NULL::text AS op
     FROM held h
     -- Each list read from its position on (whatever the plan guesses of the positions).
     CROSS JOIN LATERAL (
         SELECT * FROM list_changes c
         WHERE c.list_id = h.list_id AND c.change_no > coalesce(h.since, 0)
         ORDER BY c.change_no LIMIT $5
     ) c
     JOIN tasks t ON t.list_id = c.list_id AND t.id = c.task_id
     ORDER BY c.list_id, c.change_no LIMIT $5)
    UNION ALL
    (SELECT d.task_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, d.list_id, NULL,
            NULL, NULL, NULL, NULL, NULL, 2::smallint, d.change_no, NULL, NULL, NULL
     FROM held h
     CROSS JOIN LATERAL (
         SELECT * FROM list_tombstones d
         WHERE d.list_id = h.list_id AND d.change_no > h.since
         ORDER BY d.change_no LIMIT $5
     ) d
     -- Moved to another of the reader's lists: the task itself answers.
     WHERE $7 AND NOT EXISTS (SELECT FROM tasks t JOIN held h2 ON h2.list_id = t.list_id
                              WHERE t.id = d.task_id)
     ORDER BY d.list_id, d.change_no LIMIT $5)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, l.id, NULL, NULL,
           NULL, NULL, NULL, NULL, 3::smallint, coalesce(f.change_no, 0), NULL, list_json(l.id, h.role)::text,
           coalesce(f.op, 'created')
    FROM held h JOIN lists l ON l.id = h.list_id
    LEFT JOIN list_feed f ON f.owner = $1 AND f.list_id = h.list_id
    WHERE NOT $7 OR f.change_no > $2
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, list_id, NULL, NULL,
           NULL, NULL, NULL, NULL, 4::smallint, change_no, NULL, NULL, op
    FROM list_feed WHERE owner = $1 AND $7 AND change_no > $2 AND op IN ('deleted', 'left')
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, list_id, NULL, NULL,
           NULL, NULL, NULL, NULL, 5::smallint, change_seq, purged_through, NULL, NULL
    FROM held
    UNION ALL
    SELECT NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, 0::smallint, change_seq, tombstones_purged_through, NULL, NULL
    FROM users WHERE id = $1 AND ($8 OR session_ok($1, $6))
) feed ORDER BY kind <> 0"
);

/// Where the feed's own columns stand, after the task's.
const LIST_ID: usize = 11;
const KIND: usize = 18;
const CHANGE: usize = 19;
const CREATED: usize = 20;
const LIST: usize = 21;
const OP: usize = 22;

impl Feed {
    /// Items by list and number, at most `fetch` (tasks and tombstones were each read up to
    /// `fetch`: together they may be twice that); lists held by id, list events in order.
    fn ordered(mut self, fetch: i64) -> Feed {
        self.items.sort_by_key(|i| (i.list(), i.change_no()));
        self.items.truncate(fetch.max(0) as usize);
        self.held.sort_by_key(|h| h.id);
        self.lists.sort_by_key(|l| l.change_no);
        self
    }

    /// `since` lost tombstones it would need: the client must read everything again.
    pub fn expired(&self, since: &Mark) -> bool {
        since.user < self.user_purged
            || self
                .held
                .iter()
                .any(|h| since.get(h.id).is_some_and(|n| n < h.purged_through))
    }

    /// Did this answer, asked for `fetch` items, stop short of the latest change?
    pub fn stopped_short(&self, fetch: i64) -> bool {
        self.items.len() as i64 >= fetch
    }

    /// How far this answer covers the member's changes, when `fetch` items were asked for after
    /// `since`.
    pub fn reach(&self, since: &Mark, fetch: i64) -> Mark {
        let stop = self.items.last().filter(|_| self.stopped_short(fetch));
        self.position(since, stop.map(|i| (i.list(), i.change_no())))
    }

    /// Where a reader stands who had `since` and then this answer's items up to `stop` (a list
    /// and number; `None`: all of them): the lists before `stop`'s are read to their number, its
    /// list to `stop`, the lists after it not at all.
    pub fn position(&self, since: &Mark, stop: Option<(Uuid, i64)>) -> Mark {
        let lists = self.held.iter().filter_map(|h| match stop {
            Some((list, n)) if h.id == list => Some((h.id, n)),
            Some((list, _)) if h.id > list => since.get(h.id).map(|n| (h.id, n)),
            _ => Some((h.id, h.seq)),
        });
        Mark {
            user: self.user.max(since.user),
            lists: lists.collect(),
        }
    }
}

/// Who reads the feed: a caller whose session the statement checks, or this instance itself (the
/// listener and a stream's replay, whose ticket was checked when it opened).
pub enum Reader<'a> {
    Caller(&'a Caller),
    Instance(Uuid),
}

impl Reader<'_> {
    /// The user whose feed it is, the session to check, and whether to skip the check.
    fn who(&self) -> (Uuid, Option<Uuid>, bool) {
        match self {
            Reader::Caller(me) => (me.user, me.session, false),
            Reader::Instance(user) => (*user, None, true),
        }
    }
}

/// `None` when the caller's session is gone (or, for the instance, the user). `since` of `None`:
/// an initial sync (every current task and list, no tombstones).
pub fn feed(
    conn: &mut Conn,
    reader: Reader,
    since: Option<&Mark>,
    fetch: i64,
) -> DbResult<Option<Feed>> {
    let feed = match conn.distributed() {
        true => parts::feed(conn, &reader, since, fetch)?,
        false => in_one(conn, &reader, since, fetch)?,
    };
    if let (Some(_), Reader::Caller(me)) = (&feed, reader) {
        me.vouch_if(true);
    }
    Ok(feed.map(|f| f.ordered(fetch)))
}

/// The feed as [`FEED_SQL`] reads it, in one statement.
fn in_one(
    conn: &mut Conn,
    reader: &Reader,
    since: Option<&Mark>,
    fetch: i64,
) -> DbResult<Option<Feed>> {
    let (user, session, internal) = reader.who();
    let start = since.cloned().unwrap_or_default();
    let (lists, numbers): (Vec<Uuid>, Vec<i64>) = start.lists.iter().copied().unzip();
    let rows = conn.query(
        FEED_SQL,
        &[
            &user,
            &start.user,
            &lists,
            &numbers,
            &fetch,
            &session,
            &since.is_some(),
            &internal,
        ],
    )?;
    let Some(head) = rows
        .first()
        .filter(|r| r.try_get::<_, i16>(KIND).ok() == Some(0))
    else {
        return Ok(None);
    };
    let mut feed = Feed {
        user: head.try_get(CHANGE)?,
        user_purged: head.try_get(CREATED)?,
        held: Vec::new(),
        items: Vec::with_capacity(rows.len() - 1),
        lists: Vec::new(),
    };
    for row in rows.into_iter().skip(1) {
        let change_no = row.try_get(CHANGE)?;
        let list = row.try_get::<_, Option<Uuid>>(LIST_ID)?;
        match (row.try_get::<_, i16>(KIND)?, list) {
            (1, Some(list)) => feed.items.push(Item::Changed {
                created_no: row.try_get(CREATED)?,
                task: TaskRow::from(row),
                list,
                change_no,
            }),
            (2, Some(list)) => feed.items.push(Item::Deleted {
                id: row.try_get(0)?,
                list,
                change_no,
            }),
            (5, Some(id)) => feed.held.push(Held {
                id,
                seq: change_no,
                purged_through: row.try_get(CREATED)?,
            }),
            (_, Some(id)) => feed.lists.push(ListItem {
                id,
                json: list_object(row.try_get(LIST)?),
                op: row.try_get(OP)?,
                change_no,
            }),
            (_, None) => {}
        }
    }
    Ok(Some(feed))
}

/// A list object as the feed's statements send it.
fn list_object(text: Option<&str>) -> Option<serde_json::Value> {
    text.and_then(|j| serde_json::from_str(j).ok())
}

/// The member's position now: their number and every list's they hold (where a new stream
/// starts).
pub fn latest(conn: &mut Conn, user: Uuid) -> DbResult<Option<Mark>> {
    let row = conn.query_opt(
        concat!(
            "SELECT u.change_seq, h.ids, h.seqs FROM users u, (",
            held_numbers!(),
            ") h WHERE u.id = $1"
        ),
        &[&user],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (lists, numbers): (Vec<Uuid>, Vec<i64>) = (row.try_get(1)?, row.try_get(2)?);
    Ok(Some(Mark::new(
        row.try_get(0)?,
        lists.into_iter().zip(numbers),
    )))
}
