//! `Idempotency-Key` on `POST /api/{user_id}/tasks`: a retry replays the first answer and creates
//! nothing, on any instance; another body is 422; a request still in flight is 409; bad keys 400.

use crate::support::*;
use serde_json::Value;

fn post(app: &TestApp, user: &User, key: &str, body: &str) -> Resp {
    let auth = format!("Bearer {}", user.token);
    app.request(
        "POST",
        &tasks_path(user),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", key),
        ],
        Some(body.as_bytes()),
    )
}

fn count(app: &TestApp, user: &User) -> usize {
    list(app, user, "").len()
}

#[test]
fn a_retry_with_the_same_key_and_body_replays_the_first_answer_and_creates_nothing() {
    let app = TestApp::spawn();
    let user = app.user();
    let first = post(
        &app,
        &user,
        "key-1",
        r#"{"title": "milk", "completed": false}"#,
    );
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    // The same JSON, spaced and ordered differently.
    let again = post(
        &app,
        &user,
        "key-1",
        r#"{"completed":false,"title":"milk"}"#,
    );
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(count(&app, &user), 1);
    let other_key = post(&app, &user, "key-2", r#"{"title": "milk"}"#);
    assert_eq!(other_key.status, 201);
    assert_eq!(count(&app, &user), 2);
}

#[test]
fn the_same_key_with_a_different_body_is_422() {
    let app = TestApp::spawn();
    let user = app.user();
    assert_eq!(post(&app, &user, "k", r#"{"title": "a"}"#).status, 201);
    let resp = post(&app, &user, "k", r#"{"title": "b"}"#);
    assert_error(
        &resp,
        422,
        "Idempotency-Key was used with a different request",
    );
    assert_eq!(count(&app, &user), 1);
}

#[test]
fn a_retry_that_lands_on_another_instance_is_recognised() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let first = post(&a, &user, "across", r#"{"title": "once"}"#);
    assert_eq!(first.status, 201);
    let retry = post(&b, &user, "across", r#"{"title": "once"}"#);
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json()["id"], first.json()["id"]);
    assert_eq!(count(&a, &user), 1);
}

#[test]
fn a_request_whose_key_is_still_being_processed_is_409() {
    let app = TestApp::spawn();
    let user = app.user();
    // What an instance holds while it processes the first request with this key.
    let mut sql = app.sql();
    let mut tx = sql.transaction().unwrap();
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text || ' ' || $2, 7))",
        &[&uuid(&user), &"busy"],
    )
    .unwrap();
    let resp = post(&app, &user, "busy", r#"{"title": "x"}"#);
    assert_eq!(resp.status, 409, "{}", resp.body);
    assert_eq!(resp.header("retry-after"), Some("1"));
    tx.rollback().unwrap();
    assert_eq!(post(&app, &user, "busy", r#"{"title": "x"}"#).status, 201);
}

#[test]
fn concurrent_retries_create_one_task_and_each_answer_is_the_task_or_409() {
    let app = TestApp::spawn();
    let user = app.user();
    let barrier = std::sync::Barrier::new(8);
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (app, user, barrier) = (&app, &user, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    post(app, user, "race", r#"{"title": "once"}"#)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: Vec<Value> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(Resp::json)
        .collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|t| t["id"] == created[0]["id"]));
    assert!(answers.iter().all(|r| r.status == 201 || r.status == 409));
    assert_eq!(count(&app, &user), 1);
}

#[test]
fn keys_are_per_user() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    assert_eq!(post(&app, &a, "shared", r#"{"title": "a"}"#).status, 201);
    let resp = post(&app, &b, "shared", r#"{"title": "b"}"#);
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("idempotent-replayed"), None);
}

#[test]
fn a_key_that_is_empty_too_long_or_not_visible_ascii_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "two words", "tab\there"] {
        let resp = post(&app, &user, key, r#"{"title": "a"}"#);
        assert_error(
            &resp,
            400,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        );
    }
    assert_eq!(
        post(&app, &user, &"k".repeat(255), r#"{"title": "a"}"#).status,
        201
    );
    assert_eq!(count(&app, &user), 1);
}

#[test]
fn a_kept_answer_is_forgotten_after_24_hours() {
    let app = TestApp::spawn();
    let user = app.user();
    assert_eq!(post(&app, &user, "old", r#"{"title": "a"}"#).status, 201);
    app.sql()
        .execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'",
            &[],
        )
        .unwrap();
    let resp = post(&app, &user, "old", r#"{"title": "b"}"#);
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(count(&app, &user), 2);
    app.sql()
        .execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'",
            &[],
        )
        .unwrap();
    app.beside(|_| {}).user();
    let left: i64 = app
        .sql()
        .query_one("SELECT count(*) FROM idempotency_keys", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "purged by the next instance's housekeeping");
}
