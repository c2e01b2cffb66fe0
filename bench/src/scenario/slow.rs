//! 2,000 slow clients, each sending one byte of a request head every 5 s, while wrk measures the
//! task-list p99 (W1 users, lists only); the baseline is the same run with no slow clients.

use crate::opener::Trickle;
use crate::procstat::footprint;
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch};
use crate::wrk::Load;
use crate::Ctx;
use std::time::Duration;

const SLOW: usize = 2_000;
const EVERY: Duration = Duration::from_secs(5);
const CONNS: usize = 16;

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let users = ctx.w1_users(Kind::TodoApi, &todo)?;
    let lists = Load {
        url: Ctx::url(&todo),
        conns: CONNS,
        secs: ctx.secs,
        script: "w1",
        args: vec![users.display().to_string(), "0".into()],
    };
    let quiet = super::load(ctx, "task lists, no slow clients", &lists)?;
    let trickle = Trickle::start(todo.addr, SLOW, EVERY);
    // Every slow client connected and has sent its first byte.
    std::thread::sleep(EVERY + Duration::from_secs(1));
    let held = footprint(todo.pid())?;
    let busy = super::load(ctx, "task lists, 2,000 slow clients trickling", &lists)?;
    let stats = trickle.stop()?;
    println!(
        "server with {SLOW} slow clients: {} threads, {} descriptors, RSS {} KiB; slow clients: {} \
         bytes sent, {} closed by the server (and replaced), {} open at the end",
        held.threads, held.fds, held.rss_kib, stats.bytes_sent, stats.closed_by_server, stats.open_at_end
    );
    let r = &mut ctx.report;
    r.add(
        "slow",
        format!("task list p99, {CONNS} conns, 2,000 slow clients"),
        ms(busy.p99),
        format!("{} without", ms(quiet.p99)),
        ratio(busy.p99, quiet.p99),
    );
    r.add(
        "slow",
        format!("task list req/s, {CONNS} conns, 2,000 slow clients"),
        int(busy.ok_rate()),
        format!("{} without", int(quiet.ok_rate())),
        ratio(busy.ok_rate(), quiet.ok_rate()),
    );
    r.note(
        "slow",
        "server threads / descriptors with the slow clients",
        format!("{} / {}", held.threads, held.fds),
    );
    Ok(())
}
