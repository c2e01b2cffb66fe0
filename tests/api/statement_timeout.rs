//! Every statement of a request runs under STATEMENT_TIMEOUT_MS: past it PostgreSQL cancels it and
//! the request is a 503 with Retry-After, so no request can hold the database for long.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn a_statement_past_the_time_limit_is_cancelled_and_answered_503_with_retry_after() {
    if through_pgbouncer() {
        // PgBouncer refuses start-up options: there its own statement_timeout is the limit.
        return;
    }
    let app = TestApp::with(|c| c.statement_timeout = Duration::from_millis(200));
    let user = app.user();
    let task = id_of(&app.task(&user, "Held"));
    // A transaction elsewhere holds the list's change counter, which every task write takes.
    let mut sql = app.sql();
    let mut held = sql.transaction().unwrap();
    held.execute(
        "SELECT 1 FROM lists WHERE id = $1::text::uuid FOR UPDATE",
        &[&inbox_id(&app, &user)],
    )
    .unwrap();
    let started = Instant::now();
    let resp = app.send(
        "PATCH",
        &format!("{}/complete", task_path(&user, task)),
        Some(&user.token),
        None,
    );
    let waited = started.elapsed();
    assert_error(&resp, 503, "The request took too long; try again later");
    assert!(resp.header("retry-after").is_some(), "no Retry-After");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    held.rollback().unwrap();
    // Nothing changed, and the same request goes through once the database is free.
    let now = app.get(&task_path(&user, task), Some(&user.token)).json();
    assert_eq!(now["completed"], false);
    let resp = app.send(
        "PATCH",
        &format!("{}/complete", task_path(&user, task)),
        Some(&user.token),
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["completed"], json!(true));
}
