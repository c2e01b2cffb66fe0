//! Listing tasks: newest first, status filters, query validation, and ten thousand tasks at once.

use crate::support::*;
use serde_json::json;
use std::collections::HashSet;

#[test]
fn tasks_created_in_a_burst_come_back_newest_first_and_stay_in_that_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut created = create_many(&app, &user, 20, "burst");
    created.reverse();
    let first = list(&app, &user, "");
    assert_eq!(ids(&first), created);
    assert_newest_first(&first);
    for _ in 0..3 {
        assert_eq!(list(&app, &user, ""), first, "the same order on every call");
    }

    // Ties on created_at are broken by the higher id first.
    let oldest_five: Vec<i64> = created[15..].to_vec();
    app.sql()
        .execute("UPDATE tasks SET created_at = '2100-01-01T00:00:00Z' WHERE user_id = $1 AND id = ANY($2)", &[&uuid(&user), &oldest_five])
        .expect("move five tasks to one future instant");
    let tied = list(&app, &user, "");
    assert_newest_first(&tied);
    let mut expected = oldest_five.clone();
    expected.extend(&created[..15]);
    assert_eq!(ids(&tied), expected);
    assert_eq!(tied[0]["created_at"], "2100-01-01T00:00:00.000000Z");
    let paged: Vec<i64> = walk(
        &app,
        &user,
        &format!("{}?limit=3", tasks_path(&user)),
        || {},
    )
    .iter()
    .flat_map(|p| ids(p))
    .collect();
    assert_eq!(paged, expected, "pages keep the tie order too");
}

#[test]
fn status_filters_return_exactly_the_pending_or_completed_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut completed = HashSet::new();
    for i in 0..12 {
        let done = i % 4 == 0;
        let task = create(
            &app,
            &user,
            json!({ "title": format!("task {i}"), "completed": done }),
        );
        if done {
            completed.insert(id_of(&task));
        }
    }
    let all = list(&app, &user, "");
    // Complete two more by toggling and one by PUT; reopen one of the created-completed ones.
    let toggled = [id_of(&all[1]), id_of(&all[2])];
    let toggle = |id: i64| {
        let resp = app.send(
            "PATCH",
            &format!("{}/complete", task_path(&user, id)),
            Some(&user.token),
            None,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
    };
    for id in toggled {
        toggle(id);
        completed.insert(id);
    }
    let put = id_of(&all[4]);
    let resp = app.send(
        "PUT",
        &task_path(&user, put),
        Some(&user.token),
        Some(json!({ "completed": true })),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    completed.insert(put);
    let reopened = *completed
        .iter()
        .find(|id| !toggled.contains(id) && **id != put)
        .expect("a created-completed task");
    toggle(reopened);
    completed.remove(&reopened);

    let all = list(&app, &user, "");
    assert_eq!(list(&app, &user, "?status=all"), all);
    let expect = |done: bool| -> Vec<i64> {
        ids(&all)
            .into_iter()
            .filter(|id| completed.contains(id) == done)
            .collect()
    };
    let pending = list(&app, &user, "?status=pending");
    let finished = list(&app, &user, "?status=completed");
    assert_eq!(ids(&pending), expect(false));
    assert_eq!(ids(&finished), expect(true));
    assert!(pending.iter().all(|t| t["completed"] == false));
    assert!(finished.iter().all(|t| t["completed"] == true));
    assert_eq!(pending.len() + finished.len(), 12);
    assert_eq!(finished.len(), completed.len());
}

#[test]
fn a_status_filter_other_than_all_pending_or_completed_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "t");
    let detail = "status must be one of: all, pending, completed";
    for query in [
        "?status=done",
        "?status=",
        "?status=ALL",
        "?status=pending%20",
        "?limit=5&status=x",
    ] {
        assert_invalid(
            &app.get(&format!("{}{query}", tasks_path(&user)), Some(&user.token)),
            detail,
            &["status"],
        );
    }
    let both = app.get(
        &format!("{}?status=done&limit=0", tasks_path(&user)),
        Some(&user.token),
    );
    assert_invalid(&both, detail, &["status", "limit"]);
}

#[test]
fn a_limit_outside_1_to_1000_or_not_a_number_is_400() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "t");
    for limit in ["0", "1001", "abc", "-1", "", "1.5", "99999999999999999999"] {
        let resp = app.get(
            &format!("{}?limit={limit}", tasks_path(&user)),
            Some(&user.token),
        );
        assert_invalid(&resp, "limit must be an integer from 1 to 1000", &["limit"]);
    }
    for limit in ["1", "1000"] {
        assert_eq!(
            list(&app, &user, &format!("?limit={limit}")).len(),
            1,
            "limit={limit}"
        );
    }
}

#[test]
fn a_user_with_ten_thousand_tasks_gets_all_of_them_from_a_plain_get() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let mut db = app.sql();
    let seeded = db
        .execute(
            "INSERT INTO tasks (user_id, list_id, title)
             SELECT $1::uuid, $2::text::uuid, 'task ' || g FROM generate_series(1, 10000) g",
            &[&uuid(&user), &inbox_id(&app, &user)],
        )
        .expect("seed 10,000 tasks");
    assert_eq!(seeded, 10_000);
    app.task(&other, "someone else's");
    let expected: Vec<i64> = db
        .query(
            "SELECT id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
            &[&uuid(&user)],
        )
        .expect("read the seeded ids")
        .iter()
        .map(|row| row.get(0))
        .collect();

    let tasks = list(&app, &user, "");
    assert_eq!(tasks.len(), 10_000);
    assert_eq!(ids(&tasks), expected);
    assert_newest_first(&tasks);
    assert!(tasks.iter().all(|t| t["user_id"] == user.id.as_str()));
    let titles: HashSet<&str> = tasks.iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles.len(), 10_000);
    assert_task(&tasks[0], &user);
    assert_eq!(list(&app, &user, "?status=pending").len(), 10_000);
    assert!(list(&app, &user, "?status=completed").is_empty());
    assert_eq!(list(&app, &user, "?limit=1000").len(), 1000);
}

#[test]
fn the_whole_list_asked_again_shows_every_change_made_through_another_server() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let first = a.task(&user, "first");
    let second = a.task(&user, "second");
    let before = list(&a, &user, "");
    assert_eq!(list(&a, &user, ""), before, "asked twice, nothing changed");

    let toggle = format!("{}/complete", task_path(&user, id_of(&first)));
    assert_eq!(
        b.send("PATCH", &toggle, Some(&user.token), None).status,
        200
    );
    let after = array(&a.get(&tasks_path(&user), Some(&user.token)));
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after[1]["completed"], true, "toggled on the other server");

    let third = b.task(&user, "third");
    let path = task_path(&user, id_of(&second));
    assert_eq!(b.send("DELETE", &path, Some(&user.token), None).status, 200);
    let now = array(&a.get(&tasks_path(&user), Some(&user.token)));
    assert_eq!(ids(&now), [id_of(&third), id_of(&first)]);
}

#[test]
fn the_whole_list_after_edits_on_one_server_is_to_the_byte_what_another_server_reads_afresh() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let tasks: Vec<i64> = ["one", "two", "three"]
        .iter()
        .map(|t| id_of(&a.task(&user, t)))
        .collect();
    let _ = a.get(&tasks_path(&user), Some(&user.token));
    let edit = json!({ "title": "two, now a much longer title", "tags": ["Home"] });
    let writes = [
        (
            "PATCH",
            format!("{}/complete", task_path(&user, tasks[2])),
            None,
        ),
        ("PUT", task_path(&user, tasks[1]), Some(edit)),
        (
            "PATCH",
            format!("{}/complete", task_path(&user, tasks[0])),
            None,
        ),
        (
            "PUT",
            task_path(&user, tasks[2]),
            Some(json!({ "title": "3" })),
        ),
    ];
    for (method, path, body) in writes {
        assert_eq!(a.send(method, &path, Some(&user.token), body).status, 200);
        let here = a.get(&tasks_path(&user), Some(&user.token));
        let there = b.get(&tasks_path(&user), Some(&user.token));
        assert_eq!(here.body, there.body, "after {method} {path}");
        assert_eq!(here.header("etag"), there.header("etag"));
    }
    let now = array(&a.get(&tasks_path(&user), Some(&user.token)));
    assert_eq!(now[1]["title"], "two, now a much longer title");
    assert_eq!(now[0]["title"], "3");
}

#[test]
fn the_whole_list_asked_again_shows_a_change_written_straight_into_the_database() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = app.task(&user, "as created");
    let _ = list(&app, &user, "");
    app.sql()
        .execute(
            "UPDATE tasks SET title = 'changed in SQL' WHERE id = $1",
            &[&id_of(&task)],
        )
        .expect("update the title in SQL");
    let now = array(&app.get(&tasks_path(&user), Some(&user.token)));
    assert_eq!(now[0]["title"], "changed in SQL");
}

#[test]
fn the_whole_list_asked_again_after_sign_out_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "kept");
    assert_eq!(app.get(&tasks_path(&user), Some(&user.token)).status, 200);
    let out = app.send("POST", "/api/auth/signout", Some(&user.token), None);
    assert_eq!(out.status, 204);
    assert_token_refused(
        &app.get(&tasks_path(&user), Some(&user.token)),
        "the list unchanged since it was last served",
    );
}
