//! Black-box tests: the real server over real HTTP against a real PostgreSQL.

mod auth;
mod binary;
mod cors;
mod database;
mod front_descriptors;
mod front_readiness;
mod front_shutdown;
mod http_front;
mod service;
mod support;
mod tasks;
