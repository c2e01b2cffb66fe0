//! The HTTP/1.1 front: our own, on httparse (see README, "Why not tiny_http"), readiness-driven:
//! every connection non-blocking in one epoll set that the fixed worker pool waits on.

mod accept;
mod conn;
pub mod gate;
pub mod method;
pub mod parse;
mod poll;
mod registry;
pub mod response;
mod serve;
pub mod server;
mod stream;
mod timer;

pub use accept::{default_max_connections, raise_nofile_limit};
pub use method::Method;
pub use parse::Request;
pub use response::{OnOpen, Response};
pub use server::{HttpServer, Limits, Service};
pub use stream::Outlet;
