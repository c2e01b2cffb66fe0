//! Request bodies of the list routes: a list, an invitation, a member's role (parse, don't
//! validate, as `input`).

use super::body::{self, Fields};
use crate::domain::{Color, Email, ListName};
use crate::error::{ApiError, ApiResult};
use crate::http::Request;

/// `POST` and `PATCH` of a list: `name` required when creating; `color` `#rrggbb` or null.
pub struct ListInput {
    pub name: Option<ListName>,
    pub color: Option<Option<Color>>,
}

impl ListInput {
    pub fn parse(req: &Request, creating: bool) -> ApiResult<ListInput> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let name = f.string("name", "List name", creating);
        let name = name.and_then(|raw| f.check("name", ListName::parse(raw)));
        let color = match f.nullable_string("color", "Color") {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => f.check("color", Color::parse(raw)).map(Some),
        };
        if !creating && f.errors.is_empty() && name.is_none() && color.is_none() {
            return Err(ApiError::bad_request("Send name or color"));
        }
        let valid = !creating || name.is_some();
        f.finish(valid.then_some(ListInput { name, color }))
    }
}

/// A role a member may be given; `invited` is the invitation's choice (never owner).
fn role(f: &mut Fields, invited: bool) -> Option<&'static str> {
    let allowed: &[&'static str] = match invited {
        true => &["editor", "viewer"],
        false => &["owner", "editor", "viewer"],
    };
    let raw = f.string("role", "Role", true)?;
    let found = allowed.iter().find(|r| **r == raw).copied();
    if found.is_none() {
        f.fail(
            "role",
            format!("Role must be one of: {}", allowed.join(", ")),
        );
    }
    found
}

/// `POST .../invitations`.
pub struct InvitationInput {
    pub email: Email,
    pub role: &'static str,
}

impl InvitationInput {
    pub fn parse(req: &Request) -> ApiResult<InvitationInput> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let email = f.string("email", "Email", true);
        let email = email.and_then(|raw| f.check("email", Email::parse(raw)));
        let role = role(&mut f, true);
        let parsed = email
            .zip(role)
            .map(|(email, role)| InvitationInput { email, role });
        f.finish(parsed)
    }
}

/// `PATCH .../members/{member_id}`.
pub struct RoleInput {
    pub role: &'static str,
}

impl RoleInput {
    pub fn parse(req: &Request) -> ApiResult<RoleInput> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let role = role(&mut f, false);
        f.finish(role.map(|role| RoleInput { role }))
    }
}
