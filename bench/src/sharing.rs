//! Lists and sharing set up through the HTTP API, as people do it (contract part 3): a list made by
//! its owner, an invitation to each other member, each accepted by its invitee; tasks made in it.

use crate::http;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A signed-in user.
#[derive(Clone)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// One API call that must answer `expect`; its JSON body.
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
    expect: u16,
) -> Result<Value, String> {
    let body = body.map(Value::to_string);
    let reply = http::request(addr, method, path, Some(token), body.as_deref(), TIMEOUT)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    if reply.status != expect {
        return Err(format!(
            "{method} {path} answered {} (expected {expect}): {}",
            reply.status, reply.body
        ));
    }
    http::json(&reply)
}

fn uuid_of(v: &Value, what: &str) -> Result<Uuid, String> {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no id in the {what}: {v}"))
}

/// `PUT /api/{user}/tasks/{id}` with `body`, which must answer 200.
pub fn put_task(addr: SocketAddr, user: &Member, id: i64, body: &Value) -> Result<(), String> {
    let path = format!("/api/{}/tasks/{id}", user.id);
    call(addr, "PUT", &path, &user.token, Some(body), 200).map(|_| ())
}

/// `POST /api/{owner}/lists`: a new list of `owner`'s.
pub fn create_list(addr: SocketAddr, owner: &Member, name: &str) -> Result<Uuid, String> {
    let body = serde_json::json!({ "name": name });
    let list = call(
        addr,
        "POST",
        &format!("/api/{}/lists", owner.id),
        &owner.token,
        Some(&body),
        201,
    )?;
    uuid_of(&list, "new list")
}

/// Every one of `others` invited to `list` as an editor by its owner, and accepting.
pub fn share(
    addr: SocketAddr,
    owner: &Member,
    list: Uuid,
    others: &[Member],
) -> Result<(), String> {
    for m in others {
        let body = serde_json::json!({ "email": m.email, "role": "editor" });
        let invitation = call(
            addr,
            "POST",
            &format!("/api/{}/lists/{list}/invitations", owner.id),
            &owner.token,
            Some(&body),
            201,
        )?;
        let id = uuid_of(&invitation, "invitation")?;
        call(
            addr,
            "POST",
            &format!("/api/{}/invitations/{id}/accept", m.id),
            &m.token,
            None,
            200,
        )?;
    }
    Ok(())
}

/// `POST /api/{who}/tasks` with `list_id`: the new task's id.
pub fn create_task(addr: SocketAddr, who: &Member, list: Uuid, title: &str) -> Result<i64, String> {
    let body = serde_json::json!({ "title": title, "list_id": list });
    let task = call(
        addr,
        "POST",
        &format!("/api/{}/tasks", who.id),
        &who.token,
        Some(&body),
        201,
    )?;
    task["id"]
        .as_i64()
        .ok_or_else(|| format!("no id in the new task: {task}"))
}

/// `GET path` (a JSON array) as `who`: how many entries it has.
pub fn count(addr: SocketAddr, who: &Member, path: &str) -> Result<usize, String> {
    let v = call(addr, "GET", path, &who.token, None, 200)?;
    v.as_array()
        .map(Vec::len)
        .ok_or_else(|| format!("GET {path}: not an array: {v}"))
}
