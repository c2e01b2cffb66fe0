//! Workload W1 (../shared/baselines/README.md) at 16 and 64 connections, todo-api next to axum-ref:
//! both servers up on the one cluster, measured one after the other at each connection count.

use super::{measure, Measured};
use crate::report::{int, ms, ratio, us};
use crate::server::{Kind, Launch};
use crate::wrk::Load;
use crate::Ctx;

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let axum = ctx.start(Kind::AxumRef, Launch::plain())?;
    let todo_users = ctx.w1_users(Kind::TodoApi, &todo)?;
    let axum_users = ctx.w1_users(Kind::AxumRef, &axum)?;
    let targets = [
        (Kind::TodoApi, &todo, todo_users),
        (Kind::AxumRef, &axum, axum_users),
    ];
    let w1 =
        |server: &crate::server::Proc, users: &std::path::Path, conns: usize, secs: u64| Load {
            url: Ctx::url(server),
            conns,
            secs,
            script: "w1",
            args: vec![
                users.display().to_string(),
                std::env::var("W1_WRITES").unwrap_or("10".into()),
            ],
        };
    // Warm-up (connections, caches, prepared statements), not counted.
    for (_, server, users) in &targets {
        w1(server, users, 16, 2).run(&ctx.work)?;
    }
    for conns in [16, 64] {
        let mut got: Vec<Measured> = Vec::new();
        for (kind, server, users) in &targets {
            got.push(measure(
                ctx,
                server,
                *kind,
                &w1(server, users, conns, ctx.secs),
            )?);
        }
        let (t, a) = (&got[0], &got[1]);
        let r = &mut ctx.report;
        let base = |v: String| format!("{v} axum-ref");
        r.add(
            "w1",
            format!("req/s, {conns} conns"),
            int(t.wrk.ok_rate()),
            base(int(a.wrk.ok_rate())),
            ratio(t.wrk.ok_rate(), a.wrk.ok_rate()),
        );
        r.add(
            "w1",
            format!("p99, {conns} conns"),
            ms(t.wrk.p99),
            base(ms(a.wrk.p99)),
            ratio(t.wrk.p99, a.wrk.p99),
        );
        r.add(
            "w1",
            format!("server CPU per request, {conns} conns"),
            us(t.server_cpu_per_request()),
            base(us(a.server_cpu_per_request())),
            ratio(t.server_cpu_per_request(), a.server_cpu_per_request()),
        );
        r.add(
            "w1",
            format!("PostgreSQL CPU per request, {conns} conns"),
            us(t.pg_cpu_per_request()),
            base(us(a.pg_cpu_per_request())),
            ratio(t.pg_cpu_per_request(), a.pg_cpu_per_request()),
        );
        r.add(
            "w1",
            format!("statements per request (pg_stat_statements calls), {conns} conns"),
            format!("{:.2}", t.statements_per_request()),
            base(format!("{:.2}", a.statements_per_request())),
            ratio(t.statements_per_request(), a.statements_per_request()),
        );
    }
    Ok(())
}
