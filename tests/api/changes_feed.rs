//! The changes feed: an initial sync, changes and deletions after a cursor, pages, tombstones
//! purged after TOMBSTONE_DAYS (410 for an older cursor), and no change ever missed while others
//! write concurrently.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

fn feed(app: &TestApp, user: &User, query: &str) -> Value {
    let resp = app.get(
        &format!("/api/{}/changes{query}", user.id),
        Some(&user.token),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

fn cursor(page: &Value) -> String {
    page["cursor"].as_str().expect("a cursor").to_string()
}

fn task_ids(page: &Value) -> Vec<i64> {
    page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(id_of)
        .collect()
}

fn deleted(page: &Value) -> Vec<i64> {
    page["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .map(|v| v.as_i64().expect("an id"))
        .collect()
}

#[test]
fn an_initial_sync_returns_every_current_task_and_a_cursor() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids = create_many(&app, &user, 3, "task");
    app.send("DELETE", &task_path(&user, ids[1]), Some(&user.token), None);
    let page = feed(&app, &user, "");
    assert_eq!(task_ids(&page), [ids[0], ids[2]]);
    assert_eq!(deleted(&page), Vec::<i64>::new());
    assert_eq!(page["has_more"], false);
    for task in page["tasks"].as_array().unwrap() {
        assert_task(task, &user);
    }
    let nothing = feed(&app, &user, &format!("?since={}", cursor(&page)));
    assert_eq!(task_ids(&nothing), Vec::<i64>::new());
    assert_eq!(deleted(&nothing), Vec::<i64>::new());
}

#[test]
fn a_sync_after_a_cursor_returns_what_changed_in_its_current_state_and_what_was_deleted() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids = create_many(&app, &user, 4, "task");
    let start = cursor(&feed(&app, &user, ""));
    app.send(
        "PUT",
        &task_path(&user, ids[0]),
        Some(&user.token),
        Some(json!({"title": "renamed"})),
    );
    app.send(
        "PATCH",
        &format!("{}/complete", task_path(&user, ids[0])),
        Some(&user.token),
        None,
    );
    app.send("DELETE", &task_path(&user, ids[2]), Some(&user.token), None);
    let new = id_of(&app.task(&user, "new"));
    let page = feed(&app, &user, &format!("?since={start}"));
    assert_eq!(task_ids(&page), [ids[0], new]);
    assert_eq!(page["tasks"][0]["title"], "renamed");
    assert_eq!(page["tasks"][0]["completed"], true);
    assert_eq!(deleted(&page), [ids[2]]);
    assert_eq!(page["has_more"], false);
}

#[test]
fn a_small_limit_pages_through_changes_with_has_more() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids = create_many(&app, &user, 5, "task");
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    for round in 0.. {
        assert!(round < 10, "the paging does not end");
        let page = feed(&app, &user, &query);
        seen.extend(task_ids(&page));
        if page["has_more"] == false {
            break;
        }
        query = format!("?limit=2&since={}", cursor(&page));
    }
    assert_eq!(seen, ids);
}

#[test]
fn a_bad_limit_or_cursor_is_a_400_and_another_users_path_a_403() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.user();
    let path = format!("/api/{}/changes", user.id);
    for query in ["?limit=0", "?limit=1001", "?limit=x"] {
        let resp = app.get(&format!("{path}{query}"), Some(&user.token));
        assert_invalid(&resp, "limit must be an integer from 1 to 1000", &["limit"]);
    }
    let theirs = cursor(&feed(&app, &other, ""));
    for since in ["garbage", theirs.as_str()] {
        let resp = app.get(&format!("{path}?since={since}"), Some(&user.token));
        assert_invalid(
            &resp,
            "since is not valid: use the cursor of a previous answer",
            &["since"],
        );
    }
    let resp = app.get(&format!("/api/{}/changes", other.id), Some(&user.token));
    assert_error(&resp, 403, "Access denied");
    assert_token_refused(&app.get(&path, None), "no token");
}

#[test]
fn tombstones_are_purged_after_tombstone_days_and_an_older_cursor_is_410() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids = create_many(&app, &user, 2, "task");
    let before = cursor(&feed(&app, &user, ""));
    app.send("DELETE", &task_path(&user, ids[0]), Some(&user.token), None);
    let after = cursor(&feed(&app, &user, ""));
    app.sql()
        .execute(
            "UPDATE list_tombstones SET deleted_at = now() - interval '31 days'",
            &[],
        )
        .unwrap();
    // A fresh instance purges on its first sign-up.
    let other = app.beside(|_| {});
    other.user();
    let left: i64 = app
        .sql()
        .query_one("SELECT count(*) FROM list_tombstones", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let resp = app.get(
        &format!("/api/{}/changes?since={before}", user.id),
        Some(&user.token),
    );
    assert_error(&resp, 410, "Sync cursor expired; fetch the full list again");
    let fine = feed(&app, &user, &format!("?since={after}"));
    assert_eq!(task_ids(&fine), Vec::<i64>::new());
}

/// Applies pages until `has_more` is false; returns the last cursor.
fn sync(app: &TestApp, user: &User, copy: &mut HashMap<i64, Value>, since: &str) -> String {
    let mut at = since.to_string();
    loop {
        let query = if at.is_empty() {
            String::new()
        } else {
            format!("?since={at}&limit=7")
        };
        let page = feed(app, user, &query);
        for task in page["tasks"].as_array().unwrap() {
            copy.insert(id_of(task), task.clone());
        }
        for id in deleted(&page) {
            copy.remove(&id);
        }
        at = cursor(&page);
        if page["has_more"] == false {
            return at;
        }
    }
}

#[test]
fn a_reader_syncing_while_four_writers_create_edit_and_delete_ends_with_the_servers_list() {
    let app = TestApp::with(|c| {
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let user = app.user();
    let done = AtomicBool::new(false);
    let mut copy = HashMap::new();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (app, user) = (&app, &user);
                s.spawn(move || {
                    let mut mine: Vec<i64> = Vec::new();
                    for i in 0..60 {
                        match (i % 5, mine.len()) {
                            (3, n) if n > 0 => {
                                let id = mine[(i * 7) % n];
                                let path = format!("{}/complete", task_path(user, id));
                                app.send("PATCH", &path, Some(&user.token), None);
                            }
                            (4, n) if n > 1 => {
                                let id = mine.remove((i * 3) % n);
                                app.send("DELETE", &task_path(user, id), Some(&user.token), None);
                            }
                            (2, n) if n > 0 => {
                                let body = json!({"title": format!("w{w} edit {i}")});
                                let path = task_path(user, mine[i % n]);
                                app.send("PUT", &path, Some(&user.token), Some(body));
                            }
                            _ => mine.push(id_of(&app.task(user, &format!("w{w} task {i}")))),
                        }
                    }
                })
            })
            .collect();
        let mut at = String::new();
        while !done.load(Ordering::SeqCst) {
            at = sync(&app, &user, &mut copy, &at);
            if writers.iter().all(|w| w.is_finished()) {
                done.store(true, Ordering::SeqCst);
            }
        }
        at = sync(&app, &user, &mut copy, &at);
        let _ = at;
    });
    let server: HashMap<i64, Value> = list(&app, &user, "")
        .into_iter()
        .map(|t| (id_of(&t), t))
        .collect();
    assert!(
        server.len() > 20,
        "the writers left tasks: {}",
        server.len()
    );
    assert_eq!(copy.len(), server.len());
    for (id, task) in &server {
        assert_eq!(copy.get(id), Some(task), "task {id}");
    }
}
