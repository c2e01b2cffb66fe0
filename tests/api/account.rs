//! The account: password change, rename, deletion.

use crate::support::*;
use serde_json::json;

const NEW_PASSWORD: &str = "N3w-passw0rd";

fn change(app: &TestApp, token: &str, current: &str, new: &str) -> Resp {
    app.send(
        "PUT",
        "/api/auth/password",
        Some(token),
        Some(json!({ "current_password": current, "new_password": new })),
    )
}

#[test]
fn a_wrong_current_password_is_400_and_changes_nothing() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = change(&app, &user.token, "Wrong-passw0rd", NEW_PASSWORD);
    assert_error(&resp, 400, "Current password is incorrect");
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
    assert_eq!(app.signin(&user.email, PASSWORD).status, 200);
    assert_eq!(app.signin(&user.email, NEW_PASSWORD).status, 401);
}

#[test]
fn a_new_password_follows_the_sign_up_rules_and_every_problem_is_listed() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = change(&app, &user.token, PASSWORD, "short");
    let errors = validation_errors(&resp);
    assert!(errors.len() >= 3, "{errors:?}");
    assert!(
        errors.iter().all(|(field, _)| field == "new_password"),
        "{errors:?}"
    );
    assert_eq!(resp.detail(), "Password must be at least 8 characters long");
    let resp = app.send(
        "PUT",
        "/api/auth/password",
        Some(&user.token),
        Some(json!({})),
    );
    let fields: Vec<String> = validation_errors(&resp)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["current_password", "new_password"]);
    assert_token_refused(&change(&app, "bad", PASSWORD, NEW_PASSWORD), "bad token");
}

#[test]
fn a_password_change_opens_a_fresh_session_and_ends_every_other() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.signin(&user.email, PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = change(&app, &user.token, PASSWORD, NEW_PASSWORD);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["email"], user.email.as_str());
    let fresh = body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/auth/me", Some(fresh)).status, 200);
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 401);
    assert_eq!(app.get("/api/auth/me", Some(&other)).status, 401);
    let sessions = app.get("/api/auth/sessions", Some(fresh)).json();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(app.signin(&user.email, PASSWORD).status, 401);
    assert_eq!(app.signin(&user.email, NEW_PASSWORD).status, 200);
}

#[test]
fn patch_me_renames_the_user_and_checks_the_name() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = app.send(
        "PATCH",
        "/api/auth/me",
        Some(&user.token),
        Some(json!({"name": "  Ada L "})),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_public_user(&resp.json(), &user.id, &user.email, "Ada L");
    assert_eq!(
        app.get("/api/auth/me", Some(&user.token)).json()["name"],
        "Ada L"
    );
    let resp = app.send(
        "PATCH",
        "/api/auth/me",
        Some(&user.token),
        Some(json!({"name": "A"})),
    );
    assert_invalid(&resp, "Name must be at least 2 characters long", &["name"]);
    let resp = app.send("PATCH", "/api/auth/me", Some(&user.token), Some(json!({})));
    assert_invalid(&resp, "Name is required", &["name"]);
    let resp = app.send("PATCH", "/api/auth/me", None, Some(json!({"name": "Bob"})));
    assert_token_refused(&resp, "no token");
}

#[test]
fn deleting_the_account_with_a_wrong_password_is_400_and_keeps_everything() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "kept");
    let resp = app.send(
        "DELETE",
        "/api/auth/me",
        Some(&user.token),
        Some(json!({"password": "Nope-1234"})),
    );
    assert_error(&resp, 400, "Password is incorrect");
    assert_eq!(
        array(&app.get(&tasks_path(&user), Some(&user.token))).len(),
        1
    );
    let resp = app.send("DELETE", "/api/auth/me", Some(&user.token), Some(json!({})));
    assert_invalid(&resp, "Password is required", &["password"]);
}

#[test]
fn deleting_the_account_removes_the_user_their_tasks_and_sessions_and_ends_every_token() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.signin(&user.email, PASSWORD).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.task(&user, "gone");
    let bystander = app.user();
    app.task(&bystander, "stays");
    let resp = app.send(
        "DELETE",
        "/api/auth/me",
        Some(&user.token),
        Some(json!({"password": PASSWORD})),
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert_token_refused(&app.get("/api/auth/me", Some(&user.token)), "deleted");
    assert_token_refused(&app.get("/api/auth/me", Some(&other)), "deleted");
    assert_eq!(app.signin(&user.email, PASSWORD).status, 401);
    let mut db = app.sql();
    let id = uuid(&user);
    for table in ["tasks", "sessions"] {
        let left: i64 = db
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE user_id = $1"),
                &[&id],
            )
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "{table}");
    }
    assert_eq!(
        array(&app.get(&tasks_path(&bystander), Some(&bystander.token))).len(),
        1
    );
    assert_eq!(app.signup("Again", &user.email, PASSWORD).status, 201);
}

#[test]
fn deleting_an_account_while_its_tasks_are_written_succeeds_at_once_and_never_answers_500() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids: Vec<i64> = (0..8)
        .map(|i| id_of(&app.task(&user, &format!("t{i}"))))
        .collect();
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for id in &ids {
            let (app, user, statuses) = (&app, &user, &statuses);
            s.spawn(move || {
                for n in 0..20 {
                    let body = json!({ "title": format!("edit {n}") });
                    let resp = app.send("PUT", &task_path(user, id), Some(&user.token), Some(body));
                    statuses.lock().unwrap().push(resp.status);
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        let body = json!({ "password": PASSWORD });
        let resp = app.send("DELETE", "/api/auth/me", Some(&user.token), Some(body));
        statuses.lock().unwrap().push(resp.status);
    });
    let statuses = statuses.into_inner().unwrap();
    assert!(
        statuses.iter().all(|s| [200, 204, 401, 404].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&204),
        "the account is deleted: {statuses:?}"
    );
}
