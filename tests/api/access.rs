//! The access rule each route declares in the route table, applied by the router before any handler
//! runs: walked here route by route, so a new route cannot forget the session check.

use crate::support::*;
use serde_json::json;
use todo_api::api::access::Access;
use todo_api::routes::ROUTES;

/// A body that every route's parser accepts, so no answer can be a 400 for the body alone.
fn plausible_body() -> serde_json::Value {
    json!({
        "title": "Still mine",
        "name": "Still Me",
        "password": PASSWORD,
        "current_password": PASSWORD,
        "new_password": "An0ther-Passw0rd!",
    })
}

fn concrete(template: &str, user: &str, task: i64, session: &str) -> String {
    template
        .replace("{user_id}", user)
        .replace("{task_id}", &task.to_string())
        .replace("{session_id}", session)
        .replace("{list_id}", &uuid::Uuid::new_v4().to_string())
        .replace("{invitation_id}", &uuid::Uuid::new_v4().to_string())
        .replace("{member_id}", user)
}

#[test]
fn every_route_that_needs_a_caller_refuses_a_revoked_sessions_token_with_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.user();
    let task = id_of(&app.task(&user, "A task the token could reach"));
    let second = app.signin(&user.email, PASSWORD).json();
    let second_token = second["access_token"].as_str().unwrap().to_string();
    let sessions = app.get("/api/auth/sessions", Some(&second_token)).json();
    let live_session = sessions[0]["id"].as_str().unwrap().to_string();
    let signed_out = app.send("POST", "/api/auth/signout", Some(&user.token), None);
    assert_eq!(signed_out.status, 204, "{}", signed_out.body);

    let mut walked = 0;
    for route in ROUTES.iter().filter(|r| !r.access.is_public()) {
        // Its own path and another user's: a dead session's 401 wins over 403 and 404 too.
        for owner in [&user.id, &other.id] {
            let path = concrete(route.template, owner, task, &live_session);
            let resp = app.send(
                route.method.as_str(),
                &path,
                Some(&user.token),
                Some(plausible_body()),
            );
            assert_token_refused(&resp, &format!("{} {path}", route.method.as_str()));
            walked += 1;
        }
    }
    assert!(walked >= 30, "only {walked} requests: is the table empty?");
    // None of them did anything: the task and the other session are still there.
    let still = app.get(&task_path(&user, task), Some(&second_token));
    assert_eq!(still.status, 200, "{}", still.body);
    assert_eq!(still.json()["title"], "A task the token could reach");
}

#[test]
fn only_the_service_routes_sign_up_sign_in_and_the_ticketed_event_stream_are_public() {
    let mut public: Vec<String> = ROUTES
        .iter()
        .filter(|r| r.access.is_public())
        .map(|r| format!("{} {}", r.method.as_str(), r.template))
        .collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /",
            "GET /api/{user_id}/events",
            "GET /docs",
            "GET /health",
            "GET /health/ready",
            "GET /openapi.json",
            "POST /api/auth/signin",
            "POST /api/auth/signup",
        ]
    );
}

#[test]
fn the_accounts_own_routes_need_a_session_and_task_writes_need_write_access() {
    let rule = |method: &str, template: &str| {
        let route = ROUTES
            .iter()
            .find(|r| r.method.as_str() == method && r.template == template)
            .unwrap_or_else(|| panic!("{method} {template} is in the table"));
        match route.access {
            Access::Public(_) => "public",
            Access::Account(_) => "account",
            Access::Read(_) => "read",
            Access::Write(_) => "write",
            Access::Own(_) => "own",
        }
    };
    for (method, template) in [
        ("PATCH", "/api/auth/me"),
        ("DELETE", "/api/auth/me"),
        ("PUT", "/api/auth/password"),
        ("GET", "/api/auth/sessions"),
        ("DELETE", "/api/auth/sessions"),
        ("DELETE", "/api/auth/sessions/{session_id}"),
        ("POST", "/api/auth/signout"),
    ] {
        assert_eq!(rule(method, template), "account", "{method} {template}");
    }
    for route in ROUTES.iter().filter(|r| r.template.contains("/tasks")) {
        let expected = if route.method.as_str() == "GET" {
            "read"
        } else {
            "write"
        };
        let (method, template) = (route.method.as_str(), route.template);
        assert_eq!(rule(method, template), expected, "{method} {template}");
    }
}

#[test]
fn a_path_naming_another_user_is_403_for_a_live_session_on_every_caller_route() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.user();
    let task = id_of(&app.task(&other, "Theirs"));
    for route in ROUTES.iter().filter(|r| r.template.contains("{user_id}")) {
        if route.access.is_public() {
            continue;
        }
        let path = concrete(route.template, &other.id, task, "");
        let resp = app.send(
            route.method.as_str(),
            &path,
            Some(&user.token),
            Some(plausible_body()),
        );
        assert_error(&resp, 403, "Access denied");
        let malformed = concrete(route.template, "not-a-uuid", task, "");
        let resp = app.send(route.method.as_str(), &malformed, Some(&user.token), None);
        assert_error(&resp, 403, "Access denied");
    }
    let theirs = app.get(&task_path(&other, task), Some(&other.token));
    assert_eq!(theirs.json()["title"], "Theirs");
}
