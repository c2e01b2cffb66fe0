//! Request types, parsed from a body or query into values that cannot be wrong (parse, don't
//! validate). Each parse reports every problem it finds, one entry per field.

use super::body::{self, Fields};
use crate::domain::{
    email, Description, DueAt, Email, Name, Password, Priority, Recurrence, Tags, Title, Zone,
};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::Request;
use serde_json::Value;
use uuid::Uuid;

pub use super::list_query::LIST_LIMIT_MAX;

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
    pub priority: Priority,
    pub due_at: Option<DueAt>,
    pub tags: Tags,
    pub list: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub parent: Option<i64>,
    pub recurrence: Option<Recurrence>,
    pub timezone: Option<Zone>,
}

/// `parent_id`: absent `None`, `null` `Some(None)`, else a positive task id.
fn parent(f: &mut Fields) -> Option<Option<i64>> {
    match f.get("parent_id")? {
        Value::Null => Some(None),
        Value::Number(n) if n.as_i64().is_some_and(|n| n > 0) => Some(n.as_i64()),
        _ => {
            f.fail(
                "parent_id",
                "Parent id must be a task id (a positive integer) or null",
            );
            None
        }
    }
}

fn recurrence(f: &mut Fields) -> Option<Option<Recurrence>> {
    match f.nullable_string("recurrence", "Recurrence")? {
        None => Some(None),
        Some(raw) => f.check("recurrence", Recurrence::parse(raw)).map(Some),
    }
}

fn timezone(f: &mut Fields) -> Option<Zone> {
    let raw = f.string("timezone", "Time zone", false)?;
    f.check("timezone", Zone::parse(raw))
}

/// A list's or a user's id: absent `None`, `null` `Some(None)` (where `nullable`), else a UUID.
fn id(f: &mut Fields, field: &'static str, what: &str, nullable: bool) -> Option<Option<Uuid>> {
    let problem = match f.get(field)? {
        Value::Null if nullable => return Some(None),
        Value::String(raw) => match Uuid::parse_str(raw.trim()) {
            Ok(id) => return Some(Some(id)),
            Err(_) => format!("{what} must be a UUID"),
        },
        _ if nullable => format!("{what} must be a UUID or null"),
        _ => format!("{what} must be a UUID"),
    };
    f.fail(field, problem);
    None
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

fn priority(f: &mut Fields) -> Option<Priority> {
    match f.get("priority")? {
        Value::String(raw) => f.check("priority", Priority::parse(raw)),
        _ => {
            f.fail(
                "priority",
                "Priority must be one of: none, low, medium, high",
            );
            None
        }
    }
}

/// Absent: `None`; `null` (no due date): `Some(None)`; a timestamp: `Some(Some(..))`.
fn due_at(f: &mut Fields) -> Option<Option<DueAt>> {
    match f.nullable_string("due_at", "Due date")? {
        None => Some(None),
        Some(raw) => f.check("due_at", DueAt::parse(raw, "Due date")).map(Some),
    }
}

/// The whole list; every bad tag is its own entry in `errors`.
fn tags(f: &mut Fields) -> Option<Tags> {
    let value = f.get("tags")?;
    let raw: Option<Vec<&str>> = match value {
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    };
    let Some(raw) = raw else {
        f.fail("tags", "Tags must be an array of strings");
        return None;
    };
    match Tags::parse(raw) {
        Ok(tags) => Some(tags),
        Err(problems) => {
            problems.into_iter().for_each(|p| f.fail("tags", p));
            None
        }
    }
}

impl NewTask {
    pub fn parse(req: &Request) -> ApiResult<NewTask> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let title = title(&mut f, true);
        let description = description(&mut f).flatten();
        let completed = f.boolean("completed", "Completed").unwrap_or(false);
        let priority = priority(&mut f).unwrap_or(Priority::None);
        let due_at = due_at(&mut f).flatten();
        let tags = tags(&mut f).unwrap_or_default();
        let list = id(&mut f, "list_id", "List id", false).flatten();
        let assignee = id(&mut f, "assignee_id", "Assignee id", true).flatten();
        let parent = parent(&mut f).flatten();
        let recurrence = recurrence(&mut f).flatten();
        let timezone = timezone(&mut f);
        if recurrence.is_some() && due_at.is_none() {
            f.fail("recurrence", "A recurring task needs a due_at");
        }
        let parsed = title.map(|title| NewTask {
            title,
            description,
            completed,
            priority,
            due_at,
            tags,
            list,
            assignee,
            parent,
            recurrence,
            timezone,
        });
        f.finish(parsed)
    }
}

/// A `PUT`: only the fields present change.
pub struct TaskPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub completed: Option<bool>,
    pub priority: Option<Priority>,
    pub due_at: Option<Option<DueAt>>,
    pub tags: Option<Tags>,
    pub list: Option<Uuid>,
    pub assignee: Option<Option<Uuid>>,
    pub parent: Option<Option<i64>>,
    pub recurrence: Option<Option<Recurrence>>,
    pub timezone: Option<Zone>,
}

impl TaskPatch {
    /// Does it change when the task is due or how it recurs?
    pub fn reschedules(&self) -> bool {
        self.due_at.is_some() || self.recurrence.is_some() || self.timezone.is_some()
    }

    pub fn parse(req: &Request) -> ApiResult<TaskPatch> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let patch = TaskPatch {
            title: title(&mut f, false),
            description: description(&mut f),
            completed: f.boolean("completed", "Completed"),
            priority: priority(&mut f),
            due_at: due_at(&mut f),
            tags: tags(&mut f),
            list: id(&mut f, "list_id", "List id", false).flatten(),
            assignee: id(&mut f, "assignee_id", "Assignee id", true),
            parent: parent(&mut f),
            recurrence: recurrence(&mut f),
            timezone: timezone(&mut f),
        };
        const FIELDS: [&str; 11] = [
            "title",
            "description",
            "completed",
            "priority",
            "due_at",
            "tags",
            "list_id",
            "assignee_id",
            "parent_id",
            "recurrence",
            "timezone",
        ];
        if f.errors.is_empty() && !FIELDS.iter().any(|k| map.contains_key(*k)) {
            return Err(ApiError::bad_request(
                "Send at least one of title, description, completed, priority, due_at or tags",
            ));
        }
        f.finish(Some(patch))
    }
}

/// A 400 about one named query or path parameter, listed in `errors` like a body field.
pub fn invalid(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.into(),
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
