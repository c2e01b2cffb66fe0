//! Organising tasks, the task itself: priority, due date, tags and completion time.

use crate::support::*;
use serde_json::{json, Value};

fn create(app: &TestApp, user: &User, body: Value) -> Resp {
    app.send(
        "POST",
        &format!("/api/{}/tasks", user.id),
        Some(&user.token),
        Some(body),
    )
}

fn put(app: &TestApp, user: &User, id: &Value, body: Value) -> Resp {
    app.send(
        "PUT",
        &format!("/api/{}/tasks/{id}", user.id),
        Some(&user.token),
        Some(body),
    )
}

fn fields(resp: &Resp) -> Vec<String> {
    resp.json()["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_new_task_has_no_priority_no_due_date_no_tags_and_no_completion_time() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "Plain");
    assert_eq!(task["priority"], "none");
    assert_eq!(task["due_at"], Value::Null);
    assert_eq!(task["tags"], json!([]));
    assert_eq!(task["completed_at"], Value::Null);
}

#[test]
fn priority_due_date_and_tags_are_stored_and_a_due_date_with_an_offset_comes_back_in_utc() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = create(
        &app,
        &user,
        json!({ "title": "Taxes", "priority": "high", "due_at": "2026-04-15T23:59:00+02:00",
                "tags": ["Home", "money"] }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_at"], "2026-04-15T21:59:00.000000Z");
    assert_eq!(task["tags"], json!(["Home", "money"]));
    let again = app.get(
        &format!("/api/{}/tasks/{}", user.id, task["id"]),
        Some(&user.token),
    );
    assert_eq!(again.json(), task);
}

#[test]
fn tags_are_trimmed_and_collapsed_by_letter_case_keeping_the_first_spelling_and_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = create(
        &app,
        &user,
        json!({ "title": "t", "tags": [" Work ", "home", "WORK", "Home", "Ärger", "ärger", "x"] }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(resp.json()["tags"], json!(["Work", "home", "Ärger", "x"]));
}

#[test]
fn put_replaces_the_tags_and_a_null_due_date_clears_it() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(
        &app,
        &user,
        json!({ "title": "t", "tags": ["a", "b"], "due_at": "2026-01-01T00:00:00Z", "priority": "low" }),
    )
    .json();
    let resp = put(&app, &user, &task["id"], json!({ "tags": ["c"] }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let updated = resp.json();
    assert_eq!(updated["tags"], json!(["c"]));
    assert_eq!(updated["due_at"], "2026-01-01T00:00:00.000000Z");
    assert_eq!(updated["priority"], "low");
    let cleared = put(
        &app,
        &user,
        &task["id"],
        json!({ "due_at": null, "priority": "medium" }),
    )
    .json();
    assert_eq!(cleared["due_at"], Value::Null);
    assert_eq!(cleared["priority"], "medium");
    assert_eq!(cleared["tags"], json!(["c"]));
}

#[test]
fn bad_priority_due_date_and_tags_are_a_400_naming_each_field() {
    let app = TestApp::spawn();
    let user = app.user();
    let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let cases = [
        (
            json!({ "title": "t", "priority": "urgent" }),
            vec!["priority"],
        ),
        (json!({ "title": "t", "priority": 3 }), vec!["priority"]),
        (
            json!({ "title": "t", "due_at": "tomorrow" }),
            vec!["due_at"],
        ),
        (
            json!({ "title": "t", "due_at": "2026-01-08" }),
            vec!["due_at"],
        ),
        (json!({ "title": "t", "tags": "work" }), vec!["tags"]),
        (json!({ "title": "t", "tags": ["ok", 5] }), vec!["tags"]),
        (json!({ "title": "t", "tags": [" "] }), vec!["tags"]),
        (json!({ "title": "t", "tags": ["a\u{7}b"] }), vec!["tags"]),
        (
            json!({ "title": "t", "tags": ["x".repeat(51)] }),
            vec!["tags"],
        ),
        (json!({ "title": "t", "tags": too_many }), vec!["tags"]),
        (
            json!({ "title": "", "priority": "x", "due_at": 1, "tags": null }),
            vec!["title", "priority", "due_at", "tags"],
        ),
    ];
    for (body, expected) in cases {
        let resp = create(&app, &user, body.clone());
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(fields(&resp), expected, "{body}");
        assert!(!resp.detail().is_empty());
    }
    let task = app.task(&user, "t");
    let resp = put(&app, &user, &task["id"], json!({ "priority": "HIGH" }));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.detail(),
        "Priority must be one of: none, low, medium, high"
    );
    let resp = put(&app, &user, &task["id"], json!({ "tags": ["a", "\n"] }));
    assert_eq!(resp.detail(), "Tag must not be empty (tag 2)");
    // Twenty distinct tags once letter case is ignored are fine.
    let dupes: Vec<String> = (0..40).map(|i| format!("T{}", i % 20)).collect();
    assert_eq!(
        put(&app, &user, &task["id"], json!({ "tags": dupes })).status,
        200
    );
}

#[test]
fn completed_at_follows_completed_through_create_put_and_the_toggle() {
    let app = TestApp::spawn();
    let user = app.user();
    let done = create(&app, &user, json!({ "title": "done", "completed": true })).json();
    assert_eq!(done["completed_at"], done["created_at"]);
    let task = app.task(&user, "t");
    let id = &task["id"];
    let completed = put(&app, &user, id, json!({ "completed": true })).json();
    assert_eq!(completed["completed_at"], completed["updated_at"]);
    // Completing what is already completed keeps the first time.
    let again = put(&app, &user, id, json!({ "completed": true, "title": "t2" })).json();
    assert_eq!(again["completed_at"], completed["completed_at"]);
    let reopened = put(&app, &user, id, json!({ "completed": false })).json();
    assert_eq!(reopened["completed_at"], Value::Null);
    let toggle = format!("/api/{}/tasks/{id}/complete", user.id);
    let on = app.send("PATCH", &toggle, Some(&user.token), None).json();
    assert_eq!(on["completed"], true);
    assert_eq!(on["completed_at"], on["updated_at"]);
    let off = app.send("PATCH", &toggle, Some(&user.token), None).json();
    assert_eq!(off["completed"], false);
    assert_eq!(off["completed_at"], Value::Null);
}

#[test]
fn migrating_existing_tasks_keeps_their_meaning_and_dates_completed_ones_at_their_last_change() {
    let url = empty_database();
    let mut db = connect(&url);
    db.batch_execute(include_str!("../../sql/0001_init.sql"))
        .unwrap();
    db.batch_execute(
        "CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO schema_migrations (version) VALUES ('0001_init');
         INSERT INTO users (id, email, name, password_hash)
             VALUES ('00000000-0000-0000-0000-0000000000aa', 'old@example.com', 'Old', 'x');
         INSERT INTO tasks (user_id, title, completed, created_at, updated_at) VALUES
             ('00000000-0000-0000-0000-0000000000aa', 'Open', false, '2025-01-01Z', '2025-01-02Z'),
             ('00000000-0000-0000-0000-0000000000aa', 'Done', true, '2025-01-01Z', '2025-01-03Z');",
    )
    .unwrap();
    let later: Vec<&str> = todo_api::db::migrate::versions()
        .into_iter()
        .filter(|v| *v != "0001_init")
        .collect();
    assert_eq!(todo_api::db::migrate::run(&mut db).unwrap(), later);
    let rows = db
        .query(
            "SELECT title, priority, due_at IS NULL, tags, completed_at = updated_at,
                    completed_at IS NULL
             FROM tasks ORDER BY id",
            &[],
        )
        .unwrap();
    let open = &rows[0];
    assert_eq!(open.get::<_, &str>(0), "Open");
    assert_eq!(open.get::<_, i16>(1), 0);
    assert!(open.get::<_, bool>(2));
    assert!(open.get::<_, Vec<String>>(3).is_empty());
    assert!(
        open.get::<_, bool>(5),
        "an open task has no completion time"
    );
    let done = &rows[1];
    assert_eq!(done.get::<_, &str>(0), "Done");
    assert!(done.get::<_, bool>(4), "completed_at = updated_at");
    let ordered: i64 = db
        .query_one(
            "SELECT count(*) FROM tasks t JOIN list_changes o
                 ON o.list_id = t.list_id AND o.task_id = t.id AND o.touched_at = t.updated_at",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        ordered, 2,
        "both tasks keep their place in the order of change"
    );
}
