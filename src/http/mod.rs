//! The HTTP/1.1 front: our own, on httparse (see README, "Why not tiny_http").

pub mod parse;
pub mod response;
pub mod server;

pub use parse::Request;
pub use response::Response;
pub use server::{HttpServer, Limits, Service};
