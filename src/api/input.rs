//! Request types, parsed from a body or query into values that cannot be wrong (parse, don't
//! validate). Each parse reports every problem it finds, one entry per field.

use super::body::{self, Fields};
use super::cursor::Cursors;
use crate::db::tasks::Keyset;
use crate::domain::{email, Description, Email, Name, Password, Title};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::Request;
use uuid::Uuid;

pub const LIST_LIMIT_MAX: i64 = 1000;

pub struct SignUp {
    pub name: Name,
    pub email: Email,
    pub password: Password,
}

impl SignUp {
    pub fn parse(req: &Request) -> ApiResult<SignUp> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        // Types first, then rules, so `errors` lists problems in the order clients already see.
        let name = f.string("name", "Name", true);
        let email = f.string("email", "Email", true);
        let password = f.string("password", "Password", true);
        let name = name.and_then(|raw| f.check("name", Name::parse(raw)));
        let email = email.and_then(|raw| f.check("email", Email::parse(raw)));
        let password = password.and_then(|raw| new_password(&mut f, "password", raw));
        let parsed = match (name, email, password) {
            (Some(name), Some(email), Some(password)) => Some(SignUp {
                name,
                email,
                password,
            }),
            _ => None,
        };
        f.finish(parsed)
    }
}

/// A new password under the sign-up rules; every rule it breaks is listed.
fn new_password(f: &mut Fields, field: &'static str, raw: &str) -> Option<Password> {
    match Password::parse(raw) {
        Ok(password) => Some(password),
        Err(problems) => {
            problems.into_iter().for_each(|p| f.fail(field, p));
            None
        }
    }
}

/// What a person typed at sign-in: only normalised, never judged (a bad address is just unknown).
pub struct SignIn {
    pub email: String,
    pub password: String,
}

impl SignIn {
    pub fn parse(req: &Request) -> ApiResult<SignIn> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let email = f.string("email", "Email", true).map(email::normalize);
        let password = f.string("password", "Password", true).map(str::to_string);
        let parsed = email
            .zip(password)
            .map(|(email, password)| SignIn { email, password });
        f.finish(parsed)
    }
}

pub struct NewTask {
    pub title: Title,
    pub description: Option<Description>,
    pub completed: bool,
}

fn title(f: &mut Fields, required: bool) -> Option<Title> {
    let raw = f.string("title", "Title", required)?;
    f.check("title", Title::parse(raw))
}

/// Absent: `None`; `null` (clear it): `Some(None)`; a string: `Some(Some(..))`.
fn description(f: &mut Fields) -> Option<Option<Description>> {
    match f.nullable_string("description", "Description")? {
        None => Some(None),
        Some(raw) => f.check("description", Description::parse(raw)).map(Some),
    }
}

impl NewTask {
    pub fn parse(req: &Request) -> ApiResult<NewTask> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let title = title(&mut f, true);
        let description = description(&mut f).flatten();
        let completed = f.boolean("completed", "Completed").unwrap_or(false);
        let parsed = title.map(|title| NewTask {
            title,
            description,
            completed,
        });
        f.finish(parsed)
    }
}

/// A `PUT`: only the fields present change.
pub struct TaskPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub completed: Option<bool>,
}

impl TaskPatch {
    pub fn parse(req: &Request) -> ApiResult<TaskPatch> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let patch = TaskPatch {
            title: title(&mut f, false),
            description: description(&mut f),
            completed: f.boolean("completed", "Completed"),
        };
        let empty =
            patch.title.is_none() && patch.description.is_none() && patch.completed.is_none();
        if f.errors.is_empty() && empty {
            return Err(ApiError::bad_request(
                "Send at least one of title, description or completed",
            ));
        }
        f.finish(Some(patch))
    }
}

/// `GET /api/{user_id}/tasks?status=&limit=&cursor=`.
pub struct ListQuery {
    /// As given, so the next page's link repeats it.
    pub status: Option<String>,
    pub completed: Option<bool>,
    pub limit: Option<i64>,
    pub after: Option<Keyset>,
}

/// A 400 about one named query or path parameter, listed in `errors` like a body field.
pub fn invalid(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl ListQuery {
    /// The cursor is signed for `user`: another user's cursor is as invalid as a forged one.
    pub fn parse(req: &Request, cursors: &Cursors, user: Uuid) -> ApiResult<ListQuery> {
        let mut errors = Vec::new();
        let status = req.query_param("status");
        let completed = match status.as_deref() {
            None | Some("all") => None,
            Some("pending") => Some(false),
            Some("completed") => Some(true),
            Some(_) => {
                errors.push(invalid(
                    "status",
                    "status must be one of: all, pending, completed",
                ));
                None
            }
        };
        let limit = req.query_param("limit").and_then(|raw| match raw.parse() {
            Ok(n @ 1..=LIST_LIMIT_MAX) => Some(n),
            _ => {
                errors.push(invalid(
                    "limit",
                    &format!("limit must be an integer from 1 to {LIST_LIMIT_MAX}"),
                ));
                None
            }
        });
        let after = req.query_param("cursor").and_then(|raw| {
            let decoded = cursors.decode(user, &raw);
            if decoded.is_none() {
                errors.push(invalid(
                    "cursor",
                    "cursor is not valid: use the Link header of the previous page",
                ));
            }
            decoded
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(ListQuery {
            status,
            completed,
            limit,
            after,
        })
    }
}

/// `PUT /api/auth/password`.
pub struct PasswordChange {
    pub current: String,
    pub new: Password,
}

impl PasswordChange {
    pub fn parse(req: &Request) -> ApiResult<PasswordChange> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let current = f.string("current_password", "Current password", true);
        let new = f.string("new_password", "New password", true);
        let new = new.and_then(|raw| new_password(&mut f, "new_password", raw));
        let parsed = current.zip(new).map(|(current, new)| PasswordChange {
            current: current.to_string(),
            new,
        });
        f.finish(parsed)
    }
}

/// `PATCH /api/auth/me`.
pub struct Rename {
    pub name: Name,
}

impl Rename {
    pub fn parse(req: &Request) -> ApiResult<Rename> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let name = f.string("name", "Name", true);
        let name = name.and_then(|raw| f.check("name", Name::parse(raw)));
        f.finish(name.map(|name| Rename { name }))
    }
}

/// `DELETE /api/auth/me`: the password, as typed.
pub struct Confirmation {
    pub password: String,
}

impl Confirmation {
    pub fn parse(req: &Request) -> ApiResult<Confirmation> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let password = f.string("password", "Password", true).map(str::to_string);
        f.finish(password.map(|password| Confirmation { password }))
    }
}
