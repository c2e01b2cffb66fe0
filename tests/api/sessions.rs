//! Sessions: every sign-in opens one, a token names it, and revoking it ends the token at once on
//! every instance sharing the database.

use crate::support::*;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.get("/api/auth/sessions", Some(token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json().as_array().expect("an array").clone()
}

fn signin_token(app: &TestApp, user: &User, agent: &str) -> String {
    let resp = app.request(
        "POST",
        "/api/auth/signin",
        &[("Content-Type", "application/json"), ("User-Agent", agent)],
        Some(
            json!({ "email": user.email, "password": PASSWORD })
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["access_token"].as_str().unwrap().to_string()
}

fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/auth/me", Some(token)).status
}

#[test]
fn each_sign_in_opens_a_session_listed_newest_first_with_its_user_agent() {
    let app = TestApp::spawn();
    let user = app.user();
    let phone = signin_token(&app, &user, "Phone/1.0");
    let laptop = signin_token(&app, &user, "Laptop/2.0");
    let list = sessions(&app, &laptop);
    assert_eq!(list.len(), 3, "sign-up, phone, laptop: {list:?}");
    assert_eq!(list[0]["user_agent"], "Laptop/2.0");
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[1]["user_agent"], "Phone/1.0");
    assert_eq!(list[1]["current"], false);
    for s in &list {
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{s}");
        for key in ["id", "created_at", "last_used_at", "user_agent", "current"] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
    }
    let from_phone = sessions(&app, &phone);
    assert_eq!(from_phone[1]["current"], true);
}

#[test]
fn signing_out_ends_that_token_only() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = signin_token(&app, &user, "Other");
    let resp = app.send("POST", "/api/auth/signout", Some(&user.token), None);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(resp.body.is_empty());
    assert_token_refused(&app.get("/api/auth/me", Some(&user.token)), "signed out");
    assert_token_refused(
        &app.get(&tasks_path(&user), Some(&user.token)),
        "signed out",
    );
    assert_token_refused(
        &app.send("POST", "/api/auth/signout", Some(&user.token), None),
        "signed out twice",
    );
    assert_eq!(me_status(&app, &other), 200);
    assert_eq!(sessions(&app, &other).len(), 1);
}

#[test]
fn a_token_signed_out_on_one_server_is_refused_by_another_on_its_next_request() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let task = a.task(&user, "shared");
    let path = task_path(&user, id_of(&task));
    assert_eq!(b.get(&path, Some(&user.token)).status, 200);
    assert_eq!(
        a.send("POST", "/api/auth/signout", Some(&user.token), None)
            .status,
        204
    );
    assert_token_refused(
        &b.get(&path, Some(&user.token)),
        "revoked on the other server",
    );
    assert_token_refused(&b.get(&tasks_path(&user), Some(&user.token)), "list on B");
    let toggle = format!("{path}/complete");
    assert_token_refused(
        &b.send("PATCH", &toggle, Some(&user.token), None),
        "toggle on B",
    );
    let body = json!({ "title": "after sign-out" });
    assert_token_refused(
        &b.send("POST", &tasks_path(&user), Some(&user.token), Some(body)),
        "create on B",
    );
}

#[test]
fn signing_out_everywhere_ends_every_token_of_the_user_the_current_one_too() {
    let app = TestApp::spawn();
    let user = app.user();
    let second = signin_token(&app, &user, "Second");
    let bystander = app.user();
    let resp = app.send("DELETE", "/api/auth/sessions", Some(&second), None);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert_eq!(me_status(&app, &user.token), 401);
    assert_eq!(me_status(&app, &second), 401);
    assert_eq!(me_status(&app, &bystander.token), 200);
    let fresh = signin_token(&app, &user, "Fresh");
    assert_eq!(sessions(&app, &fresh).len(), 1);
}

#[test]
fn deleting_one_session_ends_that_token_and_others_answer_session_not_found() {
    let app = TestApp::spawn();
    let user = app.user();
    let phone = signin_token(&app, &user, "Phone");
    let list = sessions(&app, &user.token);
    let phone_id = list.iter().find(|s| s["user_agent"] == "Phone").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/auth/sessions/{phone_id}");
    let stranger = app.user();
    assert_error(
        &app.send("DELETE", &path, Some(&stranger.token), None),
        404,
        "Session not found",
    );
    assert_eq!(me_status(&app, &phone), 200, "a stranger cannot end it");
    assert_eq!(
        app.send("DELETE", &path, Some(&user.token), None).status,
        204
    );
    assert_eq!(me_status(&app, &phone), 401);
    assert_eq!(me_status(&app, &user.token), 200);
    assert_error(
        &app.send("DELETE", &path, Some(&user.token), None),
        404,
        "Session not found",
    );
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let resp = app.send(
            "DELETE",
            &format!("/api/auth/sessions/{bad}"),
            Some(&user.token),
            None,
        );
        assert_error(&resp, 404, "Session not found");
    }
    let resp = app.send("DELETE", &path, None, None);
    assert_token_refused(&resp, "no token");
}

/// A token from before sessions existed: the same claims, without `sid`.
fn legacy_token(user: &User) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": user.id, "user_id": user.id, "email": user.email, "iat": now, "exp": now + 3600,
    });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[test]
fn a_token_without_a_session_keeps_working_until_its_user_signs_out_everywhere() {
    let app = TestApp::spawn();
    let user = app.user();
    let old = legacy_token(&user);
    assert_eq!(me_status(&app, &old), 200);
    let task = app.send(
        "POST",
        &tasks_path(&user),
        Some(&old),
        Some(json!({"title": "t"})),
    );
    assert_eq!(task.status, 201, "{}", task.body);
    assert_eq!(app.get(&tasks_path(&user), Some(&old)).status, 200);
    let list = sessions(&app, &old);
    assert!(list.iter().all(|s| s["current"] == false), "{list:?}");
    assert_eq!(
        app.send("DELETE", "/api/auth/sessions", Some(&user.token), None)
            .status,
        204
    );
    assert_eq!(me_status(&app, &old), 401);
    assert_eq!(app.get(&tasks_path(&user), Some(&old)).status, 401);
}

#[test]
fn a_token_without_a_session_is_refused_once_its_user_is_gone() {
    let app = TestApp::spawn();
    let user = app.user();
    let old = legacy_token(&user);
    app.sql()
        .execute("DELETE FROM users WHERE email = $1", &[&user.email])
        .unwrap();
    assert_token_refused(&app.get("/api/auth/me", Some(&old)), "user deleted");
    assert_token_refused(&app.get(&tasks_path(&user), Some(&old)), "user deleted");
}

#[test]
fn last_used_at_is_recorded_when_a_session_is_used() {
    let app = TestApp::spawn();
    let user = app.user();
    app.sql()
        .execute(
            "UPDATE sessions SET last_used_at = now() - interval '1 day'",
            &[],
        )
        .unwrap();
    // This instance has not recorded the session's use yet, so the first request writes it.
    let other = signin_token(&app, &user, "Other");
    assert_eq!(me_status(&app, &other), 200);
    let list = sessions(&app, &user.token);
    let used = |s: &Value| timestamp(&s["last_used_at"]);
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    assert!(chrono::Utc::now() - used(current) < chrono::Duration::minutes(1));
}

#[test]
fn a_revoked_token_is_401_even_where_the_request_is_also_wrong_otherwise() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.user();
    assert_eq!(
        app.send("POST", "/api/auth/signout", Some(&user.token), None)
            .status,
        204
    );
    let t = Some(user.token.as_str());
    let cases = [
        app.get(&format!("{}/abc", tasks_path(&user)), t),
        app.get(&tasks_path(&other), t),
        app.get(&format!("{}?status=nope", tasks_path(&user)), t),
        app.get(&format!("{}?sort=title_asc&limit=5", tasks_path(&user)), t),
        app.get(&format!("/api/{}/tags", user.id), t),
        app.get(&task_path(&user, 999_999), t),
        app.send("POST", &tasks_path(&user), t, Some(json!({"title": ""}))),
        app.send("PUT", &task_path(&user, 1), t, Some(json!({}))),
        app.send("PATCH", "/api/auth/me", t, Some(json!({"name": "x"}))),
        app.send("PUT", "/api/auth/password", t, Some(json!({}))),
        app.send("DELETE", "/api/auth/me", t, Some(json!({}))),
        app.send("DELETE", "/api/auth/sessions/nope", t, None),
    ];
    for resp in &cases {
        assert_token_refused(resp, "revoked, and wrong otherwise too");
    }
}
