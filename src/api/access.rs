//! The access rule of each route, declared in the route table and applied here before its handler
//! runs: the handler of a non-public route receives a [`Caller`], which only this check builds.

use super::path::Path;
use super::App;
use crate::auth::caller::{self, Caller, Credential, Need, Refusal};
use crate::db::{sessions, tokens};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};

pub type Public = fn(&App, &Request, &Path) -> ApiResult<Response>;
pub type Handler = fn(&App, &Request, &Path, &Caller) -> ApiResult<Response>;

#[derive(Clone, Copy)]
pub enum Access {
    /// Anyone: the service routes, sign-up and sign-in, and the event stream (whose one-use ticket
    /// is its credential, bound to a session when it was issued).
    Public(Public),
    /// A signed-in session, checked before the handler runs: the account's own routes.
    Account(Handler),
    /// A caller who may read.
    Read(Handler),
    /// A caller who may change.
    Write(Handler),
    /// A list's owner (members who are not are refused by the statements, with 403).
    Own(Handler),
}

impl Access {
    pub fn is_public(self) -> bool {
        matches!(self, Access::Public(_))
    }
}

/// Runs the route's handler under its access rule: a valid token (401), the path's user is the
/// caller (403), then the handler; a dead session's 401 wins over any other answer.
pub fn serve(app: &App, req: &Request, path: &Path, access: Access) -> ApiResult<Response> {
    let (need, handler) = match access {
        Access::Public(handler) => return handler(app, req, path),
        Access::Account(handler) => (Need::Account, handler),
        Access::Read(handler) => (Need::Read, handler),
        Access::Write(handler) => (Need::Write, handler),
        Access::Own(handler) => (Need::Own, handler),
    };
    let caller = match caller::admit(&app.keys, req.header("authorization"), need) {
        Ok(Credential::Signed(caller)) => {
            if let Some(session) = caller.session.filter(|s| app.seen.due(*s)) {
                sessions::touch(&mut *app.db()?, caller.user, session)?;
            }
            caller
        }
        // A personal access token costs one lookup more (it names no user until then); its
        // statements check it again, so a deleted token is refused at once.
        Ok(Credential::Token(hash)) => token_caller(app, &hash, None, need)?,
        Err(refusal) => return Err(refused(refusal)),
    };
    if need == Need::Account {
        caller.vouch_if(sessions::alive(&mut *app.db()?, &caller)?);
        if !caller.vouched() {
            return Err(ApiError::InvalidToken);
        }
    }
    let answer = path_user(path, &caller).and_then(|()| handler(app, req, path, &caller));
    settle(app, &caller, answer)
}

/// The caller of a CalDAV request: HTTP Basic with the account's e-mail and a personal access
/// token (what CalDAV apps can send), or a Bearer token as on the REST routes. Checked once for
/// the request, against the database, so a deleted token or ended session is refused at once.
pub fn dav_caller(app: &App, req: &Request, need: Need) -> ApiResult<Caller> {
    let header = req.header("authorization");
    if let Some((email, secret)) = header.and_then(basic) {
        if !secret.starts_with(caller::TOKEN_PREFIX) {
            return Err(ApiError::InvalidToken);
        }
        let email = crate::domain::email::normalize(&email);
        return token_caller(app, &caller::token_hash(&secret), Some(&email), need);
    }
    match caller::admit(&app.keys, header, need).map_err(refused)? {
        Credential::Signed(caller) => {
            caller.vouch_if(sessions::alive(&mut *app.db()?, &caller)?);
            caller
                .vouched()
                .then_some(caller)
                .ok_or(ApiError::InvalidToken)
        }
        Credential::Token(hash) => token_caller(app, &hash, None, need),
    }
}

/// A personal access token's caller, by the hash of its secret (and, for HTTP Basic, the
/// account's e-mail). A token costs one lookup more than a JWT, which names its user; its
/// `last_used_at` is touched now and then, not on every request.
fn token_caller(app: &App, hash: &[u8], email: Option<&str>, need: Need) -> ApiResult<Caller> {
    let mut conn = app.db()?;
    let token = tokens::find(&mut conn, hash, email)?.ok_or(ApiError::InvalidToken)?;
    if app.seen.due(token.id) {
        tokens::touch(&mut conn, token.id)?;
    }
    caller::by_token(token, need).map_err(refused)
}

/// `Basic base64(user:password)`, decoded.
fn basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Invalid => ApiError::InvalidToken,
        Refusal::SignIn => ApiError::NotAllowed("Sign in to do this"),
        Refusal::ReadOnly => ApiError::NotAllowed("This token can only read"),
    }
}

/// `{user_id}`, where the template has one, must be the caller (a malformed one is not).
fn path_user(path: &Path, caller: &Caller) -> ApiResult<()> {
    match path.user {
        None => Ok(()),
        Some(Some(user)) if user == caller.user => Ok(()),
        Some(_) => Err(ApiError::Forbidden),
    }
}

/// The handler's answer, unless the caller's session is gone: no statement of the handler's found
/// it alive (an empty answer, or a client error before or instead of one), so it is asked now.
fn settle(app: &App, caller: &Caller, answer: ApiResult<Response>) -> ApiResult<Response> {
    let undecided = match &answer {
        Ok(_) => true,
        Err(e) => e.is_client_error(),
    };
    if caller.vouched() || !undecided {
        return answer;
    }
    match sessions::alive(&mut *app.db()?, caller)? {
        true => answer,
        false => Err(ApiError::InvalidToken),
    }
}
