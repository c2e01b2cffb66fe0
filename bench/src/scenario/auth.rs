//! Sign-ins at the real bcrypt cost (10) from 8 clients: how many succeed per second next to what
//! bcrypt itself can do on this machine, and what the flood does to other requests: `GET
//! /api/auth/me` and a task list, p99 during the flood next to the same without it.

use super::{get, load};
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch};
use crate::wrk::Load;
use crate::{Ctx, PASSWORD};
use std::time::{Duration, Instant};
use uuid::Uuid;

const FLOOD_CONNS: usize = 8;
const PROBE_CONNS: usize = 4;
const EMAIL: &str = "auth@bench.example.com";

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    ctx.w1_users(Kind::TodoApi, &todo)?;
    let (uid, token) = ctx.w1_first(Kind::TodoApi)?;
    let hash = bcrypt::hash(PASSWORD, 10).map_err(|e| format!("bcrypt: {e}"))?;
    ctx.pg
        .connect(Kind::TodoApi.database())?
        .execute(
            "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'Auth Bench', $3)
             ON CONFLICT (email) DO NOTHING",
            &[&Uuid::new_v4(), &EMAIL, &hash],
        )
        .map_err(|e| format!("seeding the sign-in user: {e}"))?;
    let secs = ctx.short_secs();
    let flood = |secs: u64| Load {
        url: Ctx::url(&todo),
        conns: FLOOD_CONNS,
        secs,
        script: "signin",
        args: vec![EMAIL.into(), PASSWORD.into()],
    };

    let f = load(ctx, "sign-in flood", &flood(secs))?;
    let threads = std::env::var("HASH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| todo_api::config::Config::default().hash_concurrency);
    let verified = bcrypt_rate(&hash, threads, Duration::from_secs(3))?;
    println!("bcrypt::verify at cost 10 in the bench, {threads} threads: {verified:.1}/s");

    let me = get(&todo, "/api/auth/me", Some(&token), PROBE_CONNS, secs);
    let list_path = format!("/api/{uid}/tasks");
    let list = get(&todo, &list_path, Some(&token), PROBE_CONNS, secs);
    let me_quiet = load(ctx, "GET /api/auth/me, quiet", &me)?;
    let list_quiet = load(ctx, "GET task list (20), quiet", &list)?;
    let background = flood(2 * secs + 2).spawn(&ctx.work)?;
    std::thread::sleep(Duration::from_secs(1));
    let me_busy = load(ctx, "GET /api/auth/me, during the flood", &me)?;
    let list_busy = load(ctx, "GET task list (20), during the flood", &list)?;
    let during = background.finish()?;
    println!("  (the flood meanwhile: {})", during.summary());

    let r = &mut ctx.report;
    r.add(
        "auth",
        format!("sign-ins/s (200), {FLOOD_CONNS} clients, cost 10"),
        format!("{:.1}", f.ok_rate()),
        format!("{verified:.1} bcrypt/s, {threads} threads"),
        ratio(f.ok_rate(), verified),
    );
    r.note(
        "auth",
        "sign-in answers other than 200 (503 busy) per second",
        int(f.non_2xx as f64 / f.secs.max(1e-9)),
    );
    r.add(
        "auth",
        format!("GET /api/auth/me p99 during the flood, {PROBE_CONNS} conns"),
        ms(me_busy.p99),
        format!("{} quiet", ms(me_quiet.p99)),
        ratio(me_busy.p99, me_quiet.p99),
    );
    r.add(
        "auth",
        format!("task list (20) p99 during the flood, {PROBE_CONNS} conns"),
        ms(list_busy.p99),
        format!("{} quiet", ms(list_quiet.p99)),
        ratio(list_busy.p99, list_quiet.p99),
    );
    Ok(())
}

/// bcrypt verifications per second with `threads` threads for about `time`.
fn bcrypt_rate(hash: &str, threads: usize, time: Duration) -> Result<f64, String> {
    let started = Instant::now();
    let counts: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut n = 0u64;
                    while started.elapsed() < time {
                        match bcrypt::verify(PASSWORD, hash) {
                            Ok(true) => n += 1,
                            other => return Err(format!("bcrypt::verify: {other:?}")),
                        }
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("bcrypt thread panicked".into()))
            })
            .collect()
    });
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
