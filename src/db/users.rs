//! Queries on `users`.

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use crate::domain::{Email, Name};
use chrono::{DateTime, Utc};
use postgres::Row;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[serde(serialize_with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
}

impl User {
    fn from_row(row: &Row) -> User {
        User {
            id: row.get("id"),
            email: row.get("email"),
            name: row.get("name"),
            created_at: row.get("created_at"),
        }
    }
}

pub fn email_taken(conn: &mut Conn, email: &Email) -> DbResult<bool> {
    Ok(conn
        .query_opt("SELECT 1 FROM users WHERE email = $1", &[&&**email])?
        .is_some())
}

/// The unique constraint `users_email_key` decides a race between two sign-ups with one address.
pub fn insert(conn: &mut Conn, email: &Email, name: &Name, password_hash: &str) -> DbResult<User> {
    // With their default list, the Inbox.
    let row = conn.query_one(
        "WITH u AS (
             INSERT INTO users (id, email, name, password_hash)
             VALUES ($1, $2, $3, $4)
             RETURNING id, email, name, created_at
         ), l AS (
             INSERT INTO lists (id, owner_id, name, is_default, created_at, updated_at)
             SELECT $5, id, 'Inbox', true, created_at, created_at FROM u
         ), m AS (
             INSERT INTO memberships (user_id, list_id, role, joined_at)
             SELECT id, $5, 'owner', created_at FROM u
         )
         SELECT * FROM u",
        &[
            &Uuid::new_v4(),
            &&**email,
            &&**name,
            &password_hash,
            &Uuid::new_v4(),
        ],
    )?;
    Ok(User::from_row(&row))
}

/// The user and their password hash.
pub fn find_by_email(conn: &mut Conn, email: &str) -> DbResult<Option<(User, String)>> {
    let row = conn.query_opt(
        "SELECT id, email, name, created_at, password_hash FROM users WHERE email = $1",
        &[&email],
    )?;
    Ok(row.map(|r| (User::from_row(&r), r.get("password_hash"))))
}

/// The caller, while their session (or legacy token) is valid.
pub fn find_alive(conn: &mut Conn, me: &Caller) -> DbResult<Option<User>> {
    let row = conn.query_opt(
        "SELECT id, email, name, created_at FROM users WHERE id = $1 AND session_ok($1, $2)",
        &[&me.user, &me.session],
    )?;
    Ok(me.vouch(row).as_ref().map(User::from_row))
}

/// The caller's password hash, while their session is valid.
pub fn password_hash(conn: &mut Conn, me: &Caller) -> DbResult<Option<String>> {
    let row = conn.query_opt(
        "SELECT password_hash FROM users WHERE id = $1 AND session_ok($1, $2)",
        &[&me.user, &me.session],
    )?;
    Ok(me.vouch(row).map(|r| r.get(0)))
}

pub fn rename(conn: &mut Conn, me: &Caller, name: &Name) -> DbResult<Option<User>> {
    let row = conn.query_opt(
        "UPDATE users SET name = $3 WHERE id = $1 AND session_ok($1, $2)
         RETURNING id, email, name, created_at",
        &[&me.user, &me.session, &&**name],
    )?;
    Ok(me.vouch(row).as_ref().map(User::from_row))
}

pub fn set_password(conn: &mut Conn, me: &Caller, password_hash: &str) -> DbResult<Option<User>> {
    let row = conn.query_opt(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND session_ok($1, $2)
         RETURNING id, email, name, created_at",
        &[&me.user, &me.session, &password_hash],
    )?;
    Ok(me.vouch(row).as_ref().map(User::from_row))
}

/// The user goes with their sessions, the lists they own (with every task in them, for every
/// member) and their memberships, in one transaction. Returns the users to tell; `None` when the
/// user was gone already. Tasks they made in others' lists stay (they belong to the list).
pub fn delete(conn: &mut Conn, user: Uuid) -> DbResult<Option<Vec<Uuid>>> {
    super::transaction(conn, |conn| {
        let mut told = super::lists::leave_all(conn, user)?;
        if conn.execute("DELETE FROM users WHERE id = $1", &[&user])? == 0 {
            return Ok(None);
        }
        told.push(user);
        Ok(Some(told))
    })
}

/// Locks the caller's row for the rest of the transaction (a limit counted after it cannot be
/// passed by a concurrent request); `false` when the session is gone.
pub fn lock_caller(conn: &mut Conn, me: &Caller) -> DbResult<bool> {
    let row = conn.query_opt(
        "SELECT 1 FROM users WHERE id = $1 AND session_ok($1, $2) FOR UPDATE",
        &[&me.user, &me.session],
    )?;
    Ok(me.vouch(row).is_some())
}
