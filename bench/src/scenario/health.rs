//! GET /health at 64 keep-alive connections: todo-api next to a trivial responder (this executable
//! answering the same bytes from a thread per connection: the ceiling of a front on this machine)
//! and next to axum-ref's /health. todo-api's /health pings PostgreSQL; the other two do not.

use super::{get, load};
use crate::report::{int, ms, ratio};
use crate::server::{start_responder, Kind, Launch};
use crate::{http, Ctx};
use std::time::Duration;

const CONNS: usize = 64;

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let axum = ctx.start(Kind::AxumRef, Launch::plain())?;
    let real = http::request(
        todo.addr,
        "GET",
        "/health",
        None,
        None,
        Duration::from_secs(5),
    )
    .map_err(|e| format!("GET /health: {e}"))?;
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\
         Content-Length: {}\r\n\r\n{}",
        real.body.len(),
        real.body
    );
    let responder = start_responder(&ctx.bins, &response, &ctx.work)?;
    let secs = ctx.short_secs();
    let t = load(
        ctx,
        "todo-api /health",
        &get(&todo, "/health", None, CONNS, secs),
    )?;
    let b = load(
        ctx,
        "responder /health",
        &get(&responder, "/health", None, CONNS, secs),
    )?;
    let a = load(
        ctx,
        "axum-ref /health",
        &get(&axum, "/health", None, CONNS, secs),
    )?;
    let r = &mut ctx.report;
    r.add(
        "health",
        format!("GET /health req/s, {CONNS} conns (pings PostgreSQL)"),
        int(t.ok_rate()),
        format!("{} responder", int(b.ok_rate())),
        ratio(t.ok_rate(), b.ok_rate()),
    );
    r.add(
        "health",
        format!("GET /health p99, {CONNS} conns"),
        ms(t.p99),
        format!("{} responder", ms(b.p99)),
        ratio(t.p99, b.p99),
    );
    r.add(
        "health",
        format!("GET /health req/s vs axum-ref (no database), {CONNS} conns"),
        int(t.ok_rate()),
        format!("{} axum-ref", int(a.ok_rate())),
        ratio(t.ok_rate(), a.ok_rate()),
    );
    r.add(
        "health",
        format!("GET /health p99 vs axum-ref, {CONNS} conns"),
        ms(t.p99),
        format!("{} axum-ref", ms(a.p99)),
        ratio(t.p99, a.p99),
    );
    Ok(())
}
