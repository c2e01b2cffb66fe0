//! Passwords (bcrypt behind a bounded section) and access tokens (JWT, HS256 only).

pub mod address;
pub mod password;
pub mod seen;
pub mod token;
