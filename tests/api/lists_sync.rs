//! Sync with shared lists: a change in a shared list reaches every member (list ETags, changes
//! feed, event streams) through any instance; the feed's `lists` and `removed_lists`; `event:
//! list`; access lost on one instance stops events on another; and a member syncing while the
//! owner and an editor write concurrently through two instances ends with the server's state.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn etag(resp: &Resp) -> String {
    resp.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", resp.headers))
        .to_string()
}

fn get_if_none_match(app: &TestApp, user: &User, path: &str, tag: &str) -> Resp {
    let auth = format!("Bearer {}", user.token);
    app.request(
        "GET",
        path,
        &[("Authorization", auth.as_str()), ("If-None-Match", tag)],
        None,
    )
}

fn set(items: Vec<String>) -> HashSet<String> {
    items.into_iter().collect()
}

fn task_ids_in(page: &Value) -> HashSet<i64> {
    page["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

fn deleted_in(page: &Value) -> HashSet<i64> {
    page["deleted"]
        .as_array()
        .unwrap_or_else(|| panic!("no deleted: {page}"))
        .iter()
        .map(|v| v.as_i64().expect("an id"))
        .collect()
}

fn lists_in(page: &Value) -> HashMap<String, Value> {
    page["lists"]
        .as_array()
        .unwrap_or_else(|| panic!("no lists: {page}"))
        .iter()
        .map(|l| (id_str(l), l.clone()))
        .collect()
}

fn leave(app: &TestApp, member: &User, list_id: &str) {
    let resp = app.send(
        "DELETE",
        &member_path(member, list_id, &member.id),
        Some(&member.token),
        None,
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
}

fn remove(app: &TestApp, owner: &User, list_id: &str, member: &User) {
    let resp = app.send(
        "DELETE",
        &member_path(owner, list_id, &member.id),
        Some(&owner.token),
        None,
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
}

fn delete_list(app: &TestApp, owner: &User, list_id: &str) {
    let resp = app.send(
        "DELETE",
        &list_path(owner, list_id),
        Some(&owner.token),
        None,
    );
    assert_eq!(resp.status, 204, "{}", resp.body);
}

fn rename(app: &TestApp, user: &User, list_id: &str, name: &str) -> Value {
    let resp = app.send(
        "PATCH",
        &list_path(user, list_id),
        Some(&user.token),
        Some(json!({ "name": name })),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

#[test]
fn a_change_in_a_shared_list_changes_every_members_list_etag_whoever_makes_it_wherever() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let list = share(&a, &owner, &member, "editor");
    let all = tasks_path(&member);
    let one = format!("{}?list={list}", tasks_path(&member));
    let mut tags = HashMap::new();
    for path in [&all, &one] {
        let resp = a.get(path, Some(&member.token));
        let tag = etag(&resp);
        assert_eq!(
            get_if_none_match(&a, &member, path, &tag).status,
            304,
            "{path}"
        );
        tags.insert(path.clone(), tag);
    }
    let task = task_in(&b, &owner, &list, "made by the owner on b");
    for path in [&all, &one] {
        let resp = get_if_none_match(&a, &member, path, &tags[path]);
        assert_eq!(
            resp.status, 200,
            "{path}: the owner's change shows: {}",
            resp.body
        );
        assert!(ids(&array(&resp)).contains(&id_of(&task)), "{path}");
        assert_ne!(etag(&resp), tags[path]);
        tags.insert(path.clone(), etag(&resp));
    }
    // And the other way round: the member's edit changes the owner's tag.
    let owners = format!("{}?list={list}", tasks_path(&owner));
    let before = etag(&a.get(&owners, Some(&owner.token)));
    let edit = b.send(
        "PUT",
        &task_path(&member, id_of(&task)),
        Some(&member.token),
        Some(json!({ "title": "edited by the member" })),
    );
    assert_eq!(edit.status, 200, "{}", edit.body);
    let after = get_if_none_match(&a, &owner, &owners, &before);
    assert_eq!(after.status, 200, "the member's change shows to the owner");
    assert_eq!(array(&after)[0]["title"], "edited by the member");
    // Lists answers follow too: open_tasks moved for the member.
    assert_eq!(list_of(&a, &member, &list)["open_tasks"], 1);
}

#[test]
fn a_change_in_a_shared_list_reaches_every_members_feed_and_stream_through_another_server() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, editor) = (a.user(), a.user());
    let list = share(&a, &owner, &editor, "editor");
    let mut editor_stream = Sse::of(&b, &editor);
    let mut owner_stream = Sse::of(&b, &owner);
    let start = feed_cursor(&changes(&b, &editor, ""));

    let task = task_in(&a, &owner, &list, "from the owner on a");
    let id = id_of(&task);
    let created = editor_stream.until(WAIT, |e| about_task(e, id));
    let created = created.last().unwrap();
    assert_eq!(created.data["op"], "created");
    let seen = a.get(&task_path(&editor, id), Some(&editor.token)).json();
    assert_eq!(created.data["task"], seen);
    assert_eq!(created.id, created.data["cursor"].as_str().unwrap());
    let page = changes(&b, &editor, &format!("?since={start}"));
    assert_eq!(task_ids_in(&page), HashSet::from([id]));

    let edited = a.send(
        "PUT",
        &task_path(&editor, id),
        Some(&editor.token),
        Some(json!({ "title": "edited by the editor on a" })),
    );
    assert_eq!(edited.status, 200, "{}", edited.body);
    // A stream sends each task's current state: if the owner's stream had not caught up with the
    // creation yet, the one event it gets carries the edit.
    let edit = edited.json();
    let events = owner_stream.until(WAIT, |e| about_task(e, id) && e.data["task"] == edit);
    assert_eq!(events.last().unwrap().data["task"], edit);

    let before_delete = feed_cursor(&page);
    let gone = a.send("DELETE", &task_path(&owner, id), Some(&owner.token), None);
    assert_eq!(gone.status, 200, "{}", gone.body);
    let events = editor_stream.until(WAIT, |e| about_task(e, id) && e.data["op"] == "deleted");
    assert_eq!(events.last().unwrap().data["task"], Value::Null);
    let page = changes(&b, &editor, &format!("?since={before_delete}"));
    assert_eq!(deleted_in(&page), HashSet::from([id]));
    assert!(task_ids_in(&page).is_empty());
}

#[test]
fn the_feed_names_lists_created_changed_or_joined_since_the_cursor_and_not_others() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let initial = changes(&app, &member, "");
    let inbox = inbox_id(&app, &member);
    assert!(
        lists_in(&initial).contains_key(&inbox),
        "an initial sync holds every list"
    );
    let start = feed_cursor(&initial);
    let own = id_str(&new_list(&app, &member, "Member's own"));
    let private = id_str(&new_list(&app, &owner, "Owner's private"));
    task_in(&app, &owner, &private, "never for the member");
    let shared = id_str(&new_list(&app, &owner, "Shared later"));
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(
        set(lists_in(&page).into_keys().collect()),
        set(vec![own.clone()])
    );
    assert!(task_ids_in(&page).is_empty(), "{page}");
    let before_join = feed_cursor(&page);
    join(&app, &owner, &shared, &member, "viewer");
    let page = changes(&app, &member, &format!("?since={before_join}"));
    let lists = lists_in(&page);
    assert_eq!(
        set(lists.keys().cloned().collect()),
        set(vec![shared.clone()])
    );
    assert_eq!(lists[&shared], list_of(&app, &member, &shared));
    assert_eq!(lists[&shared]["role"], "viewer");
    let before_rename = feed_cursor(&page);
    rename(&app, &owner, &shared, "Renamed by the owner");
    let page = changes(&app, &member, &format!("?since={before_rename}"));
    let lists = lists_in(&page);
    assert_eq!(lists.len(), 1, "{page}");
    assert_eq!(lists[&shared]["name"], "Renamed by the owner");
    assert!(feed_ids(&page, "removed_lists").is_empty());
}

#[test]
fn joining_a_list_brings_its_current_tasks_into_the_members_feed_as_if_just_created() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list = id_str(&new_list(&app, &owner, "Full already"));
    let old: Vec<Value> = (0..3)
        .map(|i| task_in(&app, &owner, &list, &format!("old {i}")))
        .collect();
    app.send(
        "DELETE",
        &task_path(&owner, id_of(&old[1])),
        Some(&owner.token),
        None,
    );
    let start = feed_cursor(&changes(&app, &member, ""));
    join(&app, &owner, &list, &member, "editor");
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(
        task_ids_in(&page),
        HashSet::from([id_of(&old[0]), id_of(&old[2])]),
        "{page}"
    );
    for task in page["tasks"].as_array().unwrap() {
        let current = app.get(&task_path(&member, id_of(task)), Some(&member.token));
        assert_eq!(task, &current.json());
    }
    assert!(lists_in(&page).contains_key(&list));
}

#[test]
fn the_feed_names_lists_deleted_left_or_removed_from_in_removed_lists() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let deleted = share(&app, &owner, &member, "editor");
    let left = share(&app, &owner, &member, "editor");
    let removed = share(&app, &owner, &member, "viewer");
    let kept = share(&app, &owner, &member, "viewer");
    for list in [&deleted, &left, &removed, &kept] {
        task_in(&app, &owner, list, "a task");
    }
    let member_start = feed_cursor(&changes(&app, &member, ""));
    let owner_start = feed_cursor(&changes(&app, &owner, ""));
    delete_list(&app, &owner, &deleted);
    leave(&app, &member, &left);
    remove(&app, &owner, &removed, &member);
    let page = changes(&app, &member, &format!("?since={member_start}"));
    assert_eq!(
        set(feed_ids(&page, "removed_lists")),
        set(vec![deleted.clone(), left.clone(), removed.clone()]),
        "{page}"
    );
    assert!(!lists_in(&page).contains_key(&kept), "{page}");
    // Told once: the next page after it does not repeat them.
    let again = changes(&app, &member, &format!("?since={}", feed_cursor(&page)));
    assert!(feed_ids(&again, "removed_lists").is_empty(), "{again}");
    // The owner's own feed drops the deleted list; the others are still theirs.
    let page = changes(&app, &owner, &format!("?since={owner_start}"));
    assert_eq!(
        set(feed_ids(&page, "removed_lists")),
        set(vec![deleted.clone()])
    );
}

#[test]
fn a_task_moved_into_a_list_the_member_cannot_see_is_deleted_in_their_feed_and_back_again_a_task() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list = share(&app, &owner, &member, "viewer");
    let private = id_str(&new_list(&app, &owner, "Private"));
    let task = task_in(&app, &owner, &list, "moving");
    let id = id_of(&task);
    let start = feed_cursor(&changes(&app, &member, ""));
    let path = task_path(&owner, id);
    let moved = app.send(
        "PUT",
        &path,
        Some(&owner.token),
        Some(json!({ "list_id": private })),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(deleted_in(&page), HashSet::from([id]), "{page}");
    assert!(task_ids_in(&page).is_empty(), "{page}");
    // The owner still sees it, as changed.
    let back = app.send(
        "PUT",
        &path,
        Some(&owner.token),
        Some(json!({ "list_id": list })),
    );
    assert_eq!(back.status, 200, "{}", back.body);
    let page = changes(&app, &member, &format!("?since={}", feed_cursor(&page)));
    assert_eq!(task_ids_in(&page), HashSet::from([id]), "{page}");
    assert!(deleted_in(&page).is_empty(), "{page}");
    assert_eq!(
        page["tasks"][0],
        app.get(&task_path(&member, id), Some(&member.token)).json()
    );
}

#[test]
fn event_streams_get_list_events_created_updated_joined_left_and_deleted() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let mut owner_stream = Sse::of(&a, &owner);
    let mut member_stream = Sse::of(&b, &member);

    let made = new_list(&a, &owner, "Streamed");
    let list = id_str(&made);
    let events = owner_stream.until(WAIT, |e| list_event(e, "created", &list));
    let created = events.last().unwrap();
    assert_eq!(created.data["list"], made);
    assert_eq!(created.id, created.data["cursor"].as_str().unwrap());
    // A stream's cursor is a sync cursor.
    let page = changes(&a, &owner, &format!("?since={}", created.id));
    assert!(
        !lists_in(&page).contains_key(&list),
        "already delivered: {page}"
    );

    let renamed = rename(&a, &owner, &list, "Streamed, renamed");
    let events = owner_stream.until(WAIT, |e| list_event(e, "updated", &list));
    assert_eq!(
        events.last().unwrap().data["list"]["name"],
        "Streamed, renamed"
    );
    assert_eq!(
        events.last().unwrap().data["list"],
        renamed_for(&a, &owner, &list, &renamed)
    );

    let joined = join(&a, &owner, &list, &member, "editor");
    let events = member_stream.until(WAIT, |e| list_event(e, "joined", &list));
    assert_eq!(events.last().unwrap().data["list"], joined);

    rename(&a, &owner, &list, "Renamed for everyone");
    let events = member_stream.until(WAIT, |e| list_event(e, "updated", &list));
    let updated = &events.last().unwrap().data["list"];
    assert_eq!(updated["name"], "Renamed for everyone");
    assert_eq!(updated["role"], "editor", "the member's own view of it");

    leave(&a, &member, &list);
    member_stream.until(WAIT, |e| list_event(e, "left", &list));

    let removed = share(&a, &owner, &member, "viewer");
    member_stream.until(WAIT, |e| list_event(e, "joined", &removed));
    remove(&a, &owner, &removed, &member);
    member_stream.until(WAIT, |e| list_event(e, "left", &removed));

    let doomed = share(&a, &owner, &member, "viewer");
    member_stream.until(WAIT, |e| list_event(e, "joined", &doomed));
    delete_list(&a, &owner, &doomed);
    let events = member_stream.until(WAIT, |e| list_event(e, "deleted", &doomed));
    assert_eq!(events.last().unwrap().data["list"], Value::Null);
    let events = owner_stream.until(WAIT, |e| list_event(e, "deleted", &doomed));
    assert_eq!(events.last().unwrap().data["list"], Value::Null);
}

/// What `GET` shows of the list now (the PATCH answer should be the same).
fn renamed_for(app: &TestApp, user: &User, list: &str, patched: &Value) -> Value {
    let now = list_of(app, user, list);
    assert_eq!(&now, patched);
    now
}

#[test]
fn a_member_removed_through_server_a_stops_getting_the_lists_events_on_server_b() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let list = share(&a, &owner, &member, "editor");
    let mut stream = Sse::of(&b, &member);
    let before = id_of(&task_in(&a, &owner, &list, "seen while a member"));
    stream.until(WAIT, |e| about_task(e, before));
    remove(&a, &owner, &list, &member);
    stream.until(WAIT, |e| list_event(e, "left", &list));
    let hidden = id_of(&task_in(&a, &owner, &list, "after the removal"));
    let renamed = rename(&a, &owner, &list, "Not for the member");
    let marker = id_of(&a.task(&member, "the member's own, after"));
    let events = stream.until(WAIT, |e| about_task(e, marker));
    let leaked: Vec<&Event> = events
        .iter()
        .filter(|e| about_task(e, hidden) || e.data["id"] == renamed["id"])
        .collect();
    assert!(
        leaked.is_empty(),
        "events of a list no longer theirs: {leaked:?}"
    );
}

/// Applies feed pages (alternating between servers) until `has_more` is false; returns the cursor.
fn sync(
    servers: [&TestApp; 2],
    user: &User,
    copy: &mut HashMap<i64, Value>,
    since: &str,
    round: &mut usize,
) -> String {
    let mut at = since.to_string();
    loop {
        let query = if at.is_empty() {
            String::new()
        } else {
            format!("?since={at}&limit=7")
        };
        *round += 1;
        let page = changes(servers[*round % 2], user, &query);
        // Drops first, then the current state: a task moved out of sight and back within one
        // page is in both `deleted` and `tasks`, and `tasks` is what it is now.
        for id in deleted_in(&page) {
            copy.remove(&id);
        }
        for list in feed_ids(&page, "removed_lists") {
            copy.retain(|_, task| task["list_id"] != list.as_str());
        }
        for task in page["tasks"].as_array().unwrap() {
            copy.insert(id_of(task), task.clone());
        }
        at = feed_cursor(&page);
        if page["has_more"] == false {
            return at;
        }
    }
}

/// One writer's run: creates, edits, toggles, deletes, and moves tasks out to `away` and back.
fn write_for_a_while(app: &TestApp, user: &User, list: &str, away: &str, tag: &str) {
    let mut mine: Vec<i64> = Vec::new();
    let mut out: Vec<i64> = Vec::new();
    for i in 0..60usize {
        let token = Some(user.token.as_str());
        match (i % 7, mine.len()) {
            (2, n) if n > 0 => {
                let body = json!({ "title": format!("{tag} edit {i}") });
                app.send("PUT", &task_path(user, mine[i % n]), token, Some(body));
            }
            (3, n) if n > 0 => {
                let path = format!("{}/complete", task_path(user, mine[(i * 5) % n]));
                app.send("PATCH", &path, token, None);
            }
            (4, n) if n > 1 => {
                let id = mine.remove((i * 3) % n);
                app.send("DELETE", &task_path(user, id), token, None);
            }
            (5, n) if n > 1 => {
                let id = mine.remove(i % n);
                let body = json!({ "list_id": away, "title": format!("{tag} away {i}") });
                let resp = app.send("PUT", &task_path(user, id), token, Some(body));
                assert_eq!(resp.status, 200, "{}", resp.body);
                out.push(id);
            }
            (6, _) if !out.is_empty() => {
                let id = out.remove(0);
                let body = json!({ "list_id": list });
                let resp = app.send("PUT", &task_path(user, id), token, Some(body));
                assert_eq!(resp.status, 200, "{}", resp.body);
                mine.push(id);
            }
            _ => {
                let task = task_in(app, user, list, &format!("{tag} task {i}"));
                mine.push(id_of(&task));
            }
        }
    }
}

#[test]
fn a_member_syncing_while_the_owner_and_an_editor_write_through_two_servers_ends_with_the_servers_state(
) {
    let a = TestApp::with(|c| {
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let b = a.beside(|c| {
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let (owner, editor, reader) = (a.user(), a.user(), a.user());
    let list = share(&a, &owner, &editor, "editor");
    join(&a, &owner, &list, &reader, "viewer");
    let owner_away = id_str(&new_list(&a, &owner, "Owner's away"));
    let editor_away = id_str(&new_list(&a, &editor, "Editor's away"));
    let done = AtomicBool::new(false);
    let mut copy = HashMap::new();
    let mut round = 0;
    std::thread::scope(|s| {
        let writers: Vec<_> = [
            (&a, &owner, &owner_away, "o1"),
            (&a, &owner, &owner_away, "o2"),
            (&b, &editor, &editor_away, "e1"),
            (&b, &editor, &editor_away, "e2"),
        ]
        .into_iter()
        .map(|(app, user, away, tag)| {
            let list = &list;
            s.spawn(move || write_for_a_while(app, user, list, away, tag))
        })
        .collect();
        let mut at = String::new();
        while !done.load(Ordering::SeqCst) {
            at = sync([&a, &b], &reader, &mut copy, &at, &mut round);
            if writers.iter().all(|w| w.is_finished()) {
                done.store(true, Ordering::SeqCst);
            }
        }
        for w in writers {
            w.join().expect("a writer panicked");
        }
        sync([&a, &b], &reader, &mut copy, &at, &mut round);
    });
    for server in [&a, &b] {
        let state: HashMap<i64, Value> = tasks_seen(server, &reader, "")
            .into_iter()
            .map(|t| (id_of(&t), t))
            .collect();
        assert!(state.len() > 20, "the writers left tasks: {}", state.len());
        let mut missing: Vec<&i64> = state.keys().filter(|id| !copy.contains_key(id)).collect();
        let mut extra: Vec<&i64> = copy.keys().filter(|id| !state.contains_key(id)).collect();
        missing.sort();
        extra.sort();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}, extra {extra:?}"
        );
        for (id, task) in &state {
            assert_eq!(copy.get(id), Some(task), "task {id}");
        }
    }
    assert!(round > 2, "the reader synced while the writers wrote");
}

#[test]
fn a_task_moved_out_of_sight_and_back_between_two_syncs_is_a_changed_task_not_a_deletion() {
    let app = TestApp::spawn();
    let (owner, member) = (app.user(), app.user());
    let list = share(&app, &owner, &member, "viewer");
    let private = id_str(&new_list(&app, &owner, "Private"));
    let id = id_of(&task_in(&app, &owner, &list, "round trip"));
    let start = feed_cursor(&changes(&app, &member, ""));
    let path = task_path(&owner, id);
    for (target, title) in [(&private, "away"), (&list, "back")] {
        let body = json!({ "list_id": target, "title": title });
        let resp = app.send("PUT", &path, Some(&owner.token), Some(body));
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let page = changes(&app, &member, &format!("?since={start}"));
    assert_eq!(task_ids_in(&page), HashSet::from([id]), "{page}");
    assert!(deleted_in(&page).is_empty(), "{page}");
    assert_eq!(page["tasks"][0]["title"], "back");
}

#[test]
fn a_reconnect_with_last_event_id_replays_the_list_events_and_shared_tasks_it_missed() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, member) = (a.user(), a.user());
    let kept = share(&a, &owner, &member, "editor");
    let lost = share(&a, &owner, &member, "editor");
    let mut stream = Sse::of(&b, &member);
    let marker = id_of(&a.task(&member, "before going away"));
    let last = stream
        .until(WAIT, |e| about_task(e, marker))
        .pop()
        .unwrap()
        .id;
    drop(stream);
    rename(&a, &owner, &kept, "Renamed while away");
    let task = id_of(&task_in(&a, &owner, &kept, "made while away"));
    remove(&a, &owner, &lost, &member);
    let back = Sse::open(&b, &member.id, &ticket(&a, &member), Some(&last));
    assert_eq!(back.status(), 200, "{}", back.head);
    let mut back = back;
    let mut seen = Vec::new();
    while let Some(event) = back.next(Duration::from_secs(2)) {
        seen.push(event);
    }
    let renamed = seen.iter().find(|e| list_event(e, "updated", &kept));
    let renamed = renamed.unwrap_or_else(|| panic!("no rename in {seen:?}"));
    assert_eq!(renamed.data["list"]["name"], "Renamed while away");
    assert!(
        seen.iter()
            .any(|e| about_task(e, task) && e.data["op"] == "created"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|e| list_event(e, "left", &lost)),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|e| about_task(e, marker)),
        "replayed from after it"
    );
}

#[test]
fn after_a_write_in_a_shared_list_every_members_list_on_this_server_is_what_another_server_reads_afresh(
) {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let (owner, editor, viewer) = (a.user(), a.user(), a.user());
    let list = share(&a, &owner, &editor, "editor");
    join(&a, &owner, &list, &viewer, "viewer");
    let ids: Vec<i64> = (0..5)
        .map(|i| id_of(&task_in(&a, &owner, &list, &format!("shared {i}"))))
        .collect();
    app_lists_agree(&a, &b, &[&owner, &editor, &viewer]);
    for (n, id) in ids.iter().enumerate() {
        // Every member's whole list is cached on a; a write through a edits them in place.
        for user in [&owner, &editor, &viewer] {
            assert_eq!(a.get(&tasks_path(user), Some(&user.token)).status, 200);
        }
        let writer = if n % 2 == 0 { &owner } else { &editor };
        let resp = if n % 3 == 0 {
            a.send(
                "PUT",
                &task_path(writer, id),
                Some(&writer.token),
                Some(json!({ "title": format!("renamed by a writer {n}") })),
            )
        } else {
            a.send(
                "PATCH",
                &format!("{}/complete", task_path(writer, id)),
                Some(&writer.token),
                None,
            )
        };
        assert_eq!(resp.status, 200, "{}", resp.body);
        app_lists_agree(&a, &b, &[&owner, &editor, &viewer]);
    }
}

/// Each user's whole list and its ETag are the same from `a` (maybe from its cache) and `b`.
fn app_lists_agree(a: &TestApp, b: &TestApp, users: &[&User]) {
    for user in users {
        let here = a.get(&tasks_path(user), Some(&user.token));
        let there = b.get(&tasks_path(user), Some(&user.token));
        assert_eq!(here.body, there.body);
        assert_eq!(here.header("etag"), there.header("etag"));
    }
}
