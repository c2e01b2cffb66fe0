//! Black-box tests: the real server over real HTTP against a real PostgreSQL, one file per feature.

mod account;
mod binary;
mod cors;
mod database;
mod front_descriptors;
mod front_readiness;
mod front_shutdown;
mod hashing;
mod http_front;
mod passwords;
mod pgbouncer;
mod readiness;
mod service;
mod sessions;
mod signin;
mod signup;
mod signup_validation;
mod support;
mod tasks_concurrency;
mod tasks_crud;
mod tasks_isolation;
mod tasks_list;
mod tasks_pagination;
mod tasks_validation;
mod throttling;
mod tokens;
