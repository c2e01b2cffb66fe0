//! Black-box tests: the real server over real HTTP against a real PostgreSQL.

mod auth;
mod binary;
mod cors;
mod database;
mod http_front;
mod organising_fields;
mod organising_list;
mod service;
mod support;
mod tasks;
