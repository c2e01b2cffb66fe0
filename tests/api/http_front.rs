//! The HTTP front: framing, limits, timeouts, keep-alive, load shedding, panics.

use crate::support::*;
use serde_json::json;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use todo_api::http::{HttpServer, Limits, Request, Response, Service};

const SECOND: Duration = Duration::from_secs(1);

fn task_count(app: &TestApp) -> i64 {
    app.sql()
        .query_one("SELECT count(*) FROM tasks", &[])
        .unwrap()
        .get(0)
}

#[test]
fn a_huge_declared_content_length_is_413_and_the_server_keeps_serving() {
    let app = TestApp::spawn();
    let raw = app.raw(
        b"POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\nabc",
        5 * SECOND,
    );
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("Connection: close"), "{raw}");
    assert_eq!(app.get("/health", None).status, 200);
}

#[test]
fn a_body_over_max_body_bytes_is_413() {
    let app = TestApp::with(|c| c.max_body_bytes = 1024);
    let big = json!({ "name": "x".repeat(2000), "email": "a@b.co", "password": PASSWORD });
    let resp = app.send("POST", "/api/auth/signup", None, Some(big));
    assert_eq!(resp.status, 413);
    assert_eq!(resp.detail(), "Request body too large");
    assert_eq!(app.get("/health", None).status, 200);
}

#[test]
fn stalled_clients_do_not_delay_others_and_are_closed_after_the_timeout() {
    let app = TestApp::with(|c| {
        c.workers = 2;
        c.db_pool_size = 2;
        c.header_timeout = SECOND;
        c.body_timeout = SECOND;
    });
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut raw = Raw::connect(app.addr);
        raw.send(b"POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{\"na");
        stalled.push(raw);
    }
    for _ in 0..4 {
        let mut raw = Raw::connect(app.addr);
        raw.send(b"GET /hea");
        stalled.push(raw);
    }
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(app.get("/health", None).status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "health took {:?}",
            started.elapsed()
        );
    }
    for raw in &mut stalled {
        assert!(
            raw.closed_within(3 * SECOND),
            "a stalled connection stayed open"
        );
    }
}

#[test]
fn ambiguous_framing_is_400_and_closes_the_connection() {
    let app = TestApp::spawn();
    for head in [
        "POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  folded\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: chunked\r\n\r\n",
    ] {
        let mut raw = Raw::connect(app.addr);
        raw.send(head.as_bytes());
        let resp = raw.response().unwrap_or_else(|| panic!("no response to {head:?}"));
        assert_eq!(resp.status, 400, "{head:?}: {}", resp.body);
        assert!(raw.closed_within(2 * SECOND), "{head:?} left the connection open");
    }
}

#[test]
fn a_head_with_a_bare_lf_is_400_and_closes_the_connection_at_once() {
    let app = TestApp::with(|c| c.header_timeout = 10 * SECOND);
    for head in [
        "GET /health HTTP/1.1\nHost: x\n\n",
        "GET /health HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\n\n",
        // Never ends: refused when the bare LF arrives, not when the header timeout runs out.
        "GET /health HTTP/1.1\r\nHost: x\nX-A: 1",
    ] {
        let started = Instant::now();
        let mut raw = Raw::connect(app.addr);
        raw.send(head.as_bytes());
        let resp = raw
            .response()
            .unwrap_or_else(|| panic!("no response to {head:?}"));
        assert_eq!(resp.status, 400, "{head:?}: {}", resp.body);
        assert!(
            raw.closed_within(2 * SECOND),
            "{head:?} left the connection open"
        );
        assert!(
            started.elapsed() < 2 * SECOND,
            "{head:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn pipelined_crlf_requests_are_served_even_when_a_body_holds_a_bare_lf() {
    let app = TestApp::spawn();
    let body = "{\"email\": \"nobody@example.com\",\n\"password\": \"Wrong-1\"}";
    let mut raw = Raw::connect(app.addr);
    raw.send(
        format!(
            "POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(raw.response().expect("first response").status, 401);
    assert_eq!(raw.response().expect("second response").status, 200);
}

#[test]
fn a_request_smuggled_after_the_body_is_never_executed() {
    let app = TestApp::spawn();
    let user = app.user();
    let inner = format!(
        "POST /api/{}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{{\"title\":\"smuggled\"}}",
        user.id, user.token
    );
    let attacks = [
        // Two lengths: a front that believes the first would see the second request.
        format!("POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{inner}", inner.len()),
        // Chunked framing next to a length.
        format!("POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{inner}"),
        // A chunked body alone is refused, not read as an empty body followed by a request.
        format!("POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{inner}"),
        // An invalid length.
        format!("POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n{inner}"),
    ];
    for attack in &attacks {
        let raw = app.raw(attack.as_bytes(), 2 * SECOND);
        let codes = statuses(&raw);
        assert_eq!(codes.len(), 1, "exactly one response expected: {raw}");
        assert!(codes[0] == 400 || codes[0] == 411, "{raw}");
    }
    assert_eq!(task_count(&app), 0, "a smuggled request was executed");
    // The same inner request on its own does create a task, so the check above means something.
    let raw = app.raw(inner.as_bytes(), 2 * SECOND);
    assert!(raw.starts_with("HTTP/1.1 201"), "{raw}");
    assert_eq!(task_count(&app), 1);
}

#[test]
fn an_oversized_head_or_too_many_headers_is_431() {
    let app = TestApp::spawn();
    let long = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let raw = app.raw(long.as_bytes(), 5 * SECOND);
    assert!(
        raw.starts_with("HTTP/1.1 431"),
        "{}",
        &raw[..raw.len().min(200)]
    );
    let mut many = String::from("GET /health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..1000 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let raw = app.raw(many.as_bytes(), 5 * SECOND);
    assert!(raw.starts_with("HTTP/1.1 431"), "{raw}");
    assert_eq!(app.get("/health", None).status, 200);
}

#[test]
fn http_2_request_lines_are_505() {
    let app = TestApp::spawn();
    let raw = app.raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 5 * SECOND);
    assert!(raw.starts_with("HTTP/1.1 505"), "{raw}");
}

#[test]
fn one_connection_serves_a_hundred_requests() {
    let app = TestApp::spawn();
    let mut raw = Raw::connect(app.addr);
    for _ in 0..100 {
        raw.send(&get_request("/health"));
        let resp = raw.response().expect("a response on the same connection");
        assert_eq!(resp.status, 200);
        assert!(resp.body.contains("\"database\":\"ok\""));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let app = TestApp::spawn();
    let mut raw = Raw::connect(app.addr);
    let mut batch = get_request("/health");
    batch.extend(get_request("/missing"));
    batch.extend(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    raw.send(&batch);
    let codes: Vec<u16> = (0..3)
        .map(|_| raw.response().expect("response").status)
        .collect();
    assert_eq!(codes, [200, 404, 405]);
}

#[test]
fn connection_close_is_honoured_and_http_1_0_closes_unless_asked_to_keep_alive() {
    let app = TestApp::spawn();
    let mut raw = Raw::connect(app.addr);
    raw.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let resp = raw.response().expect("response");
    assert!(resp.head.contains("Connection: close"));
    assert!(raw.closed_within(2 * SECOND));

    let mut raw = Raw::connect(app.addr);
    raw.send(b"GET /health HTTP/1.0\r\n\r\n");
    assert_eq!(raw.response().expect("response").status, 200);
    assert!(raw.closed_within(2 * SECOND));

    let mut raw = Raw::connect(app.addr);
    raw.send(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let resp = raw.response().expect("response");
    assert!(
        resp.head.contains("Connection: keep-alive"),
        "{}",
        resp.head
    );
    raw.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(raw.response().expect("second response").status, 200);
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let app = TestApp::spawn();
    let body =
        json!({ "name": "Cont Inue", "email": "continue@example.com", "password": PASSWORD })
            .to_string();
    let mut raw = Raw::connect(app.addr);
    raw.send(
        format!(
            "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(raw.response().expect("interim response").status, 100);
    raw.send(body.as_bytes());
    assert_eq!(raw.response().expect("final response").status, 201);
}

#[test]
fn connections_over_the_limit_get_503_and_the_server_keeps_serving() {
    let app = TestApp::with(|c| c.max_connections = 3);
    let held: Vec<Raw> = (0..3).map(|_| Raw::connect(app.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let raw = app.raw(&get_request("/health"), 3 * SECOND);
    assert!(raw.starts_with("HTTP/1.1 503"), "{raw}");
    assert!(raw.contains("Retry-After: 1"), "{raw}");
    drop(held);
    let started = Instant::now();
    loop {
        let raw = app.raw(&get_request("/health"), 3 * SECOND);
        if raw.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < 5 * SECOND, "never recovered: {raw}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn requests_waiting_too_long_for_a_worker_are_answered_503_with_retry_after() {
    let app = TestApp::with(|c| {
        c.workers = 1;
        c.db_pool_size = 1;
        c.queue_wait = Duration::from_millis(100);
        c.bcrypt_cost = 12;
    });
    // Each sign-up holds the only worker for a bcrypt at cost 12 (hundreds of milliseconds).
    let addr = app.addr;
    let handles: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let body = json!({ "name": "Queue Test", "email": format!("q{i}@example.com"), "password": PASSWORD }).to_string();
                let mut raw = Raw::connect(addr);
                raw.send(
                    format!(
                        "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
                raw.response().map(|r| (r.status, r.head, r.body))
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().expect("a response"))
        .collect();
    let shed: Vec<_> = results
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .collect();
    assert!(
        !shed.is_empty(),
        "nothing was shed: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (_, head, body) in shed {
        assert!(head.contains("Retry-After: 1"), "{head}");
        assert!(body.contains("busy"), "{body}");
    }
    assert!(results.iter().any(|(status, _, _)| *status == 201));
}

struct Panics;

fn small_limits(shutdown_timeout: Duration) -> Limits {
    Limits {
        max_head_bytes: 16 * 1024,
        max_body_bytes: 1024,
        max_connections: 10,
        queue_wait: SECOND,
        workers: 1,
        header_timeout: SECOND,
        body_timeout: SECOND,
        keep_alive_timeout: SECOND,
        write_timeout: SECOND,
        shutdown_timeout,
    }
}

impl Service for Panics {
    fn handle(&self, req: &Request) -> Response {
        if req.path == "/panic" {
            panic!("handler bug");
        }
        Response::json(200, &json!({ "ok": true }))
    }
}

#[test]
fn a_panic_in_a_handler_is_a_500_for_that_request_only() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let limits = small_limits(SECOND);
    let server = HttpServer::start(listener, limits, Arc::new(Panics)).unwrap();
    let mut raw = Raw::connect(server.local_addr());
    raw.send(&get_request("/panic"));
    let resp = raw.response().expect("response");
    assert_eq!(resp.status, 500);
    assert_eq!(resp.body, r#"{"detail":"Internal server error"}"#);
    // Same connection, same (only) worker: both still work.
    raw.send(&get_request("/fine"));
    assert_eq!(raw.response().expect("response").status, 200);
}

#[test]
fn request_bytes_are_never_copied_into_response_headers() {
    let app = TestApp::with(|c| c.cors_origins = vec!["http://localhost:3000".into()]);
    let raw = app.raw(
        b"OPTIONS /health HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-a\rSet-Cookie: evil=1\r\n\r\n",
        2 * SECOND,
    );
    assert!(!raw.to_ascii_lowercase().contains("set-cookie"), "{raw}");
    let raw = app.raw(
        b"OPTIONS /health HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-a<script>\r\n\r\n",
        2 * SECOND,
    );
    assert!(raw.starts_with("HTTP/1.1 204"), "{raw}");
    assert!(!raw.contains("<script>"), "{raw}");
}

struct Hangs;

impl Service for Hangs {
    fn handle(&self, _req: &Request) -> Response {
        std::thread::sleep(Duration::from_secs(60));
        Response::empty(204)
    }
}

#[test]
fn shutdown_gives_up_on_a_handler_stuck_past_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut server = HttpServer::start(
        listener,
        small_limits(Duration::from_millis(200)),
        Arc::new(Hangs),
    )
    .unwrap();
    let mut raw = Raw::connect(server.local_addr());
    raw.send(&get_request("/hang"));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < 3 * SECOND,
        "shutdown took {:?}",
        started.elapsed()
    );
}
