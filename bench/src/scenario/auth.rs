//! Sign-ins at the real bcrypt cost (10) from 8 clients: how many succeed per second next to what
//! bcrypt itself can do on this machine, and what the flood does to other requests: `GET
//! /api/auth/me` and a task list during the flood next to the same without it: the p99 of a paced
//! probe and the rate of a saturating one. The paced p99 is also measured while another process
//! spins one core: the floor of what any server can do here with one core given to hashing.

use super::{get, load, paced};
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch};
use crate::wrk::{Figures, Load};
use crate::{Ctx, PASSWORD};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const FLOOD_CONNS: usize = 8;
const PROBE_CONNS: usize = 4;
const PACE_MS: u32 = 5;
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
    let paced_secs = 2 * secs;
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

    // Two probes of each path, quiet and during the flood: paced (each connection pausing
    // PACE_MS before each request), whose p99 is what a user's request waits; and saturating,
    // whose rate is the throughput the flood leaves to everything else.
    let list_path = format!("/api/{uid}/tasks");
    let probes = [
        (
            "GET /api/auth/me",
            get(&todo, "/api/auth/me", Some(&token), PROBE_CONNS, secs),
        ),
        (
            "GET task list (20)",
            get(&todo, &list_path, Some(&token), PROBE_CONNS, secs),
        ),
    ];
    let paced_probe = |ctx: &Ctx, what: &str, load: &Load, when: &str| {
        // A paced probe sends few requests: it runs longer, so that its p99 rests on more.
        let mut paced_load = paced(load.clone(), PACE_MS);
        paced_load.secs = paced_secs;
        super::load(ctx, &format!("{what} paced, {when}"), &paced_load)
    };
    let run_probes = |ctx: &Ctx, when: &str| -> Result<Vec<(Figures, Figures)>, String> {
        let mut out = Vec::new();
        for (what, load) in &probes {
            let p = paced_probe(ctx, what, load, when)?;
            let s = super::load(ctx, &format!("{what} saturating, {when}"), load)?;
            out.push((p, s));
        }
        Ok(out)
    };
    let quiet = run_probes(ctx, "quiet")?;
    // What this machine allows at best: the paced probes while a process other than the server
    // keeps one core busy, as the hashing thread does during the flood.
    let spun = {
        let _spinner = Spinner::start()?;
        std::thread::sleep(Duration::from_secs(1));
        let when = "one core spun by another process";
        let mut out = Vec::new();
        for (what, load) in &probes {
            out.push(paced_probe(ctx, what, load, when)?);
        }
        out
    };
    let background = flood(2 * (secs + paced_secs) + 3).spawn(&ctx.work)?;
    std::thread::sleep(Duration::from_secs(1));
    let busy = run_probes(ctx, "during the flood")?;
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
    for ((((what, _), (quiet_p, quiet_s)), (busy_p, busy_s)), spun_p) in
        probes.iter().zip(&quiet).zip(&busy).zip(&spun)
    {
        r.add(
            "auth",
            format!("{what} p99 during the flood, {PROBE_CONNS} conns paced {PACE_MS} ms"),
            ms(busy_p.p99),
            format!(
                "{} quiet ({} with one core spun: {})",
                ms(quiet_p.p99),
                ms(spun_p.p99),
                ratio(spun_p.p99, quiet_p.p99)
            ),
            ratio(busy_p.p99, quiet_p.p99),
        );
        r.add(
            "auth",
            format!("{what} req/s during the flood, {PROBE_CONNS} conns saturating"),
            int(busy_s.rate()),
            format!("{} quiet", int(quiet_s.rate())),
            ratio(busy_s.rate(), quiet_s.rate()),
        );
    }
    Ok(())
}

/// `sha256sum /dev/zero`: one core kept busy by a process that is not the server, until dropped.
struct Spinner(Child);

impl Spinner {
    fn start() -> Result<Spinner, String> {
        Command::new("sha256sum")
            .arg("/dev/zero")
            .stdout(Stdio::null())
            .spawn()
            .map(Spinner)
            .map_err(|e| format!("cannot run sha256sum: {e}"))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
