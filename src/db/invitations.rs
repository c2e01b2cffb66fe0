//! Invitations to a list: the owner invites an address (whether or not it has an account), the
//! person with that address accepts (joining the list) or declines; pending ones expire after 14
//! days. Every statement names the caller and checks their role or address.

use super::lists::{json, members, one};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use crate::domain::Email;
use uuid::Uuid;

/// Members plus pending invitations of one list.
pub const MAX_MEMBERS: i64 = 100;
pub const INVITATION_DAYS: i64 = 14;

pub struct Invitation {
    pub json: Vec<u8>,
    pub members: Vec<Uuid>,
}

pub enum Invited {
    Done(Invitation),
    NotOwner,
    DefaultList,
    AlreadyMember,
    AlreadyInvited,
    TooManyMembers,
    /// The caller sent `INVITATIONS_PER_DAY` already; retry after this many seconds.
    TooManyToday(i64),
}

/// Invitations one user may send in a day (refused ones do not count).
pub const INVITATIONS_PER_DAY: i32 = 100;

/// An invitation `i` to list `l` from `b`, as the API shows it.
macro_rules! invitation_json {
    () => {
        "json_build_object(
            'id', i.id, 'list_id', i.list_id, 'list_name', l.name, 'email', i.email,
            'role', i.role, 'invited_by', json_build_object('id', b.id, 'name', b.name),
            'created_at', to_char(i.created_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
            'expires_at', to_char(i.expires_at AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
    };
}

/// The owner invites an address (whether or not it has an account).
pub fn invite(
    conn: &mut Conn,
    me: &Caller,
    list: Uuid,
    email: &Email,
    role: &str,
) -> DbResult<Invited> {
    super::transaction(conn, |conn| {
        conn.execute("SELECT list_lock($1)", &[&list])?;
        let owner = conn.query_opt(
            "SELECT l.is_default FROM memberships m JOIN lists l ON l.id = m.list_id
             WHERE m.user_id = $1 AND m.list_id = $2 AND m.role = 'owner' AND session_ok($1, $3)",
            &[&me.user, &list, &me.session],
        )?;
        let Some(owner) = me.vouch(owner) else {
            return Ok(Invited::NotOwner);
        };
        if owner.try_get::<_, bool>(0)? {
            return Ok(Invited::DefaultList);
        }
        let facts = conn.query_one(
            "SELECT EXISTS (SELECT FROM memberships m JOIN users u ON u.id = m.user_id
                            WHERE m.list_id = $1 AND u.email = $2),
                    EXISTS (SELECT FROM invitations
                            WHERE list_id = $1 AND email = $2 AND expires_at > now()),
                    (SELECT count(*) FROM memberships WHERE list_id = $1)
                    + (SELECT count(*) FROM invitations WHERE list_id = $1 AND expires_at > now())",
            &[&list, &&**email],
        )?;
        if facts.try_get::<_, bool>(0)? {
            return Ok(Invited::AlreadyMember);
        }
        if facts.try_get::<_, bool>(1)? {
            return Ok(Invited::AlreadyInvited);
        }
        if facts.try_get::<_, i64>(2)? >= MAX_MEMBERS {
            return Ok(Invited::TooManyMembers);
        }
        let key = format!("invite:{}", me.user);
        let counts = super::throttle::charge(conn, &[&key], 86_400)?;
        if let Some(count) = counts.iter().find(|c| c.hits > INVITATIONS_PER_DAY) {
            return Ok(Invited::TooManyToday(count.resets_in));
        }
        let row = conn.query_one(
            concat!(
                "WITH i AS (
                     INSERT INTO invitations (id, list_id, email, role, invited_by, expires_at)
                     VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6::int))
                     ON CONFLICT (list_id, email) DO UPDATE
                         SET id = EXCLUDED.id, role = EXCLUDED.role,
                             invited_by = EXCLUDED.invited_by, created_at = EXCLUDED.created_at,
                             expires_at = EXCLUDED.expires_at
                     RETURNING *
                 )
                 SELECT ",
                invitation_json!(),
                "::text FROM i JOIN lists l ON l.id = i.list_id JOIN users b ON b.id = i.invited_by"
            ),
            &[
                &Uuid::new_v4(),
                &list,
                &&**email,
                &role,
                &me.user,
                &(INVITATION_DAYS as i32),
            ],
        )?;
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        Ok(Invited::Done(Invitation {
            json: row.try_get::<_, String>(0)?.into_bytes(),
            members: members(conn, list)?,
        }))
    })
}

/// The pending invitations to a list the caller owns; `None` when not the owner.
pub fn invitations_of(conn: &mut Conn, me: &Caller, list: Uuid) -> DbResult<Option<Vec<u8>>> {
    let owner = conn.query_opt(
        "SELECT 1 FROM memberships
         WHERE user_id = $1 AND list_id = $2 AND role = 'owner' AND session_ok($1, $3)",
        &[&me.user, &list, &me.session],
    )?;
    if me.vouch(owner).is_none() {
        return Ok(None);
    }
    let row = conn.query_one(
        concat!(
            "SELECT coalesce(json_agg(",
            invitation_json!(),
            " ORDER BY i.created_at DESC, i.id), '[]')::text
             FROM invitations i JOIN lists l ON l.id = i.list_id JOIN users b ON b.id = i.invited_by
             WHERE i.list_id = $1 AND i.expires_at > now()"
        ),
        &[&list],
    )?;
    Ok(Some(row.try_get::<_, String>(0)?.into_bytes()))
}

/// The pending invitations addressed to the caller's e-mail, newest first.
pub fn invitations_to(conn: &mut Conn, me: &Caller) -> DbResult<Option<Vec<u8>>> {
    let row = conn.query_opt(
        concat!(
            "SELECT (SELECT coalesce(json_agg(",
            invitation_json!(),
            " ORDER BY i.created_at DESC, i.id), '[]')::text
                     FROM invitations i JOIN lists l ON l.id = i.list_id
                     JOIN users b ON b.id = i.invited_by
                     WHERE i.email = (SELECT email FROM users WHERE id = $1)
                       AND i.expires_at > now())
             WHERE session_ok($1, $2)"
        ),
        &[&me.user, &me.session],
    )?;
    json(me.vouch(row))
}

/// The owner withdraws an invitation. `Some(false)`: no such pending invitation; `None`: not the
/// owner.
pub fn revoke_invitation(
    conn: &mut Conn,
    me: &Caller,
    list: Uuid,
    invitation: Uuid,
) -> DbResult<Option<Vec<Uuid>>> {
    super::transaction(conn, |conn| {
        let gone = conn.execute(
            "DELETE FROM invitations i USING memberships m
             WHERE i.id = $2 AND i.list_id = $3 AND m.list_id = i.list_id AND m.user_id = $1
               AND m.role = 'owner' AND session_ok($1, $4)",
            &[&me.user, &invitation, &list, &me.session],
        )?;
        if gone == 0 {
            return Ok(None);
        }
        me.vouch_if(true);
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        members(conn, list).map(Some)
    })
}

pub enum Answer {
    /// Accepted: the list as the new member sees it, and who to tell.
    Joined(Vec<u8>, Vec<Uuid>),
    /// Declined: who to tell.
    Declined(Vec<Uuid>),
    NotFound,
}

/// Accepts or declines an invitation addressed to the caller's e-mail.
pub fn answer(conn: &mut Conn, me: &Caller, invitation: Uuid, accept: bool) -> DbResult<Answer> {
    super::transaction(conn, |conn| {
        let row = conn.query_opt(
            "DELETE FROM invitations i USING users me
             WHERE i.id = $2 AND me.id = $1 AND i.email = me.email AND i.expires_at > now()
               AND session_ok($1, $3)
             RETURNING i.list_id, i.role",
            &[&me.user, &invitation, &me.session],
        )?;
        let Some(row) = me.vouch(row) else {
            return Ok(Answer::NotFound);
        };
        let (list, role): (Uuid, String) = (row.try_get(0)?, row.try_get(1)?);
        if accept {
            conn.execute("SELECT list_lock($1)", &[&list])?;
            conn.execute(
                "INSERT INTO memberships (user_id, list_id, role) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&me.user, &list, &role],
            )?;
            conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
            conn.execute("SELECT list_joined($1, $2)", &[&list, &me.user])?;
            let out = one(conn, me, list)?.unwrap_or_default();
            return Ok(Answer::Joined(out, members(conn, list)?));
        }
        conn.execute("SELECT list_changed($1, 'updated')", &[&list])?;
        Ok(Answer::Declined(members(conn, list)?))
    })
}
