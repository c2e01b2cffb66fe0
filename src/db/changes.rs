//! The changes feed: the tasks changed and the tasks deleted after a member's position in each of
//! their lists, the lists that changed or went, and the purge of old tombstones. Tasks are
//! numbered per list, lists themselves per member, by the triggers of
//! `sql/0011_per_list_numbering.sql`.

use super::tasks::{task_columns, TaskRow};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use uuid::Uuid;

/// The lists of the user `$1` and their numbers, as two arrays in list id order (`ids`, `seqs`).
macro_rules! held_numbers {
    () => {
        "SELECT coalesce(array_agg(l.id ORDER BY l.id), '{}') AS ids,
                coalesce(array_agg(l.change_seq ORDER BY l.id), '{}') AS seqs
         FROM memberships m JOIN lists l ON l.id = m.list_id WHERE m.user_id = $1"
    };
}
pub(crate) use held_numbers;

/// Where a client stands: the member's own number (changes of their lists themselves) and, for
/// each list it knows, the list's number up to which it has every change. A list it does not
/// know (joined since, or never read) comes whole, as created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub user: i64,
    /// Sorted by list id.
    pub lists: Vec<(Uuid, i64)>,
}

impl Mark {
    pub fn get(&self, list: Uuid) -> Option<i64> {
        self.lists
            .binary_search_by_key(&list, |(l, _)| *l)
            .ok()
            .map(|i| self.lists[i].1)
    }

    pub fn set(&mut self, list: Uuid, n: i64) {
        match self.lists.binary_search_by_key(&list, |(l, _)| *l) {
            Ok(i) => self.lists[i].1 = n,
            Err(i) => self.lists.insert(i, (list, n)),
        }
    }

    /// A position from its parts in any order, the later of two for one list.
    pub fn new(user: i64, lists: impl IntoIterator<Item = (Uuid, i64)>) -> Mark {
        let mut lists: Vec<(Uuid, i64)> = lists.into_iter().collect();
        lists.sort_unstable_by(|(l, n), (m, k)| l.cmp(m).then(k.cmp(n)));
        lists.dedup_by_key(|(l, _)| *l);
        Mark { user, lists }
    }

    /// Is a change numbered `n` in `list` after this position?
    pub fn before(&self, list: Uuid, n: i64) -> bool {
        self.get(list).is_none_or(|at| n > at)
    }

    /// The user's number plus every list's: a list cache's version (see `list_cache`).
    pub fn sum(&self) -> i64 {
        self.lists
            .iter()
            .fold(self.user, |sum, (_, n)| sum.wrapping_add(*n))
    }

    /// The later of the two numbers of each list (and of the member's).
    pub fn merge(&mut self, other: &Mark) {
        self.user = self.user.max(other.user);
        for (list, n) in &other.lists {
            if self.before(*list, *n) {
                self.set(*list, *n);
            }
        }
    }

    /// The oldest of two positions: what a reader for both must read from (a list one of them
    /// does not know is read whole).
    pub fn min(&self, other: &Mark) -> Mark {
        let lists = self
            .lists
            .iter()
            .filter_map(|(l, n)| Some((*l, (*n).min(other.get(*l)?))));
        Mark {
            user: self.user.min(other.user),
            lists: lists.collect(),
        }
    }
}

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

/// `None` when the caller's session is gone (or, for the instance, the user). `since` of `None`:
/// an initial sync (every current task and list, no tombstones).
pub fn feed(
    conn: &mut Conn,
    reader: Reader,
    since: Option<&Mark>,
    fetch: i64,
) -> DbResult<Option<Feed>> {
    let (user, session, internal) = match &reader {
        Reader::Caller(me) => (me.user, me.session, false),
        Reader::Instance(user) => (*user, None, true),
    };
    if conn.distributed() {
        return feed_in_parts(conn, reader, since, fetch);
    }
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
    if let Reader::Caller(me) = reader {
        me.vouch_if(true);
    }
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
                json: row
                    .try_get::<_, Option<&str>>(LIST)?
                    .and_then(|j| serde_json::from_str(j).ok()),
                op: row.try_get(OP)?,
                change_no,
            }),
            (_, None) => {}
        }
    }
    feed.items.sort_by_key(|i| (i.list(), i.change_no()));
    // Tasks and tombstones were each limited to `fetch`: together they may be twice that.
    feed.items.truncate(fetch.max(0) as usize);
    feed.held.sort_by_key(|h| h.id);
    feed.lists.sort_by_key(|l| l.change_no);
    Ok(Some(feed))
}

/// On Citus, [`FEED_SQL`] in parts, each on one shard or on reference tables only: Citus cannot
/// plan the one statement. The member's number and the lists' numbers are read first, and every
/// part after them is bounded by them: a list's numbers commit in order (its row's lock), so each
/// change up to a number read is committed and seen by the statements that follow, and none past
/// it is served.
fn feed_in_parts(
    conn: &mut Conn,
    reader: Reader,
    since: Option<&Mark>,
    fetch: i64,
) -> DbResult<Option<Feed>> {
    let (user, session, internal) = match &reader {
        Reader::Caller(me) => (me.user, me.session, false),
        Reader::Instance(user) => (*user, None, true),
    };
    let head = conn.query_opt(
        "SELECT change_seq, tombstones_purged_through FROM users
         WHERE id = $1 AND ($3 OR session_ok($1, $2))",
        &[&user, &session, &internal],
    )?;
    let Some(head) = head else {
        return Ok(None);
    };
    if let Reader::Caller(me) = reader {
        me.vouch_if(true);
    }
    let mut feed = Feed {
        user: head.try_get(0)?,
        user_purged: head.try_get(1)?,
        held: Vec::new(),
        items: Vec::new(),
        lists: Vec::new(),
    };
    let held = conn.query(
        "SELECT m.list_id, l.change_seq, l.purged_through
         FROM memberships m JOIN lists l ON l.id = m.list_id
         WHERE m.user_id = $1 ORDER BY m.list_id",
        &[&user],
    )?;
    let mut changed = 0;
    let mut gone: Vec<(Uuid, i64, i64)> = Vec::new();
    for row in held {
        let (list, seq): (Uuid, i64) = (row.try_get(0)?, row.try_get(1)?);
        feed.held.push(Held {
            id: list,
            seq,
            purged_through: row.try_get(2)?,
        });
        let after = since.and_then(|s| s.get(list));
        if changed < fetch {
            let rows = conn.query(
                LIST_CHANGES_SQL,
                &[&list, &after.unwrap_or(0), &seq, &(fetch - changed)],
            )?;
            for row in rows {
                changed += 1;
                feed.items.push(Item::Changed {
                    created_no: row.try_get(CREATED)?,
                    change_no: row.try_get(CHANGE)?,
                    task: TaskRow::from(row),
                    list,
                });
            }
        }
        if let Some(after) = after {
            // Every one, not `fetch`: those of tasks now in another of the reader's lists are
            // left out below, and a page must not stop short of one it did not read.
            let rows = conn.query(
                "SELECT task_id, change_no FROM list_tombstones
                 WHERE list_id = $1 AND change_no > $2 AND change_no <= $3
                 ORDER BY change_no",
                &[&list, &after, &seq],
            )?;
            for row in rows {
                gone.push((list, row.try_get(0)?, row.try_get(1)?));
            }
        }
    }
    // A task moved to another of the reader's lists: the task itself answers there.
    let ids: Vec<i64> = gone.iter().map(|(_, id, _)| *id).collect();
    let lists: Vec<Uuid> = feed.held.iter().map(|h| h.id).collect();
    let moved: Vec<i64> = match ids.is_empty() {
        true => Vec::new(),
        false => conn
            .query(
                "SELECT id FROM tasks WHERE list_id = ANY($1) AND id = ANY($2)",
                &[&lists, &ids],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    };
    let mut per_list = Vec::new();
    for (list, id, change_no) in gone.into_iter().filter(|(_, id, _)| !moved.contains(id)) {
        per_list.push(Item::Deleted {
            id,
            list,
            change_no,
        });
    }
    per_list.truncate(fetch.max(0) as usize);
    feed.items.extend(per_list);
    let lists = conn.query(
        "SELECT m.list_id, coalesce(f.change_no, 0), list_json(m.list_id, m.role)::text,
                coalesce(f.op, 'created')
         FROM memberships m LEFT JOIN list_feed f ON f.owner = $1 AND f.list_id = m.list_id
         WHERE m.user_id = $1 AND (NOT $2 OR (f.change_no > $3 AND f.change_no <= $4))
         UNION ALL
         SELECT list_id, change_no, NULL, op FROM list_feed
         WHERE owner = $1 AND $2 AND change_no > $3 AND change_no <= $4
           AND op IN ('deleted', 'left')",
        &[
            &user,
            &since.is_some(),
            &since.map_or(0, |s| s.user),
            &feed.user,
        ],
    )?;
    for row in lists {
        feed.lists.push(ListItem {
            id: row.try_get(0)?,
            change_no: row.try_get(1)?,
            json: row
                .try_get::<_, Option<&str>>(2)?
                .and_then(|j| serde_json::from_str(j).ok()),
            op: row.try_get(3)?,
        });
    }
    feed.items.sort_by_key(|i| (i.list(), i.change_no()));
    feed.items.truncate(fetch.max(0) as usize);
    feed.lists.sort_by_key(|l| l.change_no);
    Ok(Some(feed))
}

/// A list's changes after `$2` up to `$3`, at most `$4`, with their tasks (the task columns, then
/// the feed's, where `Feed` reads them): one shard.
const LIST_CHANGES_SQL: &str = concat!(
    "SELECT ",
    task_columns!(),
    ", 1::smallint, c.change_no, c.created_no
     FROM list_changes c JOIN tasks t ON t.list_id = c.list_id AND t.id = c.task_id
     WHERE c.list_id = $1 AND c.change_no > $2 AND c.change_no <= $3
     ORDER BY c.change_no LIMIT $4"
);

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
    super::transaction(conn, |conn| {
        let locked = conn.query_one("SELECT pg_try_advisory_xact_lock(1937337955)", &[])?;
        match locked.try_get::<_, bool>(0)? {
            true => work(conn),
            false => Ok(0),
        }
    })
}
