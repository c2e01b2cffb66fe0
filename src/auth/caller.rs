//! Who a request speaks for. A [`Caller`] is built only by [`admit`], which the router runs with
//! the access rule the route table declares, so no handler can skip the check or make its own.
//!
//! Whether the caller's session still lives is PostgreSQL's to say, in the statement that serves
//! the request (`session_ok`), so the common case stays one round trip. A statement that checked
//! it and found a row vouches for the session; the router asks on its own when nothing did.

use super::token::{self, Keys};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use uuid::Uuid;

/// A personal access token's secret starts with this; anything else after `Bearer` is a JWT.
pub const TOKEN_PREFIX: &str = "todo_";

/// What a route needs of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// To read.
    Read,
    /// To change.
    Write,
    /// To manage a list: only its owner.
    Own,
    /// The account itself (sessions, password, deletion): a signed-in session, checked before the
    /// handler runs.
    Account,
}

#[derive(Debug)]
pub struct Caller {
    pub user: Uuid,
    /// The session (or personal access token) whose life every statement checks; `None` for a
    /// JWT from before sessions existed (valid while its user is).
    pub session: Option<Uuid>,
    need: Need,
    vouched: Cell<bool>,
}

/// What an `Authorization` header carries.
pub enum Credential {
    /// A validly signed JWT: the caller, whose session the statements check.
    Signed(Caller),
    /// A personal access token, to be looked up by this hash of its secret.
    Token(Vec<u8>),
}

/// Why a credential does not reach a route.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401.
    Invalid,
    /// 403: a personal access token on a route about the account itself.
    SignIn,
    /// 403: a read-only token on a route that changes something.
    ReadOnly,
}

/// A personal access token as stored: its id, user, and whether it may write.
pub struct Token {
    pub id: Uuid,
    pub user: Uuid,
    pub writes: bool,
}

/// The hash under which a token's secret is stored.
pub fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

impl Caller {
    pub fn need(&self) -> Need {
        self.need
    }

    /// Does the route change what it names? A list's viewers may not (statements bind this).
    pub fn writes(&self) -> bool {
        self.need != Need::Read
    }

    /// A statement that checked the session returned `found`: a row means the session lived.
    pub fn vouch<T>(&self, found: Option<T>) -> Option<T> {
        self.vouch_if(found.is_some());
        found
    }

    pub fn vouch_if(&self, found: bool) {
        if found {
            self.vouched.set(true);
        }
    }

    /// Has some statement of this request found the session alive?
    pub fn vouched(&self) -> bool {
        self.vouched.get()
    }
}

/// The credential of an `Authorization: Bearer` header, for a route that needs `need`.
pub fn admit(keys: &Keys, authorization: Option<&str>, need: Need) -> Result<Credential, Refusal> {
    let secret = token::bearer(authorization).ok_or(Refusal::Invalid)?;
    if secret.starts_with(TOKEN_PREFIX) {
        return Ok(Credential::Token(token_hash(secret)));
    }
    let bearer = keys.verify(secret).ok_or(Refusal::Invalid)?;
    Ok(Credential::Signed(Caller {
        user: bearer.user,
        session: bearer.session,
        need,
        vouched: Cell::new(false),
    }))
}

/// The caller a live personal access token speaks for, where its scope reaches `need`.
pub fn by_token(token: Token, need: Need) -> Result<Caller, Refusal> {
    match need {
        Need::Account => return Err(Refusal::SignIn),
        Need::Write | Need::Own if !token.writes => return Err(Refusal::ReadOnly),
        _ => {}
    }
    Ok(Caller {
        user: token.user,
        session: Some(token.id),
        need,
        vouched: Cell::new(false),
    })
}
