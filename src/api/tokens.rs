//! Personal access tokens: `/api/{user_id}/tokens`. Only a signed-in session manages them (the
//! route table's `Account` rule: a token cannot make or delete tokens).

use super::body::{self, Fields};
use super::path::Path;
use super::App;
use crate::auth::caller::{token_hash, Caller, TOKEN_PREFIX};
use crate::db::tokens::{self, Created};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::io::Read;

/// `todo_` and 256 random bits.
fn secret() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| ApiError::Internal(format!("/dev/urandom: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

pub fn create(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let input = TokenInput::parse(req)?;
    let secret = secret()?;
    let created = tokens::create(
        &mut *app.db()?,
        me,
        &input.name,
        input.writes,
        input.days,
        &token_hash(&secret),
    )?;
    match created.ok_or(ApiError::InvalidToken)? {
        Created::TooMany => Err(ApiError::Conflict("Too many tokens")),
        Created::Token(mut shown) => {
            shown["token"] = secret.into();
            Ok(Response::json(201, &shown))
        }
    }
}

pub fn list(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let body = tokens::list(&mut *app.db()?, me)?.ok_or(ApiError::InvalidToken)?;
    Ok(Response::json_bytes(200, body))
}

pub fn delete(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    const NOT_FOUND: ApiError = ApiError::NotFound("Token not found");
    let id = path.token.ok_or(NOT_FOUND)?;
    if !tokens::delete(&mut *app.db()?, me, id)? {
        return Err(NOT_FOUND);
    }
    Ok(Response::empty(204))
}

/// `POST /api/{user_id}/tokens`.
pub struct TokenInput {
    pub name: String,
    pub writes: bool,
    /// Days until it expires; `None`: never.
    pub days: Option<i32>,
}

impl TokenInput {
    pub fn parse(req: &Request) -> ApiResult<TokenInput> {
        let map = body::object(req)?;
        let mut f = Fields::new(&map);
        let name = f.string("name", "Name", true);
        let name = name.and_then(|n| {
            let ok = (1..=100).contains(&n.chars().count());
            if !ok {
                f.fail("name", "Name must be 1 to 100 characters long");
            }
            ok.then(|| n.to_string())
        });
        let scope = f.string("scope", "Scope", true).and_then(|s| match s {
            "read" => Some(false),
            "write" => Some(true),
            _ => {
                f.fail("scope", "Scope must be read or write");
                None
            }
        });
        let days = match f.get("expires_in_days") {
            None | Some(Value::Null) => Some(None),
            // 30 and 30.0 are the same JSON number.
            Some(Value::Number(n))
                if n.as_f64()
                    .is_some_and(|d| d.fract() == 0.0 && (1.0..=3650.0).contains(&d)) =>
            {
                Some(n.as_f64().map(|d| d as i32))
            }
            Some(_) => {
                f.fail(
                    "expires_in_days",
                    "expires_in_days must be an integer from 1 to 3650, or null",
                );
                None
            }
        };
        let parsed = match (name, scope, days) {
            (Some(name), Some(writes), Some(days)) => Some(TokenInput { name, writes, days }),
            _ => None,
        };
        f.finish(parsed)
    }
}
