//! A task's life cycle through the six routes, the fields a client may not set, and task ids.

use crate::support::*;
use chrono::Utc;
use serde_json::{json, Value};

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
