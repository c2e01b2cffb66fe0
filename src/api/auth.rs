//! `POST /api/auth/signup`, `POST /api/auth/signin`, `GET /api/auth/me`.

use super::body::{self, Fields};
use super::{email, App};
use crate::auth::password;
use crate::db::users::{self, User};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use serde_json::json;

fn signed_in(app: &App, user: &User) -> ApiResult<serde_json::Value> {
    let token = app
        .keys
        .issue(user.id, &user.email)
        .map_err(ApiError::Internal)?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": app.keys.ttl_seconds,
        "user": user,
    }))
}

pub fn signup(app: &App, req: &Request) -> ApiResult<Response> {
    let map = body::object(req)?;
    let mut f = Fields::new(&map);
    let name = f.string("name", "Name", true).map(str::trim);
    let email = f.string("email", "Email", true).map(email::normalize);
    let password = f.string("password", "Password", true);
    if let Some(name) = name {
        match name.chars().count() {
            0..=1 => f.fail("name", "Name must be at least 2 characters long"),
            101.. => f.fail("name", "Name must be at most 100 characters long"),
            _ => {}
        }
    }
    if let Some(problem) = email.as_deref().and_then(email::problem) {
        f.fail("email", problem);
    }
    for problem in password.map(password::problems).unwrap_or_default() {
        f.fail("password", problem);
    }
    f.finish()?;
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(ApiError::Internal("validated fields missing".into()));
    };

    if users::email_taken(&mut *app.db()?, &email)? {
        return Err(ApiError::bad_request("Email already registered"));
    }
    let hash = app.hasher.hash(password)?;
    let user = users::insert(&mut *app.db()?, &email, name, &hash)?;
    let mut out = signed_in(app, &user)?;
    out["message"] = "User created successfully".into();
    out["user_id"] = user.id.to_string().into();
    Ok(Response::json(201, &out))
}

pub fn signin(app: &App, req: &Request) -> ApiResult<Response> {
    let map = body::object(req)?;
    let mut f = Fields::new(&map);
    let email = f.string("email", "Email", true).map(email::normalize);
    let password = f.string("password", "Password", true);
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Internal("validated fields missing".into()));
    };

    let found = users::find_by_email(&mut *app.db()?, &email)?;
    // bcrypt would compare only the first 72 bytes, so a longer password can never be right; it
    // still costs one verification, like an unknown address.
    let hash = found
        .as_ref()
        .map(|(_, hash)| hash.as_str())
        .filter(|_| password.len() <= 72);
    if !app.hasher.verify(password, hash)? {
        return Err(ApiError::InvalidCredentials);
    }
    let Some((user, _)) = found else {
        return Err(ApiError::InvalidCredentials);
    };
    Ok(Response::json(200, &signed_in(app, &user)?))
}

pub fn me(app: &App, req: &Request) -> ApiResult<Response> {
    let user = app.authenticate(req, &mut *app.db()?)?;
    Ok(Response::json(200, &user))
}
