//! 15,000 idle keep-alive connections, each after one `GET /health`: what holding them costs the
//! server (RSS, threads, descriptors) and what a fresh client sees meanwhile (`/health` p99 from
//! 4 connections), next to the same p99 with no idle connections, and next to axum-ref holding the
//! same 15,000.

use crate::opener::{open, Plan};
use crate::procstat::{footprint, Footprint};
use crate::report::{int, mib, ms, ratio};
use crate::server::{Kind, Launch};
use crate::wrk::Figures;
use crate::{settle, Ctx};
use std::time::Duration;

const IDLE: usize = 15_000;
const PROBE_CONNS: usize = 4;

struct Held {
    answered: usize,
    at_rest: Footprint,
    loaded: Footprint,
    quiet: Figures,
    busy: Figures,
}

fn hold(ctx: &Ctx, kind: Kind) -> Result<Held, String> {
    let server = ctx.start(kind, Launch::plain())?;
    let secs = ctx.short_secs();
    let probe = super::get(&server, "/health", None, PROBE_CONNS, secs);
    let quiet = super::load(
        ctx,
        &format!("{} /health, no idle connections", kind.name()),
        &probe,
    )?;
    settle();
    let at_rest = footprint(server.pid())?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let opened = open(&Plan {
        addr: server.addr,
        count: IDLE,
        request: request.as_bytes(),
        // A connection the server never takes (out of descriptors) costs 3 s of one of these slots.
        in_flight: 1_024,
        answer_within: Duration::from_secs(3),
        keep_ok: true,
    })?;
    println!(
        "{}: opened {IDLE} connections in {:.1} s: {}",
        kind.name(),
        opened.elapsed.as_secs_f64(),
        opened.tally.summary()
    );
    settle();
    let loaded = footprint(server.pid())?;
    let busy = super::load(
        ctx,
        &format!(
            "{} /health, {} idle connections open",
            kind.name(),
            opened.held.len()
        ),
        &probe,
    )?;
    println!(
        "{}: at rest {} RSS, {} threads, {} descriptors; holding {}: {} RSS, {} threads, {} descriptors",
        kind.name(),
        mib(at_rest.rss_kib),
        at_rest.threads,
        at_rest.fds,
        opened.held.len(),
        mib(loaded.rss_kib),
        loaded.threads,
        loaded.fds
    );
    let answered = opened.held.len();
    drop(opened);
    Ok(Held {
        answered,
        at_rest,
        loaded,
        quiet,
        busy,
    })
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let t = hold(ctx, Kind::TodoApi)?;
    let a = hold(ctx, Kind::AxumRef)?;
    let r = &mut ctx.report;
    let n = int(IDLE as f64);
    r.add(
        "idle",
        format!("connections answered and held, of {n}"),
        int(t.answered as f64),
        format!("{} axum-ref", int(a.answered as f64)),
        ratio(t.answered as f64, a.answered as f64),
    );
    r.add(
        "idle",
        format!(
            "server RSS holding them (at rest: {})",
            mib(t.at_rest.rss_kib)
        ),
        mib(t.loaded.rss_kib),
        format!("{} axum-ref", mib(a.loaded.rss_kib)),
        ratio(t.loaded.rss_kib as f64, a.loaded.rss_kib as f64),
    );
    r.add(
        "idle",
        format!(
            "server threads holding them (at rest: {})",
            t.at_rest.threads
        ),
        int(t.loaded.threads as f64),
        format!("{} axum-ref", a.loaded.threads),
        ratio(t.loaded.threads as f64, a.loaded.threads as f64),
    );
    r.add(
        "idle",
        format!(
            "server descriptors holding them (at rest: {})",
            t.at_rest.fds
        ),
        int(t.loaded.fds as f64),
        format!("{} axum-ref", int(a.loaded.fds as f64)),
        ratio(t.loaded.fds as f64, a.loaded.fds as f64),
    );
    r.add(
        "idle",
        format!("GET /health p99, fresh client ({PROBE_CONNS} conns), while they are open"),
        ms(t.busy.p99),
        format!("{} with none open", ms(t.quiet.p99)),
        ratio(t.busy.p99, t.quiet.p99),
    );
    if t.busy.errors > 0 {
        r.note(
            "idle",
            "fresh-client socket errors / timeouts while they are open",
            format!("{} / {}", t.busy.errors, t.busy.timeouts),
        );
    }
    r.add(
        "idle",
        "GET /health p99 while they are open, vs axum-ref",
        ms(t.busy.p99),
        format!("{} axum-ref", ms(a.busy.p99)),
        ratio(t.busy.p99, a.busy.p99),
    );
    Ok(())
}
