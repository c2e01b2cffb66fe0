//! CalDAV sync next to Radicale (issue 24, "Speed"): the same VTODOs (title, description, due date,
//! priority, a category, a third completed, a VALARM each) in a calendar of 1,000 and one of 10,000
//! on each server. todo-api gets them by CalDAV `PUT` (so the rows, the kept iCalendar text and the
//! feed are what a client's upload makes); Radicale gets them written into its storage folder, the
//! files it would have written itself.
//!
//! - Initial sync, one client: `PROPFIND` Depth 1 (ETags, content types), then `REPORT
//!   calendar-multiget` of the hrefs in batches of 100 (ETags and calendar data); the whole sync
//!   timed, one warm-up then `CALDAV_ROUNDS` rounds (default 5, 3 for 10,000) with the servers
//!   taking turns, the median; the server's CPU per sync (todo-api's with PostgreSQL's).
//! - Incremental sync with nothing changed: `REPORT sync-collection` from the latest token, by wrk
//!   (lua/dav.lua) at 2 connections for BENCH_SECS / 2 (longer where one answer takes long, so
//!   that there are some 20 per connection, at most 30 s): p50, p95, answers/s, CPU per answer.

use super::quantile;
use crate::dav::{self, Dav};
use crate::postgres::{vacuum_analyze, LIST_TABLES};
use crate::radicale::{self, Radicale};
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch, Proc};
use crate::wrk::{Figures, Load};
use crate::{http, procstat, sharing, Ctx};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SIZES: [usize; 2] = [1_000, 10_000];
const BATCH: usize = 100;
const CONNS: usize = 2;
/// Sequential empty incremental syncs before wrk's.
const WARM_UP: usize = 5;
/// The issue's target for an empty incremental sync.
const TARGET_P95_US: f64 = 5_000.0;

/// One server as a CalDAV client sees it.
struct Side {
    name: &'static str,
    pid: u32,
    addr: SocketAddr,
    user: String,
    password: String,
    /// The calendar of each of SIZES.
    calendars: Vec<String>,
    /// todo-api: PostgreSQL's CPU counts too.
    database: Option<&'static str>,
}

impl Side {
    fn client(&self) -> Dav {
        Dav::new(self.addr, &self.user, &self.password)
    }
}

/// What one server measured for one calendar size.
#[derive(Default, Clone, Copy)]
struct Figures2 {
    /// Median initial sync, microseconds.
    sync_us: f64,
    /// CPU per initial sync: the server's, PostgreSQL's (microseconds).
    sync_cpu: (f64, f64),
    sync_bytes: u64,
    incremental: Option<Figures>,
    /// CPU per incremental answer: the server's, PostgreSQL's (microseconds).
    incremental_cpu: (f64, f64),
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let rounds_set: Option<usize> = std::env::var("CALDAV_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|r: usize| r.max(1));
    // The same objects for both servers: (file name, iCalendar text) per calendar.
    let items: Vec<Vec<(String, String)>> = SIZES
        .iter()
        .map(|&n| {
            (0..n)
                .map(|i| {
                    let uid = Uuid::new_v4().to_string();
                    (format!("{uid}.ics"), dav::vtodo(&uid, i))
                })
                .collect()
        })
        .collect();
    let bytes: usize = items.iter().flatten().map(|(_, t)| t.len()).sum();
    println!(
        "{} VTODOs made ({} and {}, {:.0} bytes each on average)",
        SIZES.iter().sum::<usize>(),
        SIZES[0],
        SIZES[1],
        bytes as f64 / SIZES.iter().sum::<usize>() as f64
    );

    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let todo_side = todo_api(ctx, &todo, &items)?;
    let rad = match radicale::check() {
        Ok(version) => {
            println!("radicale {version}");
            let dir = ctx.work.join("radicale");
            Some(Radicale::start(&dir, "bench", "bench-radicale-pass")?)
        }
        Err(e) => {
            println!("radicale skipped: {e}");
            ctx.report
                .note("caldav", "radicale (the baseline)", format!("not run: {e}"));
            None
        }
    };
    let rad_side = match &rad {
        Some(r) => Some(radicale_side(r, &items)?),
        None => None,
    };
    let sides: Vec<&Side> = todo_side.iter().chain(rad_side.iter()).collect();
    if sides.is_empty() {
        return Ok(());
    }

    for (k, &n) in SIZES.iter().enumerate() {
        // Radicale takes about half a minute for each sync of 10,000.
        let rounds = rounds_set.unwrap_or(if n > 1_000 { 3 } else { 5 });
        let mut got: Vec<Figures2> = vec![Figures2::default(); sides.len()];
        initial(ctx, &sides, k, n, rounds, &mut got)?;
        for (side, figures) in sides.iter().zip(got.iter_mut()) {
            incremental(ctx, side, k, n, figures)?;
        }
        let find = |name: &str| sides.iter().position(|s| s.name == name).map(|i| got[i]);
        report(ctx, n, rounds, find("todo-api"), find("radicale"));
    }
    Ok(())
}

/// todo-api's side: a user with a personal access token and a list per size, the VTODOs PUT into
/// each over CalDAV. `None` (with the reason printed) when this build has no CalDAV yet.
fn todo_api(
    ctx: &mut Ctx,
    todo: &Proc,
    items: &[Vec<(String, String)>],
) -> Result<Option<Side>, String> {
    let (_, member) = ctx
        .seed_members(todo, "caldav", 1, 0)?
        .pop()
        .ok_or("no CalDAV user seeded")?;
    let body = serde_json::json!({ "name": "todo-bench", "scope": "write" }).to_string();
    let path = format!("/api/{}/tokens", member.id);
    let reply = http::request(
        todo.addr,
        "POST",
        &path,
        Some(&member.token),
        Some(&body),
        Duration::from_secs(10),
    )
    .map_err(|e| format!("POST {path}: {e}"))?;
    if reply.status != 201 {
        return skip(
            ctx,
            format!(
                "POST {path} answered {}: no personal access tokens",
                reply.status
            ),
        );
    }
    let token = http::json(&reply)?["token"]
        .as_str()
        .ok_or("no token in the answer of POST /tokens")?
        .to_string();
    let mut client = Dav::new(todo.addr, &member.email, &token);
    let probe = client.call(
        "PROPFIND",
        "/dav/",
        &[("Depth", "0")],
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>"#,
    )?;
    if probe.status != 207 {
        return skip(
            ctx,
            format!(
                "PROPFIND /dav/ answered {} (no CalDAV in this build yet)",
                probe.status
            ),
        );
    }
    let mut calendars = Vec::new();
    for (k, objects) in items.iter().enumerate() {
        let t = Instant::now();
        let list = sharing::create_list(todo.addr, &member, &format!("CalDAV {}", SIZES[k]))?;
        let calendar = format!("/dav/calendars/{}/{list}/", member.id);
        for (file, text) in objects {
            let path = format!("{calendar}{file}");
            let r = client.call(
                "PUT",
                &path,
                &[
                    ("Content-Type", "text/calendar; charset=utf-8"),
                    ("If-None-Match", "*"),
                ],
                text,
            )?;
            if r.status != 201 && r.status != 204 {
                return Err(format!(
                    "PUT {path} at todo-api answered {}: {}",
                    r.status, r.body
                ));
            }
        }
        println!(
            "todo-api: {} VTODOs PUT into {calendar} in {:.1} s ({} connections)",
            objects.len(),
            t.elapsed().as_secs_f64(),
            client.connects
        );
        calendars.push(calendar);
    }
    vacuum_analyze(&mut ctx.pg.connect(Kind::TodoApi.database())?, LIST_TABLES)?;
    Ok(Some(Side {
        name: "todo-api",
        pid: todo.pid(),
        addr: todo.addr,
        user: member.email,
        password: token,
        calendars,
        database: Some(Kind::TodoApi.database()),
    }))
}

fn skip(ctx: &mut Ctx, why: String) -> Result<Option<Side>, String> {
    println!("todo-api skipped: {why}");
    ctx.report
        .note("caldav", "todo-api", format!("not measured: {why}"));
    Ok(None)
}

fn radicale_side(r: &Radicale, items: &[Vec<(String, String)>]) -> Result<Side, String> {
    let t = Instant::now();
    let mut calendars = Vec::new();
    for (k, objects) in items.iter().enumerate() {
        calendars.push(r.calendar(&format!("tasks-{}", SIZES[k]), objects)?);
    }
    println!(
        "radicale: calendars {} written into its storage in {:.1} s",
        calendars.join(" and "),
        t.elapsed().as_secs_f64()
    );
    Ok(Side {
        name: "radicale",
        pid: r.proc.pid(),
        addr: r.proc.addr,
        user: r.user.clone(),
        password: r.password.clone(),
        calendars,
        database: None,
    })
}

/// What one initial sync took and fetched.
struct Synced {
    took: Duration,
    requests: usize,
    bytes: u64,
}

/// PROPFIND Depth 1, then calendar-multiget of the hrefs in batches, every object checked.
fn sync(client: &mut Dav, calendar: &str, n: usize) -> Result<Synced, String> {
    let bytes = client.bytes;
    let t = Instant::now();
    let listing = client.multistatus("PROPFIND", calendar, "1", dav::PROPFIND_ETAGS)?;
    let hrefs = dav::member_hrefs(&listing);
    // Radicale gives the collection's own ETag too.
    let etags = dav::texts(&listing, "getetag").len();
    if hrefs.len() != n || etags < n {
        return Err(format!(
            "PROPFIND {calendar} listed {} objects with {etags} ETags, expected {n}",
            hrefs.len()
        ));
    }
    let mut requests = 1;
    for batch in hrefs.chunks(BATCH) {
        let answer = client.multistatus("REPORT", calendar, "1", &dav::multiget(batch))?;
        requests += 1;
        let todos = answer.matches("BEGIN:VTODO").count();
        if todos != batch.len() {
            return Err(format!(
                "calendar-multiget of {} hrefs in {calendar} gave {todos} VTODOs",
                batch.len()
            ));
        }
    }
    Ok(Synced {
        took: t.elapsed(),
        requests,
        bytes: client.bytes - bytes,
    })
}

/// The initial sync of calendar `k` on each side: a warm-up, then `rounds` rounds taking turns.
fn initial(
    ctx: &Ctx,
    sides: &[&Side],
    k: usize,
    n: usize,
    rounds: usize,
    got: &mut [Figures2],
) -> Result<(), String> {
    let mut clients: Vec<Dav> = sides.iter().map(|s| s.client()).collect();
    for (side, client) in sides.iter().zip(clients.iter_mut()) {
        let s = sync(client, &side.calendars[k], n)?;
        println!(
            "{}: warm-up sync of {n}: {} in {} requests ({} bytes)",
            side.name,
            ms(s.took.as_secs_f64() * 1e6),
            s.requests,
            int(s.bytes as f64)
        );
    }
    let marks = sides
        .iter()
        .map(|s| s.database.map(|db| ctx.pg.mark(db)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let mut took: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    let mut cpu = vec![0u64; sides.len()];
    for _ in 0..rounds {
        for (i, side) in sides.iter().enumerate() {
            let before = procstat::cpu_us(side.pid)?;
            let s = sync(&mut clients[i], &side.calendars[k], n)?;
            cpu[i] += procstat::cpu_us(side.pid)?.saturating_sub(before);
            took[i].push(s.took.as_secs_f64() * 1e6);
            got[i].sync_bytes = s.bytes;
        }
    }
    for (i, side) in sides.iter().enumerate() {
        let pg_us = match (&marks[i], side.database) {
            (Some(before), Some(db)) => ctx.pg.mark(db)?.since(before).0,
            _ => 0,
        };
        let f = &mut got[i];
        f.sync_us = quantile(&mut took[i], 0.5);
        f.sync_cpu = (cpu[i] as f64 / rounds as f64, pg_us as f64 / rounds as f64);
        let runs: Vec<String> = took[i].iter().map(|&us| ms(us)).collect();
        println!(
            "{}: initial sync of {n} (PROPFIND + {} multigets): median {} of [{}]; CPU per sync \
             {} server, {} PostgreSQL; {} bytes",
            side.name,
            n.div_ceil(BATCH),
            ms(f.sync_us),
            runs.join(", "),
            ms(f.sync_cpu.0),
            ms(f.sync_cpu.1),
            int(f.sync_bytes as f64)
        );
    }
    Ok(())
}

/// The empty incremental sync of calendar `k` by wrk: the latest token first, checked to give
/// no changes.
fn incremental(ctx: &Ctx, side: &Side, k: usize, n: usize, f: &mut Figures2) -> Result<(), String> {
    let calendar = &side.calendars[k];
    let mut client = side.client();
    let first = client.multistatus("REPORT", calendar, "1", &dav::sync_collection(""))?;
    let token = dav::texts(&first, "sync-token")
        .pop()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{}: no sync-token from sync-collection", side.name))?;
    let body = dav::sync_collection(&token);
    // Sequential first (a warm-up, and every answer checked): one client's latency sizes the run.
    let mut single = Vec::new();
    for _ in 0..WARM_UP {
        let t = Instant::now();
        let again = client.multistatus("REPORT", calendar, "1", &body)?;
        single.push(t.elapsed().as_secs_f64());
        let changes = dav::texts(&again, "response").len();
        if changes != 0 {
            return Err(format!(
                "{}: sync-collection from the latest token listed {changes} changes",
                side.name
            ));
        }
    }
    let single = quantile(&mut single, 0.5);
    // A run long enough for about 20 answers per connection where one takes long (Radicale's of
    // 10,000 objects), at most 30 s; no wrk warm-up (its cut-off answers would run on into the
    // measured run).
    let secs = ctx
        .short_secs()
        .max(((single * 20.0).ceil() as u64).min(30));
    let file = ctx.work.join(format!("sync-{}-{n}.xml", side.name));
    std::fs::write(&file, &body).map_err(|e| format!("{}: {e}", file.display()))?;
    let load = Load {
        url: format!("http://{}", side.addr),
        conns: CONNS,
        secs,
        script: "dav",
        args: vec![
            "REPORT".into(),
            calendar.clone(),
            client.auth.clone(),
            "1".into(),
            file.display().to_string(),
        ],
    };
    let pg0 = side.database.map(|db| ctx.pg.mark(db)).transpose()?;
    let cpu0 = procstat::cpu_us(side.pid)?;
    let w = load.run(&ctx.work)?;
    let cpu = procstat::cpu_us(side.pid)?.saturating_sub(cpu0);
    let pg = match (pg0, side.database) {
        (Some(before), Some(db)) => ctx.pg.mark(db)?.since(&before).0,
        _ => 0,
    };
    let per = |us: u64| us as f64 / w.requests.max(1) as f64;
    f.incremental_cpu = (per(cpu), per(pg));
    println!(
        "{} sync-collection, nothing changed, {n} tasks: one client {} (median of {WARM_UP}); \
         wrk -c {CONNS} {secs} s: {}; p95 {}; CPU per answer {:.0} us server, {:.0} us PostgreSQL",
        side.name,
        ms(single * 1e6),
        w.summary(),
        ms(w.p95),
        f.incremental_cpu.0,
        f.incremental_cpu.1
    );
    if w.non_2xx > 0 || w.errors > 0 {
        println!(
            "  warning: {} answers outside 2xx and {} socket errors in this run",
            w.non_2xx, w.errors
        );
    }
    f.incremental = Some(w);
    Ok(())
}

fn report(ctx: &mut Ctx, n: usize, rounds: usize, todo: Option<Figures2>, rad: Option<Figures2>) {
    let r = &mut ctx.report;
    let size = int(n as f64);
    // (todo-api's text, radicale's text, ratio) of one figure, "n/a" where a side is missing.
    let row = |r: &mut crate::report::Report,
               measure: String,
               get: &dyn Fn(&Figures2) -> Option<f64>,
               show: &dyn Fn(f64) -> String| {
        let a = todo.as_ref().and_then(get);
        let b = rad.as_ref().and_then(get);
        r.add(
            "caldav",
            measure,
            a.map_or("n/a".into(), show),
            format!("{} radicale", b.map_or("n/a".into(), show)),
            match (a, b) {
                (Some(a), Some(b)) => ratio(a, b),
                _ => "n/a".into(),
            },
        );
    };
    row(
        r,
        format!(
            "initial sync of {size} tasks (PROPFIND + {} multigets of {BATCH}), 1 client, median \
             of {rounds}",
            n.div_ceil(BATCH)
        ),
        &|f| Some(f.sync_us),
        &ms,
    );
    row(
        r,
        format!("CPU per initial sync of {size} tasks (todo-api: server + PostgreSQL)"),
        &|f| Some(f.sync_cpu.0 + f.sync_cpu.1),
        &ms,
    );
    let inc = |get: fn(&Figures) -> f64| move |f: &Figures2| f.incremental.as_ref().map(get);
    let of = format!("empty incremental sync (sync-collection), {size} tasks, {CONNS} conns");
    row(r, format!("{of}: p50"), &inc(|w| w.p50), &ms);
    row(r, format!("{of}: p95"), &inc(|w| w.p95), &ms);
    row(r, format!("{of}: answers/s"), &inc(Figures::ok_rate), &int);
    row(
        r,
        format!("{of}: CPU per answer (todo-api: server + PostgreSQL)"),
        &|f| {
            f.incremental
                .map(|_| f.incremental_cpu.0 + f.incremental_cpu.1)
        },
        &|us| format!("{us:.0} us"),
    );
    if let Some(w) = todo.and_then(|f| f.incremental) {
        r.add(
            "caldav",
            format!("empty incremental sync p95, {size} tasks: todo-api against the target"),
            ms(w.p95),
            "5 ms target".to_string(),
            ratio(w.p95, TARGET_P95_US),
        );
    }
}
