//! Queries on `users`.

use super::Conn;
use crate::error::{ApiError, ApiResult};
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

pub fn email_taken(conn: &mut Conn, email: &str) -> ApiResult<bool> {
    Ok(conn
        .query_opt("SELECT 1 FROM users WHERE email = $1", &[&email])?
        .is_some())
}

/// The unique constraint decides a race between two sign-ups with one address.
pub fn insert(conn: &mut Conn, email: &str, name: &str, password_hash: &str) -> ApiResult<User> {
    let row = conn.query_one(
        "INSERT INTO users (id, email, name, password_hash)
         VALUES ($1, $2, $3, $4)
         RETURNING id, email, name, created_at",
        &[&Uuid::new_v4(), &email, &name, &password_hash],
    );
    match row {
        Ok(row) => Ok(User::from_row(&row)),
        Err(e) if e.as_db_error().and_then(|d| d.constraint()) == Some("users_email_key") => {
            Err(ApiError::bad_request("Email already registered"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The user and their password hash.
pub fn find_by_email(conn: &mut Conn, email: &str) -> ApiResult<Option<(User, String)>> {
    let row = conn.query_opt(
        "SELECT id, email, name, created_at, password_hash FROM users WHERE email = $1",
        &[&email],
    )?;
    Ok(row.map(|r| (User::from_row(&r), r.get("password_hash"))))
}

/// [`find`] (the user lookup behind every authenticated request): `$1` user id.
pub const FIND_SQL: &str = "SELECT id, email, name, created_at FROM users WHERE id = $1";

pub fn find(conn: &mut Conn, id: Uuid) -> ApiResult<Option<User>> {
    let row = conn.query_opt(FIND_SQL, &[&id])?;
    Ok(row.as_ref().map(User::from_row))
}
