//! The scenarios, one file each, and the measurement they share: a wrk run with the server's and
//! PostgreSQL's CPU and the database's statements counted around it.

mod auth;
mod caldav;
mod events;
mod fanout;
mod flood;
mod health;
mod idle;
mod mix;
mod recurring;
mod slow;
mod tasks;
mod w1;
mod w1shared;

use crate::server::{Kind, Proc};
use crate::wrk::{Figures, Load};
use crate::{procstat, Ctx};

pub fn run(name: &str, ctx: &mut Ctx) -> Result<(), String> {
    match name {
        "w1" => w1::run(ctx),
        "w1shared" => w1shared::run(ctx),
        "idle" => idle::run(ctx),
        "flood" => flood::run(ctx),
        "slow" => slow::run(ctx),
        "health" => health::run(ctx),
        "auth" => auth::run(ctx),
        "tasks" => tasks::run(ctx),
        "mix" => mix::run(ctx),
        "events" => events::run(ctx),
        "fanout" => fanout::run(ctx),
        "recurring" => recurring::run(ctx),
        "caldav" => caldav::run(ctx),
        other => Err(format!("no scenario {other}")),
    }
}

/// A wrk run and what it cost.
pub struct Measured {
    pub wrk: Figures,
    /// Server process CPU (all threads), microseconds.
    pub server_cpu_us: u64,
    /// PostgreSQL CPU (postmaster and all its children), microseconds.
    pub pg_cpu_us: u64,
    /// Statements executed in the server's database (pg_stat_statements calls).
    pub statements: i64,
    /// Context switches of the server's threads over the run: voluntary, involuntary.
    pub ctx_switches: (u64, u64),
}

impl Measured {
    fn per_request(&self, x: f64) -> f64 {
        if self.wrk.requests == 0 {
            return f64::NAN;
        }
        x / self.wrk.requests as f64
    }

    pub fn server_cpu_per_request(&self) -> f64 {
        self.per_request(self.server_cpu_us as f64)
    }

    pub fn pg_cpu_per_request(&self) -> f64 {
        self.per_request(self.pg_cpu_us as f64)
    }

    pub fn statements_per_request(&self) -> f64 {
        self.per_request(self.statements as f64)
    }

    pub fn voluntary_per_request(&self) -> f64 {
        self.per_request(self.ctx_switches.0 as f64)
    }

    pub fn involuntary_per_request(&self) -> f64 {
        self.per_request(self.ctx_switches.1 as f64)
    }
}

/// Runs `load` against `server` and counts the CPU and statements around it.
pub fn measure(ctx: &Ctx, server: &Proc, kind: Kind, load: &Load) -> Result<Measured, String> {
    let pg0 = ctx.pg.mark(kind.database())?;
    let cpu0 = procstat::cpu_us(server.pid())?;
    let cs0 = procstat::ctx_switches(server.pid())?;
    let wrk = load.run(&ctx.work)?;
    let cs1 = procstat::ctx_switches(server.pid())?;
    let cpu1 = procstat::cpu_us(server.pid())?;
    let pg1 = ctx.pg.mark(kind.database())?;
    let (pg_cpu_us, statements) = pg1.since(&pg0);
    let m = Measured {
        wrk,
        server_cpu_us: cpu1.saturating_sub(cpu0),
        pg_cpu_us,
        statements,
        ctx_switches: (cs1.0.saturating_sub(cs0.0), cs1.1.saturating_sub(cs0.1)),
    };
    println!(
        "{} {} -c {}: {}; CPU per request: server {:.0} us, PostgreSQL {:.0} us; {:.2} statements \
         per request; server context switches per request {:.2} voluntary, {:.2} involuntary",
        kind.name(),
        load.script,
        load.conns,
        m.wrk.summary(),
        m.server_cpu_per_request(),
        m.pg_cpu_per_request(),
        m.statements_per_request(),
        m.voluntary_per_request(),
        m.involuntary_per_request()
    );
    if m.wrk.non_2xx > 0 || m.wrk.errors > 0 {
        println!(
            "  warning: {} answers outside 2xx and {} socket errors in this run",
            m.wrk.non_2xx, m.wrk.errors
        );
    }
    Ok(m)
}

/// A plain wrk run (no CPU accounting), with its summary printed.
pub fn load(ctx: &Ctx, what: &str, load: &Load) -> Result<Figures, String> {
    let f = load.run(&ctx.work)?;
    println!("{what} -c {}: {}", load.conns, f.summary());
    Ok(f)
}

/// A GET of `path` (with a token) as a wrk load.
pub fn get<'a>(
    server: &Proc,
    path: &str,
    token: Option<&str>,
    conns: usize,
    secs: u64,
) -> Load<'a> {
    let mut args = vec![path.to_string()];
    if let Some(t) = token {
        args.push(t.to_string());
    }
    Load {
        url: Ctx::url(server),
        conns,
        secs,
        script: "get",
        args,
    }
}

/// The same GET, each connection pausing `pause_ms` before each request (get.lua): a probe
/// that does not itself saturate the server.
pub fn paced(mut load: Load<'_>, pause_ms: u32) -> Load<'_> {
    load.args.resize(2, String::new());
    load.args.push(pause_ms.to_string());
    load
}

/// Nearest-rank quantile of microsecond samples (sorted here).
pub fn quantile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    if samples.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}
