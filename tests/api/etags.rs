//! Entity tags: `ETag` on every task answer, `If-Match` on writes (412, changing nothing), and
//! `ETag` / `If-None-Match` / 304 on lists.

use crate::support::*;
use serde_json::json;

const CHANGED: &str = "Task was changed by someone else";

fn etag(resp: &Resp) -> String {
    resp.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", resp.headers))
        .to_string()
}

fn with_if_match(
    app: &TestApp,
    user: &User,
    method: &str,
    path: &str,
    tag: &str,
    body: Option<serde_json::Value>,
) -> Resp {
    let auth = format!("Bearer {}", user.token);
    let bytes = body.map(|b| b.to_string().into_bytes());
    let mut headers = vec![("Authorization", auth.as_str()), ("If-Match", tag)];
    if bytes.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    app.request(method, path, &headers, bytes.as_deref())
}

#[test]
fn every_answer_carrying_a_task_has_an_etag_that_changes_whenever_the_task_does() {
    let app = TestApp::spawn();
    let user = app.user();
    let created = app.send(
        "POST",
        &tasks_path(&user),
        Some(&user.token),
        Some(json!({"title": "a"})),
    );
    let first = etag(&created);
    assert!(first.starts_with('"') && first.ends_with('"'), "{first}");
    let path = task_path(&user, id_of(&created.json()));
    assert_eq!(etag(&app.get(&path, Some(&user.token))), first);
    let put = app.send("PUT", &path, Some(&user.token), Some(json!({"title": "b"})));
    let second = etag(&put);
    assert_ne!(second, first);
    let toggled = app.send(
        "PATCH",
        &format!("{path}/complete"),
        Some(&user.token),
        None,
    );
    let third = etag(&toggled);
    assert_ne!(third, second);
    assert_eq!(etag(&app.get(&path, Some(&user.token))), third);
}

#[test]
fn a_write_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({"title": "original"}));
    let path = task_path(&user, id_of(&task));
    let stale = etag(&app.get(&path, Some(&user.token)));
    let other = app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({"title": "theirs"})),
    );
    assert_eq!(other.status, 200);
    let put = with_if_match(
        &app,
        &user,
        "PUT",
        &path,
        &stale,
        Some(json!({"title": "mine"})),
    );
    assert_error(&put, 412, CHANGED);
    let toggle = with_if_match(
        &app,
        &user,
        "PATCH",
        &format!("{path}/complete"),
        &stale,
        None,
    );
    assert_error(&toggle, 412, CHANGED);
    let delete = with_if_match(&app, &user, "DELETE", &path, &stale, None);
    assert_error(&delete, 412, CHANGED);
    let now = app.get(&path, Some(&user.token)).json();
    assert_eq!(now["title"], "theirs");
    assert_eq!(now["completed"], false);
    assert_eq!(now["updated_at"], other.json()["updated_at"]);
}

#[test]
fn the_current_tag_or_a_star_lets_put_patch_and_delete_through() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({"title": "t"}));
    let path = task_path(&user, id_of(&task));
    let current = etag(&app.get(&path, Some(&user.token)));
    let put = with_if_match(
        &app,
        &user,
        "PUT",
        &path,
        &current,
        Some(json!({"title": "u"})),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let listed = format!("\"nope\", {}", etag(&put));
    let toggle = with_if_match(
        &app,
        &user,
        "PATCH",
        &format!("{path}/complete"),
        &listed,
        None,
    );
    assert_eq!(toggle.status, 200, "{}", toggle.body);
    let delete = with_if_match(&app, &user, "DELETE", &path, "*", None);
    assert_eq!(delete.status, 200, "{}", delete.body);
    let gone = with_if_match(&app, &user, "DELETE", &path, "*", None);
    assert_error(&gone, 404, "Task not found");
}

#[test]
fn a_tag_of_another_task_or_a_made_up_one_never_matches() {
    let app = TestApp::spawn();
    let user = app.user();
    let a = app.send(
        "POST",
        &tasks_path(&user),
        Some(&user.token),
        Some(json!({"title": "a"})),
    );
    let b = create(&app, &user, json!({"title": "b"}));
    let path = task_path(&user, id_of(&b));
    for tag in [etag(&a), "\"zz-zz\"".to_string(), "garbage".to_string()] {
        let resp = with_if_match(&app, &user, "PUT", &path, &tag, Some(json!({"title": "x"})));
        assert_error(&resp, 412, CHANGED);
    }
}

#[test]
fn of_ten_concurrent_writers_with_one_tag_exactly_one_wins() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({"title": "contended"}));
    let path = task_path(&user, id_of(&task));
    let tag = etag(&app.get(&path, Some(&user.token)));
    let barrier = std::sync::Barrier::new(10);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (app, user, path, tag, barrier) = (&app, &user, &path, &tag, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let body = json!({"title": format!("writer {i}")});
                    with_if_match(app, user, "PUT", path, tag, Some(body)).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        9,
        "{statuses:?}"
    );
}

#[test]
fn a_list_answers_304_to_its_own_etag_until_something_in_it_changes() {
    let app = TestApp::spawn();
    let user = app.user();
    create(&app, &user, json!({"title": "one"}));
    let auth = format!("Bearer {}", user.token);
    let first = app.get(&tasks_path(&user), Some(&user.token));
    let tag = etag(&first);
    let again = app.request(
        "GET",
        &tasks_path(&user),
        &[("Authorization", &auth), ("If-None-Match", &tag)],
        None,
    );
    assert_eq!(again.status, 304);
    assert_eq!(again.body, "");
    assert_eq!(etag(&again), tag);
    let pending = app.get(
        &format!("{}?status=pending", tasks_path(&user)),
        Some(&user.token),
    );
    assert_eq!(etag(&pending), tag, "the same tasks, the same tag");
    create(&app, &user, json!({"title": "two"}));
    let changed = app.request(
        "GET",
        &tasks_path(&user),
        &[("Authorization", &auth), ("If-None-Match", &tag)],
        None,
    );
    assert_eq!(changed.status, 200);
    assert_eq!(array(&changed).len(), 2);
    assert_ne!(etag(&changed), tag);
}
