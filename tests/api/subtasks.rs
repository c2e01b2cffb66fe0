//! Subtasks (contract part 3, "Subtasks and recurring tasks"): `parent_id` in the same list, at
//! most 4 levels below a top-level task, never its own ancestor (also under concurrent writes);
//! deleting a task deletes its subtree (reported to every member), moving one moves it; the
//! `parent` filter; and a viewer's write refused.

use crate::support::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const SAME_LIST: &str = "The parent must be a task in the same list";
const OWN_ANCESTOR: &str = "A task cannot be its own ancestor";
const TOO_DEEP: &str = "Subtasks go at most 4 levels below a top-level task";

/// `POST` a task titled `title` under `parent` (in the caller's default list).
fn post_child(app: &TestApp, user: &User, parent: i64, title: &str) -> Resp {
    app.send(
        "POST",
        &tasks_path(user),
        Some(&user.token),
        Some(json!({ "title": title, "parent_id": parent })),
    )
}

/// A task titled `title` under `parent` in `list`, asserting 201 and the parent it got.
fn child_in(app: &TestApp, user: &User, list: &str, parent: i64, title: &str) -> Value {
    let resp = post_task(
        app,
        user,
        json!({ "title": title, "list_id": list, "parent_id": parent }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_eq!(task["parent_id"], parent, "{task}");
    assert_eq!(task["list_id"], list, "{task}");
    task
}

fn put(app: &TestApp, user: &User, id: i64, body: Value) -> Resp {
    app.send("PUT", &task_path(user, id), Some(&user.token), Some(body))
}

/// `GET` one task, asserting 200.
fn fetch(app: &TestApp, user: &User, id: i64) -> Value {
    let resp = app.get(&task_path(user, id), Some(&user.token));
    assert_eq!(resp.status, 200, "task {id}: {}", resp.body);
    resp.json()
}

fn parent_of(app: &TestApp, user: &User, id: i64) -> Option<i64> {
    fetch(app, user, id)["parent_id"].as_i64()
}

fn deleted_in(page: &Value) -> HashSet<i64> {
    page["deleted"]
        .as_array()
        .unwrap_or_else(|| panic!("no deleted: {page}"))
        .iter()
        .map(|v| v.as_i64().expect("an id"))
        .collect()
}

fn task_ids_in(page: &Value) -> HashSet<i64> {
    page["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

#[test]
fn a_chain_four_levels_below_a_top_level_task_is_accepted_and_a_fifth_level_is_a_400() {
    let app = TestApp::spawn();
    let user = app.user();
    let top = app.task(&user, "top");
    assert_eq!(top["parent_id"], Value::Null, "{top}");
    let mut chain = vec![id_of(&top)];
    for level in 1..=4 {
        let resp = post_child(
            &app,
            &user,
            *chain.last().unwrap(),
            &format!("level {level}"),
        );
        assert_eq!(resp.status, 201, "level {level}: {}", resp.body);
        let task = resp.json();
        assert_task(&task, &user);
        assert_eq!(task["parent_id"], *chain.last().unwrap(), "{task}");
        chain.push(id_of(&task));
    }
    for pair in chain.windows(2) {
        assert_eq!(parent_of(&app, &user, pair[1]), Some(pair[0]));
    }

    let fifth = post_child(&app, &user, chain[4], "level 5");
    assert_invalid(&fifth, TOO_DEEP, &["parent_id"]);
    // Nor by PUT: a top-level task hung under the deepest one.
    let loose = id_of(&app.task(&user, "loose"));
    let moved = put(&app, &user, loose, json!({ "parent_id": chain[4] }));
    assert_invalid(&moved, TOO_DEEP, &["parent_id"]);
    assert_eq!(
        parent_of(&app, &user, loose),
        None,
        "the refused PUT changed nothing"
    );
    // A task with a subtask of its own counts its levels too: under level 3 it would put its
    // subtask 5 levels down.
    let with_child = id_of(&app.task(&user, "with a child"));
    let grandchild = post_child(&app, &user, with_child, "its child");
    assert_eq!(grandchild.status, 201, "{}", grandchild.body);
    let deep = put(&app, &user, with_child, json!({ "parent_id": chain[3] }));
    assert_invalid(&deep, TOO_DEEP, &["parent_id"]);
    let fits = put(&app, &user, with_child, json!({ "parent_id": chain[2] }));
    assert_eq!(fits.status, 200, "{}", fits.body);
    assert_eq!(fits.json()["parent_id"], chain[2]);
    // parent_id null makes a subtask a top-level task again.
    let detached = put(&app, &user, chain[4], json!({ "parent_id": null }));
    assert_eq!(detached.status, 200, "{}", detached.body);
    assert_eq!(detached.json()["parent_id"], Value::Null);
    assert_eq!(parent_of(&app, &user, chain[4]), None);
}

#[test]
fn making_a_task_its_own_ancestor_by_put_is_a_400_with_the_contracts_detail() {
    let app = TestApp::spawn();
    let user = app.user();
    let a = id_of(&app.task(&user, "a"));
    let b = post_child(&app, &user, a, "b");
    assert_eq!(b.status, 201, "{}", b.body);
    let b = id_of(&b.json());
    let c = post_child(&app, &user, b, "c");
    assert_eq!(c.status, 201, "{}", c.body);
    let c = id_of(&c.json());

    for (task, parent) in [(a, c), (a, b), (b, c), (a, a), (c, c)] {
        let resp = put(&app, &user, task, json!({ "parent_id": parent }));
        assert_invalid(&resp, OWN_ANCESTOR, &["parent_id"]);
        assert_eq!(resp.detail(), OWN_ANCESTOR, "task {task} under {parent}");
    }
    assert_eq!(parent_of(&app, &user, a), None);
    assert_eq!(parent_of(&app, &user, b), Some(a));
    assert_eq!(parent_of(&app, &user, c), Some(b));
    // The same in one PUT with other fields: nothing of it is applied.
    let resp = put(
        &app,
        &user,
        a,
        json!({ "parent_id": c, "title": "renamed" }),
    );
    assert_invalid(&resp, OWN_ANCESTOR, &["parent_id"]);
    assert_eq!(fetch(&app, &user, a)["title"], "a");
}

#[test]
fn a_parent_in_another_list_of_the_caller_or_an_unknown_one_is_a_400_naming_parent_id() {
    let app = TestApp::spawn();
    let user = app.user();
    let inbox = inbox_id(&app, &user);
    let other = id_str(&new_list(&app, &user, "Other"));
    let in_inbox = id_of(&task_in(&app, &user, &inbox, "in the inbox"));
    let in_other = id_of(&task_in(&app, &user, &other, "in the other list"));

    let resp = post_task(
        &app,
        &user,
        json!({ "title": "child", "list_id": other, "parent_id": in_inbox }),
    );
    assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    // Without list_id the task goes to the default list: a parent elsewhere is refused too.
    let resp = post_child(&app, &user, in_other, "child");
    assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    let resp = put(&app, &user, in_other, json!({ "parent_id": in_inbox }));
    assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    assert_eq!(parent_of(&app, &user, in_other), None);
    for unknown in [i64::from(i32::MAX), in_other + 1000] {
        let resp = post_child(&app, &user, unknown, "orphan");
        assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    }
    for bad in [json!(0), json!(-1), json!("1"), json!(1.5), json!(true)] {
        let resp = put(&app, &user, in_inbox, json!({ "parent_id": bad }));
        let errors = validation_errors(&resp);
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["parent_id"], "{bad}: {}", resp.body);
    }
    let counted = list(&app, &user, "");
    assert_eq!(
        counted.len(),
        2,
        "no refused request made a task: {counted:?}"
    );
}

#[test]
fn a_task_of_another_user_as_parent_is_a_400_like_an_unknown_id() {
    let app = TestApp::spawn();
    let user = app.user();
    let stranger = app.user();
    let theirs = id_of(&app.task(&stranger, "not yours"));
    let mine = id_of(&app.task(&user, "mine"));

    let resp = post_child(&app, &user, theirs, "child");
    assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    let resp = put(&app, &user, mine, json!({ "parent_id": theirs }));
    assert_invalid(&resp, SAME_LIST, &["parent_id"]);
    assert_eq!(parent_of(&app, &user, mine), None);
    // And the stranger's task did not gain a child.
    let children = list(&app, &stranger, &format!("?parent={theirs}"));
    assert!(children.is_empty(), "{children:?}");
    assert_eq!(list(&app, &user, "").len(), 1);
}

#[test]
fn two_concurrent_puts_making_each_task_the_others_parent_never_both_succeed() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut not_a_400 = Vec::new();
    for round in 0..20 {
        let a = id_of(&app.task(&user, &format!("a {round}")));
        let b = id_of(&app.task(&user, &format!("b {round}")));
        let (first, second) = at_once(
            || put(&app, &user, a, json!({ "parent_id": b })),
            || put(&app, &user, b, json!({ "parent_id": a })),
        );
        let ok = [&first, &second].iter().filter(|r| r.status == 200).count();
        assert!(
            ok <= 1,
            "round {round}: both succeeded: {} / {}",
            first.body,
            second.body
        );
        let (pa, pb) = (parent_of(&app, &user, a), parent_of(&app, &user, b));
        assert!(
            !(pa == Some(b) && pb == Some(a)),
            "round {round}: a cycle formed: {a} under {pa:?}, {b} under {pb:?}"
        );
        // What each answer said is what happened.
        assert_eq!(
            pa,
            (first.status == 200).then_some(b),
            "round {round}: {}",
            first.body
        );
        assert_eq!(
            pb,
            (second.status == 200).then_some(a),
            "round {round}: {}",
            second.body
        );
        // The one refused is refused for the cycle, as when the two come one after the other.
        for refused in [&first, &second].into_iter().filter(|r| r.status != 200) {
            let named = serde_json::from_str::<Value>(&refused.body)
                .ok()
                .and_then(|b| b["errors"][0]["field"].as_str().map(str::to_string));
            if refused.status != 400
                || refused.detail() != OWN_ANCESTOR
                || named.as_deref() != Some("parent_id")
            {
                not_a_400.push(format!(
                    "round {round}: {} {}",
                    refused.status, refused.body
                ));
            }
        }
    }
    assert!(
        not_a_400.is_empty(),
        "no cycle formed, but {} refusals were not the 400 of the contract:\n{}",
        not_a_400.len(),
        not_a_400.join("\n")
    );
}

#[test]
fn a_subtask_created_while_its_parent_is_edited_is_created() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut failed = Vec::new();
    for round in 0..40 {
        let parent = id_of(&app.task(&user, &format!("parent {round}")));
        let (edited, created) = at_once(
            || {
                put(
                    &app,
                    &user,
                    parent,
                    json!({ "title": format!("edited {round}") }),
                )
            },
            || post_child(&app, &user, parent, &format!("child {round}")),
        );
        if edited.status != 200 {
            failed.push(format!(
                "round {round}: PUT parent {} {}",
                edited.status, edited.body
            ));
        }
        if created.status != 201 {
            failed.push(format!(
                "round {round}: POST child {} {}",
                created.status, created.body
            ));
        } else {
            assert_eq!(created.json()["parent_id"], parent);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 80 concurrent requests failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn deleting_a_parent_deletes_its_whole_subtree_reported_to_every_member_of_a_shared_list() {
    let app = TestApp::spawn();
    let owner = app.user();
    let editor = app.user();
    let list = share(&app, &owner, &editor, "editor");
    let root = id_of(&task_in(&app, &owner, &list, "root"));
    let a = id_of(&child_in(&app, &owner, &list, root, "a"));
    let a1 = id_of(&child_in(&app, &editor, &list, a, "a1"));
    let a11 = id_of(&child_in(&app, &owner, &list, a1, "a11"));
    let b = id_of(&child_in(&app, &editor, &list, root, "b"));
    let kept = id_of(&task_in(&app, &owner, &list, "unrelated"));
    let subtree = HashSet::from([root, a, a1, a11, b]);

    let owner_start = feed_cursor(&changes(&app, &owner, ""));
    let editor_start = feed_cursor(&changes(&app, &editor, ""));
    let mut editor_stream = Sse::of(&app, &editor);

    let gone = app.send("DELETE", &task_path(&owner, root), Some(&owner.token), None);
    assert_eq!(gone.status, 200, "{}", gone.body);
    for id in &subtree {
        let resp = app.get(&task_path(&owner, *id), Some(&owner.token));
        assert_error(&resp, 404, "Task not found");
        let resp = app.get(&task_path(&editor, *id), Some(&editor.token));
        assert_error(&resp, 404, "Task not found");
    }
    assert_eq!(fetch(&app, &owner, kept)["title"], "unrelated");
    assert_eq!(
        ids(&tasks_seen(&app, &editor, &format!("?list={list}"))),
        [kept]
    );

    for (who, user, start) in [
        ("owner", &owner, &owner_start),
        ("editor", &editor, &editor_start),
    ] {
        let page = changes(&app, user, &format!("?since={start}"));
        assert_eq!(deleted_in(&page), subtree, "{who}: {page}");
        assert!(task_ids_in(&page).is_empty(), "{who}: {page}");
    }
    let unseen = RefCell::new(subtree.clone());
    let events = editor_stream.until(WAIT, |e| {
        if e.name == "task" && e.data["op"] == "deleted" {
            if let Some(id) = e.data["id"].as_i64() {
                unseen.borrow_mut().remove(&id);
            }
        }
        unseen.borrow().is_empty()
    });
    let reported: HashSet<i64> = events
        .iter()
        .filter(|e| e.name == "task" && e.data["op"] == "deleted")
        .filter_map(|e| e.data["id"].as_i64())
        .collect();
    assert_eq!(reported, subtree, "{events:?}");
}

#[test]
fn deleting_a_subtask_deletes_its_own_subtree_and_leaves_its_parent_and_siblings() {
    let app = TestApp::spawn();
    let user = app.user();
    let inbox = inbox_id(&app, &user);
    let root = id_of(&app.task(&user, "root"));
    let a = id_of(&child_in(&app, &user, &inbox, root, "a"));
    let a1 = id_of(&child_in(&app, &user, &inbox, a, "a1"));
    let b = id_of(&child_in(&app, &user, &inbox, root, "b"));
    let start = feed_cursor(&changes(&app, &user, ""));
    let gone = app.send("DELETE", &task_path(&user, a), Some(&user.token), None);
    assert_eq!(gone.status, 200, "{}", gone.body);
    let page = changes(&app, &user, &format!("?since={start}"));
    assert_eq!(deleted_in(&page), HashSet::from([a, a1]), "{page}");
    assert_eq!(ids(&list(&app, &user, "?sort=created_asc")), [root, b]);
    assert_eq!(parent_of(&app, &user, b), Some(root));
}

#[test]
fn moving_a_parent_to_another_list_moves_its_subtree_and_moving_a_subtask_alone_detaches_it() {
    let app = TestApp::spawn();
    let user = app.user();
    let first = id_str(&new_list(&app, &user, "First"));
    let second = id_str(&new_list(&app, &user, "Second"));
    let root = id_of(&task_in(&app, &user, &first, "root"));
    let a = id_of(&child_in(&app, &user, &first, root, "a"));
    let a1 = id_of(&child_in(&app, &user, &first, a, "a1"));
    let a11 = id_of(&child_in(&app, &user, &first, a1, "a11"));
    let b = id_of(&child_in(&app, &user, &first, root, "b"));
    let stays = id_of(&task_in(&app, &user, &first, "stays"));

    let moved = put(&app, &user, root, json!({ "list_id": second }));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["list_id"], second.as_str());
    for (id, parent) in [
        (root, None),
        (a, Some(root)),
        (a1, Some(a)),
        (a11, Some(a1)),
        (b, Some(root)),
    ] {
        let task = fetch(&app, &user, id);
        assert_eq!(task["list_id"], second.as_str(), "{task}");
        assert_eq!(task["parent_id"].as_i64(), parent, "{task}");
    }
    assert_eq!(fetch(&app, &user, stays)["list_id"], first.as_str());
    let in_second: HashSet<i64> = ids(&list(&app, &user, &format!("?list={second}")))
        .into_iter()
        .collect();
    assert_eq!(in_second, HashSet::from([root, a, a1, a11, b]));

    // A subtask moved alone leaves its parent behind, and takes its own subtree along.
    let alone = put(&app, &user, a1, json!({ "list_id": first }));
    assert_eq!(alone.status, 200, "{}", alone.body);
    let alone = alone.json();
    assert_eq!(alone["list_id"], first.as_str(), "{alone}");
    assert_eq!(alone["parent_id"], Value::Null, "{alone}");
    let a11_now = fetch(&app, &user, a11);
    assert_eq!(a11_now["list_id"], first.as_str(), "{a11_now}");
    assert_eq!(a11_now["parent_id"], a1, "{a11_now}");
    assert_eq!(fetch(&app, &user, a)["list_id"], second.as_str());
    assert_eq!(parent_of(&app, &user, a), Some(root));

    // A move with a new parent in the target list in one PUT; a parent left behind is refused.
    let under = put(
        &app,
        &user,
        stays,
        json!({ "list_id": second, "parent_id": b }),
    );
    assert_eq!(under.status, 200, "{}", under.body);
    assert_eq!(under.json()["list_id"], second.as_str());
    assert_eq!(under.json()["parent_id"], b);
    let behind = put(
        &app,
        &user,
        a,
        json!({ "list_id": first, "parent_id": root }),
    );
    assert_invalid(&behind, SAME_LIST, &["parent_id"]);
    let a_now = fetch(&app, &user, a);
    assert_eq!(a_now["list_id"], second.as_str(), "{a_now}");
    assert_eq!(a_now["parent_id"], root, "{a_now}");
}

#[test]
fn moving_a_parent_into_a_list_shared_with_someone_brings_the_subtree_into_their_feed() {
    let app = TestApp::spawn();
    let owner = app.user();
    let member = app.user();
    let shared = share(&app, &owner, &member, "editor");
    let private = id_str(&new_list(&app, &owner, "Private"));
    let root = id_of(&task_in(&app, &owner, &private, "root"));
    let child = id_of(&child_in(&app, &owner, &private, root, "child"));
    let start = feed_cursor(&changes(&app, &member, ""));
    let moved = put(&app, &owner, root, json!({ "list_id": shared }));
    assert_eq!(moved.status, 200, "{}", moved.body);
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(task_ids_in(&page), HashSet::from([root, child]), "{page}");
    assert_eq!(parent_of(&app, &member, child), Some(root));
    // And back out: gone from the member's view, each one reported deleted.
    let start = feed_cursor(&page);
    let back = put(&app, &owner, root, json!({ "list_id": private }));
    assert_eq!(back.status, 200, "{}", back.body);
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(deleted_in(&page), HashSet::from([root, child]), "{page}");
}

#[test]
fn the_parent_filter_combines_with_status_and_pages_with_limit_and_cursor() {
    let app = TestApp::spawn();
    let user = app.user();
    let inbox = inbox_id(&app, &user);
    let root = id_of(&app.task(&user, "root"));
    let children: Vec<i64> = (0..7)
        .map(|i| id_of(&child_in(&app, &user, &inbox, root, &format!("child {i}"))))
        .collect();
    let grandchild = id_of(&child_in(&app, &user, &inbox, children[0], "grandchild"));
    let other_root = id_of(&app.task(&user, "other root"));
    let other_child = id_of(&child_in(&app, &user, &inbox, other_root, "other child"));
    for done in [children[1], children[3], children[4], grandchild] {
        let resp = app.send(
            "PATCH",
            &format!("{}/complete", task_path(&user, done)),
            Some(&user.token),
            None,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let newest_first = |mut v: Vec<i64>| {
        v.reverse();
        v
    };
    let pending: Vec<i64> = [0, 2, 5, 6].iter().map(|&i| children[i]).collect();
    let completed: Vec<i64> = [1, 3, 4].iter().map(|&i| children[i]).collect();

    let cases: Vec<(String, Vec<i64>)> = vec![
        ("parent=none".into(), vec![other_root, root]),
        (format!("list={inbox}&parent=none"), vec![other_root, root]),
        (format!("parent={root}"), newest_first(children.clone())),
        (
            format!("parent={root}&status=pending"),
            newest_first(pending.clone()),
        ),
        (
            format!("parent={root}&status=completed"),
            newest_first(completed.clone()),
        ),
        (format!("parent={}", children[0]), vec![grandchild]),
        (format!("parent={}&status=pending", children[0]), vec![]),
        (format!("parent={other_root}"), vec![other_child]),
        (format!("parent={grandchild}"), vec![]),
        ("parent=none&status=completed".into(), vec![]),
        (format!("parent={root}&sort=title_asc"), children.clone()),
    ];
    for (query, expected) in &cases {
        assert_eq!(
            ids(&list(&app, &user, &format!("?{query}"))),
            *expected,
            "{query}"
        );
        for limit in [1, 2, 3] {
            let first = format!("{}?{query}&limit={limit}", tasks_path(&user));
            let pages = walk(&app, &user, &first, || {});
            let walked: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
            assert_eq!(walked, *expected, "{query} by {limit}");
            assert!(pages.iter().all(|p| p.len() <= limit), "{query} by {limit}");
        }
    }
    // The cursor is bound to the filter: a next link keeps parent=.
    let resp = app.get(
        &format!("{}?parent={root}&limit=2", tasks_path(&user)),
        Some(&user.token),
    );
    let link = next_link(&resp).expect("a next page");
    assert!(link.contains(&format!("parent={root}")), "{link}");

    for bad in ["0", "-3", "x", "", "1.5"] {
        let resp = app.get(
            &format!("{}?parent={bad}", tasks_path(&user)),
            Some(&user.token),
        );
        assert_invalid(
            &resp,
            "parent must be none or a task id (a positive integer)",
            &["parent"],
        );
    }
    // Another user's task as the parent filter shows nothing of theirs.
    let stranger = app.user();
    let theirs = id_of(&app.task(&stranger, "theirs"));
    let resp = post_child(&app, &stranger, theirs, "their child");
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert!(list(&app, &user, &format!("?parent={theirs}")).is_empty());
}

#[test]
fn a_viewer_cannot_set_or_clear_a_parent() {
    let app = TestApp::spawn();
    let owner = app.user();
    let viewer = app.user();
    let list = share(&app, &owner, &viewer, "viewer");
    let parent = id_of(&task_in(&app, &owner, &list, "parent"));
    let loose = id_of(&task_in(&app, &owner, &list, "loose"));
    let child = id_of(&child_in(&app, &owner, &list, parent, "child"));

    let resp = put(&app, &viewer, loose, json!({ "parent_id": parent }));
    assert_error(&resp, 403, ROLE_DENIED);
    let resp = put(&app, &viewer, child, json!({ "parent_id": null }));
    assert_error(&resp, 403, ROLE_DENIED);
    let resp = post_task(
        &app,
        &viewer,
        json!({ "title": "sneaky", "list_id": list, "parent_id": parent }),
    );
    assert_error(&resp, 403, ROLE_DENIED);
    assert_eq!(parent_of(&app, &owner, loose), None);
    assert_eq!(parent_of(&app, &owner, child), Some(parent));
    assert_eq!(tasks_seen(&app, &owner, &format!("?list={list}")).len(), 3);
    // The viewer still reads the tree.
    assert_eq!(parent_of(&app, &viewer, child), Some(parent));
    assert_eq!(
        ids(&tasks_seen(&app, &viewer, &format!("?parent={parent}"))),
        [child]
    );
}

#[test]
fn a_subtask_created_while_its_parent_is_deleted_is_deleted_with_it_or_refused_with_a_400() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut wrong = Vec::new();
    for round in 0..60 {
        let parent = id_of(&app.task(&user, &format!("parent {round}")));
        let (deleted, created) = at_once(
            || app.send("DELETE", &task_path(&user, parent), Some(&user.token), None),
            || post_child(&app, &user, parent, &format!("child {round}")),
        );
        if deleted.status != 200 {
            wrong.push(format!(
                "round {round}: DELETE parent {} {}",
                deleted.status, deleted.body
            ));
        }
        match created.status {
            201 => {
                let child = id_of(&created.json());
                let left = app.get(&task_path(&user, child), Some(&user.token));
                if deleted.status == 200 && left.status != 404 {
                    wrong.push(format!(
                        "round {round}: child {child} outlived its parent: {}",
                        left.body
                    ));
                }
            }
            400 if created.detail() == SAME_LIST => {}
            _ => wrong.push(format!(
                "round {round}: POST child {} {}",
                created.status, created.body
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers broke the contract:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn subtasks_moved_with_their_parent_to_a_list_their_assignee_is_not_in_lose_the_assignee() {
    let app = TestApp::spawn();
    let owner = app.user();
    let editor = app.user();
    let shared = share(&app, &owner, &editor, "editor");
    let private = id_str(&new_list(&app, &owner, "Private"));
    let root = id_of(&task_in(&app, &owner, &shared, "root"));
    let child = post_task(
        &app,
        &owner,
        json!({ "title": "child", "list_id": shared, "parent_id": root, "assignee_id": editor.id }),
    );
    assert_eq!(child.status, 201, "{}", child.body);
    let child = id_of(&child.json());
    let start = feed_cursor(&changes(&app, &editor, ""));

    let moved = put(&app, &owner, root, json!({ "list_id": private }));
    assert_eq!(moved.status, 200, "{}", moved.body);
    let child_now = fetch(&app, &owner, child);
    assert_eq!(child_now["list_id"], private.as_str(), "{child_now}");
    // The editor is no member of the private list: no task there is theirs to do.
    assert_eq!(
        child_now["assignee_id"],
        Value::Null,
        "the assignee must be a member of the task's list: {child_now}"
    );
    let resp = app.get(&task_path(&editor, child), Some(&editor.token));
    assert_error(&resp, 404, "Task not found");
    let page = changes(&app, &editor, &format!("?since={start}"));
    assert_eq!(deleted_in(&page), HashSet::from([root, child]), "{page}");
    let assigned = tasks_seen(&app, &owner, "?assignee=none");
    assert!(ids(&assigned).contains(&child), "{assigned:?}");
}
