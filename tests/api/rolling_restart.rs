//! Three instances of the built binary behind haproxy (deploy/haproxy.cfg) on one PostgreSQL,
//! under steady load from 16 clients (writes and reads, each client its own user):
//! 1. each instance in turn gets SIGTERM (DRAIN_MS longer than haproxy's inter x fall) and is
//!    started again: not one request may fail, and every acknowledged write must be in the
//!    database at the end;
//! 2. one instance gets SIGKILL: only requests in flight on it may fail, and haproxy must take it
//!    out of rotation (read from its stats socket).
//!
//! Needs haproxy (`apt-get install haproxy`), so it is ignored by a plain `cargo test`; `.ci/run`
//! runs it with `cargo test --test api rolling_restart -- --ignored --nocapture`.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_todo-api");
const CLIENTS: usize = 16;
const DRAIN_MS: u64 = 4000;
/// haproxy checks every 500 ms and needs 2 failures: about a second, a quarter of `DRAIN_MS`.
const CHECK_DOWN_MS: u64 = 2 * 500;

struct Instance {
    name: String,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Instance {
    fn start(&mut self, db: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("instance log");
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db)
            .env("JWT_SECRET_KEY", SECRET)
            .env("HOST", "127.0.0.1")
            .env("PORT", self.port.to_string())
            .env("DRAIN_MS", DRAIN_MS.to_string())
            .env("WORKERS", "16")
            .env("QUEUE_WAIT_MS", "5000")
            .env("DB_TIMEOUT_MS", "5000")
            .env("BCRYPT_COST", "4")
            .env("LOG_LEVEL", "warn")
            .env("SIGNUP_LIMIT_PER_ADDRESS", "100000")
            // As deploy/run-local.sh: haproxy's X-Forwarded-For is believed.
            .env("TRUSTED_PROXIES", "127.0.0.1/32")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; the instance dies with the test.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("start an instance"));
    }

    fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Haproxy {
    child: Child,
    stats: PathBuf,
}

impl Haproxy {
    fn start(dir: &Path, bind: SocketAddr, ports: &[u16]) -> Haproxy {
        let binary = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("haproxy is not installed (apt-get install haproxy)");
        let template = include_str!("../../deploy/haproxy.cfg");
        let mut config: String = template
            .lines()
            .filter(|l| !l.trim_start().starts_with("server "))
            .map(|l| format!("{l}\n"))
            .collect();
        for (i, port) in ports.iter().enumerate() {
            config.push_str(&format!("    server app{} 127.0.0.1:{port}\n", i + 1));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let stats = dir.join("haproxy.sock");
        let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
        let mut cmd = Command::new(binary);
        cmd.args(["-db", "-f"])
            .arg(&path)
            .env("HAPROXY_BIND", bind.to_string())
            .env("HAPROXY_STATS", &stats)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start haproxy");
        Haproxy { child, stats }
    }

    /// `show stat` from the stats socket: each server's status (`UP`, `DOWN`, `UP 1/2`, ...).
    fn statuses(&self) -> HashMap<String, String> {
        let Ok(mut sock) = UnixStream::connect(&self.stats) else {
            return HashMap::new();
        };
        let _ = sock.write_all(b"show stat\n");
        let mut text = String::new();
        let _ = sock.read_to_string(&mut text);
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (Some(px), Some(sv), Some(st)) = (column("pxname"), column("svname"), column("status"))
        else {
            return HashMap::new();
        };
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > st && f[px] == "todo" && f[sv].starts_with("app"))
            .map(|f| (f[sv].to_string(), f[st].to_string()))
            .collect()
    }

    fn status(&self, server: &str) -> String {
        self.statuses().remove(server).unwrap_or_default()
    }

    /// Waits until `server`'s status is exactly `want`; returns how long that took.
    fn wait_for(&self, server: &str, want: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.status(server) == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "haproxy never saw {server} {want}: {:?}",
                self.statuses()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 client of just what this test needs; reconnects after any failure.
struct Client {
    addr: SocketAddr,
    stream: Option<TcpStream>,
}

impl Client {
    fn call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let result = self.try_call(method, path, token, body);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn try_call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).map_err(|e| format!("connect: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(30))).ok();
            s.set_nodelay(true).ok();
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().ok_or("no stream")?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: todo\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let (head_len, length) = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
            match stream.read(&mut chunk) {
                Ok(0) => return Err("closed before a response".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        };
        while buf.len() < head_len + length {
            match stream.read(&mut chunk) {
                Ok(0) => return Err("closed inside a response".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        let head = String::from_utf8_lossy(&buf[..head_len]).to_ascii_lowercase();
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("no status")?;
        if head.contains("connection: close") {
            self.stream = None;
        }
        let value =
            serde_json::from_slice(&buf[head_len..head_len + length]).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

/// What a client was told was stored; `None` fields are unknown (a write whose answer was lost).
#[derive(Clone)]
struct Acked {
    title: Option<String>,
    completed: Option<bool>,
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    writes: AtomicU64,
    failed: AtomicU64,
    failures: Mutex<Vec<String>>,
}

struct Load {
    stop: AtomicBool,
    phase: AtomicUsize,
    tallies: [Tally; 2],
    acked: Mutex<HashMap<i64, Acked>>,
}

impl Load {
    fn tally(&self) -> &Tally {
        &self.tallies[self.phase.load(Ordering::SeqCst)]
    }

    /// One request; `Some(body)` when it got the expected status, else counted as failed.
    fn expect(
        &self,
        client: &mut Client,
        (method, path, token): (&str, &str, &str),
        body: Option<&Value>,
        want: u16,
    ) -> Option<Value> {
        let tally = self.tally();
        tally.requests.fetch_add(1, Ordering::Relaxed);
        if method != "GET" {
            tally.writes.fetch_add(1, Ordering::Relaxed);
        }
        match client.call(method, path, token, body) {
            Ok((status, value)) if status == want => Some(value),
            other => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                let mut failures = tally.failures.lock().unwrap();
                if failures.len() < 10 {
                    failures.push(format!("{method} {path}: {other:?}"));
                }
                None
            }
        }
    }
}

fn run_client(load: &Load, addr: SocketAddr, n: usize, user_id: &str, token: &str) {
    let mut client = Client { addr, stream: None };
    let tasks = format!("/api/{user_id}/tasks");
    let mut i = 0u64;
    while !load.stop.load(Ordering::SeqCst) {
        i += 1;
        let title = format!("client {n} task {i}");
        let created = load.expect(
            &mut client,
            ("POST", &tasks, token),
            Some(&json!({ "title": title })),
            201,
        );
        if let Some(id) = created.and_then(|t| t["id"].as_i64()) {
            load.acked.lock().unwrap().insert(
                id,
                Acked {
                    title: Some(title),
                    completed: Some(false),
                },
            );
            let one = format!("{tasks}/{id}");
            load.expect(&mut client, ("GET", &one, token), None, 200);
            if i.is_multiple_of(3) {
                let title = format!("client {n} task {i} renamed");
                let put = load.expect(
                    &mut client,
                    ("PUT", &one, token),
                    Some(&json!({ "title": title })),
                    200,
                );
                if let Some(a) = load.acked.lock().unwrap().get_mut(&id) {
                    a.title = put.map(|_| title);
                }
            }
            if i.is_multiple_of(4) {
                let toggle = format!("{one}/complete");
                let done = load.expect(&mut client, ("PATCH", &toggle, token), None, 200);
                if let Some(a) = load.acked.lock().unwrap().get_mut(&id) {
                    a.completed = done.and_then(|t| t["completed"].as_bool());
                }
            }
        }
        if i.is_multiple_of(5) {
            load.expect(
                &mut client,
                ("GET", &format!("{tasks}?limit=10"), token),
                None,
                200,
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn summary(tally: &Tally) -> (u64, u64, u64) {
    (
        tally.requests.load(Ordering::SeqCst),
        tally.writes.load(Ordering::SeqCst),
        tally.failed.load(Ordering::SeqCst),
    )
}

#[test]
#[ignore = "needs haproxy: .ci/run runs it with --ignored"]
fn a_rolling_restart_behind_haproxy_fails_no_request_and_loses_no_acknowledged_write() {
    let dir = temp_dir("rolling");
    let db = fresh_database();
    let mut instances: Vec<Instance> = (1..=3)
        .map(|i| Instance {
            name: format!("app{i}"),
            port: free_port(),
            child: None,
            log: dir.join(format!("app{i}.log")),
        })
        .collect();
    for instance in &mut instances {
        instance.start(&db);
    }
    let bind: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();
    let haproxy = Haproxy::start(&dir, bind, &ports);
    for instance in &instances {
        haproxy.wait_for(&instance.name, "UP", Duration::from_secs(60));
    }

    let mut setup = Client {
        addr: bind,
        stream: None,
    };
    let users: Vec<(String, String)> = (0..CLIENTS)
        .map(|n| {
            let body = json!({ "name": "Load", "email": format!("load{n}@example.com"), "password": PASSWORD });
            let (status, user) = setup
                .call("POST", "/api/auth/signup", "", Some(&body))
                .expect("sign up through haproxy");
            assert_eq!(status, 201, "{user}");
            let id = user["user_id"].as_str().unwrap().to_string();
            (id, user["access_token"].as_str().unwrap().to_string())
        })
        .collect();

    let load = Arc::new(Load {
        stop: AtomicBool::new(false),
        phase: AtomicUsize::new(0),
        tallies: Default::default(),
        acked: Mutex::new(HashMap::new()),
    });
    let clients: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(n, (id, token))| {
            let load = Arc::clone(&load);
            std::thread::spawn(move || run_client(&load, bind, n, &id, &token))
        })
        .collect();

    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let mut taken_out = Vec::new();
    for instance in &mut instances {
        instance.signal(libc::SIGTERM);
        taken_out.push(haproxy.wait_for(&instance.name, "DOWN", Duration::from_millis(DRAIN_MS)));
        assert_eq!(instance.wait_exit(Duration::from_secs(30)), Some(0));
        instance.start(&db);
        haproxy.wait_for(&instance.name, "UP", Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1500));
    }
    std::thread::sleep(Duration::from_secs(2));
    let rolling_secs = started.elapsed().as_secs_f64();

    // Phase 2: SIGKILL, no drain: only what was in flight on it may fail.
    load.phase.store(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(1));
    let victim = &mut instances[1];
    victim.signal(libc::SIGKILL);
    let killed_at = Instant::now();
    let down_after = haproxy.wait_for(&victim.name, "DOWN", Duration::from_secs(10));
    victim.wait_exit(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    let after_kill = killed_at.elapsed();
    load.stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }

    let acked = load.acked.lock().unwrap().clone();
    let ids: Vec<i64> = acked.keys().copied().collect();
    let stored: HashMap<i64, (String, bool)> = connect(&db)
        .query(
            "SELECT id, title, completed FROM tasks WHERE id = ANY($1)",
            &[&ids],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let mut missing = 0;
    let mut wrong = 0;
    for (id, a) in &acked {
        match stored.get(id) {
            None => missing += 1,
            Some((title, completed)) => {
                if a.title.as_ref().is_some_and(|t| t != title)
                    || a.completed.is_some_and(|c| c != *completed)
                {
                    wrong += 1;
                }
            }
        }
    }

    let (requests, writes, failed) = summary(&load.tallies[0]);
    let (k_requests, _, k_failed) = summary(&load.tallies[1]);
    let taken_ms: Vec<u128> = taken_out.iter().map(|d| d.as_millis()).collect();
    println!(
        "rolling restart: {requests} requests ({writes} writes) from {CLIENTS} clients in {rolling_secs:.0} s, \
         failed requests: {failed}; haproxy took each draining instance out after {taken_ms:?} ms (DRAIN_MS {DRAIN_MS}, \
         checks {CHECK_DOWN_MS} ms); acknowledged tasks: {} checked, {missing} missing, {wrong} with a lost update",
        acked.len()
    );
    println!(
        "SIGKILL of app2: {k_requests} requests in {:.1} s around it, failed requests: {k_failed} (in flight on it); \
         haproxy marked it DOWN after {} ms: {:?}",
        after_kill.as_secs_f64(),
        down_after.as_millis(),
        haproxy.statuses()
    );
    for line in load.tallies[1].failures.lock().unwrap().iter() {
        println!("  failed while app2 was killed: {line}");
    }
    let failures = load.tallies[0].failures.lock().unwrap().clone();
    assert_eq!(
        failed, 0,
        "requests failed during the rolling restart: {failures:#?}"
    );
    assert!(
        requests > 1000,
        "too little load to mean anything: {requests}"
    );
    assert_eq!((missing, wrong), (0, 0), "acknowledged writes lost");
    assert!(
        k_failed <= CLIENTS as u64,
        "more failures than requests that can be in flight at once: {k_failed}"
    );
}
