//! Load benchmark of todo-api, driven by wrk; every figure is printed next to a baseline measured
//! in the same run (axum-ref, a trivial responder, the same SQL run directly, a quiet run) and the
//! ratio. See the README's "Benchmarks" section.
//!
//! ```text
//! cargo run --release -p todo-bench -- [w1|w1shared|recurring|idle|flood|slow|health|auth|tasks|mix|events|fanout|caldav|all]...
//! ```

mod binaries;
mod dav;
mod http;
mod opener;
mod postgres;
mod procstat;
mod radicale;
mod report;
mod scenario;
mod server;
mod sharing;
mod wrk;

use server::{Binaries, Kind, Launch, Proc};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use uuid::Uuid;

const USAGE: &str = "\
usage: cargo run --release -p todo-bench -- [SCENARIO]...   (default: all)

scenarios:
  w1      workload W1 (100 users x 20 tasks, 90% list, 10% toggle) at 16 and 64 connections,
          todo-api vs axum-ref: req/s, p99, server and PostgreSQL CPU per request, statements per request
  w1shared
          W1 with the users in 10 shared lists of 10 members (made through the API, 20 tasks each;
          toggles in the shared list) at 16 and 64 connections, next to plain W1 and W1 with 40
          own tasks a user on the same todo-api: req/s, p99, server and PostgreSQL CPU per request
          (W1_ROUNDS and W1_WRITES apply as to w1)
  idle    15,000 idle keep-alive connections: RSS, threads, descriptors, /health p99 while they are open
  flood   20,000 connections at a server limited to 4,096 descriptors: answered, turned away, hung,
          time to recover, log lines
  slow    2,000 slow clients (a header byte every 5 s): task-list p99 while they trickle
  health  GET /health at 64 connections vs a trivial responder and axum-ref
  auth    sign-in flood at bcrypt cost 10; /me and task-list p99 during the flood vs quiet
  tasks   one user with 10,000 tasks: whole list p50/p95, a limit=50 page p95
  mix     list/create/toggle at 64 connections vs pgbench running the same SQL
  events  a change on one instance to a stream on another (p99), 5,000 open streams on one
          instance: RSS, threads
  fanout  a list of 100 members, each with a stream open on instance B, written through A: time
          to reach all 100 streams (p50/p99); the writer's statements and PostgreSQL CPU per write
          next to a write in an unshared list
  caldav  CalDAV sync of 1,000 and of 10,000 tasks next to Radicale (apt-get install radicale):
          the initial sync (PROPFIND Depth 1, then calendar-multiget in batches of 100) median
          time and CPU; an empty incremental sync (sync-collection) by wrk: p50, p95, answers/s
  all     every scenario above, in this order: health w1 w1shared recurring tasks mix auth slow
          idle flood events fanout caldav

It builds the release todo-api and axum-ref (from AXUM_REF_DIR, default ../shared/baselines/axum-ref
next to the repository) first, starts a throwaway PostgreSQL, and needs wrk (apt-get install wrk).
BENCH_SECS sets the length of the main measured runs (default 10). Server settings in the environment
(WORKERS, DB_POOL_SIZE, HASH_CONCURRENCY, ...) pass through to todo-api.";

const ALL: &[&str] = &[
    "health",
    "w1",
    "w1shared",
    "recurring",
    "tasks",
    "mix",
    "auth",
    "slow",
    "idle",
    "flood",
    "events",
    "fanout",
    "caldav",
];

/// The password of every seeded user.
pub const PASSWORD: &str = "Bench-pass1!";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__responder") {
        let port = args.get(1).map(String::as_str).unwrap_or("0");
        return match server::responder(port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut chosen: Vec<&str> = Vec::new();
    for arg in &args {
        match arg.as_str() {
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "all" => chosen.extend(ALL),
            other => match ALL.iter().find(|s| **s == other) {
                Some(s) => chosen.push(s),
                None => {
                    eprintln!("todo-bench: unknown scenario {other:?}\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
        }
    }
    if chosen.is_empty() {
        chosen.extend(ALL);
    }
    let mut seen = Vec::new();
    chosen.retain(|s| {
        let new = !seen.contains(s);
        seen.push(*s);
        new
    });
    match run(&chosen) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("todo-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(scenarios: &[&str]) -> Result<(), String> {
    let started = Instant::now();
    let nofile = procstat::raise_nofile();
    let wrk = wrk::check()?;
    let bins = binaries::build()?;
    let dir = TempDir::create()?;
    let work = dir.0.join("work");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    wrk::write_scripts(&work)?;
    println!(
        "todo-bench: {}; {wrk}; commit {}; {} cores, load average {}; descriptor limit {nofile}",
        scenarios.join(" "),
        binaries::commit(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        procstat::loadavg()
    );
    let t = Instant::now();
    let pg = postgres::Pg::start(
        &dir.0.join("pg"),
        &[Kind::TodoApi.database(), Kind::AxumRef.database()],
    )?;
    println!(
        "PostgreSQL up in {:.1} s (default durability, pg_stat_statements preloaded; Unix socket and \
         127.0.0.1:{}), databases {} (todo-api) and {} (axum-ref)",
        t.elapsed().as_secs_f64(),
        pg.port(),
        Kind::TodoApi.database(),
        Kind::AxumRef.database()
    );
    let secs = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s: &u64| s > 0)
        .unwrap_or(10);
    let mut ctx = Ctx {
        work,
        bins,
        pg,
        report: report::Report::default(),
        secs,
        w1: HashMap::new(),
        w1_ids: (0..100).map(|_| Uuid::new_v4()).collect(),
        cheap_hash: bcrypt::hash(PASSWORD, 4).map_err(|e| format!("bcrypt: {e}"))?,
    };
    for name in scenarios {
        println!("\n== {name} == (load average {})", procstat::loadavg());
        let t = Instant::now();
        let machine = procstat::Machine::now();
        scenario::run(name, &mut ctx)?;
        println!(
            "-- {name} took {:.0} s; other processes used {} of the machine meanwhile",
            t.elapsed().as_secs_f64(),
            report::share(machine.others_since())
        );
    }
    println!(
        "\n== summary == (commit {}, total {:.0} s, load average now {})\n",
        binaries::commit(),
        started.elapsed().as_secs_f64(),
        procstat::loadavg()
    );
    ctx.report.print_table();
    drop(ctx);
    drop(dir);
    Ok(())
}

/// What the scenarios share: the binaries, the cluster, the report, the seeded W1 users.
pub struct Ctx {
    pub work: PathBuf,
    pub bins: Binaries,
    pub pg: postgres::Pg,
    pub report: report::Report,
    /// Length of the main measured runs, in seconds.
    pub secs: u64,
    /// Per server: the W1 users file (for lua/w1.lua) and the seeded users.
    w1: HashMap<Kind, (PathBuf, Vec<postgres::Seeded>)>,
    w1_ids: Vec<Uuid>,
    /// A cost-4 hash of PASSWORD: seeded users sign in quickly (the `auth` scenario uses cost 10).
    pub cheap_hash: String,
}

impl Ctx {
    pub fn start(&self, kind: Kind, launch: Launch) -> Result<Proc, String> {
        self.start_over(kind, launch, server::Transport::Unix)
    }

    /// A server that reaches PostgreSQL through `transport`.
    pub fn start_over(
        &self,
        kind: Kind,
        launch: Launch,
        transport: server::Transport,
    ) -> Result<Proc, String> {
        let db = server::DbAddr {
            socket_dir: self.pg.socket_dir(),
            port: self.pg.port(),
            transport,
        };
        let proc = server::start(kind, &self.bins, &db, &self.work, launch)?;
        println!(
            "{} up at {} (pid {}), PostgreSQL over {}",
            kind.name(),
            proc.addr,
            proc.pid(),
            transport.name()
        );
        Ok(proc)
    }

    /// A shorter run, for latency figures of one client.
    pub fn short_secs(&self) -> u64 {
        (self.secs / 2).max(2)
    }

    pub fn url(proc: &Proc) -> String {
        format!("http://{}", proc.addr)
    }

    /// Seeds W1 (100 users x 20 tasks) into the server's database once and signs every user in;
    /// returns the users file for lua/w1.lua.
    pub fn w1_users(&mut self, kind: Kind, server: &Proc) -> Result<PathBuf, String> {
        if let Some((path, _)) = self.w1.get(&kind) {
            return Ok(path.clone());
        }
        let t = Instant::now();
        let users: Vec<(Uuid, String)> = self
            .w1_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, format!("w1-{i}@bench.example.com")))
            .collect();
        let mut db = self.pg.connect(kind.database())?;
        let seeded = postgres::seed(&mut db, &users, &self.cheap_hash, 20)?;
        let mut lines = String::new();
        for u in &seeded {
            let token = http::sign_in(server.addr, &u.email, PASSWORD)?;
            lines.push_str(&format!("{} {token} {} {}\n", u.id, u.first, u.last));
        }
        let path = self.work.join(format!("w1-users-{}.txt", kind.name()));
        std::fs::write(&path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
        println!(
            "W1 seeded for {} (100 users x 20 tasks, signed in) in {:.1} s",
            kind.name(),
            t.elapsed().as_secs_f64()
        );
        self.w1.insert(kind, (path.clone(), seeded));
        Ok(path)
    }

    /// Seeds `count` users of todo-api (`{prefix}-{i}@bench.example.com`, `tasks` tasks each in
    /// their default list) and signs each in through `server`.
    pub fn seed_members(
        &self,
        server: &Proc,
        prefix: &str,
        count: usize,
        tasks: i32,
    ) -> Result<Vec<(postgres::Seeded, sharing::Member)>, String> {
        let users: Vec<(Uuid, String)> = (0..count)
            .map(|i| (Uuid::new_v4(), format!("{prefix}-{i}@bench.example.com")))
            .collect();
        let mut db = self.pg.connect(Kind::TodoApi.database())?;
        let seeded = postgres::seed(&mut db, &users, &self.cheap_hash, tasks)?;
        seeded
            .into_iter()
            .map(|u| {
                let token = http::sign_in(server.addr, &u.email, PASSWORD)?;
                let member = sharing::Member {
                    id: u.id,
                    email: u.email.clone(),
                    token,
                };
                Ok((u, member))
            })
            .collect()
    }

    /// The first W1 user of a server (after `w1_users`): id and its token from the users file.
    pub fn w1_first(&self, kind: Kind) -> Result<(Uuid, String), String> {
        let (path, _) = self
            .w1
            .get(&kind)
            .ok_or("W1 is not seeded for this server")?;
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let mut first = text.lines().next().unwrap_or("").split(' ');
        let id = first
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or("bad W1 users file")?;
        let token = first.next().ok_or("bad W1 users file")?.to_string();
        Ok((id, token))
    }
}

/// The run's temporary directory (cluster, scripts, pgbench files), removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<TempDir, String> {
        // Directories of earlier runs that were killed (their children died with them).
        for entry in std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("todo-bench-")) else {
                continue;
            };
            if pid.parse::<u32>().is_ok() && !PathBuf::from("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = std::env::temp_dir().join(format!("todo-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits a moment for a server to settle (threads of closed connections to exit).
pub fn settle() {
    std::thread::sleep(Duration::from_millis(500));
}
