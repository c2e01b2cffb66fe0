//! Path parameters, parsed once by the router from the route's template.

use uuid::Uuid;

/// A `{task_id}` segment: a positive integer, or why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskId {
    Valid(i64),
    /// Not a positive integer: 400.
    Malformed,
    /// A positive integer too large for a bigint names no task: 404, not 400.
    Beyond,
}

impl TaskId {
    fn parse(raw: &str) -> TaskId {
        if raw.is_empty()
            || !raw.bytes().all(|b| b.is_ascii_digit())
            || raw.bytes().all(|b| b == b'0')
        {
            return TaskId::Malformed;
        }
        raw.parse().map_or(TaskId::Beyond, TaskId::Valid)
    }
}

/// The parameters of a matched path. Each handler reads the ones its template has; `{user_id}` is
/// checked against the caller by the router before any handler runs (`access`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    /// `{user_id}`: `None` when the template has none, `Some(None)` when it is not a UUID (403).
    pub user: Option<Option<Uuid>>,
    pub task: TaskId,
    /// `{session_id}`; `None` when it is not a UUID (it names no session: 404).
    pub session: Option<Uuid>,
    /// `{list_id}`, `{invitation_id}`, `{member_id}`: `None` when not a UUID (404 as well).
    pub list: Option<Uuid>,
    pub invitation: Option<Uuid>,
    pub member: Option<Uuid>,
    /// `{token_id}`; `None` when not a UUID (404).
    pub token: Option<Uuid>,
}

impl Path {
    pub const NONE: Path = Path {
        user: None,
        task: TaskId::Malformed,
        session: None,
        list: None,
        invitation: None,
        member: None,
        token: None,
    };

    /// The template parameters this type holds; the router matches no other.
    pub const PARAMETERS: [&'static str; 7] = [
        "{user_id}",
        "{task_id}",
        "{session_id}",
        "{list_id}",
        "{invitation_id}",
        "{member_id}",
        "{token_id}",
    ];

    /// Takes the value of the template parameter `name`.
    pub fn set(&mut self, name: &str, raw: &str) {
        match name {
            "{user_id}" => self.user = Some(Uuid::parse_str(raw).ok()),
            "{task_id}" => self.task = TaskId::parse(raw),
            "{session_id}" => self.session = Uuid::parse_str(raw).ok(),
            "{list_id}" => self.list = Uuid::parse_str(raw).ok(),
            "{invitation_id}" => self.invitation = Uuid::parse_str(raw).ok(),
            "{member_id}" => self.member = Uuid::parse_str(raw).ok(),
            "{token_id}" => self.token = Uuid::parse_str(raw).ok(),
            _ => {}
        }
    }
}
