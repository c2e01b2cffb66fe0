//! `POST /api/auth/signup`, `POST /api/auth/signin`, `GET /api/auth/me`: sign-up and sign-in each
//! open a session, and are throttled per client address before any bcrypt work.

use super::input::{SignIn, SignUp};
use super::path::Path;
use super::App;
use crate::auth::address::ClientKey;
use crate::auth::caller::Caller;
use crate::db::{self, sessions, throttle, users};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

const EMAIL_TAKEN: &str = "Email already registered";
const SIGNIN_THROTTLED: &str = "Too many sign-in attempts; try again later";
const SIGNUP_THROTTLED: &str = "Too many sign-ups; try again later";

/// A new session for `user` and the sign-in body carrying its token.
pub fn open_session(
    app: &App,
    req: &Request,
    conn: &mut db::Conn,
    user: &users::User,
) -> ApiResult<serde_json::Value> {
    let agent = req
        .header("user-agent")
        .map(|a| a.chars().take(255).collect::<String>());
    let session = sessions::open(conn, user.id, agent.as_deref(), app.keys.ttl_seconds)?;
    let token = app
        .keys
        .issue(user.id, &user.email, session)
        .map_err(|e| ApiError::Internal(format!("token: {e}")))?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": app.keys.ttl_seconds,
        "user": user,
    }))
}

/// 429 when any count is past its limit, with the longest wait among them.
fn over_limit(counts: &[throttle::Count], limit: impl Fn(&str) -> i32) -> Option<i64> {
    counts
        .iter()
        .filter(|c| c.hits > limit(&c.key))
        .map(|c| c.resets_in)
        .max()
}

/// Counts a password attempt against (client, `who`) and against the client, before bcrypt runs;
/// 429 past either limit. The keys returned are for `throttle::settle` once the password is right.
pub fn charge_signin(
    app: &App,
    conn: &mut db::Conn,
    from: ClientKey,
    who: &str,
) -> ApiResult<(String, String)> {
    // Hashed: the key's size stays fixed whatever was typed as an e-mail address.
    let who: String = Sha256::digest(who.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (pair, whole) = (format!("signin:{from}:{who}"), format!("signin:{from}"));
    let counts = throttle::charge(conn, &[&pair, &whole], app.config.signin_window_seconds)?;
    let limit = |key: &str| match key == pair {
        true => app.config.signin_limit_per_email,
        false => app.config.signin_limit_per_address,
    };
    if let Some(wait) = over_limit(&counts, limit) {
        return Err(ApiError::TooMany(SIGNIN_THROTTLED, wait));
    }
    Ok((pair, whole))
}

pub fn signup(app: &App, req: &Request, _: &Path) -> ApiResult<Response> {
    let input = SignUp::parse(req)?;
    let from = app.client(req);
    app.hasher.admits(from)?;
    let mut conn = app.db()?;
    app.housekeeping(&mut conn)?;
    // Counted before the address check too, so sign-up cannot probe for accounts at full speed.
    let key = format!("signup:{from}");
    let counts = throttle::charge(&mut conn, &[&key], app.config.signup_window_seconds)?;
    if let Some(wait) = over_limit(&counts, |_| app.config.signup_limit_per_address) {
        return Err(ApiError::TooMany(SIGNUP_THROTTLED, wait));
    }
    if users::email_taken(&mut conn, &input.email)? {
        return Err(ApiError::bad_request(EMAIL_TAKEN));
    }
    // No connection is held while bcrypt runs.
    drop(conn);
    let hash = app.hasher.hash(&input.password, from)?;
    let mut conn = app.db()?;
    let user = users::insert(&mut conn, &input.email, &input.name, &hash).map_err(|e| {
        match (db::constraint(&e), e.code()) {
            (Some("users_email_key"), _) => ApiError::bad_request(EMAIL_TAKEN),
            // Citus relays a worker's unique violation without the constraint's name; e-mail
            // is the one unique key a new user can collide on.
            (None, Some(&postgres::error::SqlState::UNIQUE_VIOLATION)) => {
                ApiError::bad_request(EMAIL_TAKEN)
            }
            _ => e.into(),
        }
    })?;
    let mut out = open_session(app, req, &mut conn, &user)?;
    out["message"] = "User created successfully".into();
    out["user_id"] = user.id.to_string().into();
    Ok(Response::json(201, &out))
}

pub fn signin(app: &App, req: &Request, _: &Path) -> ApiResult<Response> {
    let input = SignIn::parse(req)?;
    let from = app.client(req);
    app.hasher.admits(from)?;
    let mut conn = app.db()?;
    app.housekeeping(&mut conn)?;
    let (pair, whole) = charge_signin(app, &mut conn, from, &input.email)?;
    let found = users::find_by_email(&mut conn, &input.email)?;
    drop(conn);
    let hash = found.as_ref().map(|(_, hash)| hash.as_str());
    if !app.hasher.verify(&input.password, hash, from)? {
        return Err(ApiError::InvalidCredentials);
    }
    let Some((user, _)) = found else {
        return Err(ApiError::InvalidCredentials);
    };
    let mut conn = app.db()?;
    throttle::settle(&mut conn, &pair, &whole)?;
    Ok(Response::json(
        200,
        &open_session(app, req, &mut conn, &user)?,
    ))
}

pub fn me(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let user = users::find_alive(&mut *app.db()?, me)?.ok_or(ApiError::InvalidToken)?;
    Ok(Response::json(200, &user))
}
