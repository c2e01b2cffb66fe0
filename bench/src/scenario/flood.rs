//! A flood past the descriptor limit: the server starts with `RLIMIT_NOFILE` 4,096 and 20,000
//! connections are attempted, each sending `GET /health`. Each attempt is answered 200 (and held
//! open, taking descriptors), turned away at once (a 503, another answer, a close, a refused
//! connect) or hung (nothing within 2 s). Then every connection closes, and a fresh client polls
//! `/health` until it gets 200. The server's log lines meanwhile are counted. axum-ref, under the
//! same limit, is the baseline.

use crate::opener::{open, Plan};
use crate::report::{int, ms, ratio};
use crate::server::{Kind, Launch};
use crate::{http, Ctx};
use std::time::{Duration, Instant};

const ATTEMPTS: usize = 20_000;
const NOFILE: u64 = 4_096;
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

struct Flooded {
    ok: usize,
    turned_away: usize,
    turned_away_p99_us: f64,
    hung: usize,
    /// Microseconds from the flood's close to a fresh 200 (NaN: none within RECOVERY_LIMIT).
    recovery_us: f64,
    log_lines: u64,
}

fn flood(ctx: &Ctx, kind: Kind) -> Result<Flooded, String> {
    let server = ctx.start(
        kind,
        Launch {
            nofile: Some(NOFILE),
            env: Vec::new(),
        },
    )?;
    let logged = server.log_lines();
    let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let opened = open(&Plan {
        addr: server.addr,
        count: ATTEMPTS,
        request: request.as_bytes(),
        in_flight: 4_096,
        answer_within: Duration::from_secs(2),
        keep_ok: true,
    })?;
    let t = &opened.tally;
    println!(
        "{}: {ATTEMPTS} attempts in {:.1} s: {}; turned away within p50 {} p99 {}",
        kind.name(),
        opened.elapsed.as_secs_f64(),
        t.summary(),
        ms(t.turned_away_quantile(0.5)),
        ms(t.turned_away_quantile(0.99))
    );
    let (ok, turned_away, hung) = (t.status(200), t.turned_away(), t.hung);
    let turned_away_p99_us = t.turned_away_quantile(0.99);
    drop(opened);
    let closed = Instant::now();
    let mut recovery_us = f64::NAN;
    while closed.elapsed() < RECOVERY_LIMIT {
        let probe = http::request(
            server.addr,
            "GET",
            "/health",
            None,
            None,
            Duration::from_secs(1),
        );
        if probe.is_ok_and(|r| r.status == 200) {
            recovery_us = closed.elapsed().as_secs_f64() * 1e6;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_secs(1));
    let log_lines = server.log_lines() - logged;
    println!(
        "{}: fresh /health 200 {} after the flood closed; {log_lines} log lines during the flood{}",
        kind.name(),
        if recovery_us.is_nan() {
            format!("not within {RECOVERY_LIMIT:?}")
        } else {
            ms(recovery_us)
        },
        server
            .log_sample(logged)
            .map(|l| format!(", e.g. {l:?}"))
            .unwrap_or_default()
    );
    Ok(Flooded {
        ok,
        turned_away,
        turned_away_p99_us,
        hung,
        recovery_us,
        log_lines,
    })
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let t = flood(ctx, Kind::TodoApi)?;
    let a = flood(ctx, Kind::AxumRef)?;
    let r = &mut ctx.report;
    let of = format!(
        "of {} attempts, limit {} descriptors",
        int(ATTEMPTS as f64),
        int(NOFILE as f64)
    );
    let count = |x: usize| int(x as f64);
    r.add(
        "flood",
        format!("answered 200 and held, {of}"),
        count(t.ok),
        format!("{} axum-ref", count(a.ok)),
        ratio(t.ok as f64, a.ok as f64),
    );
    r.add(
        "flood",
        "turned away at once (503, close, refused)",
        count(t.turned_away),
        format!("{} axum-ref", count(a.turned_away)),
        ratio(t.turned_away as f64, a.turned_away as f64),
    );
    r.add(
        "flood",
        "time to be turned away, p99",
        ms(t.turned_away_p99_us),
        format!("{} axum-ref", ms(a.turned_away_p99_us)),
        ratio(t.turned_away_p99_us, a.turned_away_p99_us),
    );
    r.add(
        "flood",
        "hung (no answer, no close within 2 s)",
        count(t.hung),
        format!("{} axum-ref", count(a.hung)),
        ratio(t.hung as f64, a.hung as f64),
    );
    r.add(
        "flood",
        "flood closed -> fresh GET /health 200",
        ms(t.recovery_us),
        format!("{} axum-ref", ms(a.recovery_us)),
        ratio(t.recovery_us, a.recovery_us),
    );
    r.add(
        "flood",
        "server log lines during the flood",
        int(t.log_lines as f64),
        format!("{} axum-ref", int(a.log_lines as f64)),
        ratio(t.log_lines as f64, a.log_lines as f64),
    );
    Ok(())
}
