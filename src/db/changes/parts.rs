//! The changes feed on Citus, which cannot plan its one statement (`FEED_SQL`): read in parts.

use super::{list_object, Feed, Held, Item, ListItem, Mark, Reader, CHANGE, CREATED};
use crate::db::tasks::{task_columns, TaskRow};
use crate::db::{Conn, DbResult};
use uuid::Uuid;

/// On Citus, [`super::FEED_SQL`] in parts, each on one shard or on reference tables only. The
/// member's number and the lists' numbers are read first, and every
/// part after them is bounded by them: a list's numbers commit in order (its row's lock), so each
/// change up to a number read is committed and seen by the statements that follow, and none past
/// it is served.
pub(super) fn feed(
    conn: &mut Conn,
    reader: &Reader,
    since: Option<&Mark>,
    fetch: i64,
) -> DbResult<Option<Feed>> {
    let (user, session, internal) = reader.who();
    let head = conn.query_opt(
        "SELECT change_seq, tombstones_purged_through FROM users
         WHERE id = $1 AND ($3 OR session_ok($1, $2))",
        &[&user, &session, &internal],
    )?;
    let Some(head) = head else {
        return Ok(None);
    };
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
            json: list_object(row.try_get(2)?),
            op: row.try_get(3)?,
        });
    }
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
