//! Organising tasks, the list: filters, search, sorts, keyset pages bound to their query, and
//! the tag counts. Another user's tasks never show.

use crate::support::*;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashSet;

fn create(app: &TestApp, user: &User, body: Value) -> Value {
    let resp = app.send(
        "POST",
        &format!("/api/{}/tasks", user.id),
        Some(&user.token),
        Some(body),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()
}

fn list(app: &TestApp, user: &User, query: &str) -> Resp {
    app.get(
        &format!("/api/{}/tasks?{query}", user.id),
        Some(&user.token),
    )
}

fn titles(app: &TestApp, user: &User, query: &str) -> Vec<String> {
    let resp = list(app, user, query);
    assert_eq!(resp.status, 200, "{query}: {}", resp.body);
    resp.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

fn next_link(resp: &Resp) -> Option<String> {
    let link = resp.header("link")?;
    Some(link[link.find('<')? + 1..link.find('>')?].to_string())
}

/// A small set: one of each kind, newest last.
fn seed(app: &TestApp, user: &User) {
    for body in [
        json!({ "title": "Buy milk", "description": "and bread", "priority": "high",
                "tags": ["Shop"], "due_at": "2026-03-01T10:00:00Z" }),
        json!({ "title": "Call mum", "priority": "medium", "tags": ["family", "phone"],
                "due_at": "2026-02-01T10:00:00Z" }),
        json!({ "title": "File taxes", "description": "50% done_now", "priority": "high",
                "tags": ["money", "SHOP"], "completed": true }),
        json!({ "title": "Read book", "priority": "low", "tags": ["Family"],
                "due_at": "2026-04-01T00:00:00+02:00" }),
        json!({ "title": "Ärger klären", "tags": [] }),
    ] {
        create(app, user, body);
    }
}

#[test]
fn each_filter_alone_keeps_only_matching_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    seed(&app, &user);
    let cases: &[(&str, &[&str])] = &[
        ("status=completed", &["File taxes"]),
        (
            "status=pending",
            &["Ärger klären", "Read book", "Call mum", "Buy milk"],
        ),
        ("priority=high", &["File taxes", "Buy milk"]),
        ("priority=medium,low", &["Read book", "Call mum"]),
        ("priority=none", &["Ärger klären"]),
        ("tag=shop", &["File taxes", "Buy milk"]),
        ("tag=FAMILY", &["Read book", "Call mum"]),
        ("tag=nothing", &[]),
        ("q=MIL", &["Buy milk"]),
        ("q=bread", &["Buy milk"]),
        ("q=%25", &["File taxes"]),
        ("q=_", &["File taxes"]),
        ("q=ärger", &["Ärger klären"]),
        ("q=%C3%84RGER", &["Ärger klären"]),
        (
            "q=",
            &[
                "Ärger klären",
                "Read book",
                "File taxes",
                "Call mum",
                "Buy milk",
            ],
        ),
        ("due_before=2026-03-01T10:00:00Z", &["Call mum"]),
        ("due_after=2026-03-01T10:00:00Z", &["Read book", "Buy milk"]),
        ("due_after=2026-03-31T23:00:00%2B01:00", &["Read book"]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&app, &user, query), *expected, "{query}");
    }
}

#[test]
fn filters_combine_with_each_other_and_every_search_term_must_match() {
    let app = TestApp::spawn();
    let user = app.user();
    seed(&app, &user);
    let cases: &[(&str, &[&str])] = &[
        ("tag=family&tag=phone", &["Call mum"]),
        ("tag=shop&status=pending", &["Buy milk"]),
        ("q=milk%20bread", &["Buy milk"]),
        ("q=milk+taxes", &[]),
        (
            "q=a&priority=high&sort=title_asc",
            &["Buy milk", "File taxes"],
        ),
        (
            "due_after=2026-01-01T00:00:00Z&due_before=2026-12-31T00:00:00Z&sort=due_asc",
            &["Call mum", "Buy milk", "Read book"],
        ),
        ("priority=high,low&tag=family&q=book", &["Read book"]),
    ];
    for (query, expected) in cases {
        assert_eq!(titles(&app, &user, query), *expected, "{query}");
    }
}

#[test]
fn bad_values_of_any_parameter_are_a_400_naming_it() {
    let app = TestApp::spawn();
    let user = app.user();
    for (query, field) in [
        ("status=done", "status"),
        ("priority=urgent", "priority"),
        ("priority=high,", "priority"),
        ("priority=HIGH", "priority"),
        ("tag=", "tag"),
        ("tag=%20", "tag"),
        ("tag=a%07b", "tag"),
        ("q=a%00b", "q"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2026-01-01", "due_after"),
        ("sort=newest", "sort"),
        ("sort=", "sort"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
    ] {
        let resp = list(&app, &user, query);
        assert_eq!(resp.status, 400, "{query}: {}", resp.body);
        assert_eq!(resp.json()["errors"][0]["field"], field, "{query}");
        assert!(resp.detail().contains(field), "{query}: {}", resp.detail());
    }
    let resp = list(&app, &user, "sort=x&priority=y&status=z");
    let body = resp.json();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["status", "priority", "sort"]);
}

/// 50 tasks with ties in every sort key: shared creation and change times, four priorities,
/// repeated due dates and missing ones, titles equal but for letter case.
fn seed_fifty(app: &TestApp, user: &User) -> Vec<Value> {
    for i in 0..50 {
        let priority = ["none", "low", "medium", "high"][i % 4];
        let due = match i % 5 {
            0 | 1 => Value::Null,
            n => json!(format!("2026-0{n}-01T00:00:00Z")),
        };
        let title = [
            "apple", "Apple", "banana", "APPLE", "cherry", "Banana", "date",
        ][i % 7];
        create(
            app,
            user,
            json!({ "title": title, "priority": priority, "due_at": due, "tags": ["all"] }),
        );
    }
    let mut db = app.sql();
    db.batch_execute(
        "UPDATE tasks SET created_at = '2026-01-01Z' WHERE id % 3 = 0;
         UPDATE tasks SET created_at = '2026-01-02Z' WHERE id % 3 = 1 AND id % 2 = 0;
         UPDATE tasks SET updated_at = '2026-01-05Z' WHERE id % 4 <> 0;",
    )
    .unwrap();
    list(app, user, "").json().as_array().unwrap().clone()
}

fn expected_order(tasks: &[Value], sort: &str) -> Vec<i64> {
    let mut tasks: Vec<&Value> = tasks.iter().collect();
    let id = |t: &Value| t["id"].as_i64().unwrap();
    let s = |t: &Value, k: &str| t[k].as_str().unwrap_or_default().to_string();
    let rank = |t: &Value| {
        ["none", "low", "medium", "high"]
            .iter()
            .position(|p| t["priority"] == *p)
    };
    tasks.sort_by(|a, b| -> Ordering {
        match sort {
            "created_desc" => (s(b, "created_at"), id(b)).cmp(&(s(a, "created_at"), id(a))),
            "created_asc" => (s(a, "created_at"), id(a)).cmp(&(s(b, "created_at"), id(b))),
            "updated_desc" => (s(b, "updated_at"), id(b)).cmp(&(s(a, "updated_at"), id(a))),
            "priority_desc" => {
                (rank(b), s(b, "created_at"), id(b)).cmp(&(rank(a), s(a, "created_at"), id(a)))
            }
            "title_asc" => {
                (s(a, "title").to_lowercase(), id(a)).cmp(&(s(b, "title").to_lowercase(), id(b)))
            }
            "due_asc" => (a["due_at"].is_null(), s(a, "due_at"), id(a)).cmp(&(
                b["due_at"].is_null(),
                s(b, "due_at"),
                id(b),
            )),
            _ => unreachable!(),
        }
    });
    tasks.into_iter().map(id).collect()
}

#[test]
fn every_sort_paged_by_seven_returns_each_task_exactly_once_and_in_order() {
    let app = TestApp::spawn();
    let user = app.user();
    let tasks = seed_fifty(&app, &user);
    assert_eq!(tasks.len(), 50);
    for sort in [
        "created_desc",
        "created_asc",
        "due_asc",
        "priority_desc",
        "title_asc",
        "updated_desc",
    ] {
        let mut seen = Vec::new();
        let mut next = Some(format!(
            "/api/{}/tasks?limit=7&sort={sort}&tag=ALL",
            user.id
        ));
        let mut pages = 0;
        while let Some(path) = next {
            let resp = app.get(&path, Some(&user.token));
            assert_eq!(resp.status, 200, "{path}: {}", resp.body);
            let page = resp.json();
            assert!(page.as_array().unwrap().len() <= 7);
            seen.extend(
                page.as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_i64().unwrap()),
            );
            next = next_link(&resp);
            pages += 1;
        }
        assert_eq!(pages, 8, "{sort}");
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 50, "{sort}: a task repeated or skipped");
        assert_eq!(seen, expected_order(&tasks, sort), "{sort}");
        // Without a limit the same order comes back whole.
        let whole: Vec<i64> = list(&app, &user, &format!("sort={sort}"))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(whole, seen, "{sort}");
    }
}

#[test]
fn a_filtered_search_pages_through_its_own_matches_and_the_link_carries_the_query() {
    let app = TestApp::spawn();
    let user = app.user();
    seed_fifty(&app, &user);
    let first = list(
        &app,
        &user,
        "q=APP&priority=high,none&limit=3&sort=title_asc",
    );
    let link = next_link(&first).expect("a next page");
    for part in [
        "limit=3",
        "priority=high,none",
        "q=APP",
        "sort=title_asc",
        "cursor=",
    ] {
        assert!(link.contains(part), "{link} lacks {part}");
    }
    let mut titles = Vec::new();
    let mut next = Some(format!(
        "/api/{}/tasks?q=APP&priority=high,none&limit=3&sort=title_asc",
        user.id
    ));
    while let Some(path) = next {
        let resp = app.get(&path, Some(&user.token));
        for t in resp.json().as_array().unwrap() {
            assert!(["high", "none"].contains(&t["priority"].as_str().unwrap()));
            titles.push(t["title"].as_str().unwrap().to_lowercase());
        }
        next = next_link(&resp);
    }
    assert!(!titles.is_empty());
    assert!(titles.iter().all(|t| t == "apple"), "{titles:?}");
}

#[test]
fn a_cursor_reused_with_another_sort_or_other_filters_is_a_400() {
    let app = TestApp::spawn();
    let user = app.user();
    seed_fifty(&app, &user);
    let first = list(&app, &user, "limit=5&sort=due_asc&tag=all");
    let link = next_link(&first).unwrap();
    let cursor = &link[link.find("cursor=").unwrap() + 7..];
    assert_eq!(
        list(
            &app,
            &user,
            &format!("sort=due_asc&tag=all&cursor={cursor}")
        )
        .status,
        200
    );
    // The order of the parameters does not change the query.
    assert_eq!(
        list(
            &app,
            &user,
            &format!("tag=all&cursor={cursor}&sort=due_asc")
        )
        .status,
        200
    );
    for other in [
        "sort=due_asc",
        "sort=created_desc&tag=all",
        "tag=all",
        "sort=due_asc&tag=all&tag=x",
        "sort=due_asc&tag=all&q=apple",
        "sort=due_asc&tag=all&status=pending",
        "sort=due_asc&tag=all&status=all",
        "sort=due_asc&tag=all&priority=high",
        "sort=due_asc&tag=all&due_before=2026-05-01T00:00:00Z",
        "sort=due_asc&tag=all&due_after=2026-05-01T00:00:00Z",
    ] {
        let resp = list(&app, &user, &format!("{other}&cursor={cursor}"));
        assert_eq!(resp.status, 400, "{other}");
        assert_eq!(resp.detail(), "Cursor does not match this query", "{other}");
    }
    let stranger = app.user();
    let resp = app.get(
        &format!(
            "/api/{}/tasks?sort=due_asc&tag=all&cursor={cursor}",
            stranger.id
        ),
        Some(&stranger.token),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["errors"][0]["field"], "cursor");
}

#[test]
fn tags_are_counted_ignoring_case_most_used_first_then_by_name() {
    let app = TestApp::spawn();
    let user = app.user();
    seed(&app, &user);
    let resp = app.get(&format!("/api/{}/tags", user.id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json(),
        json!([
            { "tag": "Family", "count": 2 },
            { "tag": "SHOP", "count": 2 },
            { "tag": "money", "count": 1 },
            { "tag": "phone", "count": 1 },
        ])
    );
    let fresh = app.user();
    assert_eq!(
        app.get(&format!("/api/{}/tags", fresh.id), Some(&fresh.token))
            .json(),
        json!([])
    );
    let resp = app.get(&format!("/api/{}/tags", fresh.id), Some(&user.token));
    assert_eq!((resp.status, resp.detail()), (403, "Access denied".into()));
    assert_eq!(app.get(&format!("/api/{}/tags", user.id), None).status, 401);
}

#[test]
fn another_users_tasks_never_appear_in_any_list_search_or_tag_count() {
    let app = TestApp::spawn();
    let me = app.user();
    let other = app.user();
    seed(&app, &other);
    create(&app, &me, json!({ "title": "Mine", "tags": ["mine"] }));
    for query in [
        "",
        "status=completed",
        "priority=high",
        "tag=shop",
        "q=milk",
        "due_after=2000-01-01T00:00:00Z",
        "sort=title_asc",
        "sort=due_asc&limit=1",
        "sort=priority_desc",
        "sort=updated_desc",
        "sort=created_asc",
    ] {
        let got = titles(&app, &me, query);
        assert!(got.iter().all(|t| t == "Mine"), "{query}: {got:?}");
    }
    assert_eq!(
        app.get(&format!("/api/{}/tags", me.id), Some(&me.token))
            .json(),
        json!([{ "tag": "mine", "count": 1 }])
    );
}

#[test]
fn search_tag_filters_and_title_order_follow_an_edited_title_description_and_tags() {
    let app = TestApp::spawn();
    let user = app.user();
    seed(&app, &user);
    let milk = array(&list(&app, &user, "q=milk"))[0].clone();
    let path = task_path(&user, id_of(&milk));
    let patch = json!({ "title": "Zebra feed", "description": "hay", "tags": ["Farm"] });
    assert_eq!(
        app.send("PUT", &path, Some(&user.token), Some(patch))
            .status,
        200
    );
    assert_eq!(titles(&app, &user, "q=milk"), Vec::<String>::new());
    assert_eq!(titles(&app, &user, "q=bread"), Vec::<String>::new());
    assert_eq!(titles(&app, &user, "q=ZEBRA"), ["Zebra feed"]);
    assert_eq!(titles(&app, &user, "q=hay"), ["Zebra feed"]);
    assert_eq!(titles(&app, &user, "tag=farm"), ["Zebra feed"]);
    assert_eq!(titles(&app, &user, "tag=shop"), ["File taxes"]);
    let by_title = titles(&app, &user, "sort=title_asc");
    let at = |t: &str| by_title.iter().position(|x| x == t);
    assert!(at("Zebra feed") > at("Read book"), "{by_title:?}");

    // A toggle leaves the keys as they were.
    let toggle = format!("{path}/complete");
    assert_eq!(
        app.send("PATCH", &toggle, Some(&user.token), None).status,
        200
    );
    assert_eq!(titles(&app, &user, "q=zebra&tag=FARM"), ["Zebra feed"]);
}

#[test]
fn a_search_with_more_than_20_terms_or_a_term_over_100_characters_is_400_naming_q() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "Buy milk");
    let many = vec!["a"; 21].join("+");
    let resp = app.get(
        &format!("{}?q={many}", tasks_path(&user)),
        Some(&user.token),
    );
    assert_invalid(&resp, "q may hold at most 20 terms", &["q"]);
    let long = "m".repeat(101);
    let resp = app.get(
        &format!("{}?q={long}", tasks_path(&user)),
        Some(&user.token),
    );
    assert_invalid(
        &resp,
        "Each term of q may be at most 100 characters",
        &["q"],
    );
    // At the limits it is a search like any other.
    let twenty = vec!["m"; 20].join("+");
    let resp = app.get(
        &format!("{}?q={twenty}", tasks_path(&user)),
        Some(&user.token),
    );
    assert_eq!(array(&resp).len(), 1, "{}", resp.body);
    let resp = app.get(
        &format!("{}?q=milk+{}", tasks_path(&user), "k".repeat(100)),
        Some(&user.token),
    );
    assert_eq!(array(&resp).len(), 0, "{}", resp.body);
}

#[test]
fn a_search_finds_tasks_holding_every_term_whatever_their_lengths_and_order() {
    let app = TestApp::spawn();
    let user = app.user();
    app.task(&user, "Buy oat milk at the corner shop");
    app.task(&user, "Buy milk");
    app.task(&user, "Oat cookies");
    for (q, expected) in [
        ("oat+milk", vec!["Buy oat milk at the corner shop"]),
        ("milk+oat", vec!["Buy oat milk at the corner shop"]),
        ("at+oa+mi", vec!["Buy oat milk at the corner shop"]),
        (
            "corner+shop+buy+oat",
            vec!["Buy oat milk at the corner shop"],
        ),
        (
            "oat",
            vec!["Oat cookies", "Buy oat milk at the corner shop"],
        ),
        ("bu+mi", vec!["Buy milk", "Buy oat milk at the corner shop"]),
    ] {
        let resp = app.get(&format!("{}?q={q}", tasks_path(&user)), Some(&user.token));
        let titles: Vec<String> = array(&resp)
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(titles, expected, "q={q}");
    }
}
