//! The signed-in person's account: sign-out, sessions, password change, rename, deletion.

use super::auth::open_session;
use super::input::{Confirmation, PasswordChange, Rename};
use super::path::Path;
use super::App;
use crate::auth::caller::Caller;
use crate::db::{self, sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use uuid::Uuid;

const SESSION_NOT_FOUND: ApiError = ApiError::NotFound("Session not found");

/// `POST /api/auth/signout`: this token stops working everywhere. A token from before sessions
/// existed has none of its own, so signing it out ends every such token of the user.
pub fn signout(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let done = match me.session {
        Some(session) => sessions::revoke(&mut conn, me.user, session)?,
        None => sessions::revoke_legacy(&mut conn, me.user)?,
    };
    if !done {
        return Err(ApiError::InvalidToken);
    }
    ended(app, me.user, Response::empty(204))
}

pub fn list(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    Ok(Response::json(200, &sessions::list(&mut *app.db()?, me)?))
}

/// `DELETE /api/auth/sessions`: sign out everywhere, this session too.
pub fn revoke_all(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    sessions::revoke_all(&mut *app.db()?, me.user, None)?;
    ended(app, me.user, Response::empty(204))
}

pub fn revoke(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let id = path.session.ok_or(SESSION_NOT_FOUND)?;
    if !sessions::revoke(&mut *app.db()?, me.user, id)? {
        return Err(SESSION_NOT_FOUND);
    }
    ended(app, me.user, Response::empty(204))
}

/// `PUT /api/auth/password`: a wrong current password is a 400, not a 401 (the token is fine). On
/// success every session ends and a fresh one is opened, in one transaction.
pub fn change_password(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let input = PasswordChange::parse(req)?;
    check_password(
        app,
        req,
        me,
        &input.current,
        "Current password is incorrect",
    )?;
    let hash = app.hasher.hash(&input.new, app.client(req))?;
    let mut conn = app.db()?;
    let body = db::transaction(&mut conn, |conn| {
        let user = users::set_password(conn, me, &hash)?.ok_or(ApiError::InvalidToken)?;
        sessions::revoke_all(conn, me.user, None)?;
        open_session(app, req, conn, &user)
    })?;
    ended(app, me.user, Response::json(200, &body))
}

pub fn rename(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let input = Rename::parse(req)?;
    let user = users::rename(&mut *app.db()?, me, &input.name)?.ok_or(ApiError::InvalidToken)?;
    Ok(Response::json(200, &user))
}

/// `DELETE /api/auth/me`: the user, their tasks and sessions go in one statement.
pub fn delete(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let input = Confirmation::parse(req)?;
    check_password(app, req, me, &input.password, "Password is incorrect")?;
    let told = users::delete(&mut *app.db()?, me.user)?.ok_or(ApiError::InvalidToken)?;
    for user in told {
        app.notifier.changed(user);
    }
    Ok(Response::empty(204))
}

/// Sessions of `user` ended in a committed write: every instance is told to end their event
/// streams (the listener checks each stream's session before sending it more).
fn ended(app: &App, user: Uuid, answer: Response) -> ApiResult<Response> {
    app.notifier.changed(user);
    Ok(answer)
}

/// The caller's password, checked with bcrypt (no connection held meanwhile). Failures count
/// against the same per-address limits as sign-in, so a stolen token cannot guess at full speed.
fn check_password(
    app: &App,
    req: &Request,
    me: &Caller,
    password: &str,
    wrong: &'static str,
) -> ApiResult<()> {
    let mut conn = app.db()?;
    let hash = users::password_hash(&mut conn, me)?.ok_or(ApiError::InvalidToken)?;
    let from = app.client(req);
    let (pair, whole) = super::auth::charge_signin(app, &mut conn, from, &me.user.to_string())?;
    drop(conn);
    if !app.hasher.verify(password, Some(&hash), from)? {
        return Err(ApiError::bad_request(wrong));
    }
    db::throttle::settle(&mut *app.db()?, &pair, &whole)?;
    Ok(())
}
