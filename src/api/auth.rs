//! `POST /api/auth/signup`, `POST /api/auth/signin`, `GET /api/auth/me`.

use super::input::{SignIn, SignUp};
use super::App;
use crate::db::{self, users};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::routes::Path;
use serde_json::json;

const EMAIL_TAKEN: &str = "Email already registered";

fn signed_in(app: &App, user: &users::User) -> ApiResult<serde_json::Value> {
    let token = app
        .keys
        .issue(user.id, &user.email)
        .map_err(|e| ApiError::Internal(format!("token: {e}")))?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": app.keys.ttl_seconds,
        "user": user,
    }))
}

pub fn signup(app: &App, req: &Request, _: &Path) -> ApiResult<Response> {
    let input = SignUp::parse(req)?;
    if users::email_taken(&mut *app.db()?, &input.email)? {
        return Err(ApiError::bad_request(EMAIL_TAKEN));
    }
    let hash = app.hasher.hash(&input.password)?;
    let user = users::insert(&mut *app.db()?, &input.email, &input.name, &hash).map_err(|e| {
        match db::constraint(&e) {
            Some("users_email_key") => ApiError::bad_request(EMAIL_TAKEN),
            _ => e.into(),
        }
    })?;
    let mut out = signed_in(app, &user)?;
    out["message"] = "User created successfully".into();
    out["user_id"] = user.id.to_string().into();
    Ok(Response::json(201, &out))
}

pub fn signin(app: &App, req: &Request, _: &Path) -> ApiResult<Response> {
    let input = SignIn::parse(req)?;
    let found = users::find_by_email(&mut *app.db()?, &input.email)?;
    let hash = found.as_ref().map(|(_, hash)| hash.as_str());
    if !app.hasher.verify(&input.password, hash)? {
        return Err(ApiError::InvalidCredentials);
    }
    let Some((user, _)) = found else {
        return Err(ApiError::InvalidCredentials);
    };
    Ok(Response::json(200, &signed_in(app, &user)?))
}

pub fn me(app: &App, req: &Request, _: &Path) -> ApiResult<Response> {
    let user = app.authenticate(req, &mut *app.db()?)?;
    Ok(Response::json(200, &user))
}
