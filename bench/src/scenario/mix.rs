//! One user's list (`limit=20`), create and toggle in equal shares at 64 connections, next to
//! pgbench running, per transaction, what one request runs: the task statement with its session
//! check, the very SQL of src/db (`task_list::first_page_sql`, `tasks::{CREATE,TOGGLE}_SQL`).

use crate::postgres::seed;
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch};
use crate::wrk::Load;
use crate::{http, Ctx, PASSWORD};
use std::path::PathBuf;
use std::process::Command;
use todo_api::db::embedded::find_bindir;
use todo_api::db::task_list::first_page_sql;
use todo_api::db::tasks::{CREATE_SQL, TOGGLE_SQL};
use uuid::Uuid;

const CONNS: usize = 64;
const TITLE: &str = "bench-task";
const DESCRIPTION: &str = "created-by-the-bench";

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let id = Uuid::new_v4();
    let email = "mix@bench.example.com".to_string();
    let mut db = ctx.pg.connect(Kind::TodoApi.database())?;
    let user = seed(&mut db, &[(id, email.clone())], &ctx.cheap_hash, 1_000)?;
    let (lo, hi) = (user[0].first, user[0].last);
    let token = http::sign_in(todo.addr, &email, PASSWORD)?;
    let mix = Load {
        url: Ctx::url(&todo),
        conns: CONNS,
        secs: ctx.secs,
        script: "mix",
        args: vec![id.to_string(), token, lo.to_string(), hi.to_string()],
    };
    let api = super::load(ctx, "todo-api mix list?limit=20/create/toggle", &mix)?;
    if api.non_2xx > 0 {
        println!("  warning: {} answers outside 2xx", api.non_2xx);
    }
    let session = crate::postgres::session_of(&mut db, id)?;
    let (tps, latency) = pgbench(ctx, id, session, lo, hi, CONNS)?;
    let r = &mut ctx.report;
    r.add(
        "mix",
        format!("list?limit=20 / create / toggle req/s, {CONNS} conns"),
        int(api.ok_rate()),
        format!("{} pgbench tps, -c {CONNS}", int(tps)),
        ratio(api.ok_rate(), tps),
    );
    r.add(
        "mix",
        format!("mean latency, {CONNS} conns"),
        ms(1e6 * CONNS as f64 / api.ok_rate()),
        format!("{} pgbench", ms(latency)),
        ratio(1e6 * CONNS as f64 / api.ok_rate(), latency),
    );
    r.note("mix", "p99", ms(api.p99));
    Ok(())
}

/// pgbench text for a statement: `$n` replaced by the pgbench variable (or literal) given for it.
fn script(sql: &str, params: &[&str]) -> String {
    let mut out = sql.to_string();
    // Highest first, so that $1 never eats the start of $10.
    for (i, value) in params.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), value);
    }
    out
}

/// pgbench, one script per request kind, weighted equally: (tps, mean latency in microseconds).
fn pgbench(
    ctx: &Ctx,
    uid: Uuid,
    sid: Uuid,
    lo: i64,
    hi: i64,
    clients: usize,
) -> Result<(f64, f64), String> {
    let list = script(&first_page_sql(), &[":uid", ":sid", ":lim"]);
    // A task as the bench's requests create it: no priority (rank 0), no due date, no tags, in
    // the default list, no assignee, by a caller whose route writes.
    let create = script(
        CREATE_SQL,
        &[
            ":uid",
            ":title",
            ":descr",
            ":completed",
            "0",
            "NULL",
            "'{}'",
            ":sid",
            "NULL::uuid",
            "NULL::uuid",
            "true",
            // No parent, no recurrence (UTC), not written over CalDAV.
            "NULL::bigint",
            "NULL::text",
            "'UTC'",
            "NULL::timestamptz[]",
            "false",
            "NULL::text",
            "NULL::text",
            "NULL::text",
        ],
    );
    let toggle = script(
        TOGGLE_SQL,
        &[":uid", ":tid", ":sid", "NULL::timestamptz[]", "true"],
    );
    let scripts = [
        ("list.sql", format!("{list};\n")),
        ("create.sql", format!("{create};\n")),
        (
            "toggle.sql",
            format!("\\set tid random({lo}, {hi})\n{toggle};\n"),
        ),
    ];
    let bin = find_bindir()
        .map(|d| d.join("pgbench"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("pgbench"));
    let mut cmd = Command::new(bin);
    cmd.arg("-h")
        .arg(ctx.pg.socket_dir())
        .args(["-p", &ctx.pg.port().to_string(), "-U", "postgres"])
        .args(["-n", "-M", "prepared", "-j", "2"])
        .args(["-c", &clients.to_string(), "-T", &ctx.secs.to_string()])
        .args([
            "-D",
            &format!("uid={uid}"),
            "-D",
            &format!("sid={sid}"),
            "-D",
            "lim=21",
        ])
        .args([
            "-D",
            &format!("title={TITLE}"),
            "-D",
            &format!("descr={DESCRIPTION}"),
        ])
        .args(["-D", "completed=false"]);
    for (name, text) in &scripts {
        let path = ctx.work.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        cmd.arg("-f").arg(format!("{}@1", path.display()));
    }
    cmd.arg(Kind::TodoApi.database());
    println!("pgbench scripts (the SQL constants of src/db):");
    for (name, text) in &scripts {
        println!("--- {name}\n{}", text.trim_end());
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run pgbench: {e} (it comes with the PostgreSQL packages)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "pgbench failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let tps = field("tps = ").ok_or_else(|| format!("no tps in pgbench output: {stdout}"))?;
    let latency_ms = field("latency average = ").unwrap_or(f64::NAN);
    println!(
        "pgbench -M prepared -c {clients} -j 2 -T {}: {tps:.0} tps, latency average {latency_ms} ms, \
         failed {}",
        ctx.secs,
        field("number of failed transactions: ").unwrap_or(0.0)
    );
    Ok((tps, latency_ms * 1e3))
}
