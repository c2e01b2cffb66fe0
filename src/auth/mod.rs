//! Passwords (bcrypt behind a bounded section), access tokens (JWT, HS256 only), and the generated
//! signing secret.

pub mod address;
pub mod caller;
pub mod password;
pub mod secret;
pub mod seen;
pub mod token;
