//! Workload W1 (../shared/baselines/README.md) at 16 and 64 connections, todo-api next to axum-ref,
//! with both servers reaching PostgreSQL over TCP (127.0.0.1, as every deployment does) and then
//! over the cluster's Unix socket: at each transport both servers are up on the one cluster,
//! measured one after the other at each connection count, in rounds (`W1_ROUNDS`, default 3) whose
//! medians are reported; then toggles only (W1's toggle alone, 16 connections) the same way.
//! `W1_TRANSPORTS=tcp` or `unix` measures one transport; `W1_TOGGLES=0` leaves out toggles only;
//! `W1_NO_NUMBERING=1` measures todo-api with its change numbering switched off (what no numbering
//! design can beat).

use super::{measure, quantile, Measured};
use crate::report::{int, ms, ratio, us};
use crate::server::{Kind, Launch, Transport};
use crate::wrk::Load;
use crate::Ctx;

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let transports: Vec<Transport> = match std::env::var("W1_TRANSPORTS").as_deref() {
        Ok("tcp") => vec![Transport::Tcp],
        Ok("unix") => vec![Transport::Unix],
        _ => vec![Transport::Tcp, Transport::Unix],
    };
    let toggles = std::env::var("W1_TOGGLES").as_deref() != Ok("0");
    for transport in transports {
        over(ctx, transport, toggles)?;
    }
    if numbering_off() {
        numbering(ctx, "ENABLE")?;
    }
    Ok(())
}

/// `W1_NO_NUMBERING=1`: an upper bound, not a configuration. Without its trigger todo-api numbers
/// no change, so its feed, ETags and events are wrong until the trigger is back.
fn numbering_off() -> bool {
    std::env::var("W1_NO_NUMBERING").as_deref() == Ok("1")
}

fn numbering(ctx: &mut Ctx, how: &str) -> Result<(), String> {
    ctx.pg
        .connect(Kind::TodoApi.database())?
        .batch_execute(&format!("ALTER TABLE tasks {how} TRIGGER tasks_change"))
        .map_err(|e| e.to_string())
}

fn over(ctx: &mut Ctx, transport: Transport, toggles: bool) -> Result<(), String> {
    let todo = ctx.start_over(Kind::TodoApi, Launch::plain(), transport)?;
    let axum = ctx.start_over(Kind::AxumRef, Launch::plain(), transport)?;
    let todo_users = ctx.w1_users(Kind::TodoApi, &todo)?;
    let axum_users = ctx.w1_users(Kind::AxumRef, &axum)?;
    if numbering_off() {
        numbering(ctx, "DISABLE")?;
        println!("W1_NO_NUMBERING=1: todo-api's change numbering trigger is disabled");
    }
    let targets = [
        (Kind::TodoApi, &todo, todo_users),
        (Kind::AxumRef, &axum, axum_users),
    ];
    let w1 = |server: &crate::server::Proc,
              users: &std::path::Path,
              conns: usize,
              secs: u64,
              writes: String| Load {
        url: Ctx::url(server),
        conns,
        secs,
        script: "w1",
        args: vec![users.display().to_string(), writes],
    };
    let mix = std::env::var("W1_WRITES").unwrap_or("10".into());
    // Warm-up (connections, caches, prepared statements), not counted.
    for (_, server, users) in &targets {
        w1(server, users, 16, 2, mix.clone()).run(&ctx.work)?;
    }
    // Stalls of 100 ms and more hit this shared machine now and then, whichever server runs: each
    // figure is the median of a few rounds, each round measuring todo-api then axum-ref.
    let rounds: usize = std::env::var("W1_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut loads = vec![(16, mix.clone(), ""), (64, mix, "")];
    if toggles {
        loads.push((16, "100".to_string(), "toggles only, "));
    }
    let via = match transport {
        Transport::Tcp => "PostgreSQL over TCP",
        Transport::Unix => "PostgreSQL over Unix socket",
    };
    for (conns, writes, what) in loads {
        let mut got: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, (kind, server, users)) in targets.iter().enumerate() {
                got[i].push(measure(
                    ctx,
                    server,
                    *kind,
                    &w1(server, users, conns, ctx.secs, writes.clone()),
                )?);
            }
        }
        let median = |i: usize, f: &dyn Fn(&Measured) -> f64| {
            let mut v: Vec<f64> = got[i].iter().map(f).collect();
            quantile(&mut v, 0.5)
        };
        let of_both = |f: &dyn Fn(&Measured) -> f64| (median(0, f), median(1, f));
        let rate = of_both(&|m| m.wrk.ok_rate());
        let p99 = of_both(&|m| m.wrk.p99);
        let server = of_both(&|m| m.server_cpu_per_request());
        let pg = of_both(&|m| m.pg_cpu_per_request());
        let statements = of_both(&|m| m.statements_per_request());
        let vol = of_both(&|m| m.voluntary_per_request());
        let invol = of_both(&|m| m.involuntary_per_request());
        let r = &mut ctx.report;
        let base = |v: String| format!("{v} axum-ref");
        let of = if rounds > 1 {
            format!(" (median of {rounds})")
        } else {
            String::new()
        };
        let tail = format!("{what}{conns} conns, {via}{of}");
        r.add(
            "w1",
            format!("req/s, {tail}"),
            int(rate.0),
            base(int(rate.1)),
            ratio(rate.0, rate.1),
        );
        r.add(
            "w1",
            format!("p99, {tail}"),
            ms(p99.0),
            base(ms(p99.1)),
            ratio(p99.0, p99.1),
        );
        r.add(
            "w1",
            format!("server CPU per request, {tail}"),
            us(server.0),
            base(us(server.1)),
            ratio(server.0, server.1),
        );
        r.add(
            "w1",
            format!("PostgreSQL CPU per request, {tail}"),
            us(pg.0),
            base(us(pg.1)),
            ratio(pg.0, pg.1),
        );
        r.add(
            "w1",
            format!("server context switches per request, voluntary / involuntary, {tail}"),
            format!("{:.2} / {:.2}", vol.0, invol.0),
            base(format!("{:.2} / {:.2}", vol.1, invol.1)),
            format!("{} / {}", ratio(vol.0, vol.1), ratio(invol.0, invol.1)),
        );
        r.add(
            "w1",
            format!("statements per request (pg_stat_statements calls), {tail}"),
            format!("{:.2}", statements.0),
            base(format!("{:.2}", statements.1)),
            ratio(statements.0, statements.1),
        );
    }
    Ok(())
}
