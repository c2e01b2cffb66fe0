//! The test harness: a real PostgreSQL (`TEST_DATABASE_URL`, or a throwaway cluster started here),
//! one database per test cloned from a migrated template, and the real server in-process on port 0.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;
use todo_api::config::{Config, LogLevel};
use todo_api::db::embedded::Cluster;
use todo_api::Server;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "Passw0rd!";

struct Postgres {
    /// Connection string of the maintenance database, without a database name.
    base: String,
    template: String,
}

static POSTGRES: OnceLock<Postgres> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `host=... user=...` for the test cluster (key/value form; `dbname` appended by callers).
fn postgres() -> &'static Postgres {
    POSTGRES.get_or_init(|| {
        todo_api::log::init(todo_api::config::LogFormat::Text, LogLevel::Off);
        let base = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url_to_keyvalue(&url),
            _ => start_throwaway_cluster(),
        };
        let template = format!("todo_template_{}", std::process::id());
        let mut admin = connect(&format!("{base} dbname=postgres"));
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {template}"))
            .expect("drop an old template");
        admin
            .batch_execute(&format!("CREATE DATABASE {template}"))
            .expect("create the template database");
        let mut client = connect(&format!("{base} dbname={template}"));
        todo_api::db::migrate::run(&mut client).expect("migrate the template");
        Postgres { base, template }
    })
}

fn url_to_keyvalue(url: &str) -> String {
    let config: postgres::Config = url.parse().expect("TEST_DATABASE_URL is a valid URL");
    let mut out = String::new();
    for host in config.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => out.push_str(&format!("host={h} ")),
            postgres::config::Host::Unix(p) => out.push_str(&format!("host={} ", p.display())),
        }
    }
    if let Some(port) = config.get_ports().first() {
        out.push_str(&format!("port={port} "));
    }
    if let Some(user) = config.get_user() {
        out.push_str(&format!("user={user} "));
    }
    if let Some(pw) = config.get_password() {
        out.push_str(&format!("password={} ", String::from_utf8_lossy(pw)));
    }
    out.trim_end().to_string()
}

/// The cluster lives on a thread that never ends: PostgreSQL is told to quit when its starting
/// thread dies, so it goes with the test process and not with the first test.
fn start_throwaway_cluster() -> String {
    let dir = std::env::temp_dir().join(format!("todo-api-test-{}", std::process::id()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let started = Cluster::start(&dir, 5432, &fast_settings());
        let result = started
            .as_ref()
            .map(|c| c.pgdata.clone())
            .map_err(|e| e.to_string());
        tx.send(result).ok();
        let _keep = started;
        loop {
            std::thread::park();
        }
    });
    let pgdata = rx
        .recv()
        .expect("cluster thread")
        .expect("start a throwaway PostgreSQL cluster");
    format!("host={} port=5432 user=postgres", pgdata.display())
}

pub fn fast_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("max_connections", "400"),
        ("shared_buffers", "64MB"),
    ]
}

pub fn connect(conninfo: &str) -> postgres::Client {
    postgres::Client::connect(conninfo, postgres::NoTls).expect("connect to the test PostgreSQL")
}

/// A unique database name and a connection to the maintenance database that can create it.
fn new_database(prefix: &str) -> (String, postgres::Client) {
    let pg = postgres();
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    (name, connect(&format!("{} dbname=postgres", pg.base)))
}

/// A new database cloned from the migrated template; returns its connection string.
pub fn fresh_database() -> String {
    let pg = postgres();
    let (name, mut admin) = new_database("test");
    // CREATE DATABASE ... TEMPLATE fails if another session is copying the same template at once.
    for attempt in 0.. {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", pg.template)) {
            Ok(()) => break,
            Err(_) if attempt < 50 => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("create {name}: {e}"),
        }
    }
    format!("{} dbname={name}", pg.base)
}

pub fn test_config(database_url: String) -> Config {
    Config {
        database_url: Some(database_url.into()),
        jwt_secret: Some(SECRET.into()),
        port: 0,
        workers: 4,
        db_pool_size: 4,
        bcrypt_cost: 4,
        hash_concurrency: 4,
        log_level: LogLevel::Off,
        shutdown_timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

pub struct TestApp {
    server: Option<Server>,
    pub addr: SocketAddr,
    pub db_url: String,
    agent: ureq::Agent,
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A signed-up user.
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub fn spawn() -> TestApp {
        TestApp::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db_url = fresh_database();
        let mut config = test_config(db_url.clone());
        adjust(&mut config);
        let server = todo_api::start(config).expect("the server starts");
        let addr = server.local_addr();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        TestApp {
            server: Some(server),
            addr,
            db_url,
            agent,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Any request: method, path, headers, optional raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let result = match body {
            Some(bytes) => self
                .agent
                .run(builder.body(bytes.to_vec()).expect("request")),
            // A body-less POST/PUT/PATCH goes out with `Content-Length: 0`, as browsers send it
            // (ureq would otherwise choose chunked framing, which the server refuses).
            None if matches!(method, "POST" | "PUT" | "PATCH") => {
                self.agent.run(builder.body(Vec::new()).expect("request"))
            }
            None => self.agent.run(builder.body(()).expect("request")),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        Resp {
            status: resp.status().as_u16(),
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.request("GET", path, &headers, None)
    }

    /// A JSON body (or none), with the token when given.
    pub fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let bytes = body.map(|b| b.to_string().into_bytes());
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.request(method, path, &headers, bytes.as_deref())
    }

    pub fn signup(&self, name: &str, email: &str, password: &str) -> Resp {
        self.send(
            "POST",
            "/api/auth/signup",
            None,
            Some(json!({ "name": name, "email": email, "password": password })),
        )
    }

    pub fn signin(&self, email: &str, password: &str) -> Resp {
        self.send(
            "POST",
            "/api/auth/signin",
            None,
            Some(json!({ "email": email, "password": password })),
        )
    }

    /// A new user with a unique address and a valid token.
    pub fn user(&self) -> User {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let email = format!("user{n}@example.com");
        let resp = self.signup("Test User", &email, PASSWORD);
        assert_eq!(resp.status, 201, "{}", resp.body);
        let body = resp.json();
        User {
            id: body["user_id"].as_str().expect("user_id").to_string(),
            email,
            token: body["access_token"].as_str().expect("token").to_string(),
        }
    }

    /// Creates a task and returns its JSON.
    pub fn task(&self, user: &User, title: &str) -> Value {
        let resp = self.send(
            "POST",
            &format!("/api/{}/tasks", user.id),
            Some(&user.token),
            Some(json!({ "title": title })),
        );
        assert_eq!(resp.status, 201, "{}", resp.body);
        resp.json()
    }

    /// A direct connection to this test's database, for seeding and inspection.
    pub fn sql(&self) -> postgres::Client {
        connect(&self.db_url)
    }

    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }

    /// Raw bytes over a new connection; returns everything read until the server closes or
    /// `wait` passes.
    pub fn raw(&self, bytes: &[u8], wait: Duration) -> String {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.write_all(bytes).expect("write");
        read_all(&mut stream, wait)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn read_all(stream: &mut TcpStream, wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).ok();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Status codes of every response in a raw HTTP/1.1 byte stream, in order.
pub fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

/// A raw HTTP/1.1 connection that reads responses one at a time, framed by Content-Length.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next response, or `None` when the server closed the connection first.
    pub fn response(&mut self) -> Option<RawResponse> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let status = head.get(9..12)?.parse().ok()?;
                let no_body = status == 100 || head.starts_with("HTTP/1.1 100");
                let total = end + 4 + if no_body { 0 } else { length };
                if self.buf.len() >= total {
                    let body = String::from_utf8_lossy(&self.buf[end + 4..total]).into_owned();
                    self.buf.drain(..total);
                    return Some(RawResponse { status, head, body });
                }
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// True when the server has closed: a read returns end of file (or reset) within `wait`.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).ok();
        let mut chunk = [0u8; 4096];
        let started = std::time::Instant::now();
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return started.elapsed() <= wait,
            }
        }
    }
}

pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// A new empty database (no schema); returns its connection string.
pub fn empty_database() -> String {
    let (name, mut admin) = new_database("empty");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create an empty database");
    format!("{} dbname={name}", postgres().base)
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "todo-api-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
