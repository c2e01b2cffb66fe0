//! Load benchmark of the release binary against a throwaway PostgreSQL, each figure next to a
//! baseline measured in the same run.
//!
//! ```text
//! cargo build --release --bins && target/release/bench [health] [auth] [tasks] [all]
//! ```
//!
//! The server runs as a child process (`todo-api` next to this executable) against a fresh cluster
//! started with `todo_api::db::embedded::Cluster` in a temporary directory; both are stopped on exit.
//! The client is a small HTTP/1.1 keep-alive client over `std::net::TcpStream`, one thread per
//! connection. Client, server and PostgreSQL share the machine, so every figure includes the
//! client's own CPU use, and so does its baseline.

use postgres::NoTls;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};
use todo_api::config::Config;
use todo_api::db::embedded::{find_bindir, Cluster};
use uuid::Uuid;

type Res<T> = Result<T, String>;

const PASSWORD: &str = "Bench-pass1!";
const SECRET: &str = "bench-jwt-secret-0123456789abcdef-0123456789abcdef";
const PG_PORT: u16 = 15432;
const DB_NAME: &str = "bench";
const STARTS: usize = 5;
const HEALTH_CONNS: usize = 64;
const HEALTH_TIME: Duration = Duration::from_secs(5);
const IDLE_CONNS: usize = 1000;
const SIGNIN_CONNS: usize = 8;
const SIGNIN_TIME: Duration = Duration::from_secs(5);
const BCRYPT_TIME: Duration = Duration::from_secs(3);
const ME_CONNS: usize = 4;
const ME_TIME: Duration = Duration::from_secs(3);
const MIX_CONNS: usize = 64;
const MIX_SECS: u64 = 10;
const TASK_TITLE: &str = "bench-task";
const TASK_DESCRIPTION: &str = "created-by-the-bench";

const USAGE: &str = "usage: bench [health] [auth] [tasks] [all]   (default: all)\n\
    Runs target/release/todo-api (build it first: cargo build --release --bins) against a throwaway\n\
    PostgreSQL and prints each figure next to a baseline measured in the same run.\n\
    Server variables set in the environment (WORKERS, HASH_CONCURRENCY, ...) are passed through.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__responder") {
        return responder(args.get(1).map(String::as_str).unwrap_or("0"));
    }
    let mut sections = Vec::new();
    for arg in &args {
        match arg.as_str() {
            "health" | "auth" | "tasks" => sections.push(arg.clone()),
            "all" => sections.extend(["health", "auth", "tasks"].map(String::from)),
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("bench: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if sections.is_empty() {
        sections.extend(["health", "auth", "tasks"].map(String::from));
    }
    sections.dedup();
    match run(&sections) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run: setup, sections, summary.

/// One line of the summary table.
struct Line {
    section: &'static str,
    what: String,
    value: String,
    baseline: String,
    ratio: String,
    others: String,
}

struct Bench {
    work: PathBuf,
    pool_size: usize,
    hash_concurrency: usize,
    cluster_config: postgres::Config,
    pgdata: PathBuf,
    addr: SocketAddr,
    server_pid: u32,
    lines: Vec<Line>,
    /// CPU share of processes outside this run while the figures being added were measured.
    others: String,
}

impl Bench {
    fn line(
        &mut self,
        section: &'static str,
        what: &str,
        value: String,
        baseline: String,
        ratio: String,
    ) {
        self.lines.push(Line {
            section,
            what: what.into(),
            value,
            baseline,
            ratio,
            others: self.others.clone(),
        });
    }

    fn db(&self) -> Res<postgres::Client> {
        let mut config = self.cluster_config.clone();
        config.dbname(DB_NAME).application_name("bench");
        config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect to the bench database: {e}"))
    }
}

/// Removes the temporary directory last (declared first, dropped last).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Directories left by an earlier run that was killed (its children die with it, by PDEATHSIG).
fn remove_stale_dirs() {
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("todo-api-bench-"))
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn run(sections: &[String]) -> Res<()> {
    raise_fd_limit();
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let exe_dir = exe
        .parent()
        .ok_or("the executable has no directory")?
        .to_path_buf();
    let server_bin = exe_dir.join("todo-api");
    if !server_bin.is_file() {
        return Err(format!(
            "{} not found: run `cargo build --release --bins` first",
            server_bin.display()
        ));
    }
    if let Ok(built) = std::fs::metadata(&server_bin).and_then(|m| m.modified()) {
        let built = chrono::DateTime::<chrono::Utc>::from(built).format("%Y-%m-%d %H:%M:%S UTC");
        println!("server binary: {} (built {built})", server_bin.display());
    }
    remove_stale_dirs();
    let started = Instant::now();
    let dir = TempDir(std::env::temp_dir().join(format!("todo-api-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)
        .map_err(|e| format!("cannot create {}: {e}", dir.0.display()))?;
    let work = dir.0.join("work");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;

    println!("todo-api bench: sections {}", sections.join(", "));
    println!(
        "machine: {} cores; load average {} (other processes on the machine compete for the same cores)",
        todo_api::config::cores(),
        loadavg()
    );

    // PostgreSQL: default durability (fsync on, synchronous_commit on); max_connections raised from
    // 100 to 200 so that pgbench -c 64 and the server's pool always fit.
    let t = Instant::now();
    let mut cluster = Cluster::start(&dir.0.join("pg"), PG_PORT, &[("max_connections", "200")])
        .map_err(|e| e.to_string())?;
    println!(
        "PostgreSQL cluster up in {:.1} s (default durability settings)",
        t.elapsed().as_secs_f64()
    );
    let cluster_config = cluster.config();
    let pgdata = cluster.pgdata.clone();
    {
        let mut admin = cluster_config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect to the cluster: {e}"))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {DB_NAME}"))
            .map_err(|e| format!("CREATE DATABASE: {e}"))?;
    }

    let mut server_env: Vec<(String, String)> = vec![
        (
            "DATABASE_URL".into(),
            format!(
                "host={} port={PG_PORT} user=postgres dbname={DB_NAME}",
                pgdata.display()
            ),
        ),
        ("JWT_SECRET_KEY".into(), SECRET.into()),
        ("HOST".into(), "127.0.0.1".into()),
        ("LOG_LEVEL".into(), "warn".into()),
        ("BCRYPT_COST".into(), "10".into()),
    ];
    let mut passed = Vec::new();
    for name in todo_api::config::SETTINGS.iter().map(|s| s.name) {
        if server_env.iter().any(|(k, _)| k == name) || name == "PORT" {
            continue;
        }
        if let Ok(value) = std::env::var(name) {
            passed.push(format!("{name}={value}"));
            server_env.push((name.to_string(), value));
        }
    }
    if !passed.is_empty() {
        println!("passed through to the server: {}", passed.join(" "));
    }
    let config = Config::from_vars(&server_env.iter().cloned().collect())
        .map_err(|e| format!("server configuration: {e}"))?;

    // Time to first 200: once on the empty database (the migration runs), then the median of
    // STARTS restarts (schema present; each previous server stopped with SIGTERM first), next to the
    // median of STARTS starts of the baseline responder process.
    let responder_response = health_response_template();
    let (first_server, first, _) = spawn_server(&server_bin, &server_env, &work)?.finish_start()?;
    drop(first_server);
    let mut restarts = Vec::new();
    let mut last = None;
    for _ in 0..STARTS {
        drop(last.take());
        let (proc, took, body) = spawn_server(&server_bin, &server_env, &work)?.finish_start()?;
        restarts.push(took);
        last = Some((proc, body));
    }
    let (mut server, health_body) = last.ok_or("no server started")?;
    let mut responder_starts = Vec::new();
    for _ in 0..STARTS {
        let (took, proc) = start_responder(&exe, &responder_response, &work)?;
        drop(proc);
        responder_starts.push(took);
    }
    let restart = median(&mut restarts);
    let responder_start = median(&mut responder_starts);
    let addr = server.addr;
    let rss_start = rss_kib(server.pid())?;
    println!("server {} up; /health said {}", addr, health_body.trim());

    let mut bench = Bench {
        work,
        pool_size: config.db_pool_size,
        hash_concurrency: config.hash_concurrency,
        cluster_config,
        pgdata,
        addr,
        server_pid: server.pid(),
        lines: Vec::new(),
        others: String::new(),
    };
    println!(
        "server: {} workers, DB pool {}, hash concurrency {}, BCRYPT_COST=10, LOG_LEVEL=warn",
        config.workers, bench.pool_size, bench.hash_concurrency
    );
    let (t_first, t_restart) = (first.as_secs_f64(), restart.as_secs_f64());
    let t_resp = responder_start.as_secs_f64();
    println!(
        "time to first 200: {} on an empty database (migration applied), {} on a restart \
         (median of {STARTS}); baseline responder process: {} (median of {STARTS})",
        ms(t_first),
        ms(t_restart),
        ms(t_resp)
    );
    bench.line(
        "setup",
        "time to first 200, empty DB (migrates)",
        ms(t_first),
        format!("{} responder", ms(t_resp)),
        ratio(t_first, t_resp),
    );
    bench.line(
        "setup",
        &format!("time to first 200, restart (median of {STARTS})"),
        ms(t_restart),
        format!("{} responder", ms(t_resp)),
        ratio(t_restart, t_resp),
    );
    bench.line(
        "setup",
        "server VmRSS after start-up",
        kib(rss_start),
        String::new(),
        String::new(),
    );

    for section in sections {
        println!("\n== {section} == (load average {})", loadavg());
        let t = Instant::now();
        let cpu = Cpu::now();
        match section.as_str() {
            "health" => health_section(&mut bench, &exe)?,
            "auth" => auth_section(&mut bench)?,
            "tasks" => tasks_section(&mut bench)?,
            _ => {}
        }
        let (ours, others) = cpu.since();
        println!(
            "-- {section} took {:.0} s; CPU over the section: this run {}, other processes {} \
             (of all cores; load average {})",
            t.elapsed().as_secs_f64(),
            share(ours),
            share(others),
            loadavg()
        );
    }

    server.stop();
    cluster.stop();
    print_summary(&bench, started.elapsed());
    Ok(())
}

fn print_summary(bench: &Bench, total: Duration) {
    println!(
        "\n== summary == (total {:.0} s, load average now {})",
        total.as_secs_f64(),
        loadavg()
    );
    let header = [
        "section",
        "measure",
        "todo-api",
        "baseline",
        "ratio",
        "others' CPU",
    ];
    let rows: Vec<[&str; 6]> = bench
        .lines
        .iter()
        .map(|l| {
            [
                l.section,
                l.what.as_str(),
                l.value.as_str(),
                l.baseline.as_str(),
                l.ratio.as_str(),
                l.others.as_str(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let print = |row: [&str; 6]| {
        let mut out = String::from("|");
        for (i, (cell, w)) in row.iter().zip(width).enumerate() {
            // Numbers right-aligned, words left-aligned.
            if i == 2 || i == 4 {
                out.push_str(&format!(" {cell:>w$} |"));
            } else {
                out.push_str(&format!(" {cell:<w$} |"));
            }
        }
        println!("{out}");
    };
    print(header);
    println!(
        "|{}|",
        width
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        print(row);
    }
}

// ---------------------------------------------------------------------------------------------
// health

fn health_section(bench: &mut Bench, exe: &Path) -> Res<()> {
    let addr = bench.addr;
    let mut probe = Http::new(addr);
    let real = probe
        .send(&get("/health", None))
        .map_err(|e| format!("GET /health: {e}"))?;
    drop(probe);
    // The baseline answers with the bytes of a real /health response (its Date frozen).
    let fixed = format!("{}{}", real.head, String::from_utf8_lossy(&real.body));
    let (_, responder) = start_responder(exe, &fixed, &bench.work)?;

    let request = get("/health", None);
    let server = load(addr, HEALTH_CONNS, HEALTH_TIME, |_, _| request.clone())?;
    server.report("GET /health (todo-api)");
    let base = load(responder.addr, HEALTH_CONNS, HEALTH_TIME, |_, _| {
        request.clone()
    })?;
    base.report("GET /health (baseline responder)");
    bench.others = others(server.cpu, Some(base.cpu));
    let (s, b) = (server.rate(200), base.rate(200));
    bench.line(
        "health",
        &format!("GET /health req/s, {HEALTH_CONNS} keep-alive conns"),
        format!("{s:.0}"),
        format!("{b:.0} responder"),
        ratio(s, b),
    );
    for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
        let (s, b) = (server.pct(q), base.pct(q));
        bench.line(
            "health",
            &format!("GET /health {name}"),
            ms(s),
            format!("{} responder", ms(b)),
            ratio(s, b),
        );
    }

    bench.others = String::new();
    let (idle, loaded) = memory(bench.server_pid, addr, IDLE_CONNS)?;
    let (b_idle, b_loaded) = memory(responder.pid(), responder.addr, IDLE_CONNS)?;
    let per = (loaded as f64 - idle as f64) / IDLE_CONNS as f64;
    let b_per = (b_loaded as f64 - b_idle as f64) / IDLE_CONNS as f64;
    println!(
        "VmRSS todo-api: idle {}, with {IDLE_CONNS} idle keep-alive connections {} ({per:.1} KiB each); \
         responder: idle {}, loaded {} ({b_per:.1} KiB each)",
        kib(idle),
        kib(loaded),
        kib(b_idle),
        kib(b_loaded)
    );
    bench.line(
        "health",
        "VmRSS idle",
        kib(idle),
        format!("{} responder", kib(b_idle)),
        ratio(idle as f64, b_idle as f64),
    );
    bench.line(
        "health",
        &format!("VmRSS, {IDLE_CONNS} idle keep-alive conns"),
        kib(loaded),
        format!("{} responder", kib(b_loaded)),
        ratio(loaded as f64, b_loaded as f64),
    );
    bench.line(
        "health",
        "VmRSS per idle connection",
        format!("{per:.1} KiB"),
        format!("{b_per:.1} KiB responder"),
        ratio(per, b_per),
    );
    drop(responder);
    Ok(())
}

/// VmRSS before and while `n` keep-alive connections, each having made one request, stay open.
fn memory(pid: u32, addr: SocketAddr, n: usize) -> Res<(u64, u64)> {
    // Connection threads of the previous load exit when their sockets close.
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(pid)?;
    let mut held = Vec::with_capacity(n);
    let request = get("/health", None);
    for i in 0..n {
        let mut http = Http::new(addr);
        let reply = http
            .send(&request)
            .map_err(|e| format!("idle connection {i}: {e}"))?;
        if reply.status != 200 {
            return Err(format!("idle connection {i}: status {}", reply.status));
        }
        held.push(http);
    }
    std::thread::sleep(Duration::from_millis(500));
    let loaded = rss_kib(pid)?;
    drop(held);
    Ok((idle, loaded))
}

// ---------------------------------------------------------------------------------------------
// auth

fn auth_section(bench: &mut Bench) -> Res<()> {
    let addr = bench.addr;
    let email = "auth-bench@example.com";
    let mut http = Http::new(addr);
    let signup = json_body(
        &serde_json::json!({ "name": "Auth Bench", "email": email, "password": PASSWORD }),
    );
    let reply = http
        .send(&post("POST", "/api/auth/signup", None, &signup))
        .map_err(|e| format!("sign-up: {e}"))?;
    if reply.status != 201 {
        return Err(format!(
            "sign-up answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    let (token, _) = signed_in(&reply.body)?;
    drop(http);
    let signin = post(
        "POST",
        "/api/auth/signin",
        None,
        &json_body(&serde_json::json!({ "email": email, "password": PASSWORD })),
    );

    let flood = load(addr, SIGNIN_CONNS, SIGNIN_TIME, |_, _| signin.clone())?;
    flood.report("POST /api/auth/signin (todo-api)");
    let hash: String = bench
        .db()?
        .query_one(
            "SELECT password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .map_err(|e| e.to_string())?
        .get(0);
    let threads = bench.hash_concurrency;
    let (verified, bcrypt_cpu) = bcrypt_rate(&hash, threads, BCRYPT_TIME)?;
    println!(
        "bcrypt::verify in the bench process, {threads} threads: {verified:.1}/s; \
         CPU: this run {}, other processes {}",
        share(bcrypt_cpu.0),
        share(bcrypt_cpu.1)
    );
    let ok = flood.rate(200);
    bench.others = others(flood.cpu, Some(bcrypt_cpu));
    bench.line(
        "auth",
        &format!("sign-ins/s (200), {SIGNIN_CONNS} clients, cost 10"),
        format!("{ok:.1}"),
        format!("{verified:.1} bcrypt/s, {threads} thr"),
        ratio(ok, verified),
    );
    bench.line(
        "auth",
        "sign-in answers/s: 503 / other",
        format!(
            "{:.1} / {:.1}",
            flood.rate(503),
            flood.other_rate(&[200, 503])
        ),
        String::new(),
        String::new(),
    );
    bench.line(
        "auth",
        "sign-in p50 / p99 (200s)",
        format!("{} / {}", ms(flood.pct(0.5)), ms(flood.pct(0.99))),
        String::new(),
        String::new(),
    );

    // As many clients as the server admits (hashing + waiting slots): no 503 spin expected.
    let admitted = 2 * threads;
    let calm = load(addr, admitted, SIGNIN_TIME, |_, _| signin.clone())?;
    calm.report(&format!(
        "POST /api/auth/signin, {admitted} clients (todo-api)"
    ));
    bench.others = others(calm.cpu, Some(bcrypt_cpu));
    bench.line(
        "auth",
        &format!("sign-ins/s (200), {admitted} clients (= admitted slots)"),
        format!("{:.1}", calm.rate(200)),
        format!("{verified:.1} bcrypt/s, {threads} thr"),
        ratio(calm.rate(200), verified),
    );
    bench.line(
        "auth",
        &format!("sign-in p50 / p99 (200s), {admitted} clients"),
        format!("{} / {}", ms(calm.pct(0.5)), ms(calm.pct(0.99))),
        String::new(),
        String::new(),
    );

    let me = get("/api/auth/me", Some(&token));
    let quiet = load(addr, ME_CONNS, ME_TIME, |_, _| me.clone())?;
    quiet.report("GET /api/auth/me, quiet");
    let (busy, flood2) = std::thread::scope(|s| {
        let flood = s.spawn(|| {
            load(
                addr,
                SIGNIN_CONNS,
                ME_TIME + Duration::from_millis(800),
                |_, _| signin.clone(),
            )
        });
        std::thread::sleep(Duration::from_millis(400));
        let busy = load(addr, ME_CONNS, ME_TIME, |_, _| me.clone());
        let flood = flood
            .join()
            .map_err(|_| "the sign-in flood thread panicked".to_string());
        (busy, flood)
    });
    let (busy, flood2) = (busy?, flood2??);
    busy.report("GET /api/auth/me, during a sign-in flood");
    flood2.report("  (the flood meanwhile)");
    bench.others = others(busy.cpu, Some(quiet.cpu));
    bench.line(
        "auth",
        &format!("/me p99, {ME_CONNS} conns, during {SIGNIN_CONNS}-client sign-in flood"),
        ms(busy.pct(0.99)),
        format!("{} without flood", ms(quiet.pct(0.99))),
        ratio(busy.pct(0.99), quiet.pct(0.99)),
    );
    bench.line(
        "auth",
        "/me req/s during flood",
        format!("{:.0}", busy.rate(200)),
        format!("{:.0} without flood", quiet.rate(200)),
        ratio(busy.rate(200), quiet.rate(200)),
    );
    Ok(())
}

/// bcrypt verifications per second with `threads` threads for about `time`.
fn bcrypt_rate(hash: &str, threads: usize, time: Duration) -> Res<(f64, (f64, f64))> {
    let cpu = Cpu::now();
    let started = Instant::now();
    let counts: Vec<Res<u64>> = std::thread::scope(|s| {
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
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok((total as f64 / elapsed, cpu.since()))
}

// ---------------------------------------------------------------------------------------------
// tasks

const SQL_USER: &str = "SELECT id, email, name, created_at FROM users WHERE id = $1";
// Copied from src/db/tasks.rs.
const SQL_LIST: &str = "SELECT id, user_id, title, description, completed, created_at, updated_at
             FROM tasks
             WHERE user_id = $1 AND ($2::boolean IS NULL OR completed = $2)
             ORDER BY created_at DESC, id DESC
             LIMIT $3";
const SQL_CREATE: &str = "INSERT INTO tasks (user_id, title, description, completed)
         VALUES ($1, $2, $3, $4)
         RETURNING id, user_id, title, description, completed, created_at, updated_at";
const SQL_TOGGLE: &str = "UPDATE tasks SET
             completed = NOT completed,
             updated_at = greatest(now(), updated_at + interval '1 microsecond')
         WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, title, description, completed, created_at, updated_at";

struct Seeded {
    id: Uuid,
    email: String,
    tasks: i32,
}

fn tasks_section(bench: &mut Bench) -> Res<()> {
    let addr = bench.addr;
    let t = Instant::now();
    let hash = bcrypt::hash(PASSWORD, 10).map_err(|e| e.to_string())?;
    let users =
        [("list-1k", 1_000), ("list-10k", 10_000), ("mix", 1_000)].map(|(name, tasks)| Seeded {
            id: Uuid::new_v4(),
            email: format!("{name}@example.com"),
            tasks,
        });
    let mut db = bench.db()?;
    for u in &users {
        db.execute(
            "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)",
            &[&u.id, &u.email, &"Bench User", &hash],
        )
        .map_err(|e| format!("seeding users: {e}"))?;
        db.execute(
            "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)
             SELECT $1, 'Task number ' || g,
                    CASE WHEN g % 2 = 0 THEN 'Description of task ' || g || ', about as long as a real one' END,
                    g % 3 = 0, now() - make_interval(secs => g), now() - make_interval(secs => g)
             FROM generate_series(1, $2::integer) AS g",
            &[&u.id, &u.tasks],
        )
        .map_err(|e| format!("seeding tasks: {e}"))?;
    }
    db.batch_execute("VACUUM ANALYZE tasks")
        .map_err(|e| e.to_string())?;
    db.batch_execute("ANALYZE users")
        .map_err(|e| e.to_string())?;
    let range = db
        .query_one(
            "SELECT min(id), max(id) FROM tasks WHERE user_id = $1",
            &[&users[2].id],
        )
        .map_err(|e| e.to_string())?;
    let (lo, hi): (i64, i64) = (range.get(0), range.get(1));
    let mut tokens = Vec::new();
    let mut http = Http::new(addr);
    for u in &users {
        let body = json_body(&serde_json::json!({ "email": u.email, "password": PASSWORD }));
        let reply = http
            .send(&post("POST", "/api/auth/signin", None, &body))
            .map_err(|e| format!("sign-in: {e}"))?;
        if reply.status != 200 {
            return Err(format!("sign-in answered {}", reply.status));
        }
        tokens.push(signed_in(&reply.body)?.0);
    }
    println!(
        "seeded users with 1,000, 10,000 and 1,000 (mix) tasks via INSERT ... SELECT generate_series in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Sequential lists, whole list (no limit), next to the same statements run directly.
    for (i, iterations) in [(0usize, 200usize), (1, 50)] {
        let u = &users[i];
        let request = get(&format!("/api/{}/tasks", u.id), Some(&tokens[i]));
        let mut lat = Vec::with_capacity(iterations);
        let mut bytes = 0;
        let cpu = Cpu::now();
        for n in 0..iterations + 3 {
            let started = Instant::now();
            let reply = http.send(&request).map_err(|e| format!("list: {e}"))?;
            let took = started.elapsed();
            if reply.status != 200 {
                return Err(format!("list answered {}", reply.status));
            }
            if n == 0 {
                let list: serde_json::Value =
                    serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
                let len = list.as_array().map_or(0, Vec::len);
                if len != u.tasks as usize {
                    return Err(format!("list returned {len} tasks, expected {}", u.tasks));
                }
            }
            bytes = reply.body.len();
            if n >= 3 {
                lat.push(micros(took));
            }
        }
        lat.sort_unstable();
        let api_cpu = cpu.since();
        let user = db.prepare(SQL_USER).map_err(|e| e.to_string())?;
        let list = db.prepare(SQL_LIST).map_err(|e| e.to_string())?;
        let mut floor = Vec::with_capacity(iterations);
        let cpu = Cpu::now();
        for n in 0..iterations + 3 {
            let started = Instant::now();
            db.query_one(&user, &[&u.id]).map_err(|e| e.to_string())?;
            let rows = db
                .query(&list, &[&u.id, &None::<bool>, &None::<i64>])
                .map_err(|e| e.to_string())?;
            let took = started.elapsed();
            if rows.len() != u.tasks as usize {
                return Err(format!("direct list returned {} rows", rows.len()));
            }
            if n >= 3 {
                floor.push(micros(took));
            }
        }
        floor.sort_unstable();
        bench.others = others(api_cpu, Some(cpu.since()));
        let label = if u.tasks == 1_000 { "1,000" } else { "10,000" };
        println!(
            "GET /api/{{uid}}/tasks, {label} tasks ({} bytes), {iterations} sequential: p50 {} p95 {}; \
             same SQL direct (user lookup + list): p50 {} p95 {}",
            bytes,
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.95)),
            ms(pct(&floor, 0.5)),
            ms(pct(&floor, 0.95))
        );
        for (name, q) in [("p50", 0.5), ("p95", 0.95)] {
            let (a, b) = (pct(&lat, q), pct(&floor, q));
            bench.line(
                "tasks",
                &format!(
                    "list all {label} tasks {name} ({iterations}x, {} KB)",
                    bytes / 1000
                ),
                ms(a),
                format!("{} SQL direct", ms(b)),
                ratio(a, b),
            );
        }
    }
    drop(http);

    // The mix: list (?limit=20), create, toggle in equal shares, one user, 64 connections.
    let mix = &users[2];
    let list_req = get(&format!("/api/{}/tasks?limit=20", mix.id), Some(&tokens[2]));
    let create_req = post(
        "POST",
        &format!("/api/{}/tasks", mix.id),
        Some(&tokens[2]),
        &json_body(&serde_json::json!({ "title": TASK_TITLE, "description": TASK_DESCRIPTION })),
    );
    let span = (hi - lo + 1) as u64;
    let (uid, token) = (mix.id, tokens[2].clone());
    let op = |conn: usize, i: u64| match (conn as u64 + i) % 3 {
        0 => list_req.clone(),
        1 => create_req.clone(),
        _ => {
            let id = lo + (splitmix(((conn as u64) << 32) | i) % span) as i64;
            post(
                "PATCH",
                &format!("/api/{uid}/tasks/{id}/complete"),
                Some(&token),
                "",
            )
        }
    };
    let api = load(addr, MIX_CONNS, Duration::from_secs(MIX_SECS), op)?;
    api.report("mix list(?limit=20)/create/toggle (todo-api)");
    let api_rate = api.rate_2xx();

    let (pg64, pg64_cpu) = pgbench(bench, mix.id, lo, hi, MIX_CONNS)?;
    let (pg_pool, pg_pool_cpu) = pgbench(bench, mix.id, lo, hi, bench.pool_size)?;
    println!(
        "pgbench, same statements: -c {MIX_CONNS}: {:.0} tps; -c {} (= the server's DB pool): {:.0} tps",
        pg64, bench.pool_size, pg_pool
    );
    bench.others = others(api.cpu, Some(pg64_cpu));
    bench.line(
        "tasks",
        &format!("mix req/s, {MIX_CONNS} conns (list?limit=20/create/toggle)"),
        format!("{api_rate:.0}"),
        format!("{pg64:.0} pgbench tps -c {MIX_CONNS}"),
        ratio(api_rate, pg64),
    );
    bench.others = others(api.cpu, Some(pg_pool_cpu));
    bench.line(
        "tasks",
        "mix vs pgbench at the server's pool size",
        format!("{api_rate:.0}"),
        format!("{pg_pool:.0} pgbench tps -c {}", bench.pool_size),
        ratio(api_rate, pg_pool),
    );
    bench.others = others(api.cpu, None);
    bench.line(
        "tasks",
        "mix p50 / p99",
        format!("{} / {}", ms(api.pct(0.5)), ms(api.pct(0.99))),
        String::new(),
        String::new(),
    );
    Ok(())
}

/// pgbench with one script per request kind, weighted equally; one transaction runs exactly the
/// statements of one request under load: the user lookup of authentication and the task statement
/// (the pool pings only connections idle for a second, which none is here). Returns transactions per second.
fn pgbench(bench: &Bench, uid: Uuid, lo: i64, hi: i64, clients: usize) -> Res<(f64, (f64, f64))> {
    // pgbench variables cannot be NULL: the list's `$2` (status filter, NULL for "all") is written as
    // NULL::boolean in its place.
    let prologue = format!("{};\n", SQL_USER.replace("$1", ":uid"));
    let list = SQL_LIST
        .replace("$1", ":uid")
        .replace("$2::boolean", "NULL::boolean")
        .replace("= $2", "= NULL::boolean")
        .replace("$3", ":lim");
    let create = SQL_CREATE
        .replace("$1", ":uid")
        .replace("$2", ":title")
        .replace("$3", ":descr")
        .replace("$4", ":completed");
    let toggle = SQL_TOGGLE.replace("$1", ":uid").replace("$2", ":tid");
    let scripts = [
        ("list.sql", format!("{prologue}{list};\n")),
        ("create.sql", format!("{prologue}{create};\n")),
        (
            "toggle.sql",
            format!("\\set tid random({lo}, {hi})\n{prologue}{toggle};\n"),
        ),
    ];
    let mut cmd = Command::new(pgbench_path());
    cmd.arg("-h").arg(&bench.pgdata).args([
        "-p",
        &PG_PORT.to_string(),
        "-U",
        "postgres",
        "-n",
        "-M",
        "prepared",
    ]);
    cmd.args([
        "-c",
        &clients.to_string(),
        "-j",
        "2",
        "-T",
        &MIX_SECS.to_string(),
    ]);
    cmd.args([
        "-D",
        &format!("uid={uid}"),
        "-D",
        "lim=21",
        "-D",
        &format!("title={TASK_TITLE}"),
    ]);
    cmd.args([
        "-D",
        &format!("descr={TASK_DESCRIPTION}"),
        "-D",
        "completed=false",
    ]);
    for (name, text) in &scripts {
        let path = bench.work.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        cmd.arg("-f").arg(format!("{}@1", path.display()));
    }
    cmd.arg(DB_NAME);
    if clients == MIX_CONNS {
        println!("pgbench scripts (in {}):", bench.work.display());
        for (name, text) in &scripts {
            println!("--- {name}\n{}", text.trim_end());
        }
    }
    let cpu = Cpu::now();
    let out = cmd
        .output()
        .map_err(|e| format!("pgbench could not run: {e}"))?;
    let cpu = cpu.since();
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
            .map(str::trim)
            .unwrap_or("?")
    };
    println!(
        "pgbench -M prepared -c {clients} -j 2 -T {MIX_SECS}: transactions {}, failed {}, \
         latency average {}, tps {}; CPU: this run {}, other processes {}",
        field("number of transactions actually processed:"),
        field("number of failed transactions:"),
        field("latency average ="),
        field("tps ="),
        share(cpu.0),
        share(cpu.1)
    );
    let tps = field("tps =")
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench output: {stdout}"))?;
    Ok((tps, cpu))
}

fn pgbench_path() -> PathBuf {
    find_bindir()
        .map(|d| d.join("pgbench"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/pgbench"))
}

// ---------------------------------------------------------------------------------------------
// Load generation.

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    /// Microseconds, successful (2xx) requests only, sorted after the run.
    lat: Vec<u32>,
    elapsed: Duration,
    first_error: Option<String>,
    /// CPU shares over the run: (this run's processes, other processes).
    cpu: (f64, f64),
}

impl Tally {
    fn rate(&self, status: u16) -> f64 {
        *self.statuses.get(&status).unwrap_or(&0) as f64 / self.elapsed.as_secs_f64()
    }

    fn rate_2xx(&self) -> f64 {
        self.statuses.range(200..300).map(|(_, n)| n).sum::<u64>() as f64
            / self.elapsed.as_secs_f64()
    }

    fn other_rate(&self, except: &[u16]) -> f64 {
        let n: u64 = self
            .statuses
            .iter()
            .filter(|(s, _)| !except.contains(s))
            .map(|(_, n)| n)
            .sum();
        (n + self.errors) as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, q: f64) -> f64 {
        pct(&self.lat, q)
    }

    fn report(&self, what: &str) {
        let total: u64 = self.statuses.values().sum();
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        println!(
            "{what}: {total} answers in {:.2} s = {:.0}/s [{}], {} I/O errors; 2xx latency p50 {} p99 {}; \
             CPU: this run {}, other processes {}{}",
            self.elapsed.as_secs_f64(),
            total as f64 / self.elapsed.as_secs_f64(),
            statuses.join(", "),
            self.errors,
            ms(self.pct(0.5)),
            ms(self.pct(0.99)),
            share(self.cpu.0),
            share(self.cpu.1),
            self.first_error.as_ref().map(|e| format!(" (first error: {e})")).unwrap_or_default()
        );
    }
}

/// `conns` threads, one keep-alive connection each, sending `request(conn, i)` back to back for
/// `time`. Connections are opened before the clock starts.
fn load<F>(addr: SocketAddr, conns: usize, time: Duration, request: F) -> Res<Tally>
where
    F: Fn(usize, u64) -> Vec<u8> + Sync,
{
    let barrier = Barrier::new(conns + 1);
    let start = Mutex::new(Instant::now());
    let mut cpu = Cpu::now();
    let results: Vec<Res<(Tally, Instant)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|c| {
                let (barrier, start, request) = (&barrier, &start, &request);
                s.spawn(move || {
                    let mut http = Http::new(addr);
                    let connected = http.connect();
                    barrier.wait();
                    connected.map_err(|e| format!("connect: {e}"))?;
                    let begun = *start.lock().unwrap_or_else(PoisonError::into_inner);
                    let deadline = begun + time;
                    let mut tally = Tally::default();
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        let bytes = request(c, i);
                        i += 1;
                        let sent = Instant::now();
                        match http.send(&bytes) {
                            Ok(reply) => {
                                *tally.statuses.entry(reply.status).or_default() += 1;
                                if (200..300).contains(&reply.status) {
                                    tally.lat.push(micros(sent.elapsed()));
                                }
                            }
                            Err(e) => {
                                tally.errors += 1;
                                tally.first_error.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                    Ok((tally, Instant::now()))
                })
            })
            .collect();
        cpu = Cpu::now();
        *start.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        barrier.wait();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into()))
            })
            .collect()
    });
    let begun = *start.lock().unwrap_or_else(PoisonError::into_inner);
    let mut total = Tally {
        cpu: cpu.since(),
        ..Tally::default()
    };
    let mut end = begun;
    for r in results {
        let (t, finished) = r?;
        end = end.max(finished);
        for (s, n) in t.statuses {
            *total.statuses.entry(s).or_default() += n;
        }
        total.errors += t.errors;
        total.lat.extend(t.lat);
        if total.first_error.is_none() {
            total.first_error = t.first_error;
        }
    }
    total.lat.sort_unstable();
    total.elapsed = end - begun;
    Ok(total)
}

fn median(durations: &mut [Duration]) -> Duration {
    durations.sort_unstable();
    durations
        .get(durations.len() / 2)
        .copied()
        .unwrap_or_default()
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Nearest-rank percentile of sorted microseconds, in seconds.
fn pct(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client: responses framed by Content-Length.

struct Http {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        Http {
            addr,
            stream: None,
            buf: Vec::with_capacity(8192),
        }
    }

    fn connect(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.stream = Some(stream);
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends one request and reads its response; reconnects first if the last one closed.
    fn send(&mut self, request: &[u8]) -> io::Result<Reply> {
        let result = self.exchange(request);
        match &result {
            Ok((_, false)) => {}
            _ => self.stream = None,
        }
        result.map(|(reply, _)| reply)
    }

    fn exchange(&mut self, request: &[u8]) -> io::Result<(Reply, bool)> {
        self.connect()?;
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::from(ErrorKind::NotConnected))?;
        stream.write_all(request)?;
        let buf = &mut self.buf;
        let mut scanned = 0;
        let head_end = loop {
            if let Some(pos) = find_blank_line(&buf[scanned..]) {
                break scanned + pos + 4;
            }
            scanned = buf.len().saturating_sub(3);
            fill(stream, buf)?;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(ErrorKind::InvalidData, "bad status line"))?;
        let mut length = 0usize;
        let mut close = false;
        for line in head.split("\r\n").skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(|_| {
                        io::Error::new(ErrorKind::InvalidData, "bad Content-Length")
                    })?;
                } else if name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close")
                {
                    close = true;
                }
            }
        }
        let total = head_end + length;
        buf.reserve(total.saturating_sub(buf.len()));
        while buf.len() < total {
            fill(stream, buf)?;
        }
        let body = buf[head_end..total].to_vec();
        buf.drain(..total);
        Ok((Reply { status, head, body }, close))
    }
}

fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

fn get(path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

fn post(method: &str, path: &str, token: Option<&str>, body: &str) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let kind = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{kind}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn json_body(value: &serde_json::Value) -> String {
    value.to_string()
}

/// The token and user id of a sign-in or sign-up answer.
fn signed_in(body: &[u8]) -> Res<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("sign-in answer: {e}"))?;
    let token = v["access_token"]
        .as_str()
        .ok_or("no access_token in the sign-in answer")?;
    let id = v["user"]["id"]
        .as_str()
        .ok_or("no user.id in the sign-in answer")?;
    Ok((token.to_string(), id.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Child processes: the server and the baseline responder.

struct Proc {
    child: Child,
    addr: SocketAddr,
    spawned: Instant,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /health` until it answers 200: the time from spawn, the process, and the body.
    fn finish_start(mut self) -> Res<(Proc, Duration, String)> {
        let request = get("/health", None);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let tail = self
                    .stderr
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .join("\n");
                return Err(format!("the child exited at start-up ({status}):\n{tail}"));
            }
            let mut http = Http::new(self.addr);
            if let Ok(reply) = http.send(&request) {
                if reply.status == 200 {
                    let took = self.spawned.elapsed();
                    let body = String::from_utf8_lossy(&reply.body).into_owned();
                    return Ok((self, took, body));
                }
            }
            if self.spawned.elapsed() > Duration::from_secs(60) {
                return Err("the child did not answer 200 on /health within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGTERM (graceful), then SIGKILL after 10 s.
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago. The server logs its address only at `info`, and the bench
/// runs it at `warn`, so it gets a fixed port instead of PORT=0.
fn free_port() -> Res<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn spawn(mut cmd: Command, port: u16) -> Res<Proc> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe. If the bench dies first, the child is killed at once
    // (its throwaway PostgreSQL goes down with the bench too).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = child.stderr.take() {
        let lines = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
                if lines.len() >= 50 {
                    lines.remove(0);
                }
                lines.push(line);
            }
        });
    }
    Ok(Proc {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        spawned,
        stderr,
    })
}

fn spawn_server(bin: &Path, env: &[(String, String)], work: &Path) -> Res<Proc> {
    let port = free_port()?;
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PORT", port.to_string())
        .current_dir(work);
    spawn(cmd, port)
}

/// The baseline: this executable in responder mode, a thread per connection answering every
/// request head with fixed bytes. Returns its spawn-to-first-200 time and the process.
fn start_responder(exe: &Path, response: &str, work: &Path) -> Res<(Duration, Proc)> {
    let port = free_port()?;
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("BENCH_RESPONSE", response)
        .arg("__responder")
        .arg(port.to_string())
        .current_dir(work);
    let (proc, took, _) = spawn(cmd, port)?.finish_start()?;
    Ok((took, proc))
}

/// Until the real response is known (start-up timing), a /health-sized stand-in.
fn health_response_template() -> String {
    let body = r#"{"status":"ok","message":"Todo API is running","database":"ok"}"#;
    format!(
        "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n{body}",
        body.len()
    )
}

fn responder(port: &str) -> ExitCode {
    let response: Arc<[u8]> = std::env::var("BENCH_RESPONSE")
        .unwrap_or_default()
        .into_bytes()
        .into();
    let listener = match port
        .parse::<u16>()
        .map(|p| TcpListener::bind(("127.0.0.1", p)))
    {
        Ok(Ok(l)) => l,
        _ => {
            eprintln!("responder: cannot listen on port {port}");
            return ExitCode::FAILURE;
        }
    };
    for stream in listener.incoming().map_while(Result::ok) {
        let response = Arc::clone(&response);
        std::thread::spawn(move || answer_fixed(stream, &response));
    }
    ExitCode::SUCCESS
}

fn answer_fixed(mut stream: TcpStream, response: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(pos) = find_blank_line(&buf) {
            buf.drain(..pos + 4);
            if stream.write_all(response).is_err() {
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// CPU time of the whole machine and of this run's process tree (the bench, the server, the
/// responder, PostgreSQL and its backends, pgbench), in clock ticks.
#[derive(Clone, Copy)]
struct Cpu {
    total: u64,
    busy: u64,
    ours: u64,
}

impl Cpu {
    fn now() -> Cpu {
        let (total, busy) = machine_ticks();
        Cpu {
            total,
            busy,
            ours: tree_ticks(),
        }
    }

    /// Shares of all cores' capacity since `self`: (this run, other processes).
    fn since(self) -> (f64, f64) {
        let now = Cpu::now();
        let total = now.total.saturating_sub(self.total).max(1) as f64;
        let busy = now.busy.saturating_sub(self.busy) as f64;
        let ours = (now.ours.saturating_sub(self.ours) as f64).min(busy);
        (ours / total, (busy - ours) / total)
    }
}

/// Other processes' CPU share while todo-api was measured, and while its baseline was.
fn others(api: (f64, f64), baseline: Option<(f64, f64)>) -> String {
    match baseline {
        Some(b) => format!("{} / {}", share(api.1), share(b.1)),
        None => share(api.1),
    }
}

fn share(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// All ticks and busy ticks from the first line of /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    let total: u64 = (0..8).map(get).sum();
    (total, total - get(3) - get(4))
}

/// utime + stime (+ reaped children's) of this process and all its descendants.
fn tree_ticks() -> u64 {
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which may itself contain spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        procs.push((pid, num(1) as u32, num(11) + num(12) + num(13) + num(14)));
    }
    let mut ours = vec![std::process::id()];
    let mut i = 0;
    while i < ours.len() {
        let parent = ours[i];
        ours.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    procs
        .iter()
        .filter(|p| ours.contains(&p.0))
        .map(|p| p.2)
        .sum()
}

fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Both ends need a descriptor per idle connection; the hard limit is usually far above the soft one.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn ms(seconds: f64) -> String {
    if seconds.is_nan() {
        return "n/a".into();
    }
    let millis = seconds * 1e3;
    if millis >= 100.0 {
        format!("{millis:.0} ms")
    } else if millis >= 10.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.2} ms")
    }
}

fn kib(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}
