//! Lists, their members and invitations. Every statement names the caller and filters by their
//! membership, with the role the operation needs; the list object is built by `list_json` in SQL
//! (the changes feed reads the same function). A list-level change goes to every member's feed
//! through `list_changed`, `list_joined` and `list_left` (sql/0011_per_list_numbering.sql).

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use postgres::Row;
use uuid::Uuid;

/// A user owns at most this many lists.
pub const MAX_OWNED: i64 = 1000;

/// The caller's role in `list` (`None` for their default list), `None` when not a member.
pub fn role(conn: &mut Conn, me: &Caller, list: Option<Uuid>) -> DbResult<Option<String>> {
    let row = conn.query_opt(
        "SELECT role FROM memberships
         WHERE user_id = $1
           AND list_id = coalesce($2, (SELECT id FROM lists WHERE owner_id = $1 AND is_default))",
        &[&me.user, &list],
    )?;
    row.map(|r| r.try_get(0)).transpose()
}

pub fn is_member(conn: &mut Conn, list: Uuid, user: Uuid) -> DbResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM memberships WHERE list_id = $1 AND user_id = $2",
            &[&list, &user],
        )?
        .is_some())
}

pub(super) fn json(row: Option<Row>) -> DbResult<Option<Vec<u8>>> {
    row.map(|r| r.try_get::<_, String>(0).map(String::into_bytes))
        .transpose()
}

/// Every list of the caller's, as a JSON array: the default first, then by name ignoring case.
pub fn all(conn: &mut Conn, me: &Caller) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        "SELECT (SELECT coalesce(json_agg(x.j ORDER BY (x.j->>'is_default')::boolean DESC,
                                                    task_fold(x.j->>'name'), x.id),
                                  '[]')::text
                 FROM (SELECT m.list_id AS id, list_json(m.list_id, m.role) AS j
                       FROM memberships m WHERE m.user_id = $1) x)
         WHERE session_ok($1, $2)",
        &[&me.user, &me.session],
    )?;
    json(me.vouch(row))
}

/// One list of the caller's.
pub fn one(conn: &mut Conn, me: &Caller, list: Uuid) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        "SELECT list_json(m.list_id, m.role)::text
         FROM memberships m
         WHERE m.user_id = $1 AND m.list_id = $2 AND session_ok($1, $3)",
        &[&me.user, &list, &me.session],
    )?;
    json(me.vouch(row))
}

pub enum Created {
    List(Vec<u8>),
    /// The caller owns `MAX_OWNED` lists already.
    TooMany,
}

/// A new list, owned by the caller, with the name a CalDAV client gave it (`dav_name`). The owner's
/// row is locked first, so two concurrent creations cannot both pass the limit.
pub fn create(
    conn: &mut Conn,
    me: &Caller,
    name: &str,
    color: Option<&str>,
    dav_name: Option<&str>,
) -> DbResult<Option<Created>> {
    super::transaction(conn, |conn| {
        if !super::users::lock_caller(conn, me)? {
            return Ok(None);
        }
        // Counted after the lock, in a statement of its own: it sees every list committed before.
        let owned = conn.query_one(
            "SELECT count(*) FROM lists WHERE owner_id = $1",
            &[&me.user],
        )?;
        if owned.try_get::<_, i64>(0)? >= MAX_OWNED {
            return Ok(Some(Created::TooMany));
        }
        let id = Uuid::new_v4();
        conn.execute(
            "INSERT INTO lists (id, owner_id, name, color) VALUES ($2, $1, $3, $4)",
            &[&me.user, &id, &name, &color],
        )?;
        conn.execute(
            "INSERT INTO memberships (user_id, list_id, role, dav_name)
             VALUES ($1, $2, 'owner', $3)",
            &[&me.user, &id, &dav_name],
        )?;
        conn.execute("SELECT list_changed($1, 'created')", &[&id])?;
        let row = conn.query_one("SELECT list_json($1, 'owner')::text", &[&id])?;
        Ok(Some(Created::List(
            row.try_get::<_, String>(0)?.into_bytes(),
        )))
    })
}

/// Renames or recolours a list the caller may write (`writes`: owner or editor); every member
/// hears of it. `None` when nothing matched.
pub fn update(
    conn: &mut Conn,
    me: &Caller,
    list: Uuid,
    name: Option<&str>,
    color: Option<Option<&str>>,
) -> DbResult<Option<(Vec<u8>, Vec<Uuid>)>> {
    super::transaction(conn, |conn| {
        let row = conn.query_opt(
            "UPDATE lists l SET
                 name = coalesce($3, name),
                 color = CASE WHEN $4 THEN $5 ELSE color END,
                 updated_at = greatest(now(), just_after(updated_at))
             FROM memberships m
             WHERE l.id = $2 AND m.list_id = l.id AND m.user_id = $1
               AND (m.role <> 'viewer' OR NOT $7) AND session_ok($1, $6)
             RETURNING l.id",
            &[
                &me.user,
                &list,
                &name,
                &color.is_some(),
                &color.flatten(),
                &me.session,
                &me.writes(),
            ],
        )?;
        if me.vouch(row).is_none() {
            return Ok(None);
        }
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        let out = one(conn, me, list)?.unwrap_or_default();
        Ok(Some((out, members(conn, list)?)))
    })
}

/// Every member's id, to be told of a change.
pub fn members(conn: &mut Conn, list: Uuid) -> DbResult<Vec<Uuid>> {
    conn.query(
        "SELECT user_id FROM memberships WHERE list_id = $1",
        &[&list],
    )?
    .iter()
    .map(|r| r.try_get(0))
    .collect()
}

/// Which of `users` are members of any of `lists` (whose streams a change in them concerns).
pub fn members_among(conn: &mut Conn, lists: &[Uuid], users: &[Uuid]) -> DbResult<Vec<Uuid>> {
    conn.query(
        "SELECT DISTINCT user_id FROM memberships WHERE list_id = ANY($1) AND user_id = ANY($2)",
        &[&lists, &users],
    )?
    .iter()
    .map(|r| r.try_get(0))
    .collect()
}

/// Deletes a list the caller owns, with its tasks: each member's feed says it is gone. Returns
/// the members to tell; `None` when the caller does not own it.
pub fn delete(conn: &mut Conn, me: &Caller, list: Uuid) -> DbResult<Option<Vec<Uuid>>> {
    super::transaction(conn, |conn| {
        let owned = conn.query_opt(
            "SELECT 1 FROM memberships
             WHERE user_id = $1 AND list_id = $2 AND role = 'owner' AND session_ok($1, $3)",
            &[&me.user, &list, &me.session],
        )?;
        if me.vouch(owned).is_none() {
            return Ok(None);
        }
        drop_list(conn, list).map(Some)
    })
}

/// Every member leaves, then the list goes with its tasks (whose trigger finds no list row left to
/// number). Inside the caller's transaction. The tasks are locked before the list's row, in the
/// order every task write takes them (task row, then list row): the other order deadlocks with a
/// write in flight.
pub fn drop_list(conn: &mut Conn, list: Uuid) -> DbResult<Vec<Uuid>> {
    conn.execute(
        "SELECT 1 FROM tasks WHERE list_id = $1 FOR UPDATE",
        &[&list],
    )?;
    conn.execute("SELECT list_lock($1)", &[&list])?;
    let members = members(conn, list)?;
    conn.execute(
        "SELECT list_left($1, user_id, 'deleted')
         FROM (SELECT user_id FROM memberships WHERE list_id = $1 ORDER BY user_id) m",
        &[&list],
    )?;
    conn.execute("DELETE FROM lists WHERE id = $1", &[&list])?;
    Ok(members)
}

/// Is `list` a default list (an Inbox, which cannot be deleted or shared)?
pub fn is_default(conn: &mut Conn, list: Uuid) -> DbResult<bool> {
    Ok(conn
        .query_opt("SELECT 1 FROM lists WHERE id = $1 AND is_default", &[&list])?
        .is_some())
}

/// Members of a list the caller belongs to: the owner first, then by name.
pub fn member_list(conn: &mut Conn, me: &Caller, list: Uuid) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        "SELECT coalesce(json_agg(json_build_object(
                    'user_id', u.id, 'name', u.name, 'email', u.email, 'role', o.role,
                    'joined_at', to_char(o.joined_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))
                 ORDER BY o.role <> 'owner', task_fold(u.name), u.name, u.id), '[]')::text
         FROM memberships m
         JOIN memberships o ON o.list_id = m.list_id
         JOIN users u ON u.id = o.user_id
         WHERE m.user_id = $1 AND m.list_id = $2 AND session_ok($1, $3)",
        &[&me.user, &list, &me.session],
    )?;
    // An aggregate always returns a row: an empty array means the caller is not a member.
    let out = json(row)?.filter(|j| j != b"[]");
    me.vouch_if(out.is_some());
    Ok(out)
}

/// One member, as in `member_list`.
fn member(conn: &mut Conn, list: Uuid, user: Uuid) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        "SELECT json_build_object(
                    'user_id', u.id, 'name', u.name, 'email', u.email, 'role', m.role,
                    'joined_at', to_char(m.joined_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))::text
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.list_id = $1 AND m.user_id = $2",
        &[&list, &user],
    )?;
    json(row)
}

pub enum RoleChange {
    Done(Vec<u8>, Vec<Uuid>),
    NotOwner,
    NoSuchMember,
}

/// The owner gives `member` a role; making them owner hands the list over (the old owner becomes
/// an editor).
pub fn set_role(
    conn: &mut Conn,
    me: &Caller,
    list: Uuid,
    member: Uuid,
    role: &str,
) -> DbResult<RoleChange> {
    super::transaction(conn, |conn| {
        conn.execute("SELECT list_lock($1)", &[&list])?;
        let owner = conn.query_opt(
            "SELECT 1 FROM memberships
             WHERE user_id = $1 AND list_id = $2 AND role = 'owner' AND session_ok($1, $3)",
            &[&me.user, &list, &me.session],
        )?;
        if me.vouch(owner).is_none() {
            return Ok(RoleChange::NotOwner);
        }
        if !is_member(conn, list, member)? {
            return Ok(RoleChange::NoSuchMember);
        }
        if role == "owner" && member != me.user {
            conn.execute(
                "UPDATE memberships SET role = 'editor' WHERE list_id = $1 AND user_id = $2",
                &[&list, &me.user],
            )?;
            conn.execute(
                "UPDATE lists SET owner_id = $2, updated_at = now() WHERE id = $1",
                &[&list, &member],
            )?;
        }
        if member != me.user {
            conn.execute(
                "UPDATE memberships SET role = $3 WHERE list_id = $1 AND user_id = $2",
                &[&list, &member, &role],
            )?;
        }
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        let out = member_json(conn, list, member)?;
        Ok(RoleChange::Done(out, members(conn, list)?))
    })
}

fn member_json(conn: &mut Conn, list: Uuid, user: Uuid) -> DbResult<Vec<u8>> {
    Ok(member(conn, list, user)?.unwrap_or_default())
}

pub enum Removal {
    /// The members to tell (the removed one among them).
    Done(Vec<Uuid>),
    NotAllowed,
    NoSuchMember,
    OwnerCannotLeave,
}

/// The owner removes a member, or a member leaves. Tasks assigned to them are unassigned (and
/// locked first, as in `drop_list`).
pub fn remove(conn: &mut Conn, me: &Caller, list: Uuid, member: Uuid) -> DbResult<Removal> {
    super::transaction(conn, |conn| {
        conn.execute(
            "SELECT 1 FROM tasks WHERE list_id = $1 AND assignee_id = $2 FOR UPDATE",
            &[&list, &member],
        )?;
        conn.execute("SELECT list_lock($1)", &[&list])?;
        let mine = conn.query_opt(
            "SELECT role FROM memberships WHERE user_id = $1 AND list_id = $2 AND session_ok($1, $3)",
            &[&me.user, &list, &me.session],
        )?;
        let Some(mine) = me.vouch(mine) else {
            return Ok(Removal::NoSuchMember);
        };
        let my_role: String = mine.try_get(0)?;
        let theirs = conn.query_opt(
            "SELECT role FROM memberships WHERE user_id = $1 AND list_id = $2",
            &[&member, &list],
        )?;
        let Some(theirs) = theirs else {
            return Ok(match my_role.as_str() {
                "owner" => Removal::NoSuchMember,
                _ => Removal::NotAllowed,
            });
        };
        if member != me.user && my_role != "owner" {
            return Ok(Removal::NotAllowed);
        }
        if theirs.try_get::<_, String>(0)? == "owner" {
            return Ok(Removal::OwnerCannotLeave);
        }
        let told = members(conn, list)?;
        conn.execute("SELECT list_left($1, $2, 'left')", &[&list, &member])?;
        conn.execute(
            "UPDATE tasks SET assignee_id = NULL,
                 updated_at = greatest(now(), just_after(updated_at))
             WHERE list_id = $1 AND assignee_id = $2",
            &[&list, &member],
        )?;
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        Ok(Removal::Done(told))
    })
}

/// Before an account goes: the lists it owns are deleted (for every member), its other
/// memberships end. Returns everyone to tell. Inside the caller's transaction.
pub fn leave_all(conn: &mut Conn, user: Uuid) -> DbResult<Vec<Uuid>> {
    let mut told = Vec::new();
    let rows = conn.query(
        "SELECT list_id, role = 'owner' FROM memberships WHERE user_id = $1 ORDER BY list_id",
        &[&user],
    )?;
    for row in rows {
        let (list, owns): (Uuid, bool) = (row.try_get(0)?, row.try_get(1)?);
        if owns {
            told.extend(drop_list(conn, list)?);
        } else {
            conn.execute(
                "SELECT 1 FROM tasks WHERE list_id = $1 AND assignee_id = $2 FOR UPDATE",
                &[&list, &user],
            )?;
            conn.execute("SELECT list_lock($1)", &[&list])?;
            told.extend(members(conn, list)?);
            conn.execute("SELECT list_left($1, $2, 'left')", &[&list, &user])?;
            conn.execute(
                "UPDATE tasks SET assignee_id = NULL WHERE list_id = $1 AND assignee_id = $2",
                &[&list, &user],
            )?;
            conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        }
    }
    Ok(told)
}
