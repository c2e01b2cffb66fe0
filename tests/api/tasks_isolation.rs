//! Two users: neither reaches the other's tasks by path, task id or list, a missing token is 401
//! before anything else is looked at, and a deleted user's token opens nothing.

use crate::support::*;
use serde_json::json;

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
            let what = format!("{method} {path} without a token");
            assert_token_refused(&app.send(method, &path, None, body.clone()), &what);
            let garbage = format!("Bearer {}x", a.token);
            let headers = [
                ("Authorization", garbage.as_str()),
                ("Content-Type", "application/json"),
            ];
            let bytes = body.map(|b| b.to_string().into_bytes());
            let resp = app.request(
                method,
                &path,
                &headers,
                Some(bytes.as_deref().unwrap_or_default()),
            );
            assert_token_refused(&resp, &format!("{method} {path} with a garbage token"));
        }
    }
    assert_eq!(
        list(&app, &a, "").len(),
        1,
        "nothing was created without a token"
    );
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
        let resp = app.send(method, &path, Some(&gone.token), body);
        assert_token_refused(
            &resp,
            &format!("{method} {path} with a deleted user's token"),
        );
    }
    assert_eq!(
        list(&app, &stays, ""),
        vec![kept],
        "other users are untouched"
    );
}
