//! Tasks: paths, creation, the contract's task shape, ordering and `Link` paging.

use super::{Resp, TestApp, User};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// The seven fields of the first contract and the four of "Organising tasks" (part 2).
pub const TASK_FIELDS: [&str; 19] = [
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
    // Part 3: lists.
    "list_id",
    "created_by",
    "assignee_id",
    "uid",
    // Part 3: subtasks and recurring tasks.
    "parent_id",
    "recurrence",
    "timezone",
    "last_completed_at",
];

pub fn tasks_path(user: &User) -> String {
    format!("/api/{}/tasks", user.id)
}

pub fn task_path(user: &User, id: impl std::fmt::Display) -> String {
    format!("/api/{}/tasks/{id}", user.id)
}

pub fn id_of(task: &Value) -> i64 {
    task["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id: {task}"))
}

pub fn array(resp: &Resp) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", resp.body))
        .clone()
}

pub fn ids(tasks: &[Value]) -> Vec<i64> {
    tasks.iter().map(id_of).collect()
}

pub fn list(app: &TestApp, user: &User, query: &str) -> Vec<Value> {
    array(&app.get(&format!("{}{query}", tasks_path(user)), Some(&user.token)))
}

/// An RFC 3339 timestamp in UTC written with a `Z`.
pub fn timestamp(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    assert!(text.ends_with('Z'), "timestamp without Z: {text}");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
        .with_timezone(&Utc)
}

/// Exactly the fields of the contract, with their types, owned by `user`.
pub fn assert_task(task: &Value, user: &User) {
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

/// The six task routes under `/api/{user}/tasks`, with `task` as the task id segment.
pub fn six_routes(user: &str, task: &str) -> Vec<(&'static str, String, Option<Value>)> {
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
pub fn next_link(resp: &Resp) -> Option<String> {
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
pub fn walk(app: &TestApp, user: &User, first: &str, mut between: impl FnMut()) -> Vec<Vec<Value>> {
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

pub fn cursor_of(link: &str) -> String {
    link.split_once("cursor=")
        .unwrap_or_else(|| panic!("no cursor in {link}"))
        .1
        .split('&')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Newest `created_at` first; ties broken by the higher id.
pub fn assert_newest_first(tasks: &[Value]) {
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

pub fn create(app: &TestApp, user: &User, body: Value) -> Value {
    let resp = app.send("POST", &tasks_path(user), Some(&user.token), Some(body));
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_task(&task, user);
    task
}

/// Creates `n` tasks one after another and returns their ids, oldest first.
pub fn create_many(app: &TestApp, user: &User, n: usize, prefix: &str) -> Vec<i64> {
    (0..n)
        .map(|i| id_of(&app.task(user, &format!("{prefix} {i}"))))
        .collect()
}

pub fn uuid(user: &User) -> Uuid {
    Uuid::parse_str(&user.id).expect("user ids are UUIDs")
}
