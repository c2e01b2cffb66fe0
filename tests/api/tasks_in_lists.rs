//! Tasks in lists: every task route and list route driven by a non-member, a viewer, an editor and
//! the owner; `list_id` on create and move; the new task fields; assignees; the `list` and
//! `assignee` filters; and a user who never shares seeing what parts 1 and 2 promise.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashSet;

/// A shared list with one member of each role, and someone outside it.
struct Team {
    owner: User,
    editor: User,
    viewer: User,
    outsider: User,
    list: String,
}

fn team(app: &TestApp) -> Team {
    let owner = named_user(app, "Owner");
    let editor = named_user(app, "Editor");
    let viewer = named_user(app, "Viewer");
    let outsider = named_user(app, "Outsider");
    let list = share(app, &owner, &editor, "editor");
    join(app, &owner, &list, &viewer, "viewer");
    Team {
        owner,
        editor,
        viewer,
        outsider,
        list,
    }
}

impl Team {
    /// Each caller with the role it has in the list (`None`: not a member).
    fn actors(&self) -> [(&'static str, &User, Option<&'static str>); 4] {
        [
            ("outsider", &self.outsider, None),
            ("viewer", &self.viewer, Some("viewer")),
            ("editor", &self.editor, Some("editor")),
            ("owner", &self.owner, Some("owner")),
        ]
    }
}

/// Records a mismatch between an answer and the status (and, when given, the detail) expected.
fn expect(wrong: &mut Vec<String>, what: &str, resp: &Resp, status: u16, detail: Option<&str>) {
    let got_detail = serde_json::from_str::<Value>(&resp.body)
        .ok()
        .and_then(|b| b["detail"].as_str().map(str::to_string));
    if resp.status != status || (detail.is_some() && got_detail.as_deref() != detail) {
        wrong.push(format!(
            "{what}: expected {status} {detail:?}, got {} {}",
            resp.status, resp.body
        ));
    }
}

fn assert_none_wrong(wrong: Vec<String>) {
    assert!(
        wrong.is_empty(),
        "{} answers differ from the contract:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// `(status, detail)` for a read and for a write by a caller of `role`, where the thing not found
/// for a non-member is `missing` ("Task not found" or "List not found").
fn read_answer(role: Option<&str>, ok: u16, missing: &'static str) -> (u16, Option<&'static str>) {
    match role {
        None => (404, Some(missing)),
        Some(_) => (ok, None),
    }
}

fn write_answer(
    role: Option<&str>,
    ok: u16,
    missing: &'static str,
    allowed: &[&str],
) -> (u16, Option<&'static str>) {
    match role {
        None => (404, Some(missing)),
        Some(r) if allowed.contains(&r) => (ok, None),
        Some(_) => (403, Some(ROLE_DENIED)),
    }
}

const WRITERS: [&str; 2] = ["owner", "editor"];
const OWNER: [&str; 1] = ["owner"];

#[test]
fn every_task_route_answers_a_non_member_a_viewer_an_editor_and_the_owner_as_the_contract_says() {
    let app = TestApp::spawn();
    let t = team(&app);
    let mut wrong = Vec::new();
    for (name, user, role) in t.actors() {
        let token = Some(user.token.as_str());
        let task = task_in(&app, &t.owner, &t.list, &format!("for the {name}"));
        let id = id_of(&task);
        let path = task_path(user, id);
        let (s, d) = read_answer(role, 200, "Task not found");
        expect(
            &mut wrong,
            &format!("{name} GET task"),
            &app.get(&path, token),
            s,
            d,
        );
        let seen = tasks_seen(&app, user, "");
        if ids(&seen).contains(&id) != role.is_some() {
            wrong.push(format!(
                "{name} GET tasks: holds the task: {}",
                role.is_none()
            ));
        }
        let (s, d) = read_answer(role, 200, "List not found");
        let filtered = app.get(&format!("{}?list={}", tasks_path(user), t.list), token);
        expect(
            &mut wrong,
            &format!("{name} GET tasks?list="),
            &filtered,
            s,
            d,
        );

        let (s, d) = write_answer(role, 200, "Task not found", &WRITERS);
        let body = json!({ "title": format!("edited by the {name}") });
        let put = app.send("PUT", &path, token, Some(body));
        expect(&mut wrong, &format!("{name} PUT task"), &put, s, d);
        let toggle = app.send("PATCH", &format!("{path}/complete"), token, None);
        expect(&mut wrong, &format!("{name} PATCH complete"), &toggle, s, d);
        let delete = app.send("DELETE", &path, token, None);
        expect(&mut wrong, &format!("{name} DELETE task"), &delete, s, d);
        if s == 200 && delete.status == 200 {
            let message = json!({ "message": "Task deleted successfully" });
            if delete.json() != message {
                wrong.push(format!("{name} DELETE task body: {}", delete.body));
            }
        }
        let (s, d) = write_answer(role, 201, "List not found", &WRITERS);
        let body = json!({ "title": format!("made by the {name}"), "list_id": t.list });
        let post = post_task(&app, user, body);
        expect(
            &mut wrong,
            &format!("{name} POST task in list"),
            &post,
            s,
            d,
        );
        if s == 201 && post.status == 201 {
            let made = post.json();
            if made["list_id"] != t.list.as_str() || made["created_by"] != user.id.as_str() {
                wrong.push(format!("{name} POST task: list_id / created_by: {made}"));
            }
        }
        // What was refused changed nothing.
        if s != 201 {
            let current = app.get(&task_path(&t.owner, id), Some(&t.owner.token));
            if current.status != 200 || current.json()["title"] != task["title"] {
                wrong.push(format!(
                    "{name}: the refused writes changed {}",
                    current.body
                ));
            }
        }
    }
    let mut titles: Vec<String> = tasks_seen(&app, &t.owner, &format!("?list={}", t.list))
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    let want = [
        "for the outsider",
        "for the viewer",
        "made by the editor",
        "made by the owner",
    ];
    if titles != want {
        wrong.push(format!(
            "only the writers' writes happen: the list holds {titles:?}"
        ));
    }
    assert_none_wrong(wrong);
}

#[test]
fn every_list_route_answers_a_non_member_a_viewer_an_editor_and_the_owner_as_the_contract_says() {
    let app = TestApp::spawn();
    let t = team(&app);
    let spare = app.user();
    join(&app, &t.owner, &t.list, &spare, "viewer");
    let mut wrong = Vec::new();
    for (name, user, role) in t.actors() {
        let token = Some(user.token.as_str());
        let list = list_path(user, &t.list);
        let (s, d) = read_answer(role, 200, "List not found");
        let got = app.get(&list, token);
        expect(&mut wrong, &format!("{name} GET list"), &got, s, d);
        if let (Some(r), 200) = (role, got.status) {
            if got.json()["role"] != r {
                wrong.push(format!("{name} GET list: role {}", got.json()["role"]));
            }
        }
        let listed = lists_of(&app, user)
            .iter()
            .any(|l| l["id"] == t.list.as_str());
        if listed != role.is_some() {
            wrong.push(format!("{name} GET lists: holds the list: {listed}"));
        }
        let members = app.get(&members_path(user, &t.list), token);
        expect(&mut wrong, &format!("{name} GET members"), &members, s, d);

        let (s, d) = write_answer(role, 200, "List not found", &WRITERS);
        let body = json!({ "name": format!("Renamed by the {name}") });
        let patch = app.send("PATCH", &list, token, Some(body));
        expect(&mut wrong, &format!("{name} PATCH list"), &patch, s, d);

        let (s, d) = write_answer(role, 200, "List not found", &OWNER);
        let invitations = app.get(&invitations_path(user, &t.list), token);
        expect(
            &mut wrong,
            &format!("{name} GET invitations"),
            &invitations,
            s,
            d,
        );
        let role_change = app.send(
            "PATCH",
            &member_path(user, &t.list, &t.viewer.id),
            token,
            Some(json!({ "role": "viewer" })),
        );
        expect(
            &mut wrong,
            &format!("{name} PATCH member"),
            &role_change,
            s,
            d,
        );

        let (s, d) = write_answer(role, 201, "List not found", &OWNER);
        let email = format!("invitee{}@example.com", unique());
        let sent = invite(&app, user, &t.list, &email, "viewer");
        expect(&mut wrong, &format!("{name} POST invitation"), &sent, s, d);
        // The owner's invitation, revoked by each caller.
        let email = format!("revoked{}@example.com", unique());
        let pending = invite(&app, &t.owner, &t.list, &email, "viewer");
        let pending_id = match pending.status {
            201 => id_str(&pending.json()),
            _ => {
                wrong.push(format!("the owner's invitation: {}", pending.body));
                unknown_uuid()
            }
        };
        let path = format!("{}/{pending_id}", invitations_path(user, &t.list));
        let (s, d) = write_answer(role, 204, "List not found", &OWNER);
        let revoke = app.send("DELETE", &path, token, None);
        expect(
            &mut wrong,
            &format!("{name} DELETE invitation"),
            &revoke,
            s,
            d,
        );
        // Removing someone else: the owner a spare member, the editor the viewer, and so on.
        let target = match name {
            "owner" => &spare.id,
            "editor" => &t.viewer.id,
            _ => &t.editor.id,
        };
        let removal = app.send("DELETE", &member_path(user, &t.list, target), token, None);
        expect(
            &mut wrong,
            &format!("{name} DELETE another member"),
            &removal,
            s,
            d,
        );

        let delete = app.send("DELETE", &list, token, None);
        expect(&mut wrong, &format!("{name} DELETE list"), &delete, s, d);
    }
    assert_error(
        &app.get(&list_path(&t.editor, &t.list), Some(&t.editor.token)),
        404,
        "List not found",
    );
    assert_none_wrong(wrong);
}

fn assert_uid(task: &Value) -> String {
    let uid = task["uid"]
        .as_str()
        .unwrap_or_else(|| panic!("no uid: {task}"));
    assert!(!uid.trim().is_empty(), "{task}");
    uid.to_string()
}

#[test]
fn a_task_carries_list_id_created_by_assignee_id_and_a_uid_and_goes_to_the_inbox_by_default() {
    let app = TestApp::spawn();
    let user = app.user();
    let inbox = inbox_id(&app, &user);
    let resp = post_task(&app, &user, json!({ "title": "plain" }));
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_eq!(task["list_id"], inbox.as_str());
    assert_eq!(task["created_by"], user.id.as_str());
    assert_eq!(task["user_id"], user.id.as_str());
    assert_eq!(task["assignee_id"], Value::Null);
    assert_uid(&task);
    for field in TASK_FIELDS {
        assert!(task.get(field).is_some(), "{field} is still there: {task}");
    }
    let fetched = app
        .get(&task_path(&user, id_of(&task)), Some(&user.token))
        .json();
    assert_eq!(fetched, task);
    assert_eq!(inbox_of_count(&app, &user), 1);
}

fn inbox_of_count(app: &TestApp, user: &User) -> i64 {
    inbox(app, user)["open_tasks"].as_i64().unwrap()
}

#[test]
fn uids_are_unique_across_users_and_lists_and_stay_put_through_edits_and_moves() {
    let app = TestApp::spawn();
    let (a, b) = (app.user(), app.user());
    let a_list = id_str(&new_list(&app, &a, "A's"));
    let mut uids = HashSet::new();
    let mut tasks = Vec::new();
    for i in 0..10 {
        for (user, list) in [(&a, Some(&a_list)), (&a, None), (&b, None)] {
            let mut body = json!({ "title": format!("task {i}") });
            if let Some(list) = list {
                body["list_id"] = json!(list);
            }
            let resp = post_task(&app, user, body);
            assert_eq!(resp.status, 201, "{}", resp.body);
            let task = resp.json();
            assert!(uids.insert(assert_uid(&task)), "a repeated uid: {task}");
            tasks.push((user, task));
        }
    }
    let (user, task) = &tasks[1];
    let path = task_path(user, id_of(task));
    let moved = app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({ "title": "moved", "list_id": a_list })),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["uid"], task["uid"]);
    assert_eq!(moved.json()["list_id"], a_list.as_str());
}

#[test]
fn a_task_made_by_another_member_names_its_creator_in_user_id_and_created_by() {
    let app = TestApp::spawn();
    let t = team(&app);
    let by_editor = task_in(&app, &t.editor, &t.list, "the editor's");
    let by_owner = task_in(&app, &t.owner, &t.list, "the owner's");
    for viewer in [&t.owner, &t.editor, &t.viewer] {
        for (task, creator) in [(&by_editor, &t.editor), (&by_owner, &t.owner)] {
            let seen = app.get(&task_path(viewer, id_of(task)), Some(&viewer.token));
            assert_eq!(seen.status, 200, "{}", seen.body);
            let seen = seen.json();
            assert_eq!(seen["user_id"], creator.id.as_str(), "{seen}");
            assert_eq!(seen["created_by"], creator.id.as_str(), "{seen}");
            assert_eq!(seen["list_id"], t.list.as_str());
        }
    }
    // An edit by someone else does not change who made it.
    let path = task_path(&t.owner, id_of(&by_editor));
    let edited = app.send(
        "PUT",
        &path,
        Some(&t.owner.token),
        Some(json!({"title": "owner edit"})),
    );
    assert_eq!(edited.json()["created_by"], t.editor.id.as_str());
    assert_eq!(edited.json()["user_id"], t.editor.id.as_str());
}

#[test]
fn creating_in_a_list_the_caller_cannot_see_is_404_list_not_found_and_creates_nothing() {
    let app = TestApp::spawn();
    let t = team(&app);
    let private = id_str(&new_list(&app, &t.owner, "Private"));
    for list in [unknown_uuid(), private.clone(), inbox_id(&app, &t.owner)] {
        let body = json!({ "title": "sneaked in", "list_id": list });
        assert_error(&post_task(&app, &t.editor, body), 404, "List not found");
    }
    let body = json!({ "title": "read only", "list_id": t.list });
    assert_error(&post_task(&app, &t.viewer, body), 403, ROLE_DENIED);
    // The viewer's own Inbox is theirs to write.
    let own = post_task(&app, &t.viewer, json!({ "title": "mine" }));
    assert_eq!(own.status, 201, "{}", own.body);
    assert!(tasks_seen(&app, &t.owner, "").is_empty());
    assert_eq!(ids(&tasks_seen(&app, &t.viewer, "")), [id_of(&own.json())]);
}

#[test]
fn put_with_list_id_moves_the_task_and_needs_write_access_to_both_lists() {
    let app = TestApp::spawn();
    let t = team(&app);
    // A list the editor of `t.list` only views.
    let viewed = share(&app, &t.viewer, &t.editor, "viewer");
    let from_viewed = task_in(&app, &t.viewer, &viewed, "in the viewed list");
    let editor_inbox = inbox_id(&app, &t.editor);
    let task = app.task(&t.editor, "from the inbox");
    let path = task_path(&t.editor, id_of(&task));
    let token = Some(t.editor.token.as_str());
    let moved = app.send("PUT", &path, token, Some(json!({ "list_id": t.list })));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["list_id"], t.list.as_str());
    assert_eq!(moved.json()["title"], "from the inbox");
    let by_owner = app.get(&task_path(&t.owner, id_of(&task)), Some(&t.owner.token));
    assert_eq!(
        by_owner.status, 200,
        "the owner sees it now: {}",
        by_owner.body
    );
    // Into a list the mover only views, or cannot see: refused, nothing changes.
    let into_viewed = app.send(
        "PUT",
        &path,
        token,
        Some(json!({ "list_id": viewed, "title": "x" })),
    );
    assert_error(&into_viewed, 403, ROLE_DENIED);
    for list in [unknown_uuid(), inbox_id(&app, &t.owner)] {
        let resp = app.send(
            "PUT",
            &path,
            token,
            Some(json!({ "list_id": list, "title": "x" })),
        );
        assert_error(&resp, 404, "List not found");
    }
    // Out of a list the mover only views: refused.
    let out = app.send(
        "PUT",
        &task_path(&t.editor, id_of(&from_viewed)),
        token,
        Some(json!({ "list_id": editor_inbox })),
    );
    assert_error(&out, 403, ROLE_DENIED);
    // A viewer of the list cannot move a task out of it into their own Inbox.
    let viewer_inbox = inbox_id(&app, &t.viewer);
    let resp = app.send(
        "PUT",
        &task_path(&t.viewer, id_of(&task)),
        Some(&t.viewer.token),
        Some(json!({ "list_id": viewer_inbox })),
    );
    assert_error(&resp, 403, ROLE_DENIED);
    let now = app.get(&path, token).json();
    assert_eq!(now["list_id"], t.list.as_str());
    assert_eq!(now["title"], "from the inbox");
    // Back out to the editor's Inbox: the owner loses sight of it.
    let back = app.send(
        "PUT",
        &path,
        token,
        Some(json!({ "list_id": editor_inbox })),
    );
    assert_eq!(back.status, 200, "{}", back.body);
    let by_owner = app.get(&task_path(&t.owner, id_of(&task)), Some(&t.owner.token));
    assert_error(&by_owner, 404, "Task not found");
}

#[test]
fn an_assignee_must_be_a_member_of_the_tasks_list_else_400_naming_assignee_id() {
    let app = TestApp::spawn();
    let t = team(&app);
    for stranger in [t.outsider.id.clone(), unknown_uuid()] {
        let body = json!({ "title": "x", "list_id": t.list, "assignee_id": stranger });
        let resp = post_task(&app, &t.owner, body);
        let named: Vec<String> = validation_errors(&resp).into_iter().map(|e| e.0).collect();
        assert_eq!(named, ["assignee_id"], "{}", resp.body);
    }
    // In the Inbox only its owner is a member.
    let body = json!({ "title": "x", "assignee_id": t.editor.id });
    let resp = post_task(&app, &t.owner, body);
    let named: Vec<String> = validation_errors(&resp).into_iter().map(|e| e.0).collect();
    assert_eq!(named, ["assignee_id"], "{}", resp.body);
    let mine = post_task(
        &app,
        &t.owner,
        json!({ "title": "x", "assignee_id": t.owner.id }),
    );
    assert_eq!(mine.status, 201, "{}", mine.body);
    assert_eq!(mine.json()["assignee_id"], t.owner.id.as_str());

    let body = json!({ "title": "for the viewer", "list_id": t.list, "assignee_id": t.viewer.id });
    let resp = post_task(&app, &t.editor, body);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let task = resp.json();
    assert_eq!(task["assignee_id"], t.viewer.id.as_str());
    let path = task_path(&t.editor, id_of(&task));
    let token = Some(t.editor.token.as_str());
    let bad = app.send(
        "PUT",
        &path,
        token,
        Some(json!({ "assignee_id": t.outsider.id })),
    );
    let named: Vec<String> = validation_errors(&bad).into_iter().map(|e| e.0).collect();
    assert_eq!(named, ["assignee_id"], "{}", bad.body);
    let reassigned = app.send(
        "PUT",
        &path,
        token,
        Some(json!({ "assignee_id": t.owner.id })),
    );
    assert_eq!(reassigned.json()["assignee_id"], t.owner.id.as_str());
    let cleared = app.send("PUT", &path, token, Some(json!({ "assignee_id": null })));
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.json()["assignee_id"], Value::Null);
}

#[test]
fn a_member_who_leaves_is_cleared_as_assignee_of_the_lists_tasks_and_only_there() {
    let app = TestApp::spawn();
    let t = team(&app);
    let body = json!({ "title": "editor's job", "list_id": t.list, "assignee_id": t.editor.id });
    let assigned = post_task(&app, &t.owner, body).json();
    let elsewhere = share(&app, &t.owner, &t.editor, "editor");
    let body = json!({ "title": "other list", "list_id": elsewhere, "assignee_id": t.editor.id });
    let kept = post_task(&app, &t.owner, body).json();
    let left = app.send(
        "DELETE",
        &member_path(&t.editor, &t.list, &t.editor.id),
        Some(&t.editor.token),
        None,
    );
    assert_eq!(left.status, 204, "{}", left.body);
    let after = app.get(&task_path(&t.owner, id_of(&assigned)), Some(&t.owner.token));
    assert_eq!(after.json()["assignee_id"], Value::Null, "{}", after.body);
    let other = app.get(&task_path(&t.owner, id_of(&kept)), Some(&t.owner.token));
    assert_eq!(
        other.json()["assignee_id"],
        t.editor.id.as_str(),
        "{}",
        other.body
    );
}

#[test]
fn the_list_filter_returns_one_lists_tasks_and_404_for_a_list_the_caller_is_not_in() {
    let app = TestApp::spawn();
    let t = team(&app);
    let in_list: Vec<i64> = (0..3)
        .map(|i| id_of(&task_in(&app, &t.owner, &t.list, &format!("shared {i}"))))
        .collect();
    let own = app.task(&t.editor, "editor's inbox");
    app.task(&t.owner, "owner's inbox");
    let mut want = in_list.clone();
    want.reverse();
    for who in [&t.owner, &t.editor, &t.viewer] {
        let got = tasks_seen(&app, who, &format!("?list={}", t.list));
        assert_eq!(ids(&got), want, "newest first, that list only");
    }
    let inbox = inbox_id(&app, &t.editor);
    assert_eq!(
        ids(&tasks_seen(&app, &t.editor, &format!("?list={inbox}"))),
        [id_of(&own)]
    );
    for list in [unknown_uuid(), inbox_id(&app, &t.owner)] {
        let resp = app.get(
            &format!("{}?list={list}", tasks_path(&t.editor)),
            Some(&t.editor.token),
        );
        assert_error(&resp, 404, "List not found");
    }
}

#[test]
fn without_list_the_task_list_holds_every_task_in_every_list_the_caller_is_a_member_of() {
    let app = TestApp::spawn();
    let t = team(&app);
    let other = id_str(&new_list(&app, &t.owner, "Owner's private"));
    let shared = id_of(&task_in(&app, &t.owner, &t.list, "shared"));
    let private = id_of(&task_in(&app, &t.owner, &other, "private"));
    let owner_inbox = id_of(&app.task(&t.owner, "owner's inbox"));
    let editor_inbox = id_of(&app.task(&t.editor, "editor's inbox"));
    let editor_list = id_str(&new_list(&app, &t.editor, "Editor's own"));
    let editor_own = id_of(&task_in(&app, &t.editor, &editor_list, "editor's own list"));
    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable();
        v
    };
    assert_eq!(
        sorted(ids(&tasks_seen(&app, &t.editor, ""))),
        sorted(vec![shared, editor_inbox, editor_own])
    );
    assert_eq!(
        sorted(ids(&tasks_seen(&app, &t.owner, ""))),
        sorted(vec![shared, private, owner_inbox])
    );
    assert_eq!(ids(&tasks_seen(&app, &t.viewer, "")), [shared]);
    assert!(tasks_seen(&app, &t.outsider, "").is_empty());
    assert_newest_first(&tasks_seen(&app, &t.editor, ""));
}

#[test]
fn list_and_assignee_filters_combine_with_status_sort_limit_and_cursor() {
    let app = TestApp::spawn();
    let t = team(&app);
    let mut made = Vec::new();
    for i in 0..18 {
        let assignee = match i % 3 {
            0 => json!(t.editor.id),
            1 => json!(t.owner.id),
            _ => Value::Null,
        };
        let body = json!({
            "title": format!("{} task {i:02}", ["pear", "Apple", "fig"][(i / 3) % 3]),
            "list_id": t.list,
            "assignee_id": assignee,
            "completed": i % 4 == 0,
        });
        let resp = post_task(&app, &t.owner, body);
        assert_eq!(resp.status, 201, "{}", resp.body);
        made.push(resp.json());
    }
    // Noise outside the list: assigned to the editor in the editor's own Inbox.
    let body = json!({ "title": "Apple elsewhere", "assignee_id": t.editor.id });
    assert_eq!(post_task(&app, &t.editor, body).status, 201);

    let pick = |keep: &dyn Fn(&Value) -> bool| -> Vec<i64> {
        let mut chosen: Vec<&Value> = made.iter().filter(|task| keep(task)).collect();
        chosen.sort_by(|a, b| {
            let (ta, tb) = (
                a["title"].as_str().unwrap().to_lowercase(),
                b["title"].as_str().unwrap().to_lowercase(),
            );
            ta.cmp(&tb).then(id_of(a).cmp(&id_of(b)))
        });
        chosen.into_iter().map(id_of).collect()
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (
            format!(
                "list={}&assignee=me&status=pending&sort=title_asc&limit=2",
                t.list
            ),
            pick(&|task| task["assignee_id"] == t.editor.id.as_str() && task["completed"] == false),
        ),
        (
            format!("list={}&assignee=none&sort=title_asc&limit=3", t.list),
            pick(&|task| task["assignee_id"].is_null()),
        ),
        (
            format!(
                "list={}&assignee={}&status=completed&sort=title_asc&limit=1",
                t.list, t.owner.id
            ),
            pick(&|task| task["assignee_id"] == t.owner.id.as_str() && task["completed"] == true),
        ),
        (
            format!("list={}&q=apple&sort=title_asc&limit=4", t.list),
            pick(&|task| task["title"].as_str().unwrap().starts_with("Apple")),
        ),
    ];
    for (query, want) in cases {
        assert!(!want.is_empty(), "{query} selects something");
        let first = format!("{}?{query}", tasks_path(&t.editor));
        let pages = walk(&app, &t.editor, &first, || {});
        let got: Vec<i64> = pages.iter().flat_map(|p| ids(p)).collect();
        assert_eq!(got, want, "{query}");
        assert!(pages.len() > 1, "{query} took more than one page");
    }
    // Without `list`, assignee=me reaches the editor's own Inbox too.
    let mine = tasks_seen(&app, &t.editor, "?assignee=me");
    assert_eq!(mine.len(), 7, "six in the list and one in the Inbox");
    // A cursor belongs to its list.
    let resp = app.get(
        &format!("{}?list={}&limit=1", tasks_path(&t.editor), t.list),
        Some(&t.editor.token),
    );
    let link = next_link(&resp).expect("a next page");
    let cursor = cursor_of(&link);
    let inbox = inbox_id(&app, &t.editor);
    let reused = app.get(
        &format!(
            "{}?list={inbox}&limit=1&cursor={cursor}",
            tasks_path(&t.editor)
        ),
        Some(&t.editor.token),
    );
    assert_error(&reused, 400, "Cursor does not match this query");
    let bad = app.get(
        &format!("{}?assignee=somebody", tasks_path(&t.editor)),
        Some(&t.editor.token),
    );
    let named: Vec<String> = validation_errors(&bad).into_iter().map(|e| e.0).collect();
    assert_eq!(named, ["assignee"], "{}", bad.body);
}

#[test]
fn a_user_who_never_shares_sees_exactly_what_parts_1_and_2_promise() {
    let app = TestApp::spawn();
    let solo = app.user();
    // Others share and write around them.
    let (owner, member) = (app.user(), app.user());
    let shared = share(&app, &owner, &member, "editor");
    task_in(&app, &owner, &shared, "not for the solo user");
    app.task(&member, "nor this");
    let ids_made = create_many(&app, &solo, 3, "solo");
    let inbox = inbox_id(&app, &solo);
    let seen = tasks_seen(&app, &solo, "");
    let mut want = ids_made.clone();
    want.reverse();
    assert_eq!(ids(&seen), want);
    for task in &seen {
        assert_eq!(task["user_id"], solo.id.as_str());
        assert_eq!(task["created_by"], solo.id.as_str());
        assert_eq!(task["list_id"], inbox.as_str());
    }
    let feed = changes(&app, &solo, "");
    let fed: Vec<String> = feed_ids(&feed, "tasks");
    assert_eq!(fed.len(), 3, "{feed}");
    assert_eq!(lists_of(&app, &solo).len(), 1);
    let foreign = tasks_seen(&app, &owner, "")[0].clone();
    let resp = app.get(&task_path(&solo, id_of(&foreign)), Some(&solo.token));
    assert_error(&resp, 404, "Task not found");
    let resp = app.get(&format!("/api/{}/tags", solo.id), Some(&solo.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json(), json!([]));
}

#[test]
fn if_match_guards_a_shared_task_against_another_members_change() {
    let app = TestApp::spawn();
    let t = team(&app);
    let created = app.send(
        "POST",
        &tasks_path(&t.owner),
        Some(&t.owner.token),
        Some(json!({ "title": "contested", "list_id": t.list })),
    );
    let tag = created.header("etag").expect("an ETag").to_string();
    let id = id_of(&created.json());
    let seen = app.get(&task_path(&t.editor, id), Some(&t.editor.token));
    assert_eq!(
        seen.header("etag"),
        Some(tag.as_str()),
        "one tag for every member"
    );
    let by_editor = app.send(
        "PUT",
        &task_path(&t.editor, id),
        Some(&t.editor.token),
        Some(json!({ "title": "the editor's" })),
    );
    assert_eq!(by_editor.status, 200, "{}", by_editor.body);
    let auth = format!("Bearer {}", t.owner.token);
    let body = json!({ "title": "the owner's, late" }).to_string();
    let late = app.request(
        "PUT",
        &task_path(&t.owner, id),
        &[
            ("Authorization", auth.as_str()),
            ("If-Match", tag.as_str()),
            ("Content-Type", "application/json"),
        ],
        Some(body.as_bytes()),
    );
    assert_error(&late, 412, "Task was changed by someone else");
    let now = app.get(&task_path(&t.owner, id), Some(&t.owner.token));
    assert_eq!(now.json()["title"], "the editor's");
}
