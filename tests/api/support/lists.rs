//! Lists and sharing (contract part 3): paths, the list shape, and a list shared in one call.

use super::{timestamp, unique, Resp, TestApp, User, PASSWORD};
use serde_json::{json, Value};

/// The answer to a member whose role does not allow the request.
pub const ROLE_DENIED: &str = "Your role in this list does not allow this";

/// The list object of part 3, every field.
pub const LIST_FIELDS: [&str; 10] = [
    "id",
    "name",
    "color",
    "owner_id",
    "role",
    "is_default",
    "shared",
    "open_tasks",
    "created_at",
    "updated_at",
];

pub fn lists_path(user: &User) -> String {
    format!("/api/{}/lists", user.id)
}

pub fn list_path(user: &User, list_id: &str) -> String {
    format!("/api/{}/lists/{list_id}", user.id)
}

pub fn invitations_path(user: &User, list_id: &str) -> String {
    format!("/api/{}/lists/{list_id}/invitations", user.id)
}

pub fn members_path(user: &User, list_id: &str) -> String {
    format!("/api/{}/lists/{list_id}/members", user.id)
}

pub fn member_path(user: &User, list_id: &str, member_id: &str) -> String {
    format!("/api/{}/lists/{list_id}/members/{member_id}", user.id)
}

/// The `id` of a list, an invitation or a member entry (`user_id`), as a string.
pub fn id_str(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id: {value}"))
        .to_string()
}

/// A random UUID no row has.
pub fn unknown_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `GET /api/{user}/lists`, asserting 200 and an array.
pub fn lists_of(app: &TestApp, user: &User) -> Vec<Value> {
    let resp = app.get(&lists_path(user), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", resp.body))
        .clone()
}

/// `GET /api/{user}/lists/{id}`, asserting 200.
pub fn list_of(app: &TestApp, user: &User, list_id: &str) -> Value {
    let resp = app.get(&list_path(user, list_id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

/// The caller's default list, as `GET /lists` shows it.
pub fn inbox(app: &TestApp, user: &User) -> Value {
    let all = lists_of(app, user);
    let defaults: Vec<&Value> = all.iter().filter(|l| l["is_default"] == true).collect();
    assert_eq!(defaults.len(), 1, "exactly one default list: {all:?}");
    defaults[0].clone()
}

pub fn inbox_id(app: &TestApp, user: &User) -> String {
    id_str(&inbox(app, user))
}

/// `POST /api/{user}/lists` with any body.
pub fn post_list(app: &TestApp, user: &User, body: Value) -> Resp {
    app.send("POST", &lists_path(user), Some(&user.token), Some(body))
}

/// A new list named `name`, asserting 201; returns its JSON.
pub fn new_list(app: &TestApp, user: &User, name: &str) -> Value {
    let resp = post_list(app, user, json!({ "name": name }));
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()
}

/// Exactly the fields of a list, with their types.
pub fn assert_list_shape(list: &Value) {
    let object = list
        .as_object()
        .unwrap_or_else(|| panic!("list is not an object: {list}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = LIST_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{list}");
    uuid::Uuid::parse_str(list["id"].as_str().expect("id")).expect("id is a UUID");
    uuid::Uuid::parse_str(list["owner_id"].as_str().expect("owner_id")).expect("a UUID");
    assert!(list["name"].is_string(), "{list}");
    assert!(
        list["color"].is_string() || list["color"].is_null(),
        "{list}"
    );
    assert!(
        matches!(list["role"].as_str(), Some("owner" | "editor" | "viewer")),
        "{list}"
    );
    assert!(list["is_default"].is_boolean(), "{list}");
    assert!(list["shared"].is_boolean(), "{list}");
    assert!(
        list["open_tasks"].as_i64().is_some_and(|n| n >= 0),
        "{list}"
    );
    let created = timestamp(&list["created_at"]);
    assert!(timestamp(&list["updated_at"]) >= created, "{list}");
}

/// A signed-up user with the display name `name` (members are ordered by name).
pub fn named_user(app: &TestApp, name: &str) -> User {
    let email = format!("member{}@example.com", unique());
    let resp = app.signup(name, &email, PASSWORD);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let body = resp.json();
    User {
        id: body["user_id"].as_str().expect("user_id").to_string(),
        email,
        token: body["access_token"].as_str().expect("token").to_string(),
    }
}

/// `POST /lists/{id}/invitations` by `owner` for `email` with `role`.
pub fn invite(app: &TestApp, owner: &User, list_id: &str, email: &str, role: &str) -> Resp {
    app.send(
        "POST",
        &invitations_path(owner, list_id),
        Some(&owner.token),
        Some(json!({ "email": email, "role": role })),
    )
}

/// `POST /api/{user}/invitations/{id}/accept` or `/decline`.
pub fn answer(app: &TestApp, user: &User, invitation_id: &str, verb: &str) -> Resp {
    app.send(
        "POST",
        &format!("/api/{}/invitations/{invitation_id}/{verb}", user.id),
        Some(&user.token),
        None,
    )
}

/// `GET /api/{user}/invitations`, asserting 200.
pub fn my_invitations(app: &TestApp, user: &User) -> Vec<Value> {
    let resp = app.get(&format!("/api/{}/invitations", user.id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json().as_array().expect("an array").clone()
}

/// Invites `member` into `list_id` with `role` and accepts: `member` is then a member.
pub fn join(app: &TestApp, owner: &User, list_id: &str, member: &User, role: &str) -> Value {
    let sent = invite(app, owner, list_id, &member.email, role);
    assert_eq!(sent.status, 201, "{}", sent.body);
    let accepted = answer(app, member, &id_str(&sent.json()), "accept");
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    accepted.json()
}

/// A new list of `owner` shared with `member` as `role` (invited and accepted); its id.
pub fn share(app: &TestApp, owner: &User, member: &User, role: &str) -> String {
    let list = new_list(app, owner, &format!("Shared {}", unique()));
    let id = id_str(&list);
    join(app, owner, &id, member, role);
    id
}

/// `POST /api/{user}/tasks` with any body (no shape assertion: the caller checks).
pub fn post_task(app: &TestApp, user: &User, body: Value) -> Resp {
    app.send(
        "POST",
        &format!("/api/{}/tasks", user.id),
        Some(&user.token),
        Some(body),
    )
}

/// A task titled `title` in the list `list_id`, made by `user`, asserting 201.
pub fn task_in(app: &TestApp, user: &User, list_id: &str, title: &str) -> Value {
    let resp = post_task(app, user, json!({ "title": title, "list_id": list_id }));
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()
}

/// `GET /api/{user}/tasks{query}` as a vector, asserting 200.
pub fn tasks_seen(app: &TestApp, user: &User, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("/api/{}/tasks{query}", user.id), Some(&user.token));
    assert_eq!(resp.status, 200, "{query}: {}", resp.body);
    resp.json().as_array().expect("an array").clone()
}

/// The ids of the list's members, as `GET .../members` shows them, in order.
pub fn member_ids(app: &TestApp, user: &User, list_id: &str) -> Vec<String> {
    let resp = app.get(&members_path(user, list_id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|m| m["user_id"].as_str().expect("user_id").to_string())
        .collect()
}
