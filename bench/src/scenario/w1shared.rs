//! W1-shared (issue "Lists and sharing"): W1's shape with the users in shared lists. 100 users with
//! 20 tasks of their own each, in 10 lists of 10 members made through the HTTP API (the owner
//! creates the list and invites the nine others as editors, each accepts), and 20 tasks in each
//! list. A user's whole list is then their 20 tasks and the 20 of their shared list; W1's toggles
//! go to tasks of the shared list, so each takes the next change number of all ten members (the
//! trigger `task_change` of sql/0007_lists.sql) and outdates each member's cached list.
//!
//! Measured on one todo-api next to plain W1 (other users, same database, same server) and next
//! to W1 with 40 tasks of one's own a user (as long a list, nothing shared), each round running
//! the three one after the other; each figure is the median of the rounds (`W1_ROUNDS`).

use super::{measure, quantile, Measured};
use crate::postgres::{vacuum_analyze, LIST_TABLES};
use crate::report::{int, ms, ratio, us};
use crate::server::{Kind, Launch, Proc};
use crate::sharing::{self, Member};
use crate::wrk::Load;
use crate::Ctx;
use std::path::{Path, PathBuf};
use std::time::Instant;

const USERS: usize = 100;
const MEMBERS: usize = 10;
const OWN_TASKS: i32 = 20;
const LIST_TASKS: usize = 20;

/// W1's users file line: "user_id token first_task last_task [shared_task,...]".
fn line(member: &Member, first: i64, last: i64, shared: &str) -> String {
    format!("{} {} {first} {last} {shared}\n", member.id, member.token)
}

/// 100 users in 10 shared lists, through the HTTP API; their users file (with each user's
/// shared-list task ids).
fn shared_users(ctx: &Ctx, server: &Proc) -> Result<PathBuf, String> {
    let t = Instant::now();
    let users = ctx.seed_members(server, "w1shared", USERS, OWN_TASKS)?;
    let mut lines = String::new();
    for (g, group) in users.chunks(MEMBERS).enumerate() {
        let members: Vec<&Member> = group.iter().map(|(_, m)| m).collect();
        let owner = members[0];
        let list = sharing::create_list(server.addr, owner, &format!("Shared {g}"))?;
        let others: Vec<Member> = members[1..].iter().map(|m| (*m).clone()).collect();
        sharing::share(server.addr, owner, list, &others)?;
        // Made by the members in turn.
        let ids = (0..LIST_TASKS)
            .map(|k| {
                let who = members[k % members.len()];
                sharing::create_task(server.addr, who, list, &format!("Shared task {k}"))
                    .map(|id| id.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(",");
        for (seeded, member) in group {
            lines.push_str(&line(member, seeded.first, seeded.last, &ids));
        }
    }
    // Each user's whole list is their own tasks and their shared list's.
    let (seeded, member) = &users[USERS - 1];
    let seen = sharing::count(server.addr, member, &format!("/api/{}/tasks", member.id))?;
    let want = (seeded.last - seeded.first + 1) as usize + LIST_TASKS;
    if seen != want {
        return Err(format!("a W1-shared user sees {seen} tasks, not {want}"));
    }
    vacuum_analyze(&mut ctx.pg.connect(Kind::TodoApi.database())?, LIST_TABLES)?;
    let path = ctx.work.join("w1shared-users.txt");
    std::fs::write(&path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "W1-shared set up ({USERS} users x {OWN_TASKS} tasks, signed in; {} lists of {MEMBERS} \
         members through the API, {LIST_TASKS} tasks each) in {:.1} s",
        USERS / MEMBERS,
        t.elapsed().as_secs_f64()
    );
    Ok(path)
}

/// 100 users with 40 tasks of their own (W1-shared's list length, nothing shared).
fn long_users(ctx: &Ctx, server: &Proc) -> Result<PathBuf, String> {
    let t = Instant::now();
    let tasks = OWN_TASKS + LIST_TASKS as i32;
    let users = ctx.seed_members(server, "w1long", USERS, tasks)?;
    let lines: String = users
        .iter()
        .map(|(seeded, member)| line(member, seeded.first, seeded.last, ""))
        .collect();
    let path = ctx.work.join("w1long-users.txt");
    std::fs::write(&path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "W1 with {tasks} own tasks a user seeded ({USERS} users, signed in) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(path)
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let plain = ctx.w1_users(Kind::TodoApi, &todo)?;
    let shared = shared_users(ctx, &todo)?;
    let long = long_users(ctx, &todo)?;
    let writes = std::env::var("W1_WRITES").unwrap_or("10".into());
    // (label, users file, where the toggles go)
    let loads: [(&str, &Path, &str); 3] = [
        ("W1", &plain, "own"),
        ("W1-shared", &shared, "shared"),
        ("W1, 40 own tasks", &long, "own"),
    ];
    let w1 = |users: &Path, toggle: &str, conns: usize, secs: u64| Load {
        url: Ctx::url(&todo),
        conns,
        secs,
        script: "w1",
        args: vec![
            users.display().to_string(),
            writes.clone(),
            toggle.to_string(),
        ],
    };
    // Warm-up (connections, caches, prepared statements), not counted.
    for (_, users, toggle) in &loads {
        w1(users, toggle, 16, 2).run(&ctx.work)?;
    }
    let rounds: usize = std::env::var("W1_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    for conns in [16, 64] {
        let mut got: [Vec<Measured>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, (label, users, toggle)) in loads.iter().enumerate() {
                print!("{label}: ");
                got[i].push(measure(
                    ctx,
                    &todo,
                    Kind::TodoApi,
                    &w1(users, toggle, conns, ctx.secs),
                )?);
            }
        }
        let median = |i: usize, f: &dyn Fn(&Measured) -> f64| {
            let mut v: Vec<f64> = got[i].iter().map(f).collect();
            quantile(&mut v, 0.5)
        };
        let of = if rounds > 1 {
            format!(" (median of {rounds})")
        } else {
            String::new()
        };
        let r = &mut ctx.report;
        let mut row = |what: &str, f: &dyn Fn(&Measured) -> f64, show: &dyn Fn(f64) -> String| {
            let (plain, shared, long) = (median(0, f), median(1, f), median(2, f));
            r.add(
                "w1shared",
                format!("{what}, {conns} conns{of}"),
                show(shared),
                format!("{} W1; {} W1 with 40 own tasks", show(plain), show(long)),
                format!("{}; {}", ratio(shared, plain), ratio(shared, long)),
            );
        };
        row("req/s", &|m| m.wrk.ok_rate(), &int);
        row("p99", &|m| m.wrk.p99, &ms);
        row(
            "server CPU per request (target: within 1.3x W1)",
            &|m| m.server_cpu_per_request(),
            &us,
        );
        row(
            "PostgreSQL CPU per request (target: within 1.3x W1)",
            &|m| m.pg_cpu_per_request(),
            &us,
        );
        row(
            "statements per request (pg_stat_statements calls)",
            &|m| m.statements_per_request(),
            &|x| format!("{x:.2}"),
        );
    }
    Ok(())
}
