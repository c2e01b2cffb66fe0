//! The task routes: life cycle, isolation between users, validation, ordering, concurrency,
//! pagination and large lists.

use crate::support::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Barrier;
use uuid::Uuid;

/// The seven fields of the first contract and the four of "Organising tasks" (part 2).
const TASK_FIELDS: [&str; 11] = [
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
    "priority",
    "due_at",
    "tags",
    "completed_at",
];

fn tasks_path(user: &User) -> String {
    format!("/api/{}/tasks", user.id)
}

fn task_path(user: &User, id: impl std::fmt::Display) -> String {
    format!("/api/{}/tasks/{id}", user.id)
}

fn id_of(task: &Value) -> i64 {
    task["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id: {task}"))
}

fn array(resp: &Resp) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", resp.body))
        .clone()
}

fn ids(tasks: &[Value]) -> Vec<i64> {
    tasks.iter().map(id_of).collect()
}

fn list(app: &TestApp, user: &User, query: &str) -> Vec<Value> {
    array(&app.get(&format!("{}{query}", tasks_path(user)), Some(&user.token)))
}

/// An RFC 3339 timestamp in UTC written with a `Z`.
fn timestamp(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    assert!(text.ends_with('Z'), "timestamp without Z: {text}");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
        .with_timezone(&Utc)
}

/// Exactly the fields of the contract, with their types, owned by `user`.
fn assert_task(task: &Value, user: &User) {
    let object = task
        .as_object()
        .unwrap_or_else(|| panic!("task is not an object: {task}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = TASK_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{task}");
    assert!(id_of(task) > 0, "{task}");
    assert_eq!(task["user_id"], user.id.as_str(), "{task}");
    assert!(task["title"].is_string(), "{task}");
    assert!(
        task["description"].is_string() || task["description"].is_null(),
        "{task}"
    );
    assert!(task["completed"].is_boolean(), "{task}");
    let created = timestamp(&task["created_at"]);
    assert!(timestamp(&task["updated_at"]) >= created, "{task}");
}

fn assert_error(resp: &Resp, status: u16, detail: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert_eq!(resp.detail(), detail, "{}", resp.body);
}

/// A 400 whose `detail` is `detail` and whose `errors` name each of `fields` (and nothing else),
/// every entry being exactly `{field, message}`.
fn assert_invalid(resp: &Resp, detail: &str, fields: &[&str]) {
    assert_error(resp, 400, detail);
    let body = resp.json();
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {}", resp.body));
    for error in errors {
        let entry = error
            .as_object()
            .unwrap_or_else(|| panic!("error entry is not an object: {error}"));
        assert_eq!(entry.len(), 2, "{error}");
        assert!(
            error["field"].is_string() && error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    let named: Vec<&str> = errors.iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(named, fields, "{}", resp.body);
    assert_eq!(
        errors[0]["message"], detail,
        "detail is the first problem: {}",
        resp.body
    );
}

fn assert_unauthorized(resp: &Resp) {
    assert_error(resp, 401, "Invalid or expired token");
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
}

/// The six task routes under `/api/{user}/tasks`, with `task` as the task id segment.
fn six_routes(user: &str, task: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let tasks = format!("/api/{user}/tasks");
    let one = format!("{tasks}/{task}");
    vec![
        ("GET", tasks.clone(), None),
        ("POST", tasks, Some(json!({ "title": "intruder" }))),
        ("GET", one.clone(), None),
        ("PUT", one.clone(), Some(json!({ "title": "intruder" }))),
        ("DELETE", one.clone(), None),
        ("PATCH", format!("{one}/complete"), None),
    ]
}

/// The path of a `Link: <...>; rel="next"` header, when there is one.
fn next_link(resp: &Resp) -> Option<String> {
    let link = resp.header("link")?;
    let (target, param) = link
        .split_once(';')
        .unwrap_or_else(|| panic!("Link without rel: {link}"));
    assert_eq!(param.trim(), "rel=\"next\"", "{link}");
    let path = target
        .trim()
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'));
    Some(
        path.unwrap_or_else(|| panic!("Link target not in <>: {link}"))
            .to_string(),
    )
}

/// Follows `rel="next"` from `first` until a page has no Link, calling `between` after each page.
fn walk(app: &TestApp, user: &User, first: &str, mut between: impl FnMut()) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let resp = app.get(&path, Some(&user.token));
        next = next_link(&resp);
        pages.push(array(&resp));
        assert!(pages.len() <= 100, "the walk does not end");
        between();
    }
    pages
}

fn cursor_of(link: &str) -> String {
    link.split_once("cursor=")
        .unwrap_or_else(|| panic!("no cursor in {link}"))
        .1
        .split('&')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Newest `created_at` first; ties broken by the higher id.
fn assert_newest_first(tasks: &[Value]) {
    for pair in tasks.windows(2) {
        let (a, b) = (
            timestamp(&pair[0]["created_at"]),
            timestamp(&pair[1]["created_at"]),
        );
        assert!(
            a > b || (a == b && id_of(&pair[0]) > id_of(&pair[1])),
            "out of order: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

fn create(app: &TestApp, user: &User, body: Value) -> Value {
    let resp = app.send("POST", &tasks_path(user), Some(&user.token), Some(body));
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_task(&task, user);
    task
}

/// Creates `n` tasks one after another and returns their ids, oldest first.
fn create_many(app: &TestApp, user: &User, n: usize, prefix: &str) -> Vec<i64> {
    (0..n)
        .map(|i| id_of(&app.task(user, &format!("{prefix} {i}"))))
        .collect()
}

fn uuid(user: &User) -> Uuid {
    Uuid::parse_str(&user.id).expect("user ids are UUIDs")
}

// ---------------------------------------------------------------------------------------------
// Life cycle

#[test]
fn a_user_creates_lists_reads_updates_toggles_and_deletes_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    let token = Some(user.token.as_str());

    let created = app.send(
        "POST",
        &tasks_path(&user),
        token,
        Some(json!({ "title": "  Buy milk \n" })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let plain = created.json();
    assert_task(&plain, &user);
    assert_eq!(plain["title"], "Buy milk", "the title is trimmed");
    assert_eq!(plain["description"], Value::Null);
    assert_eq!(plain["completed"], false);
    assert_eq!(plain["created_at"], plain["updated_at"]);

    let described = create(
        &app,
        &user,
        json!({ "title": "Call mum", "description": "About Sunday" }),
    );
    assert_eq!(described["description"], "About Sunday");
    assert_eq!(described["completed"], false);
    let done = create(
        &app,
        &user,
        json!({ "title": "Already done", "completed": true }),
    );
    assert_eq!(done["completed"], true);
    assert_eq!(done["description"], Value::Null);

    let listed = list(&app, &user, "");
    assert_eq!(
        listed,
        vec![done.clone(), described.clone(), plain.clone()],
        "newest first, as created"
    );
    for task in [&plain, &described, &done] {
        let got = app.get(&task_path(&user, id_of(task)), token);
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(&got.json(), task);
    }

    let path = task_path(&user, id_of(&described));
    let renamed = app.send(
        "PUT",
        &path,
        token,
        Some(json!({ "title": "  Call mum back  " })),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let renamed = renamed.json();
    assert_task(&renamed, &user);
    assert_eq!(renamed["title"], "Call mum back");
    assert_eq!(
        renamed["description"], "About Sunday",
        "an absent description is kept"
    );
    assert_eq!(renamed["completed"], false, "an absent completed is kept");
    assert_eq!(renamed["created_at"], described["created_at"]);
    assert!(timestamp(&renamed["updated_at"]) > timestamp(&described["updated_at"]));

    let redescribed = app
        .send(
            "PUT",
            &path,
            token,
            Some(json!({ "description": "About Monday" })),
        )
        .json();
    assert_eq!(
        redescribed["title"], "Call mum back",
        "an absent title is kept"
    );
    assert_eq!(redescribed["description"], "About Monday");
    assert!(timestamp(&redescribed["updated_at"]) > timestamp(&renamed["updated_at"]));

    let cleared = app.send("PUT", &path, token, Some(json!({ "description": null })));
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let cleared = cleared.json();
    assert_eq!(
        cleared["description"],
        Value::Null,
        "a present null clears the description"
    );
    assert_eq!(cleared["title"], "Call mum back");
    assert!(timestamp(&cleared["updated_at"]) > timestamp(&redescribed["updated_at"]));
    assert_eq!(app.get(&path, token).json(), cleared);

    let toggle = format!("{path}/complete");
    let first = app.send("PATCH", &toggle, token, None);
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_task(&first, &user);
    assert_eq!(first["completed"], true);
    assert!(timestamp(&first["updated_at"]) > timestamp(&cleared["updated_at"]));
    let second = app.send("PATCH", &toggle, token, None).json();
    assert_eq!(second["completed"], false);
    assert!(timestamp(&second["updated_at"]) > timestamp(&first["updated_at"]));
    assert_eq!(second["title"], "Call mum back");
    assert_eq!(second["created_at"], described["created_at"]);

    let deleted = app.send("DELETE", &path, token, None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.json(),
        json!({ "message": "Task deleted successfully" })
    );
    assert_error(&app.get(&path, token), 404, "Task not found");
    assert_error(
        &app.send("DELETE", &path, token, None),
        404,
        "Task not found",
    );
    assert_error(
        &app.send("PUT", &path, token, Some(json!({ "title": "x" }))),
        404,
        "Task not found",
    );
    assert_error(
        &app.send("PATCH", &toggle, token, None),
        404,
        "Task not found",
    );
    assert_eq!(
        ids(&list(&app, &user, "")),
        vec![id_of(&done), id_of(&plain)]
    );
}

#[test]
fn put_can_set_every_field_at_once_and_completed_alone() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "draft");
    let path = task_path(&user, id_of(&task));
    let all = app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({ "title": "final", "description": "d", "completed": true })),
    );
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    assert_eq!(
        (&all["title"], &all["description"], &all["completed"]),
        (&json!("final"), &json!("d"), &json!(true))
    );
    let reopened = app
        .send(
            "PUT",
            &path,
            Some(&user.token),
            Some(json!({ "completed": false })),
        )
        .json();
    assert_eq!(
        (
            &reopened["title"],
            &reopened["description"],
            &reopened["completed"]
        ),
        (&json!("final"), &json!("d"), &json!(false))
    );
}

// ---------------------------------------------------------------------------------------------
// Two users

#[test]
fn another_users_path_is_403_on_all_six_routes_and_a_malformed_uuid_too() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    let b_task = app.task(&b, "B's secret");
    let b_id = id_of(&b_task).to_string();
    for user in [
        b.id.as_str(),
        "not-a-uuid",
        "12345",
        &b.id.to_uppercase().replace('-', "_"),
    ] {
        for (method, path, body) in six_routes(user, &b_id) {
            let resp = app.send(method, &path, Some(&a.token), body);
            assert_error(&resp, 403, "Access denied");
            assert!(
                resp.json().as_object().is_some_and(|o| o.len() == 1),
                "{method} {path}: {}",
                resp.body
            );
        }
    }
    assert_eq!(
        app.get(&task_path(&b, &b_id), Some(&b.token)).json(),
        b_task,
        "B's task is unchanged"
    );
    assert_eq!(list(&app, &b, ""), vec![b_task]);
    assert!(
        list(&app, &a, "").is_empty(),
        "A's attempted POST created nothing"
    );
}

#[test]
fn another_users_task_id_under_ones_own_path_is_404_and_the_task_is_untouched() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    app.task(&a, "A's own");
    let b_task = create(
        &app,
        &b,
        json!({ "title": "B's", "description": "private" }),
    );
    let path = task_path(&a, id_of(&b_task));
    let token = Some(a.token.as_str());
    assert_error(&app.get(&path, token), 404, "Task not found");
    assert_error(
        &app.send(
            "PUT",
            &path,
            token,
            Some(json!({ "title": "stolen", "description": null })),
        ),
        404,
        "Task not found",
    );
    assert_error(
        &app.send("PATCH", &format!("{path}/complete"), token, None),
        404,
        "Task not found",
    );
    assert_error(
        &app.send("DELETE", &path, token, None),
        404,
        "Task not found",
    );
    let seen_by_b = app.get(&task_path(&b, id_of(&b_task)), Some(&b.token));
    assert_eq!(seen_by_b.status, 200, "{}", seen_by_b.body);
    assert_eq!(seen_by_b.json(), b_task, "B's task is unchanged");
}

#[test]
fn a_users_list_holds_only_their_own_tasks() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    let mut a_ids = Vec::new();
    let mut b_ids = Vec::new();
    for i in 0..5 {
        a_ids.push(id_of(&app.task(&a, &format!("a {i}"))));
        b_ids.push(id_of(&app.task(&b, &format!("b {i}"))));
    }
    for (user, own) in [(&a, &a_ids), (&b, &b_ids)] {
        for query in ["", "?status=all", "?status=pending", "?limit=1000"] {
            let tasks = list(&app, user, query);
            tasks.iter().for_each(|t| assert_task(t, user));
            let mut expected = own.clone();
            expected.reverse();
            assert_eq!(ids(&tasks), expected, "{query}");
        }
    }
}

#[test]
fn a_missing_token_is_401_before_the_path_user_or_task_id_is_looked_at() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    let b_task = id_of(&app.task(&b, "B's")).to_string();
    let a_task = id_of(&app.task(&a, "A's")).to_string();
    let cases = [
        (b.id.as_str(), b_task.as_str()),
        (&a.id, &a_task),
        (&b.id, "abc"),
        (&a.id, "0"),
        ("not-a-uuid", "-1"),
        (&a.id, "999999"),
    ];
    for (user, task) in cases {
        for (method, path, body) in six_routes(user, task) {
            assert_unauthorized(&app.send(method, &path, None, body.clone()));
            let garbage = format!("Bearer {}x", a.token);
            let headers = [
                ("Authorization", garbage.as_str()),
                ("Content-Type", "application/json"),
            ];
            let bytes = body.map(|b| b.to_string().into_bytes());
            assert_unauthorized(&app.request(
                method,
                &path,
                &headers,
                Some(bytes.as_deref().unwrap_or_default()),
            ));
        }
    }
    assert_eq!(
        list(&app, &a, "").len(),
        1,
        "nothing was created without a token"
    );
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn a_title_that_is_missing_empty_blank_or_too_long_is_400_naming_the_problem() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(&post(json!({})), "Title is required", &["title"]);
    assert_invalid(
        &post(json!({ "description": "no title" })),
        "Title is required",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "" })),
        "Title must not be empty",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": " \t\n " })),
        "Title must not be empty",
        &["title"],
    );
    let too_long = "a".repeat(201);
    assert_invalid(
        &post(json!({ "title": too_long })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "é".repeat(201) })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert!(
        list(&app, &user, "").is_empty(),
        "no invalid task was stored"
    );

    let task = app.task(&user, "valid");
    let path = task_path(&user, id_of(&task));
    let put = |body: Value| app.send("PUT", &path, Some(&user.token), Some(body));
    assert_invalid(
        &put(json!({ "title": "   " })),
        "Title must not be empty",
        &["title"],
    );
    assert_invalid(
        &put(json!({ "title": "a".repeat(201) })),
        "Title must be at most 200 characters long",
        &["title"],
    );
    assert_eq!(
        app.get(&path, Some(&user.token)).json(),
        task,
        "a refused update changes nothing"
    );
}

#[test]
fn a_title_of_200_characters_is_accepted_even_when_they_take_several_bytes() {
    let app = TestApp::spawn();
    let user = app.user();
    for title in [
        "a".repeat(200),
        "é".repeat(200),
        "日".repeat(200),
        "🦀".repeat(200),
        format!("  {}  ", "é".repeat(200)),
    ] {
        let task = create(&app, &user, json!({ "title": title }));
        assert_eq!(
            task["title"].as_str().map(|t| t.chars().count()),
            Some(200),
            "{title}"
        );
        assert_eq!(task["title"], title.trim());
    }
    let task = app.task(&user, "short");
    let renamed = app.send(
        "PUT",
        &task_path(&user, id_of(&task)),
        Some(&user.token),
        Some(json!({ "title": "日".repeat(200) })),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
}

#[test]
fn a_description_over_1000_characters_is_400_and_1000_is_accepted() {
    let app = TestApp::spawn();
    let user = app.user();
    let too_long = app.send(
        "POST",
        &tasks_path(&user),
        Some(&user.token),
        Some(json!({ "title": "t", "description": "d".repeat(1001) })),
    );
    assert_invalid(
        &too_long,
        "Description must be at most 1000 characters long",
        &["description"],
    );
    let task = create(
        &app,
        &user,
        json!({ "title": "t", "description": "日".repeat(1000) }),
    );
    assert_eq!(
        task["description"].as_str().map(|d| d.chars().count()),
        Some(1000)
    );
    let path = task_path(&user, id_of(&task));
    let put = app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({ "description": "x".repeat(1001) })),
    );
    assert_invalid(
        &put,
        "Description must be at most 1000 characters long",
        &["description"],
    );
    assert_eq!(app.get(&path, Some(&user.token)).json(), task);
    let empty = create(&app, &user, json!({ "title": "t", "description": "" }));
    assert_eq!(
        empty["description"], "",
        "an empty description is kept as given"
    );
}

#[test]
fn fields_of_the_wrong_type_are_400_and_every_problem_is_listed() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(
        &post(json!({ "title": 5 })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": null })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": ["a"] })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "completed": 1 })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &post(json!({ "title": "t", "description": 3 })),
        "Description must be a string or null",
        &["description"],
    );
    let all = post(json!({ "title": 5, "description": 3, "completed": "yes" }));
    assert_invalid(
        &all,
        "Title must be a string",
        &["title", "description", "completed"],
    );
    let two = post(json!({ "title": "", "description": "d".repeat(1001) }));
    assert_invalid(&two, "Title must not be empty", &["title", "description"]);

    let task = app.task(&user, "t");
    let path = task_path(&user, id_of(&task));
    let put = |body: Value| app.send("PUT", &path, Some(&user.token), Some(body));
    assert_invalid(
        &put(json!({ "title": 5 })),
        "Title must be a string",
        &["title"],
    );
    assert_invalid(
        &put(json!({ "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &put(json!({ "completed": null })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_invalid(
        &put(json!({ "description": 3 })),
        "Description must be a string or null",
        &["description"],
    );
    assert_invalid(
        &put(json!({ "title": "ok", "completed": "yes" })),
        "Completed must be true or false",
        &["completed"],
    );
    assert_eq!(
        app.get(&path, Some(&user.token)).json(),
        task,
        "a refused update changes nothing"
    );
    assert_eq!(list(&app, &user, "").len(), 1, "no invalid task was stored");
}

#[test]
fn a_put_without_any_known_field_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "t");
    let path = task_path(&user, id_of(&task));
    for body in [
        json!({}),
        json!({ "id": 5, "user_id": user.id, "created_at": "2000-01-01T00:00:00Z" }),
    ] {
        let resp = app.send("PUT", &path, Some(&user.token), Some(body));
        assert_error(
            &resp,
            400,
            "Send at least one of title, description, completed, priority, due_at or tags",
        );
    }
    assert_eq!(app.get(&path, Some(&user.token)).json(), task);
}

#[test]
fn a_body_that_is_not_a_json_object_is_400_and_another_content_type_is_415() {
    let app = TestApp::spawn();
    let user = app.user();
    let auth = format!("Bearer {}", user.token);
    let json_headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let path = tasks_path(&user);
    let post = |body: &[u8]| app.request("POST", &path, &json_headers, Some(body));
    assert_error(
        &post(b""),
        400,
        "Request body is required: send a JSON object",
    );
    assert_error(
        &post(b"[\"title\"]"),
        400,
        "Request body must be a JSON object",
    );
    assert_error(
        &post(b"\"title\""),
        400,
        "Request body must be a JSON object",
    );
    let broken = post(b"{\"title\": ");
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert!(
        broken
            .detail()
            .starts_with("Request body is not valid JSON"),
        "{}",
        broken.body
    );
    let text = app.request(
        "POST",
        &path,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "text/plain"),
        ],
        Some(b"{\"title\":\"t\"}"),
    );
    assert_error(&text, 415, "Content-Type must be application/json");
    let untyped = app.request(
        "POST",
        &path,
        &[("Authorization", auth.as_str())],
        Some(b"{\"title\":\"no content type\"}"),
    );
    assert_eq!(
        untyped.status, 201,
        "no Content-Type is read as JSON: {}",
        untyped.body
    );
    assert_eq!(list(&app, &user, "").len(), 1);
}

#[test]
fn nul_characters_in_a_title_or_description_are_400_not_500() {
    let app = TestApp::spawn();
    let user = app.user();
    let post = |body: Value| app.send("POST", &tasks_path(&user), Some(&user.token), Some(body));
    assert_invalid(
        &post(json!({ "title": "a\u{0}b" })),
        "Title must not contain NUL (U+0000) characters",
        &["title"],
    );
    let resp = post(json!({ "title": "t", "description": "\u{0}" }));
    assert_invalid(
        &resp,
        "Description must not contain NUL (U+0000) characters",
        &["description"],
    );
    let task = app.task(&user, "t");
    let put = app.send(
        "PUT",
        &task_path(&user, id_of(&task)),
        Some(&user.token),
        Some(json!({ "title": "\u{0}" })),
    );
    assert_invalid(
        &put,
        "Title must not contain NUL (U+0000) characters",
        &["title"],
    );
}

#[test]
fn a_status_filter_other_than_all_pending_or_completed_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "t");
    let detail = "status must be one of: all, pending, completed";
    for query in [
        "?status=done",
        "?status=",
        "?status=ALL",
        "?status=pending%20",
        "?limit=5&status=x",
    ] {
        assert_invalid(
            &app.get(&format!("{}{query}", tasks_path(&user)), Some(&user.token)),
            detail,
            &["status"],
        );
    }
    let both = app.get(
        &format!("{}?status=done&limit=0", tasks_path(&user)),
        Some(&user.token),
    );
    assert_invalid(&both, detail, &["status", "limit"]);
}

#[test]
fn a_limit_outside_1_to_1000_or_not_a_number_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "t");
    for limit in ["0", "1001", "abc", "-1", "", "1.5", "99999999999999999999"] {
        let resp = app.get(
            &format!("{}?limit={limit}", tasks_path(&user)),
            Some(&user.token),
        );
        assert_invalid(&resp, "limit must be an integer from 1 to 1000", &["limit"]);
    }
    for limit in ["1", "1000"] {
        assert_eq!(
            list(&app, &user, &format!("?limit={limit}")).len(),
            1,
            "limit={limit}"
        );
    }
}

#[test]
fn a_task_id_that_is_not_a_positive_integer_is_400_on_every_task_id_route() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "t");
    for id in [
        "abc", "0", "-1", "000", "+1", "1e3", "1.0", "%31", "0x10", " 1",
    ] {
        for (method, path, body) in six_routes(&user.id, &id.replace(' ', "%20"))
            .into_iter()
            .skip(2)
        {
            let resp = app.send(method, &path, Some(&user.token), body);
            assert_invalid(&resp, "Task id must be a positive integer", &["task_id"]);
        }
    }
    assert_eq!(list(&app, &user, ""), vec![task]);
}

#[test]
fn a_task_id_too_large_for_any_task_is_404_task_not_found() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "t");
    for id in [
        "99999999999999999999",
        "9223372036854775807",
        "9223372036854775808",
        "999999",
    ] {
        for (method, path, body) in six_routes(&user.id, id).into_iter().skip(2) {
            assert_error(
                &app.send(method, &path, Some(&user.token), body),
                404,
                "Task not found",
            );
        }
    }
    let leading_zeros = app.get(
        &task_path(&user, format!("000{}", id_of(&task))),
        Some(&user.token),
    );
    assert_eq!(leading_zeros.status, 200, "{}", leading_zeros.body);
    assert_eq!(leading_zeros.json(), task);
}

// ---------------------------------------------------------------------------------------------
// Mass assignment

#[test]
fn fields_a_client_may_not_set_are_ignored_on_create_and_update() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    let body = json!({
        "title": "x",
        "id": 999999,
        "user_id": b.id,
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
    });
    let before = Utc::now();
    let task = create(&app, &a, body);
    assert_ne!(id_of(&task), 999999);
    assert_eq!(task["user_id"], a.id.as_str(), "owned by the token's user");
    for field in ["created_at", "updated_at"] {
        let at = timestamp(&task[field]);
        assert!(
            (at - before).num_seconds().abs() < 60,
            "{field} is now, not the client's: {task}"
        );
    }
    assert!(list(&app, &b, "").is_empty(), "B got nothing");
    assert_error(
        &app.get(&task_path(&a, 999999), Some(&a.token)),
        404,
        "Task not found",
    );
    assert_eq!(list(&app, &a, ""), vec![task.clone()]);
    let next = app.task(&a, "y");
    assert!(
        id_of(&next) > id_of(&task),
        "ids keep coming from the sequence"
    );

    let path = task_path(&a, id_of(&task));
    let update = json!({ "title": "renamed", "id": 1, "user_id": b.id, "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z" });
    let updated = app.send("PUT", &path, Some(&a.token), Some(update));
    assert_eq!(updated.status, 200, "{}", updated.body);
    let updated = updated.json();
    assert_eq!(
        (&updated["id"], &updated["user_id"], &updated["created_at"]),
        (&task["id"], &task["user_id"], &task["created_at"])
    );
    assert_eq!(updated["title"], "renamed");
    assert!(timestamp(&updated["updated_at"]) > timestamp(&task["updated_at"]));
    assert!(list(&app, &b, "").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Ordering and filters

#[test]
fn tasks_created_in_a_burst_come_back_newest_first_and_stay_in_that_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut created = create_many(&app, &user, 20, "burst");
    created.reverse();
    let first = list(&app, &user, "");
    assert_eq!(ids(&first), created);
    assert_newest_first(&first);
    for _ in 0..3 {
        assert_eq!(list(&app, &user, ""), first, "the same order on every call");
    }

    // Ties on created_at are broken by the higher id first.
    let oldest_five: Vec<i64> = created[15..].to_vec();
    app.sql()
        .execute("UPDATE tasks SET created_at = '2100-01-01T00:00:00Z' WHERE user_id = $1 AND id = ANY($2)", &[&uuid(&user), &oldest_five])
        .expect("move five tasks to one future instant");
    let tied = list(&app, &user, "");
    assert_newest_first(&tied);
    let mut expected = oldest_five.clone();
    expected.extend(&created[..15]);
    assert_eq!(ids(&tied), expected);
    assert_eq!(tied[0]["created_at"], "2100-01-01T00:00:00.000000Z");
    let paged: Vec<i64> = walk(
        &app,
        &user,
        &format!("{}?limit=3", tasks_path(&user)),
        || {},
    )
    .iter()
    .flat_map(|p| ids(p))
    .collect();
    assert_eq!(paged, expected, "pages keep the tie order too");
}

#[test]
fn status_filters_return_exactly_the_pending_or_completed_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut completed = HashSet::new();
    for i in 0..12 {
        let done = i % 4 == 0;
        let task = create(
            &app,
            &user,
            json!({ "title": format!("task {i}"), "completed": done }),
        );
        if done {
            completed.insert(id_of(&task));
        }
    }
    let all = list(&app, &user, "");
    // Complete two more by toggling and one by PUT; reopen one of the created-completed ones.
    let toggled = [id_of(&all[1]), id_of(&all[2])];
    let toggle = |id: i64| {
        let resp = app.send(
            "PATCH",
            &format!("{}/complete", task_path(&user, id)),
            Some(&user.token),
            None,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
    };
    for id in toggled {
        toggle(id);
        completed.insert(id);
    }
    let put = id_of(&all[4]);
    let resp = app.send(
        "PUT",
        &task_path(&user, put),
        Some(&user.token),
        Some(json!({ "completed": true })),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    completed.insert(put);
    let reopened = *completed
        .iter()
        .find(|id| !toggled.contains(id) && **id != put)
        .expect("a created-completed task");
    toggle(reopened);
    completed.remove(&reopened);

    let all = list(&app, &user, "");
    assert_eq!(list(&app, &user, "?status=all"), all);
    let expect = |done: bool| -> Vec<i64> {
        ids(&all)
            .into_iter()
            .filter(|id| completed.contains(id) == done)
            .collect()
    };
    let pending = list(&app, &user, "?status=pending");
    let finished = list(&app, &user, "?status=completed");
    assert_eq!(ids(&pending), expect(false));
    assert_eq!(ids(&finished), expect(true));
    assert!(pending.iter().all(|t| t["completed"] == false));
    assert!(finished.iter().all(|t| t["completed"] == true));
    assert_eq!(pending.len() + finished.len(), 12);
    assert_eq!(finished.len(), completed.len());
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[test]
fn fifty_concurrent_toggles_leave_completed_where_it_started() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({ "title": "flip", "completed": true }));
    let path = format!("{}/complete", task_path(&user, id_of(&task)));
    let barrier = Barrier::new(50);
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let resp = app.send("PATCH", &path, Some(&user.token), None);
                    assert_eq!(resp.status, 200, "{}", resp.body);
                    resp.json()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a toggle thread"))
            .collect()
    });
    let now_true = results.iter().filter(|t| t["completed"] == true).count();
    assert_eq!(
        now_true, 25,
        "the toggles ran one after another, alternating"
    );
    let stamps: HashSet<&str> = results
        .iter()
        .filter_map(|t| t["updated_at"].as_str())
        .collect();
    assert_eq!(stamps.len(), 50, "each toggle moved updated_at forward");
    let after = app
        .get(&task_path(&user, id_of(&task)), Some(&user.token))
        .json();
    assert_eq!(after["completed"], true);
    assert!(stamps.contains(after["updated_at"].as_str().unwrap_or_default()));
}

#[test]
fn fifty_concurrent_creates_give_fifty_distinct_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    let barrier = Barrier::new(50);
    let created: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (app, user, barrier) = (&app, &user, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    app.task(user, &format!("concurrent {i}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a create thread"))
            .collect()
    });
    let created_ids: HashSet<i64> = created.iter().map(id_of).collect();
    assert_eq!(created_ids.len(), 50);
    let listed = list(&app, &user, "");
    assert_eq!(listed.len(), 50);
    assert_eq!(
        listed.iter().map(id_of).collect::<HashSet<_>>(),
        created_ids
    );
    let titles: HashSet<String> = listed
        .iter()
        .filter_map(|t| t["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(titles, (0..50).map(|i| format!("concurrent {i}")).collect());
    assert_newest_first(&listed);
}

// ---------------------------------------------------------------------------------------------
// Pagination

#[test]
fn walking_link_headers_with_limit_7_returns_every_task_once_in_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut expected = create_many(&app, &user, 50, "page");
    expected.reverse();
    let first = app.get(&format!("{}?limit=7", tasks_path(&user)), Some(&user.token));
    let link = first
        .header("link")
        .expect("a first page of 7 out of 50 has a Link")
        .to_string();
    let prefix = format!("</api/{}/tasks?limit=7&cursor=", user.id);
    assert!(
        link.starts_with(&prefix) && link.ends_with(">; rel=\"next\""),
        "{link}"
    );

    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {},
    );
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [7, 7, 7, 7, 7, 7, 7, 1]);
    let walked: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(walked, expected);
    assert_eq!(
        pages.concat(),
        list(&app, &user, ""),
        "pages hold the same task objects as the plain list"
    );
}

#[test]
fn the_last_page_has_no_link_even_when_it_is_full() {
    let app = TestApp::spawn();
    let user = app.user();
    create_many(&app, &user, 14, "full");
    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {},
    );
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7]);
    let one_page = app.get(
        &format!("{}?limit=14", tasks_path(&user)),
        Some(&user.token),
    );
    assert_eq!(array(&one_page).len(), 14);
    assert_eq!(one_page.header("link"), None);
    let unpaged = app.get(&tasks_path(&user), Some(&user.token));
    assert_eq!(unpaged.header("link"), None, "no limit, no Link");
    let empty = app.user();
    let nothing = app.get(
        &format!("{}?limit=7", tasks_path(&empty)),
        Some(&empty.token),
    );
    assert!(array(&nothing).is_empty());
    assert_eq!(nothing.header("link"), None);
}

#[test]
fn tasks_created_while_paging_do_not_appear_and_older_ones_appear_exactly_once() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut expected = create_many(&app, &user, 50, "old");
    expected.reverse();
    let mut added = Vec::new();
    let pages = walk(
        &app,
        &user,
        &format!("{}?limit=7", tasks_path(&user)),
        || {
            for _ in 0..2 {
                added.push(id_of(&app.task(&user, "new while paging")));
            }
        },
    );
    let walked: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(walked, expected);
    assert_eq!(added.len(), 16);
    assert_eq!(
        list(&app, &user, "").len(),
        66,
        "the new tasks were stored all the same"
    );
}

#[test]
fn a_changed_cursor_or_another_users_cursor_is_400() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    create_many(&app, &a, 10, "a");
    create_many(&app, &b, 10, "b");
    let first = app.get(&format!("{}?limit=7", tasks_path(&a)), Some(&a.token));
    let cursor = cursor_of(&next_link(&first).expect("a Link"));
    let detail = "cursor is not valid: use the Link header of the previous page";
    let page = |cursor: &str| {
        app.get(
            &format!("{}?limit=7&cursor={cursor}", tasks_path(&a)),
            Some(&a.token),
        )
    };
    assert_eq!(array(&page(&cursor)).len(), 3, "the cursor as given works");

    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (i, c) in cursor.char_indices() {
        let other = if c == 'A' { 'B' } else { 'A' };
        let changed = format!("{}{other}{}", &cursor[..i], &cursor[i + 1..]);
        assert_invalid(&page(&changed), detail, &["cursor"]);
        assert!(alphabet.contains(c), "the cursor is URL-safe: {cursor}");
    }
    for bad in [
        "",
        "abc",
        "!!!!",
        &cursor[1..],
        &format!("{cursor}A"),
        &format!("{cursor}%00"),
    ] {
        assert_invalid(&page(bad), detail, &["cursor"]);
    }

    let b_first = app.get(&format!("{}?limit=7", tasks_path(&b)), Some(&b.token));
    let b_cursor = cursor_of(&next_link(&b_first).expect("a Link for B"));
    assert_eq!(
        array(&app.get(
            &format!("{}?limit=7&cursor={b_cursor}", tasks_path(&b)),
            Some(&b.token)
        ))
        .len(),
        3
    );
    assert_invalid(&page(&b_cursor), detail, &["cursor"]);
    let on_b_path = app.get(
        &format!("{}?limit=7&cursor={b_cursor}", tasks_path(&b)),
        Some(&a.token),
    );
    assert_error(&on_b_path, 403, "Access denied");
}

#[test]
fn a_status_filter_combines_with_pagination() {
    let app = TestApp::spawn();
    let user = app.user();
    for i in 0..30 {
        create(
            &app,
            &user,
            json!({ "title": format!("t {i}"), "completed": i % 3 == 0 }),
        );
    }
    for (status, limit, sizes) in [
        ("completed", 3, vec![3, 3, 3, 1]),
        ("pending", 4, vec![4, 4, 4, 4, 4]),
        ("all", 8, vec![8, 8, 8, 6]),
    ] {
        let first = format!("{}?limit={limit}&status={status}", tasks_path(&user));
        let pages = walk(&app, &user, &first, || {});
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            sizes,
            "{status}"
        );
        let walked: Vec<Value> = pages.concat();
        assert_eq!(
            walked,
            list(&app, &user, &format!("?status={status}")),
            "{status}"
        );
        let link = app
            .get(&first, Some(&user.token))
            .header("link")
            .map(str::to_string)
            .expect("a Link");
        assert!(
            link.contains(&format!("status={status}")),
            "the Link keeps the filter: {link}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Large lists and deleted users

#[test]
fn a_user_with_ten_thousand_tasks_gets_all_of_them_from_a_plain_get() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let mut db = app.sql();
    let seeded = db
        .execute(
            "INSERT INTO tasks (user_id, title) SELECT $1::uuid, 'task ' || g FROM generate_series(1, 10000) g",
            &[&uuid(&user)],
        )
        .expect("seed 10,000 tasks");
    assert_eq!(seeded, 10_000);
    app.task(&other, "someone else's");
    let expected: Vec<i64> = db
        .query(
            "SELECT id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
            &[&uuid(&user)],
        )
        .expect("read the seeded ids")
        .iter()
        .map(|row| row.get(0))
        .collect();

    let tasks = list(&app, &user, "");
    assert_eq!(tasks.len(), 10_000);
    assert_eq!(ids(&tasks), expected);
    assert_newest_first(&tasks);
    assert!(tasks.iter().all(|t| t["user_id"] == user.id.as_str()));
    let titles: HashSet<&str> = tasks.iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles.len(), 10_000);
    assert_task(&tasks[0], &user);
    assert_eq!(list(&app, &user, "?status=pending").len(), 10_000);
    assert!(list(&app, &user, "?status=completed").is_empty());
    assert_eq!(list(&app, &user, "?limit=1000").len(), 1000);
}

#[test]
fn deleting_a_user_in_the_database_removes_their_tasks_and_voids_their_token() {
    let app = TestApp::spawn();
    let (gone, stays) = (app.user(), app.user());
    let task = id_of(&app.task(&gone, "mine")).to_string();
    create_many(&app, &gone, 2, "more");
    let kept = app.task(&stays, "still here");
    let mut db = app.sql();
    let deleted = db
        .execute("DELETE FROM users WHERE id = $1", &[&uuid(&gone)])
        .expect("delete the user");
    assert_eq!(deleted, 1);
    let left: i64 = db
        .query_one(
            "SELECT count(*) FROM tasks WHERE user_id = $1",
            &[&uuid(&gone)],
        )
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "ON DELETE CASCADE removed the tasks");
    for (method, path, body) in six_routes(&gone.id, &task) {
        assert_unauthorized(&app.send(method, &path, Some(&gone.token), body));
    }
    assert_eq!(
        list(&app, &stays, ""),
        vec![kept],
        "other users are untouched"
    );
}
