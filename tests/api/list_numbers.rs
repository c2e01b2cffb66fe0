//! Change numbers per list (sql/0011): a member's sync position is one number per list, paged
//! across lists without a task lost or repeated; a stream resumes in every list from where its
//! last event left it; a collection's sync token moves only with its own list; and a cached whole
//! list is never taken for current once one of its lists is gone.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn task_ids(page: &Value, key: &str) -> Vec<i64> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key}: {page}"))
        .iter()
        .map(|v| v.as_i64().unwrap_or_else(|| id_of(v)))
        .collect()
}

/// Every page from `since` (`""`: an initial sync) with `limit`: the ids changed and deleted, in
/// the order sent, and the last cursor.
fn pages(app: &TestApp, user: &User, since: &str, limit: usize) -> (Vec<i64>, Vec<i64>, String) {
    let (mut changed, mut deleted, mut at) = (Vec::new(), Vec::new(), since.to_string());
    for _ in 0..100 {
        let query = match at.as_str() {
            "" => format!("?limit={limit}"),
            _ => format!("?since={at}&limit={limit}"),
        };
        let page = changes(app, user, &query);
        assert!(task_ids(&page, "tasks").len() + task_ids(&page, "deleted").len() <= limit);
        changed.extend(task_ids(&page, "tasks"));
        deleted.extend(task_ids(&page, "deleted"));
        at = feed_cursor(&page);
        if page["has_more"] == false {
            return (changed, deleted, at);
        }
    }
    panic!("the feed never ended");
}

fn once(ids: &[i64]) -> HashSet<i64> {
    let set: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "an id came twice: {ids:?}");
    set
}

#[test]
fn paging_the_feed_of_a_member_of_three_lists_a_task_at_a_time_sends_every_change_exactly_once() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let first = share(&app, &owner, &member, "editor");
    let second = share(&app, &owner, &member, "editor");
    let inbox = inbox_id(&app, &member);
    let mut made = Vec::new();
    for i in 0..4 {
        for list in [&first, &inbox, &second] {
            made.push(id_of(&task_in(&app, &member, list, &format!("task {i}"))));
        }
    }
    for limit in [1, 2, 5] {
        let (changed, deleted, _) = pages(&app, &member, "", limit);
        assert_eq!(once(&changed), made.iter().copied().collect());
        assert!(deleted.is_empty());
    }
    // From a cursor: a change, a deletion and a new task in each list, paged one at a time.
    let (_, _, start) = pages(&app, &member, "", 100);
    let mut expected_changed = HashSet::new();
    let mut expected_deleted = HashSet::new();
    for (n, list) in [&first, &inbox, &second].into_iter().enumerate() {
        let [edited, gone] = [made[n], made[n + 3]];
        let toggle = format!("{}/complete", task_path(&member, edited));
        let resp = app.send("PATCH", &toggle, Some(&member.token), None);
        assert_eq!(resp.status, 200, "{}", resp.body);
        let resp = app.send(
            "DELETE",
            &task_path(&member, gone),
            Some(&member.token),
            None,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        expected_changed.insert(edited);
        expected_changed.insert(id_of(&task_in(&app, &member, list, "new")));
        expected_deleted.insert(gone);
    }
    let (changed, deleted, end) = pages(&app, &member, &start, 1);
    assert_eq!(once(&changed), expected_changed);
    assert_eq!(once(&deleted), expected_deleted);
    let after = changes(&app, &member, &format!("?since={end}"));
    assert_eq!(after["tasks"], json!([]), "{after}");
    assert_eq!(after["deleted"], json!([]), "{after}");
}

/// Every task of `ids` titled "`word` edit of <id>" by `user`.
fn retitle(app: &TestApp, user: &User, ids: &[i64], word: &str) {
    for id in ids {
        let body = json!({ "title": format!("{word} edit of {id}") });
        let resp = app.send("PUT", &task_path(user, id), Some(&user.token), Some(body));
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
}

#[test]
fn a_change_made_while_a_member_pages_through_several_lists_comes_with_a_later_page() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let lists = [
        share(&app, &owner, &member, "editor"),
        share(&app, &owner, &member, "editor"),
    ];
    let mut made = Vec::new();
    for list in &lists {
        for i in 0..3 {
            made.push(id_of(&task_in(&app, &owner, list, &format!("task {i}"))));
        }
    }
    let (_, _, start) = pages(&app, &member, "", 100);
    retitle(&app, &owner, &made, "first");
    // Two pages in, every task is written again: each list's later write must still arrive,
    // whether its list was passed already or not.
    let page = changes(&app, &member, &format!("?since={start}&limit=2"));
    let page = changes(
        &app,
        &member,
        &format!("?since={}&limit=2", feed_cursor(&page)),
    );
    retitle(&app, &owner, &made, "last");
    let mut titles = std::collections::HashMap::new();
    let mut at = feed_cursor(&page);
    for task in page["tasks"].as_array().unwrap() {
        titles.insert(id_of(task), task["title"].clone());
    }
    loop {
        let page = changes(&app, &member, &format!("?since={at}&limit=2"));
        for task in page["tasks"].as_array().unwrap() {
            titles.insert(id_of(task), task["title"].clone());
        }
        at = feed_cursor(&page);
        if page["has_more"] == false {
            break;
        }
    }
    for id in &made {
        assert_eq!(
            titles[id],
            json!(format!("last edit of {id}")),
            "{titles:?}"
        );
    }
}

/// What a stream resumed from `last_event_id` sends before it falls quiet (the lists' changes
/// come list by list, in no order between lists).
fn replay(app: &TestApp, user: &User, last_event_id: &str) -> Vec<Event> {
    let mut back = Sse::open(app, &user.id, &ticket(app, user), Some(last_event_id));
    assert_eq!(back.status(), 200, "{}", back.head);
    let mut events = Vec::new();
    while let Some(event) = back.next(Duration::from_secs(1)) {
        events.push(event);
    }
    events
}

#[test]
fn a_stream_resumed_from_an_event_in_one_list_replays_what_it_missed_in_another() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let shared = share(&app, &owner, &member, "editor");
    let inbox = inbox_id(&app, &member);
    let mut stream = Sse::of(&app, &member);
    let seen = id_of(&task_in(&app, &member, &inbox, "seen"));
    let last = stream
        .until(WAIT, |e| about_task(e, seen))
        .pop()
        .unwrap()
        .id;
    let also_seen = id_of(&task_in(&app, &owner, &shared, "also seen"));
    let later = stream
        .until(WAIT, |e| about_task(e, also_seen))
        .pop()
        .unwrap()
        .id;
    drop(stream);
    let missed = id_of(&task_in(&app, &member, &inbox, "missed"));

    // From the first event: the shared list's task came after it, and so did the inbox's new one.
    let replayed = replay(&app, &member, &last);
    assert!(
        replayed.iter().any(|e| about_task(e, also_seen)),
        "{replayed:?}"
    );
    assert!(
        !replayed.iter().any(|e| about_task(e, seen)),
        "{replayed:?}"
    );

    // From the shared list's event: only the inbox's task is new.
    let replayed = replay(&app, &member, &later);
    let tasks: Vec<i64> = replayed
        .iter()
        .filter(|e| e.name == "task")
        .filter_map(|e| e.data["id"].as_i64())
        .collect();
    assert_eq!(tasks, vec![missed], "{replayed:?}");
}

#[test]
fn a_change_in_one_list_leaves_the_sync_token_of_another_collection_as_it_was() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let other = id_str(&new_list(&app, &du.user, "Other"));
    let (inbox_coll, other_coll) = (du.collection(&inbox), du.collection(&other));
    let token = |coll: &str| du.sync(&app, coll, "").token();
    let (inbox_before, other_before) = (token(&inbox_coll), token(&other_coll));
    app.task(&du.user, "in the inbox");
    assert_ne!(token(&inbox_coll), inbox_before);
    assert_eq!(token(&other_coll), other_before);
    let in_other = du.sync(&app, &other_coll, &other_before);
    assert!(in_other.hrefs().is_empty(), "{:?}", in_other.hrefs());
}

#[test]
fn a_cached_list_on_one_server_forgets_a_deleted_shared_list_however_many_changes_follow_elsewhere()
{
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let shared = share(&a, &owner, &member, "editor");
    for i in 0..5 {
        task_in(&a, &owner, &shared, &format!("shared {i}"));
    }
    let mine = id_of(&a.task(&member, "mine"));
    let cached = list(&a, &member, "");
    assert_eq!(cached.len(), 6);
    // Without the member's number rising past the list's when it goes, the member's number
    // plus their lists' would come back to the cached list's after this many changes.
    let number: i64 = a
        .sql()
        .query_one(
            "SELECT change_seq FROM lists WHERE id = $1::text::uuid",
            &[&shared],
        )
        .unwrap()
        .get(0);
    let resp = b.send(
        "DELETE",
        &list_path(&owner, &shared),
        Some(&owner.token),
        None,
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
    // The member's other changes go through b: a's cached list hears of none of them.
    let toggle = format!("{}/complete", task_path(&member, mine));
    for _ in 1..number {
        let resp = b.send("PATCH", &toggle, Some(&member.token), None);
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let here = a.get(&tasks_path(&member), Some(&member.token));
    let there = b.get(&tasks_path(&member), Some(&member.token));
    assert_eq!(here.body, there.body);
    assert_eq!(array(&here).len(), 1, "{}", here.body);
}

#[test]
fn a_member_of_more_lists_than_the_check_names_one_by_one_still_sees_every_change_at_once() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let lists: Vec<String> = (0..10)
        .map(|i| id_str(&new_list(&a, &user, &format!("List {i}"))))
        .collect();
    for list in &lists {
        task_in(&a, &user, list, "one each");
    }
    assert_eq!(list(&a, &user, "").len(), 10);
    for (n, list_id) in lists.iter().enumerate() {
        // Written through b: a's cached list hears of it only through PostgreSQL.
        task_in(&b, &user, list_id, &format!("more in {n}"));
        let here = a.get(&tasks_path(&user), Some(&user.token));
        assert_eq!(array(&here).len(), 11 + n, "{}", here.body);
        assert_eq!(here.body, b.get(&tasks_path(&user), Some(&user.token)).body);
    }
}

#[test]
fn the_order_of_last_change_pages_across_every_list_of_the_member_with_filters_applied_in_each() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let lists = [
        inbox_id(&app, &member),
        share(&app, &owner, &member, "editor"),
        share(&app, &owner, &member, "editor"),
    ];
    let mut ids = Vec::new();
    for i in 0..18 {
        let list = &lists[i % 3];
        ids.push(id_of(&task_in(&app, &member, list, &format!("task {i}"))));
    }
    // Every third task done, and a few written again, so the order of change is not creation's.
    for (n, id) in ids.iter().enumerate() {
        if n % 3 == 1 || n % 5 == 0 {
            let toggle = format!("{}/complete", task_path(&member, id));
            assert_eq!(
                app.send("PATCH", &toggle, Some(&member.token), None).status,
                200
            );
        }
    }
    let all = tasks_seen(&app, &member, "?sort=updated_desc");
    let expected: Vec<i64> = all
        .iter()
        .filter(|t| t["completed"] == false)
        .map(id_of)
        .collect();
    assert!(expected.len() > 8, "{}", expected.len());
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "/api/{}/tasks?sort=updated_desc&status=pending&limit=4",
        member.id
    ));
    while let Some(path) = next {
        let resp = app.get(&path, Some(&member.token));
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        seen.extend(array(&resp).iter().map(id_of));
        next = next_link(&resp);
    }
    assert_eq!(seen, expected);
    let mut by_change: Vec<(String, i64)> = all
        .iter()
        .map(|t| (t["updated_at"].as_str().unwrap().to_string(), id_of(t)))
        .collect();
    by_change.sort_by(|a, b| b.cmp(a));
    let order: Vec<i64> = by_change.into_iter().map(|(_, id)| id).collect();
    assert_eq!(all.iter().map(id_of).collect::<Vec<_>>(), order);
}
