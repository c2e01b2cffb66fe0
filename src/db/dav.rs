//! What CalDAV reads: a member's calendar home (one collection per list, under the member's name
//! for it), the objects of a collection, and what changed in one since a sync token. Every
//! statement filters by the caller's memberships; the credential itself was checked once for the
//! request (`dav::auth`). Writes go through the task and list functions the REST routes use.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use chrono::{DateTime, Utc};
use postgres::Row;
use uuid::Uuid;

/// A list as a calendar collection in the caller's home.
pub struct Collection {
    pub list: Uuid,
    pub display: String,
    pub color: Option<String>,
    pub role: String,
    /// Its name in the caller's home (the list's id unless a client chose one).
    pub name: String,
    pub is_default: bool,
    pub owner: Uuid,
    /// The list's change number now: the collection's sync token (see `changes`).
    pub seq: i64,
}

impl Collection {
    pub fn writable(&self) -> bool {
        self.role != "viewer"
    }
}

/// The caller's collections (only the one named `only`, when given): the default list first.
pub fn collections(conn: &mut Conn, me: &Caller, only: Option<&str>) -> DbResult<Vec<Collection>> {
    conn.query(
        "SELECT l.id, l.name, l.color, m.role, coalesce(m.dav_name, l.id::text), l.is_default,
                l.owner_id, l.change_seq
         FROM memberships m JOIN lists l ON l.id = m.list_id
         WHERE m.user_id = $1 AND ($2::text IS NULL OR coalesce(m.dav_name, l.id::text) = $2)
         ORDER BY l.is_default DESC, task_fold(l.name), l.id",
        &[&me.user, &only],
    )?
    .iter()
    .map(|r| {
        Ok(Collection {
            list: r.try_get(0)?,
            display: r.try_get(1)?,
            color: r.try_get(2)?,
            role: r.try_get(3)?,
            name: r.try_get(4)?,
            is_default: r.try_get(5)?,
            owner: r.try_get(6)?,
            seq: r.try_get(7)?,
        })
    })
    .collect()
}

pub fn collection(conn: &mut Conn, me: &Caller, name: &str) -> DbResult<Option<Collection>> {
    Ok(collections(conn, me, Some(name))?.into_iter().next())
}

/// An object's name and what its `ETag` is made of.
pub struct Tag {
    pub id: i64,
    pub updated_at: DateTime<Utc>,
    pub name: String,
}

fn tag(r: &Row) -> DbResult<Tag> {
    Ok(Tag {
        id: r.try_get(0)?,
        updated_at: r.try_get(1)?,
        name: r.try_get(2)?,
    })
}

/// Every object of a list the caller is a member of, without its data (a `PROPFIND` of the
/// collection, which most clients start a sync with).
pub fn tags(conn: &mut Conn, me: &Caller, list: Uuid) -> DbResult<Vec<Tag>> {
    conn.query(
        "SELECT t.id, t.updated_at, coalesce(t.dav_name, t.uid || '.ics') FROM tasks t
         WHERE t.list_id = $2
           AND EXISTS (SELECT FROM memberships WHERE user_id = $1 AND list_id = $2)
         ORDER BY t.id",
        &[&me.user, &list],
    )?
    .iter()
    .map(tag)
    .collect()
}

/// A task with what its calendar object is made from.
pub struct Object {
    pub id: i64,
    pub updated_at: DateTime<Utc>,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub priority: i16,
    pub due_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub uid: String,
    pub parent_uid: Option<String>,
    pub recurrence: Option<String>,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub ical: Option<String>,
}

macro_rules! object_columns {
    () => {
        "t.id, t.updated_at, coalesce(t.dav_name, t.uid || '.ics'), t.title, t.description, \
         t.completed, t.completed_at, t.priority, t.due_at, t.tags, t.uid, \
         coalesce((SELECT p.uid FROM tasks p WHERE p.list_id = t.list_id AND p.id = t.parent_id), t.pending_parent), \
         t.recurrence, t.timezone, \
         t.created_at, t.ical"
    };
}

fn object(r: &Row) -> DbResult<Object> {
    Ok(Object {
        id: r.try_get(0)?,
        updated_at: r.try_get(1)?,
        name: r.try_get(2)?,
        title: r.try_get(3)?,
        description: r.try_get(4)?,
        completed: r.try_get(5)?,
        completed_at: r.try_get(6)?,
        priority: r.try_get(7)?,
        due_at: r.try_get(8)?,
        tags: r.try_get(9)?,
        uid: r.try_get(10)?,
        parent_uid: r.try_get(11)?,
        recurrence: r.try_get(12)?,
        timezone: r.try_get(13)?,
        created_at: r.try_get(14)?,
        ical: r.try_get(15)?,
    })
}

/// The objects of a list (those named `names`, when given: a multiget) with their data.
pub fn objects(
    conn: &mut Conn,
    me: &Caller,
    list: Uuid,
    names: Option<&[String]>,
) -> DbResult<Vec<Object>> {
    // A name is the client's (`dav_name`) or `{uid}.ics`: each has its index.
    let stems: Option<Vec<&str>> =
        names.map(|n| n.iter().filter_map(|n| n.strip_suffix(".ics")).collect());
    conn.query(
        concat!(
            "SELECT ",
            object_columns!(),
            " FROM tasks t
             WHERE t.list_id = $2
               AND EXISTS (SELECT FROM memberships WHERE user_id = $1 AND list_id = $2)
               AND ($3::text[] IS NULL OR t.dav_name = ANY($3)
                    OR (t.dav_name IS NULL AND t.uid = ANY($4)))
             ORDER BY t.id"
        ),
        &[&me.user, &list, &names, &stems],
    )?
    .iter()
    .map(object)
    .collect()
}

/// Tasks by id, in lists the caller is a member of.
pub fn objects_by_id(conn: &mut Conn, me: &Caller, ids: &[i64]) -> DbResult<Vec<Object>> {
    conn.query(
        concat!(
            "SELECT ",
            object_columns!(),
            " FROM tasks t
             WHERE t.id = ANY($2)
               AND t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)
             ORDER BY t.id"
        ),
        &[&me.user, &ids],
    )?
    .iter()
    .map(object)
    .collect()
}

/// The object at `name` in `list`: what a write needs of it.
pub struct Found {
    pub id: i64,
    pub uid: String,
    pub updated_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub recurrence: Option<String>,
    pub timezone: String,
}

pub fn find(conn: &mut Conn, me: &Caller, list: Uuid, name: &str) -> DbResult<Option<Found>> {
    let stem = name.strip_suffix(".ics");
    let row = conn.query_opt(
        "SELECT t.id, t.uid, t.updated_at, t.due_at, t.recurrence, t.timezone FROM tasks t
         WHERE t.list_id = $2
           AND EXISTS (SELECT FROM memberships WHERE user_id = $1 AND list_id = $2)
           AND (t.dav_name = $3 OR (t.dav_name IS NULL AND t.uid = $4))
         ORDER BY t.dav_name NULLS LAST LIMIT 1",
        &[&me.user, &list, &name, &stem],
    )?;
    row.map(|r| {
        Ok(Found {
            id: r.try_get(0)?,
            uid: r.try_get(1)?,
            updated_at: r.try_get(2)?,
            due_at: r.try_get(3)?,
            recurrence: r.try_get(4)?,
            timezone: r.try_get(5)?,
        })
    })
    .transpose()
}

/// The task with this UID in the list (a `RELATED-TO` parent).
pub fn by_uid(conn: &mut Conn, me: &Caller, list: Uuid, uid: &str) -> DbResult<Option<i64>> {
    let row = conn.query_opt(
        "SELECT t.id FROM tasks t
         WHERE t.list_id = $2 AND t.uid = $3
           AND EXISTS (SELECT FROM memberships WHERE user_id = $1 AND list_id = $2)",
        &[&me.user, &list, &uid],
    )?;
    row.map(|r| r.try_get(0)).transpose()
}

/// A task just put in `list` becomes the parent of those that named its UID before it was there
/// (a write of each, numbered and seen like any). Returns how many.
pub fn adopt(conn: &mut Conn, me: &Caller, list: Uuid, parent: i64, uid: &str) -> DbResult<u64> {
    conn.execute(
        "UPDATE tasks t SET parent_id = $3, pending_parent = NULL,
                updated_at = greatest(now(), just_after(t.updated_at))
         WHERE t.list_id = $2 AND t.pending_parent = $4 AND t.id <> $3
           AND EXISTS (SELECT FROM memberships
                       WHERE user_id = $1 AND list_id = $2 AND role <> 'viewer')",
        &[&me.user, &list, &parent, &uid],
    )
}

/// What changed in a collection after change number `since`, as one snapshot.
pub struct Changes {
    /// The list's change number now: the next token.
    pub now: i64,
    /// Changes up to this number may have lost their tombstones: an older token is stale.
    pub purged_through: i64,
    pub changed: Vec<Tag>,
    /// Names of objects deleted or moved away since.
    pub gone: Vec<String>,
}

/// One statement, so the token it hands out covers exactly what it reports. The list's changes
/// and tombstones are numbered in its sequence; `dav_gone` names what left.
pub fn changes(conn: &mut Conn, me: &Caller, list: Uuid, since: i64) -> DbResult<Option<Changes>> {
    let row = conn.query_opt(
        "WITH c AS MATERIALIZED (
             SELECT t.id, t.updated_at, coalesce(t.dav_name, t.uid || '.ics') AS name, o.change_no
             FROM list_changes o JOIN tasks t ON t.list_id = o.list_id AND t.id = o.task_id
             WHERE o.list_id = $2 AND o.change_no > $3
         )
         SELECT l.change_seq, l.purged_through,
                ARRAY(SELECT id FROM c ORDER BY change_no),
                ARRAY(SELECT updated_at FROM c ORDER BY change_no),
                ARRAY(SELECT name FROM c ORDER BY change_no),
                ARRAY(SELECT g.href FROM dav_gone g
                      WHERE g.list_id = $2 AND g.task_id IN (
                          SELECT task_id FROM list_tombstones WHERE list_id = $2 AND change_no > $3
                          UNION ALL
                          SELECT task_id FROM c))
         FROM lists l
         WHERE l.id = $2 AND EXISTS (SELECT FROM memberships WHERE user_id = $1 AND list_id = $2)",
        &[&me.user, &list, &since],
    )?;
    let Some(r) = row else {
        return Ok(None);
    };
    let ids: Vec<i64> = r.try_get(2)?;
    let times: Vec<DateTime<Utc>> = r.try_get(3)?;
    let names: Vec<String> = r.try_get(4)?;
    let changed = ids
        .into_iter()
        .zip(times)
        .zip(names)
        .map(|((id, updated_at), name)| Tag {
            id,
            updated_at,
            name,
        })
        .collect();
    Ok(Some(Changes {
        now: r.try_get(0)?,
        purged_through: r.try_get(1)?,
        changed,
        gone: r.try_get(5)?,
    }))
}

/// Forgets what left collections long ago, with the tombstones (`changes::purge`).
pub fn purge(conn: &mut Conn, days: i64) -> DbResult<u64> {
    conn.execute(
        "DELETE FROM dav_gone WHERE gone_at < now() - make_interval(days => $1::int)",
        &[&(days as i32)],
    )
}
