//! The real server in-process on port 0 over its own database, and a client for it.

use super::{
    connect, fresh_database, read_all, through_pgbouncer, unique, via_pgbouncer, PASSWORD, SECRET,
};
use serde_json::{json, Value};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use todo_api::config::{Config, DbStatements, HashPriority, LogLevel};
use todo_api::Server;

/// With `TEST_PGBOUNCER=1`, the server reaches the test cluster through PgBouncer.
pub fn test_config(database_url: String) -> Config {
    let pooled = through_pgbouncer()
        .then(|| via_pgbouncer(&database_url))
        .flatten();
    // LISTEN cannot go through transaction pooling: live events listen on the database directly.
    let (listen_database_url, database_url, db_statements) = match pooled {
        Some(url) => (Some(database_url.into()), url, DbStatements::Unnamed),
        None => (None, database_url, DbStatements::Prepared),
    };
    Config {
        database_url: Some(database_url.into()),
        listen_database_url,
        db_statements,
        jwt_secret: Some(SECRET.into()),
        port: 0,
        workers: 4,
        db_pool_size: 4,
        bcrypt_cost: 4,
        hash_concurrency: 4,
        // Tests hold behaviour, not CPU shares: at SCHED_IDLE a busy test machine could starve the
        // hashes of the cost-10 tests for minutes (the bench measures the default).
        hash_priority: HashPriority::Normal,
        log_level: LogLevel::Off,
        shutdown_timeout: Duration::from_secs(5),
        // Every test signs up and in from 127.0.0.1; the throttling tests set their own limits.
        signin_limit_per_email: 1_000_000,
        signin_limit_per_address: 1_000_000,
        signup_limit_per_address: 1_000_000,
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
#[derive(Clone)]
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
        TestApp::on(fresh_database(), adjust)
    }

    /// A second server on this one's database: another instance behind the same load balancer.
    pub fn beside(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::on(self.db_url.clone(), adjust)
    }

    /// A server on the database `db_url` names (direct; `adjust` may point the server elsewhere).
    pub fn on(db_url: String, adjust: impl FnOnce(&mut Config)) -> TestApp {
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
        let n = unique();
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

    /// What SIGTERM does first when `DRAIN_MS` is set: `/health/ready` turns 503.
    pub fn drain(&self) {
        if let Some(server) = &self.server {
            server.drain();
        }
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
