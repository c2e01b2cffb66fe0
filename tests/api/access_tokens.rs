//! Personal access tokens: made and listed by a signed-in session, stored hashed, working as a
//! Bearer token on every task and list route with their scope, refused on the account's own routes,
//! and ended at once on every instance when deleted or expired.

use crate::support::*;
use serde_json::{json, Value};
use todo_api::api::access::Access;
use todo_api::routes::ROUTES;

fn tokens_path(user: &User) -> String {
    format!("/api/{}/tokens", user.id)
}

fn make(app: &TestApp, user: &User, body: Value) -> Resp {
    app.send("POST", &tokens_path(user), Some(&user.token), Some(body))
}

fn token(app: &TestApp, user: &User, scope: &str) -> (String, String) {
    let resp = make(
        app,
        user,
        json!({ "name": format!("{scope} script"), "scope": scope }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let body = resp.json();
    (
        body["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_token_is_shown_once_starts_with_todo_and_is_stored_only_as_a_hash() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = make(
        &app,
        &user,
        json!({ "name": "backup script", "scope": "read", "expires_in_days": 30.0 }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let made = resp.json();
    let mut keys: Vec<&str> = made
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "scope",
            "token"
        ]
    );
    assert_eq!(made["name"], "backup script");
    assert_eq!(made["scope"], "read");
    assert_eq!(made["last_used_at"], Value::Null);
    let secret = made["token"].as_str().unwrap();
    assert!(
        secret.starts_with("todo_") && secret.len() >= 5 + 43,
        "{secret}"
    );
    let created = timestamp(&made["created_at"]);
    let expires = timestamp(&made["expires_at"]);
    assert_eq!((expires - created).num_days(), 30);
    let listed = app.get(&tokens_path(&user), Some(&user.token)).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("token").is_none(), "{listed}");
    assert_eq!(listed[0]["id"], made["id"]);
    // Nothing in the database holds the secret itself.
    let row = app
        .sql()
        .query_one("SELECT to_jsonb(t)::text FROM access_tokens t", &[])
        .unwrap();
    let stored: String = row.get(0);
    assert!(!stored.contains(&secret[5..]), "{stored}");
}

#[test]
fn a_write_token_reads_and_writes_tasks_and_lists_and_its_use_is_recorded() {
    let app = TestApp::spawn();
    let user = app.user();
    let (_, secret) = token(&app, &user, "write");
    let made = app.send(
        "POST",
        &tasks_path(&user),
        Some(&secret),
        Some(json!({ "title": "from a script" })),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["user_id"], user.id.as_str());
    let listed = app.get(&tasks_path(&user), Some(&secret));
    assert_eq!(array(&listed).len(), 1);
    let list = app.send(
        "POST",
        &format!("/api/{}/lists", user.id),
        Some(&secret),
        Some(json!({ "name": "Scripted" })),
    );
    assert_eq!(list.status, 201, "{}", list.body);
    let me = app.get("/api/auth/me", Some(&secret));
    assert_eq!(me.status, 200, "{}", me.body);
    let listed = app.get(&tokens_path(&user), Some(&user.token)).json();
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
}

#[test]
fn a_read_token_reads_and_every_route_that_changes_something_refuses_it_with_403() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = id_of(&app.task(&user, "kept"));
    let (_, secret) = token(&app, &user, "read");
    assert_eq!(app.get(&tasks_path(&user), Some(&secret)).status, 200);
    for route in ROUTES {
        if !matches!(route.access, Access::Write(_) | Access::Own(_)) {
            continue;
        }
        let path = route
            .template
            .replace("{user_id}", &user.id)
            .replace("{task_id}", &task.to_string())
            .replace("{list_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{invitation_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{member_id}", &user.id);
        let resp = app.send(route.method.as_str(), &path, Some(&secret), Some(json!({})));
        assert_error(&resp, 403, "This token can only read");
    }
    let kept = app.get(&task_path(&user, task), Some(&user.token)).json();
    assert_eq!(kept["title"], "kept");
}

#[test]
fn every_route_about_the_account_itself_refuses_a_token_with_403_sign_in_to_do_this() {
    let app = TestApp::spawn();
    let user = app.user();
    let (id, secret) = token(&app, &user, "write");
    let mut walked = 0;
    for route in ROUTES
        .iter()
        .filter(|r| matches!(r.access, Access::Account(_)))
    {
        let path = route
            .template
            .replace("{user_id}", &user.id)
            .replace("{session_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{token_id}", &id);
        let body = json!({ "password": PASSWORD, "current_password": PASSWORD,
                           "new_password": "An0ther-Passw0rd!", "name": "New Name", "scope": "read" });
        let resp = app.send(route.method.as_str(), &path, Some(&secret), Some(body));
        assert_error(&resp, 403, "Sign in to do this");
        walked += 1;
    }
    assert!(walked >= 10, "{walked} account routes");
    // The token, the account and its sessions are all still there.
    assert_eq!(app.get("/api/auth/me", Some(&secret)).status, 200);
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
}

#[test]
fn a_deleted_token_is_401_at_once_on_another_instance_and_an_unknown_one_is_404() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let (id, secret) = token(&a, &user, "write");
    assert_eq!(b.get(&tasks_path(&user), Some(&secret)).status, 200);
    let gone = a.send(
        "DELETE",
        &format!("{}/{id}", tokens_path(&user)),
        Some(&user.token),
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_token_refused(&b.get(&tasks_path(&user), Some(&secret)), "a deleted token");
    assert_token_refused(&a.get("/api/auth/me", Some(&secret)), "a deleted token");
    let again = a.send(
        "DELETE",
        &format!("{}/{id}", tokens_path(&user)),
        Some(&user.token),
        None,
    );
    assert_error(&again, 404, "Token not found");
    let malformed = a.send(
        "DELETE",
        &format!("{}/not-a-uuid", tokens_path(&user)),
        Some(&user.token),
        None,
    );
    assert_error(&malformed, 404, "Token not found");
    assert_token_refused(
        &a.get(&tasks_path(&user), Some("todo_made-up")),
        "a made-up token",
    );
}

#[test]
fn an_expired_token_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let (id, secret) = token(&app, &user, "write");
    app.sql()
        .execute(
            "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1::text::uuid",
            &[&id],
        )
        .unwrap();
    assert_token_refused(
        &app.get(&tasks_path(&user), Some(&secret)),
        "an expired token",
    );
}

#[test]
fn signing_out_everywhere_and_changing_the_password_leave_tokens_and_deleting_the_account_ends_them(
) {
    let app = TestApp::spawn();
    let user = app.user();
    let (_, secret) = token(&app, &user, "read");
    let out = app.send("DELETE", "/api/auth/sessions", Some(&user.token), None);
    assert_eq!(out.status, 204);
    assert_eq!(app.get(&tasks_path(&user), Some(&secret)).status, 200);
    let fresh = app.signin(&user.email, PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = app.send(
        "PUT",
        "/api/auth/password",
        Some(&fresh),
        Some(json!({ "current_password": PASSWORD, "new_password": "An0ther-Passw0rd!" })),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(app.get(&tasks_path(&user), Some(&secret)).status, 200);
    let token = changed.json()["access_token"].as_str().unwrap().to_string();
    let gone = app.send(
        "DELETE",
        "/api/auth/me",
        Some(&token),
        Some(json!({ "password": "An0ther-Passw0rd!" })),
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_token_refused(
        &app.get("/api/auth/me", Some(&secret)),
        "the token of a deleted account",
    );
}

#[test]
fn bad_token_requests_are_400_naming_the_field_and_a_user_has_at_most_50_tokens() {
    let app = TestApp::spawn();
    let user = app.user();
    for (body, field) in [
        (json!({ "name": "", "scope": "read" }), "name"),
        (json!({ "name": "x".repeat(101), "scope": "read" }), "name"),
        (json!({ "name": "n", "scope": "admin" }), "scope"),
        (
            json!({ "name": "n", "scope": "read", "expires_in_days": 0 }),
            "expires_in_days",
        ),
        (
            json!({ "name": "n", "scope": "read", "expires_in_days": 3651 }),
            "expires_in_days",
        ),
    ] {
        let resp = make(&app, &user, body.clone());
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(validation_errors(&resp)[0].0, field, "{body}");
    }
    for i in 0..50 {
        let resp = make(
            &app,
            &user,
            json!({ "name": format!("t{i}"), "scope": "read" }),
        );
        assert_eq!(resp.status, 201, "{}", resp.body);
    }
    let resp = make(&app, &user, json!({ "name": "one more", "scope": "read" }));
    assert_error(&resp, 409, "Too many tokens");
}
