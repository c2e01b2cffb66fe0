//! Who a request speaks for. A [`Caller`] is built only by [`admit`], which the router runs with
//! the access rule the route table declares, so no handler can skip the check or make its own.
//!
//! Whether the caller's session still lives is PostgreSQL's to say, in the statement that serves
//! the request (`session_ok`), so the common case stays one round trip. A statement that checked
//! it and found a row vouches for the session; the router asks on its own when nothing did.

use super::token::{self, Keys};
use std::cell::Cell;
use uuid::Uuid;

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
    /// `None` for a token from before sessions existed (valid while its user is).
    pub session: Option<Uuid>,
    need: Need,
    vouched: Cell<bool>,
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

/// The caller an `Authorization` header names, when it carries a validly signed token; `None`
/// answers 401.
pub fn admit(keys: &Keys, authorization: Option<&str>, need: Need) -> Option<Caller> {
    let bearer = keys.verify(token::bearer(authorization)?)?;
    Some(Caller {
        user: bearer.user,
        session: bearer.session,
        need,
        vouched: Cell::new(false),
    })
}
