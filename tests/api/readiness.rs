//! `/health/ready` for load balancers: ready while PostgreSQL answers, 503 while draining for a
//! shutdown (everything else still served) or when PostgreSQL is out of reach.

use crate::support::*;
use std::time::{Duration, Instant};

fn database_name(app: &TestApp) -> String {
    app.db_url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("dbname="))
        .expect("a dbname in the test database's connection string")
        .to_string()
}

#[test]
fn a_serving_instance_is_ready() {
    let app = TestApp::spawn();
    let resp = app.get("/health/ready", None);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json(), serde_json::json!({ "status": "ready" }));
    assert_eq!(app.request("HEAD", "/health/ready", &[], None).status, 200);
}

#[test]
fn a_draining_instance_is_not_ready_yet_serves_and_accepts_as_before() {
    let app = TestApp::spawn();
    let neighbour = app.beside(|_| {});
    let user = app.user();
    app.drain();
    let resp = app.get("/health/ready", None);
    assert_eq!(resp.status, 503, "{}", resp.body);
    assert_eq!(resp.json(), serde_json::json!({ "status": "draining" }));
    assert_eq!(
        app.get("/health", None).status,
        200,
        "liveness is unchanged"
    );
    // New connections are accepted and requests served: only the load balancer's view changes.
    let raw = app.raw(
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert_eq!(statuses(&raw), [200]);
    let task = app.task(&user, "written while draining");
    let seen = neighbour.get(
        &format!("/api/{}/tasks/{}", user.id, task["id"]),
        Some(&user.token),
    );
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(neighbour.get("/health/ready", None).status, 200);
}

#[test]
fn an_instance_that_cannot_reach_postgresql_is_not_ready_until_it_can_again() {
    let app = TestApp::spawn();
    let name = database_name(&app);
    let mut admin = connect(&format!("{} dbname=postgres", base_conninfo()));
    // Two statements, so the first is committed before any connection is ended: no new one
    // can slip in between.
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .unwrap();
    let resp = app.get("/health/ready", None);
    assert_eq!(resp.status, 503, "{}", resp.body);
    assert_eq!(
        resp.json(),
        serde_json::json!({ "status": "database unavailable" })
    );
    let health = app.get("/health", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["database"], "unavailable");

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = app.get("/health/ready", None);
        if resp.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready again: {}",
            resp.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
