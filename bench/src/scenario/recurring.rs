//! Completing a recurring task next to a plain toggle (issue "Subtasks and recurring tasks": at
//! most 1.5x its cost). Two groups of 50 users with 20 tasks each on one todo-api: one group's
//! tasks made recurring (`FREQ=DAILY` from a due date, through the API, which computes and keeps
//! their next occurrences); wrk toggles random tasks of each group in turn (W1's script with 100 %
//! toggles), so every toggle of the recurring group is a completion that moves the task to its
//! next day, and now and then computes more occurrences. Each figure is the median of the rounds.

use super::{measure, quantile, Measured};
use crate::postgres::{vacuum_analyze, LIST_TABLES};
use crate::report::{int, ms, ratio, us};
use crate::server::{Kind, Launch, Proc};
use crate::sharing;
use crate::wrk::Load;
use crate::Ctx;
use std::path::{Path, PathBuf};

const USERS: usize = 50;
const TASKS: i32 = 20;

fn users(ctx: &Ctx, server: &Proc, prefix: &str, recurring: bool) -> Result<PathBuf, String> {
    let seeded = ctx.seed_members(server, prefix, USERS, TASKS)?;
    let mut lines = String::new();
    for (tasks, member) in &seeded {
        if recurring {
            let body = serde_json::json!({
                "due_at": "2027-01-04T09:00:00Z",
                "recurrence": "FREQ=DAILY",
                "timezone": "Europe/Berlin",
            });
            for id in tasks.first..=tasks.last {
                sharing::put_task(server.addr, member, id, &body)?;
            }
        }
        lines.push_str(&format!(
            "{} {} {} {}\n",
            member.id, member.token, tasks.first, tasks.last
        ));
    }
    let path = ctx.work.join(format!("{prefix}-users.txt"));
    std::fs::write(&path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let plain = users(ctx, &todo, "toggle-plain", false)?;
    let recurring = users(ctx, &todo, "toggle-recurring", true)?;
    vacuum_analyze(&mut ctx.pg.connect(Kind::TodoApi.database())?, LIST_TABLES)?;
    let toggles = |users: &Path, secs: u64| Load {
        url: Ctx::url(&todo),
        conns: 16,
        secs,
        script: "w1",
        args: vec![users.display().to_string(), "100".into()],
    };
    for users in [&plain, &recurring] {
        toggles(users, 2).run(&ctx.work)?;
    }
    let rounds: usize = std::env::var("W1_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut got: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, users) in [&recurring, &plain].into_iter().enumerate() {
            got[i].push(measure(
                ctx,
                &todo,
                Kind::TodoApi,
                &toggles(users, ctx.secs),
            )?);
        }
    }
    let median = |i: usize, f: &dyn Fn(&Measured) -> f64| {
        let mut v: Vec<f64> = got[i].iter().map(f).collect();
        quantile(&mut v, 0.5)
    };
    let both = |f: &dyn Fn(&Measured) -> f64| (median(0, f), median(1, f));
    let rate = both(&|m| m.wrk.ok_rate());
    let p99 = both(&|m| m.wrk.p99);
    let server = both(&|m| m.server_cpu_per_request());
    let pg = both(&|m| m.pg_cpu_per_request());
    let statements = both(&|m| m.statements_per_request());
    let r = &mut ctx.report;
    let base = |v: String| format!("{v} plain toggle");
    let of = format!(", 16 conns (median of {rounds})");
    r.add(
        "recurring",
        format!("completions of recurring tasks/s{of}"),
        int(rate.0),
        base(int(rate.1)),
        ratio(rate.0, rate.1),
    );
    r.add(
        "recurring",
        format!("p99{of}"),
        ms(p99.0),
        base(ms(p99.1)),
        ratio(p99.0, p99.1),
    );
    r.add(
        "recurring",
        "server CPU per completion",
        us(server.0),
        base(us(server.1)),
        ratio(server.0, server.1),
    );
    r.add(
        "recurring",
        "PostgreSQL CPU per completion",
        us(pg.0),
        base(us(pg.1)),
        ratio(pg.0, pg.1),
    );
    r.add(
        "recurring",
        "statements per completion",
        format!("{:.2}", statements.0),
        base(format!("{:.2}", statements.1)),
        ratio(statements.0, statements.1),
    );
    Ok(())
}
