//! Lists: the default Inbox every user has, creating, reading, renaming and deleting lists, their
//! validation and order, 404 for a list the caller is not in, and the 1000-list limit.

use crate::support::*;
use serde_json::{json, Value};

fn names(lists: &[Value]) -> Vec<String> {
    lists
        .iter()
        .map(|l| l["name"].as_str().expect("a name").to_string())
        .collect()
}

fn patch(app: &TestApp, user: &User, list_id: &str, body: Value) -> Resp {
    app.send(
        "PATCH",
        &list_path(user, list_id),
        Some(&user.token),
        Some(body),
    )
}

fn delete(app: &TestApp, user: &User, list_id: &str) -> Resp {
    app.send("DELETE", &list_path(user, list_id), Some(&user.token), None)
}

/// The fields a validation error names.
fn fields(resp: &Resp) -> Vec<String> {
    validation_errors(resp)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

#[test]
fn a_new_user_has_exactly_one_list_the_default_inbox_which_they_own_alone() {
    let app = TestApp::spawn();
    let user = app.user();
    let all = lists_of(&app, &user);
    assert_eq!(all.len(), 1, "{all:?}");
    let inbox = &all[0];
    assert_list_shape(inbox);
    assert_eq!(inbox["name"], "Inbox");
    assert_eq!(inbox["color"], Value::Null);
    assert_eq!(inbox["owner_id"], user.id.as_str());
    assert_eq!(inbox["role"], "owner");
    assert_eq!(inbox["is_default"], true);
    assert_eq!(inbox["shared"], false);
    assert_eq!(inbox["open_tasks"], 0);
    let one = list_of(&app, &user, &id_str(inbox));
    assert_eq!(&one, inbox);
    let members = member_ids(&app, &user, &id_str(inbox));
    assert_eq!(members, [user.id.as_str()]);
}

#[test]
fn open_tasks_counts_the_tasks_of_the_list_that_are_not_completed() {
    let app = TestApp::spawn();
    let user = app.user();
    let ids = create_many(&app, &user, 3, "inbox task");
    let toggled = app.send(
        "PATCH",
        &format!("{}/complete", task_path(&user, ids[0])),
        Some(&user.token),
        None,
    );
    assert_eq!(toggled.status, 200, "{}", toggled.body);
    let other = new_list(&app, &user, "Other");
    task_in(&app, &user, &id_str(&other), "elsewhere");
    assert_eq!(inbox(&app, &user)["open_tasks"], 2);
    assert_eq!(list_of(&app, &user, &id_str(&other))["open_tasks"], 1);
    app.send("DELETE", &task_path(&user, ids[1]), Some(&user.token), None);
    assert_eq!(inbox(&app, &user)["open_tasks"], 1);
}

#[test]
fn creating_a_list_answers_201_with_the_list_its_name_trimmed() {
    let app = TestApp::spawn();
    let user = app.user();
    let resp = post_list(
        &app,
        &user,
        json!({ "name": "  Groceries \t", "color": "#a1b2c3" }),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let list = resp.json();
    assert_list_shape(&list);
    assert_eq!(list["name"], "Groceries");
    assert_eq!(list["color"], "#a1b2c3");
    assert_eq!(list["owner_id"], user.id.as_str());
    assert_eq!(list["role"], "owner");
    assert_eq!(list["is_default"], false);
    assert_eq!(list["shared"], false);
    assert_eq!(list["open_tasks"], 0);
    let age = chrono::Utc::now() - timestamp(&list["created_at"]);
    assert!(age.num_seconds().abs() < 60, "created just now: {list}");
    assert_eq!(list_of(&app, &user, &id_str(&list)), list);
    let plain = new_list(&app, &user, "No colour");
    assert_eq!(plain["color"], Value::Null);
    let explicit = post_list(&app, &user, json!({ "name": "Null colour", "color": null }));
    assert_eq!(explicit.status, 201, "{}", explicit.body);
    assert_eq!(explicit.json()["color"], Value::Null);
    assert_eq!(lists_of(&app, &user).len(), 4);
}

#[test]
fn a_name_must_be_1_to_100_characters_after_trimming_else_400_naming_name() {
    let app = TestApp::spawn();
    let user = app.user();
    for body in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": " \t\n " }),
        json!({ "name": "a".repeat(101) }),
        json!({ "name": "é".repeat(101) }),
        json!({ "name": null }),
        json!({ "color": "#000000" }),
    ] {
        let resp = post_list(&app, &user, body.clone());
        assert_eq!(fields(&resp), ["name"], "{body}: {}", resp.body);
    }
    let longest = post_list(
        &app,
        &user,
        json!({ "name": format!(" {} ", "é".repeat(100)) }),
    );
    assert_eq!(longest.status, 201, "{}", longest.body);
    assert_eq!(longest.json()["name"], "é".repeat(100));
    let one = post_list(&app, &user, json!({ "name": "x" }));
    assert_eq!(one.status, 201, "{}", one.body);
    assert_eq!(
        lists_of(&app, &user).len(),
        3,
        "the refused ones made nothing"
    );
}

#[test]
fn a_color_is_hash_rrggbb_or_null_else_400_naming_color() {
    let app = TestApp::spawn();
    let user = app.user();
    for color in [
        json!("red"),
        json!("#abc"),
        json!("#12345g"),
        json!("123456"),
        json!("#1234567"),
        json!(""),
        json!(" #123456x"),
    ] {
        let resp = post_list(&app, &user, json!({ "name": "Coloured", "color": color }));
        assert_eq!(fields(&resp), ["color"], "{color}: {}", resp.body);
    }
    let both = post_list(&app, &user, json!({ "name": "", "color": "blue" }));
    assert_eq!(fields(&both), ["name", "color"], "{}", both.body);
    for good in ["#000000", "#ffffff", "#0a1B2c"] {
        let resp = post_list(&app, &user, json!({ "name": "Coloured", "color": good }));
        assert_eq!(resp.status, 201, "{good}: {}", resp.body);
    }
    let list = id_str(&new_list(&app, &user, "Patched"));
    let resp = patch(&app, &user, &list, json!({ "color": "#12" }));
    assert_eq!(fields(&resp), ["color"], "{}", resp.body);
    let resp = patch(&app, &user, &list, json!({ "name": "  " }));
    assert_eq!(fields(&resp), ["name"], "{}", resp.body);
    assert_eq!(list_of(&app, &user, &list)["name"], "Patched");
}

#[test]
fn lists_come_default_first_then_by_name_ignoring_case_then_by_id() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut made = Vec::new();
    for name in ["cherry", "apple", "Banana", "Aardvark", "APPLE", "banana"] {
        made.push(new_list(&app, &user, name));
    }
    let all = lists_of(&app, &user);
    assert_eq!(all[0]["is_default"], true, "{all:?}");
    let mut expected: Vec<(String, String)> = made
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_lowercase(), id_str(l)))
        .collect();
    expected.sort();
    let got: Vec<String> = all[1..].iter().map(id_str).collect();
    let want: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, want, "{:?}", names(&all));
    // Renaming the default list does not move it from the top.
    let inbox = id_str(&all[0]);
    assert_eq!(
        patch(&app, &user, &inbox, json!({ "name": "zzz" })).status,
        200
    );
    let all = lists_of(&app, &user);
    assert_eq!(id_str(&all[0]), inbox);
    assert_eq!(all[0]["name"], "zzz");
    for list in &all {
        assert_list_shape(list);
    }
}

#[test]
fn an_unknown_malformed_or_someone_elses_list_is_404_list_not_found_on_every_list_route() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let theirs = new_list(&app, &other, "Theirs");
    let their_inbox = inbox_id(&app, &other);
    let invitee = app.user();
    for id in [
        unknown_uuid(),
        "not-a-uuid".to_string(),
        "12345".to_string(),
        id_str(&theirs),
        their_inbox.clone(),
    ] {
        let routes: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", list_path(&user, &id), None),
            (
                "PATCH",
                list_path(&user, &id),
                Some(json!({ "name": "mine now" })),
            ),
            ("DELETE", list_path(&user, &id), None),
            ("GET", members_path(&user, &id), None),
            (
                "POST",
                invitations_path(&user, &id),
                Some(json!({ "email": invitee.email, "role": "editor" })),
            ),
            ("GET", invitations_path(&user, &id), None),
        ];
        let mut routes = routes;
        if uuid::Uuid::parse_str(&id).is_ok() {
            // A malformed `list` query value may be a 400 naming `list` instead (part 2's rule).
            routes.push(("GET", format!("{}?list={id}", tasks_path(&user)), None));
        }
        for (method, path, body) in routes {
            let resp = app.send(method, &path, Some(&user.token), body);
            assert_error(&resp, 404, "List not found");
            assert_eq!(resp.json().as_object().map(|o| o.len()), Some(1), "{path}");
        }
    }
    assert_eq!(list_of(&app, &other, &id_str(&theirs)), theirs, "untouched");
    assert_eq!(lists_of(&app, &other).len(), 2);
    assert!(
        my_invitations(&app, &invitee).is_empty(),
        "no invitation went out"
    );
}

#[test]
fn another_users_path_is_403_access_denied_and_no_token_401_on_the_list_routes() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let theirs = id_str(&new_list(&app, &other, "Theirs"));
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", lists_path(&other), None),
        (
            "POST",
            lists_path(&other),
            Some(json!({ "name": "planted" })),
        ),
        ("GET", list_path(&other, &theirs), None),
        (
            "PATCH",
            list_path(&other, &theirs),
            Some(json!({ "name": "renamed" })),
        ),
        ("DELETE", list_path(&other, &theirs), None),
        ("GET", members_path(&other, &theirs), None),
        ("GET", format!("/api/{}/invitations", other.id), None),
    ];
    for (method, path, body) in &routes {
        let resp = app.send(method, path, Some(&user.token), body.clone());
        assert_error(&resp, 403, "Access denied");
        assert_token_refused(&app.send(method, path, None, body.clone()), path);
    }
    assert_eq!(names(&lists_of(&app, &other)), ["Inbox", "Theirs"]);
}

#[test]
fn the_owner_renames_and_recolours_a_list_and_only_the_fields_present_change() {
    let app = TestApp::spawn();
    let user = app.user();
    let made = post_list(&app, &user, json!({ "name": "Work", "color": "#112233" })).json();
    let id = id_str(&made);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let renamed = patch(&app, &user, &id, json!({ "name": "  Office  " }));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let renamed = renamed.json();
    assert_list_shape(&renamed);
    assert_eq!(renamed["name"], "Office");
    assert_eq!(renamed["color"], "#112233");
    assert_eq!(renamed["created_at"], made["created_at"]);
    assert!(timestamp(&renamed["updated_at"]) > timestamp(&made["updated_at"]));
    let recoloured = patch(&app, &user, &id, json!({ "color": "#445566" })).json();
    assert_eq!(recoloured["name"], "Office");
    assert_eq!(recoloured["color"], "#445566");
    let cleared = patch(&app, &user, &id, json!({ "color": null })).json();
    assert_eq!(cleared["color"], Value::Null);
    assert_eq!(cleared["name"], "Office");
    assert_eq!(list_of(&app, &user, &id), cleared);
}

#[test]
fn an_editor_may_rename_a_shared_list_and_a_viewer_may_not() {
    let app = TestApp::spawn();
    let (owner, editor, viewer) = (app.user(), app.user(), app.user());
    let list = share(&app, &owner, &editor, "editor");
    join(&app, &owner, &list, &viewer, "viewer");
    let by_editor = patch(&app, &editor, &list, json!({ "name": "Renamed by editor" }));
    assert_eq!(by_editor.status, 200, "{}", by_editor.body);
    assert_eq!(by_editor.json()["role"], "editor");
    assert_eq!(by_editor.json()["owner_id"], owner.id.as_str());
    assert_eq!(list_of(&app, &owner, &list)["name"], "Renamed by editor");
    let by_viewer = patch(&app, &viewer, &list, json!({ "name": "Renamed by viewer" }));
    assert_error(&by_viewer, 403, ROLE_DENIED);
    assert_eq!(list_of(&app, &viewer, &list)["name"], "Renamed by editor");
}

#[test]
fn the_default_list_can_be_renamed_but_never_deleted() {
    let app = TestApp::spawn();
    let user = app.user();
    let id = inbox_id(&app, &user);
    let task = app.task(&user, "kept");
    let renamed = patch(
        &app,
        &user,
        &id,
        json!({ "name": "Home", "color": "#00ff00" }),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json()["is_default"], true);
    assert_eq!(renamed.json()["name"], "Home");
    assert_error(
        &delete(&app, &user, &id),
        400,
        "The default list cannot be deleted",
    );
    let still = list_of(&app, &user, &id);
    assert_eq!(still["name"], "Home");
    assert_eq!(still["is_default"], true);
    let kept = app.get(&task_path(&user, id_of(&task)), Some(&user.token));
    assert_eq!(kept.status, 200, "{}", kept.body);
}

#[test]
fn deleting_a_list_answers_204_and_deletes_every_task_in_it_and_nothing_else() {
    let app = TestApp::spawn();
    let user = app.user();
    let list = id_str(&new_list(&app, &user, "Doomed"));
    let doomed: Vec<i64> = (0..3)
        .map(|i| id_of(&task_in(&app, &user, &list, &format!("doomed {i}"))))
        .collect();
    let kept = app.task(&user, "in the inbox");
    let other_list = id_str(&new_list(&app, &user, "Kept"));
    let kept_too = task_in(&app, &user, &other_list, "in another list");
    let resp = delete(&app, &user, &list);
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert!(resp.body.is_empty(), "{}", resp.body);
    assert_error(
        &app.get(&list_path(&user, &list), Some(&user.token)),
        404,
        "List not found",
    );
    for id in &doomed {
        let resp = app.get(&task_path(&user, id), Some(&user.token));
        assert_error(&resp, 404, "Task not found");
    }
    let left: Vec<i64> = tasks_seen(&app, &user, "").iter().map(id_of).collect();
    let mut want = vec![id_of(&kept), id_of(&kept_too)];
    want.sort_unstable();
    let mut left_sorted = left.clone();
    left_sorted.sort_unstable();
    assert_eq!(left_sorted, want);
    assert_error(&delete(&app, &user, &list), 404, "List not found");
    assert_eq!(names(&lists_of(&app, &user)), ["Inbox", "Kept"]);
}

#[test]
fn only_the_owner_deletes_a_shared_list_and_it_goes_for_every_member() {
    let app = TestApp::spawn();
    let (owner, editor, viewer) = (app.user(), app.user(), app.user());
    let list = share(&app, &owner, &editor, "editor");
    join(&app, &owner, &list, &viewer, "viewer");
    let task = task_in(&app, &editor, &list, "shared task");
    assert_error(&delete(&app, &editor, &list), 403, ROLE_DENIED);
    assert_error(&delete(&app, &viewer, &list), 403, ROLE_DENIED);
    assert_eq!(list_of(&app, &viewer, &list)["open_tasks"], 1);
    assert_eq!(delete(&app, &owner, &list).status, 204);
    for member in [&owner, &editor, &viewer] {
        let resp = app.get(&list_path(member, &list), Some(&member.token));
        assert_error(&resp, 404, "List not found");
        let resp = app.get(&task_path(member, id_of(&task)), Some(&member.token));
        assert_error(&resp, 404, "Task not found");
        assert_eq!(lists_of(&app, member).len(), 1, "only their inbox is left");
    }
}

#[test]
fn a_user_owns_at_most_1000_lists_the_inbox_included_and_409_past_that() {
    let app = TestApp::with(|c| {
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let user = app.user();
    let sharer = app.user();
    // A list shared with the user is not theirs: it does not count against their 1000.
    share(&app, &sharer, &user, "editor");
    // 990 lists over HTTP from four threads (the Inbox is the 991st the user owns).
    std::thread::scope(|s| {
        for t in 0..4 {
            let (app, user) = (&app, &user);
            s.spawn(move || {
                for i in (t..990).step_by(4) {
                    let resp = post_list(app, user, json!({ "name": format!("List {i:04}") }));
                    assert_eq!(resp.status, 201, "list {i}: {}", resp.body);
                }
            });
        }
    });
    // The last nine places, raced for by four threads with five requests each.
    let answers: Vec<u16> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|t| {
                let (app, user) = (&app, &user);
                s.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let name = format!("Race {t} {i}");
                            let resp = post_list(app, user, json!({ "name": name }));
                            if resp.status == 409 {
                                assert_error(&resp, 409, "Too many lists");
                            }
                            resp.status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        racers.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 201).count(),
        9,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 409).count(),
        11,
        "{answers:?}"
    );
    let all = lists_of(&app, &user);
    let owned = all.iter().filter(|l| l["role"] == "owner").count();
    assert_eq!(owned, 1000);
    assert_eq!(all.len(), 1001, "and the shared one");
    let resp = post_list(&app, &user, json!({ "name": "One too many" }));
    assert_error(&resp, 409, "Too many lists");
    let some = all
        .iter()
        .find(|l| l["name"] == "List 0500")
        .expect("List 0500");
    assert_eq!(delete(&app, &user, &id_str(some)).status, 204);
    let resp = post_list(&app, &user, json!({ "name": "In its place" }));
    assert_eq!(resp.status, 201, "{}", resp.body);
    // The limit is per owner: the sharer still creates lists.
    new_list(&app, &sharer, "Sharer's own");
}
