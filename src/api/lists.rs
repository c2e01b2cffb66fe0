//! Lists and sharing: `/api/{user_id}/lists...` and `/api/{user_id}/invitations...`. The router
//! has checked the token, the path's user and the route's need (read, write, own); each statement
//! filters by the caller's membership with that need, and a refusal is told apart afterwards: not
//! a member (404), a member whose role does not allow it (403).

use super::list_input::{InvitationInput, ListInput, RoleInput};
use super::path::Path;
use super::tasks::{LIST_NOT_FOUND, ROLE_FORBIDS};
use super::App;
use crate::auth::caller::Caller;
use crate::db::invitations::{self, Answer, Invited};
use crate::db::lists::{self, Created, Removal, RoleChange};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use uuid::Uuid;

const INVITATION_NOT_FOUND: ApiError = ApiError::NotFound("Invitation not found");
const MEMBER_NOT_FOUND: ApiError = ApiError::NotFound("Member not found");

fn list_id(path: &Path) -> ApiResult<Uuid> {
    path.list.ok_or(LIST_NOT_FOUND)
}

/// A refusal by a statement that filtered by membership: 403 for a member whose role does not
/// allow it, 404 for anyone else.
fn refused(app: &App, me: &Caller, list: Uuid) -> ApiResult<ApiError> {
    Ok(match lists::role(&mut *app.db()?, me, Some(list))? {
        Some(_) => ROLE_FORBIDS,
        None => LIST_NOT_FOUND,
    })
}

pub fn all(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let body = lists::all(&mut *app.db()?, me)?.ok_or(ApiError::InvalidToken)?;
    Ok(Response::json_bytes(200, body))
}

pub fn create(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let input = ListInput::parse(req, true)?;
    let name = input.name.as_deref().unwrap_or_default();
    let color = input.color.flatten();
    match lists::create(&mut *app.db()?, me, name, color.as_deref(), None)? {
        None => Err(ApiError::InvalidToken),
        Some(Created::TooMany) => Err(ApiError::Conflict("Too many lists")),
        Some(Created::List(body)) => {
            app.tell(&[me.user]);
            Ok(Response::json_bytes(201, body))
        }
    }
}

pub fn get(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let body = lists::one(&mut *app.db()?, me, list_id(path)?)?.ok_or(LIST_NOT_FOUND)?;
    Ok(Response::json_bytes(200, body))
}

pub fn update(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let input = ListInput::parse(req, false)?;
    let name = input.name.as_deref();
    let color = input.color.as_ref().map(|c| c.as_deref());
    match lists::update(&mut *app.db()?, me, list, name, color)? {
        Some((body, members)) => {
            app.tell(&members);
            Ok(Response::json_bytes(200, body))
        }
        None => Err(refused(app, me, list)?),
    }
}

pub fn delete(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let mut conn = app.db()?;
    match lists::role(&mut conn, me, Some(list))?.as_deref() {
        None => return Err(LIST_NOT_FOUND),
        Some("owner") => {}
        Some(_) => return Err(ROLE_FORBIDS),
    }
    if lists::is_default(&mut conn, list)? {
        return Err(ApiError::bad_request("The default list cannot be deleted"));
    }
    let members = lists::delete(&mut conn, me, list)?.ok_or(LIST_NOT_FOUND)?;
    app.tell(&members);
    Ok(Response::empty(204))
}

pub fn invite(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let input = InvitationInput::parse(req)?;
    match invitations::invite(&mut *app.db()?, me, list, &input.email, input.role)? {
        Invited::Done(invitation) => {
            app.tell(&invitation.members);
            Ok(Response::json_bytes(201, invitation.json))
        }
        Invited::NotOwner => Err(refused(app, me, list)?),
        Invited::DefaultList => Err(ApiError::bad_request("The default list cannot be shared")),
        Invited::AlreadyMember => Err(ApiError::Conflict("Already a member of this list")),
        Invited::AlreadyInvited => Err(ApiError::Conflict("Already invited")),
        Invited::TooManyMembers => Err(ApiError::Conflict("Too many members")),
        Invited::TooManyToday(wait) => Err(ApiError::TooMany(
            "Too many invitations; try again later",
            wait,
        )),
    }
}

pub fn invitations_of(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    match invitations::invitations_of(&mut *app.db()?, me, list)? {
        Some(body) => Ok(Response::json_bytes(200, body)),
        None => Err(refused(app, me, list)?),
    }
}

pub fn revoke_invitation(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let invitation = path.invitation.ok_or(INVITATION_NOT_FOUND)?;
    let mut conn = app.db()?;
    if let Some(members) = invitations::revoke_invitation(&mut conn, me, list, invitation)? {
        app.tell(&members);
        return Ok(Response::empty(204));
    }
    Err(match lists::role(&mut conn, me, Some(list))?.as_deref() {
        None => LIST_NOT_FOUND,
        Some("owner") => INVITATION_NOT_FOUND,
        Some(_) => ROLE_FORBIDS,
    })
}

pub fn invitations_to(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let body = invitations::invitations_to(&mut *app.db()?, me)?.ok_or(ApiError::InvalidToken)?;
    Ok(Response::json_bytes(200, body))
}

fn answer(app: &App, path: &Path, me: &Caller, accept: bool) -> ApiResult<Response> {
    let invitation = path.invitation.ok_or(INVITATION_NOT_FOUND)?;
    match invitations::answer(&mut *app.db()?, me, invitation, accept)? {
        Answer::Joined(body, members) => {
            app.tell(&members);
            Ok(Response::json_bytes(200, body))
        }
        Answer::Declined(members) => {
            app.tell(&members);
            Ok(Response::empty(204))
        }
        Answer::NotFound => Err(INVITATION_NOT_FOUND),
    }
}

pub fn accept(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    answer(app, path, me, true)
}

pub fn decline(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    answer(app, path, me, false)
}

pub fn members(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let body = lists::member_list(&mut *app.db()?, me, list_id(path)?)?.ok_or(LIST_NOT_FOUND)?;
    Ok(Response::json_bytes(200, body))
}

pub fn set_role(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let input = RoleInput::parse(req)?;
    let member = path.member.ok_or(MEMBER_NOT_FOUND)?;
    match lists::set_role(&mut *app.db()?, me, list, member, input.role)? {
        RoleChange::Done(body, members) => {
            app.tell(&members);
            Ok(Response::json_bytes(200, body))
        }
        RoleChange::NotOwner => Err(refused(app, me, list)?),
        RoleChange::NoSuchMember => Err(MEMBER_NOT_FOUND),
    }
}

/// The owner removes a member; any member removes themself (leaves).
pub fn remove(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let list = list_id(path)?;
    let member = path.member.ok_or(MEMBER_NOT_FOUND)?;
    match lists::remove(&mut *app.db()?, me, list, member)? {
        Removal::Done(members) => {
            app.tell(&members);
            Ok(Response::empty(204))
        }
        Removal::NotAllowed => Err(ROLE_FORBIDS),
        Removal::NoSuchMember => Err(match lists::role(&mut *app.db()?, me, Some(list))? {
            Some(_) => MEMBER_NOT_FOUND,
            None => LIST_NOT_FOUND,
        }),
        Removal::OwnerCannotLeave => Err(ApiError::bad_request(
            "The owner cannot leave the list; hand it over first",
        )),
    }
}
