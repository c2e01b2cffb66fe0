//! Shared lists over CalDAV: each member's home holds the list, a viewer's privileges are read
//! only and every write of theirs is `403`, an editor's writes reach the owner over REST and
//! CalDAV, and a member who leaves loses the calendar at once.

use crate::support::*;
use serde_json::json;

fn calendars(app: &TestApp, du: &DavUser) -> Multistatus {
    du.props(
        app,
        &du.home(),
        "1",
        &[
            "d:resourcetype",
            "d:displayname",
            "d:current-user-privilege-set",
            "d:owner",
        ],
    )
}

fn may_write(privileges: &[String]) -> bool {
    privileges
        .iter()
        .any(|p| matches!(p.as_str(), "write" | "write-content" | "bind" | "all"))
}

#[test]
fn a_list_shared_with_a_viewer_appears_in_the_viewers_home_with_the_owner() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let viewer = dav_user(&app);
    let list = new_list(&app, &owner.user, "Groceries");
    let list_id = id_str(&list);
    join(&app, &owner.user, &list_id, &viewer.user, "viewer");
    let home = calendars(&app, &viewer);
    let shared = home.get(&viewer.collection(&list_id));
    assert!(shared.is_calendar(), "{:?}", shared.xml);
    assert_eq!(shared.text(DAV, "displayname"), "Groceries");
    assert_eq!(shared.must(DAV, "owner").hrefs(), [owner.principal()]);
    let count = home.responses.iter().filter(|r| r.is_calendar()).count();
    assert_eq!(
        count, 2,
        "the viewer's Inbox and the shared list: {}",
        home.body
    );
}

#[test]
fn a_viewers_privileges_are_read_without_write_and_an_editors_include_write() {
    let app = TestApp::spawn();
    let owner = app.user();
    let viewer = dav_user(&app);
    let editor = dav_user(&app);
    let list_id = id_str(&new_list(&app, &owner, "Family"));
    join(&app, &owner, &list_id, &viewer.user, "viewer");
    join(&app, &owner, &list_id, &editor.user, "editor");
    let seen = calendars(&app, &viewer);
    let privileges = seen.get(&viewer.collection(&list_id)).privileges();
    assert!(privileges.iter().any(|p| p == "read"), "{privileges:?}");
    assert!(!may_write(&privileges), "a viewer: {privileges:?}");
    // The viewer's own Inbox is theirs to write.
    let own = seen
        .get(&viewer.collection(&inbox_id(&app, &viewer.user)))
        .privileges();
    assert!(may_write(&own), "{own:?}");
    let privileges = calendars(&app, &editor)
        .get(&editor.collection(&list_id))
        .privileges();
    assert!(may_write(&privileges), "an editor: {privileges:?}");
}

#[test]
fn a_viewers_writes_are_403_and_change_nothing() {
    let app = TestApp::spawn();
    let owner = app.user();
    let viewer = dav_user(&app);
    let list_id = share(&app, &owner, &viewer.user, "viewer");
    let task = task_in(&app, &owner, &list_id, "owner's task");
    let uid = task["uid"].as_str().unwrap().to_string();
    let object = viewer.object_of_uid(&list_id, &uid);
    let got = viewer.get(&app, &object);
    assert_eq!(got.status, 200, "a viewer reads: {}", got.body);
    let etag = etag_of(&got);
    let attempts = [
        (
            "PUT new",
            viewer.put(
                &app,
                &viewer.object(&list_id, "viewer.ics"),
                &vtodo(&new_uid(), &["SUMMARY:viewer's"]),
                &[("If-None-Match", "*")],
            ),
        ),
        (
            "PUT over",
            viewer.put(
                &app,
                &object,
                &vtodo(&uid, &["SUMMARY:changed by a viewer"]),
                &[("If-Match", &etag)],
            ),
        ),
        (
            "DELETE object",
            viewer.delete(&app, &object, &[("If-Match", &etag)]),
        ),
        (
            "PROPPATCH",
            viewer.proppatch(
                &app,
                &viewer.collection(&list_id),
                "<d:displayname>Viewer's now</d:displayname>",
            ),
        ),
        (
            "DELETE collection",
            viewer.delete(&app, &viewer.collection(&list_id), &[]),
        ),
    ];
    for (what, resp) in attempts {
        if what == "PROPPATCH" {
            assert_proppatch_refused(&resp, what);
        } else {
            assert_eq!(resp.status, 403, "{what}: {}", resp.body);
        }
    }
    let tasks = tasks_seen(&app, &owner, &format!("?list={list_id}"));
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["title"], "owner's task");
    assert_eq!(etag_of(&viewer.get(&app, &object)), etag);
    assert!(list_of(&app, &owner, &list_id)["name"]
        .as_str()
        .unwrap()
        .starts_with("Shared"));
}

#[test]
fn an_editors_put_shows_up_for_the_owner_over_rest_and_caldav() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let editor = dav_user(&app);
    let list_id = share(&app, &owner.user, &editor.user, "editor");
    let owner_coll = owner.collection(&list_id);
    let before = owner.sync(&app, &owner_coll, "");
    let uid = new_uid();
    let etag = editor.create(
        &app,
        &editor.object(&list_id, "from-editor.ics"),
        &vtodo(&uid, &["SUMMARY:Editor's idea", "X-FROM-EDITOR:1"]),
    );
    let task = rest_task(&app, &owner.user, &uid);
    assert_eq!(task["title"], "Editor's idea");
    assert_eq!(task["list_id"], list_id.as_str());
    assert_eq!(task["created_by"], editor.id());
    let at_owner = owner.object(&list_id, "from-editor.ics");
    let got = owner.get(&app, &at_owner);
    assert_eq!(
        got.status, 200,
        "the same name for every member: {}",
        got.body
    );
    assert_eq!(etag_of(&got), etag);
    assert!(has_line(&got.body, "X-FROM-EDITOR:1"), "{}", got.body);
    let after = owner.sync(&app, &owner_coll, &before.token());
    assert_eq!(after.present(), vec![at_owner.clone()], "{}", after.body);
    // And the owner's REST edit reaches the editor over CalDAV.
    rest_put(
        &app,
        &owner.user,
        &task,
        json!({ "title": "Owner's version" }),
    );
    let seen = editor.get(&app, &editor.object(&list_id, "from-editor.ics"));
    assert_eq!(
        vtodo_value(&seen.body, "SUMMARY").as_deref(),
        Some("Owner's version")
    );
    assert_ne!(etag_of(&seen), etag);
}

#[test]
fn an_editors_change_to_the_owners_task_over_caldav_reaches_the_owner() {
    let app = TestApp::spawn();
    let owner = app.user();
    let editor = dav_user(&app);
    let list_id = share(&app, &owner, &editor.user, "editor");
    let task = task_in(&app, &owner, &list_id, "Original");
    let uid = task["uid"].as_str().unwrap().to_string();
    let object = editor.object_of_uid(&list_id, &uid);
    let etag = etag_of(&editor.get(&app, &object));
    let resp = editor.put(
        &app,
        &object,
        &vtodo(&uid, &["SUMMARY:Edited by the editor", "STATUS:COMPLETED"]),
        &[("If-Match", &etag)],
    );
    assert!(resp.status == 204 || resp.status == 200, "{}", resp.body);
    let (status, seen, _) = rest_get(&app, &owner, id_of(&task));
    assert_eq!(status, 200);
    assert_eq!(seen["title"], "Edited by the editor");
    assert_eq!(seen["completed"], true);
}

#[test]
fn a_list_made_with_mkcalendar_is_at_its_id_in_a_members_home() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let viewer = dav_user(&app);
    assert_eq!(
        owner
            .mkcalendar(&app, &owner.collection("owners-name"), "Trip")
            .status,
        201
    );
    let lists = lists_of(&app, &owner.user);
    let trip = lists.iter().find(|l| l["name"] == "Trip").expect("Trip");
    let list_id = id_str(trip);
    join(&app, &owner.user, &list_id, &viewer.user, "viewer");
    let home = calendars(&app, &viewer);
    assert_eq!(
        home.get(&viewer.collection(&list_id))
            .text(DAV, "displayname"),
        "Trip"
    );
    assert!(
        home.find(&viewer.collection("owners-name")).is_none(),
        "the owner's name for it is the owner's: {}",
        home.body
    );
}

#[test]
fn a_member_who_is_removed_loses_the_calendar_at_once() {
    let app = TestApp::spawn();
    let owner = app.user();
    let viewer = dav_user(&app);
    let list_id = share(&app, &owner, &viewer.user, "viewer");
    let task = task_in(&app, &owner, &list_id, "not for long");
    let object = viewer.object_of_uid(&list_id, task["uid"].as_str().unwrap());
    assert_eq!(viewer.get(&app, &object).status, 200);
    let removed = app.send(
        "DELETE",
        &member_path(&owner, &list_id, &viewer.user.id),
        Some(&owner.token),
        None,
    );
    assert_eq!(removed.status, 204, "{}", removed.body);
    let home = calendars(&app, &viewer);
    assert!(
        home.find(&viewer.collection(&list_id)).is_none(),
        "{}",
        home.body
    );
    assert_eq!(viewer.get(&app, &object).status, 404);
    let query = viewer.report(&app, &viewer.collection(&list_id), "1", &calendar_query(""));
    assert_eq!(query.status, 404, "{}", query.body);
}

#[test]
fn changes_by_one_member_reach_the_others_sync_and_ctag() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let viewer = dav_user(&app);
    let editor = dav_user(&app);
    let list_id = id_str(&new_list(&app, &owner.user, "Team"));
    join(&app, &owner.user, &list_id, &viewer.user, "viewer");
    join(&app, &owner.user, &list_id, &editor.user, "editor");
    let task = task_in(&app, &owner.user, &list_id, "shared work");
    let name = format!("{}.ics", task["uid"].as_str().unwrap());
    let viewer_coll = viewer.collection(&list_id);
    let ctag = |du: &DavUser| {
        du.props(&app, &du.collection(&list_id), "0", &["cs:getctag"])
            .one()
            .text(CS, "getctag")
    };
    let first = viewer.sync(&app, &viewer_coll, "");
    assert_eq!(first.present(), vec![viewer.object(&list_id, &name)]);
    let ctag0 = ctag(&viewer);
    // The owner changes it over REST: the viewer's next sync lists it.
    rest_put(
        &app,
        &owner.user,
        &task,
        json!({ "title": "shared work, v2" }),
    );
    let second = viewer.sync(&app, &viewer_coll, &first.token());
    assert_eq!(second.present(), vec![viewer.object(&list_id, &name)]);
    let ctag1 = ctag(&viewer);
    assert_ne!(ctag1, ctag0);
    // The editor deletes it over CalDAV: a 404 for the viewer and the owner.
    let owner_first = owner.sync(&app, &owner.collection(&list_id), "");
    let gone = editor.delete(&app, &editor.object(&list_id, &name), &[]);
    assert!(gone.status == 204 || gone.status == 200, "{}", gone.body);
    let third = viewer.sync(&app, &viewer_coll, &second.token());
    assert_eq!(
        third.gone(),
        vec![viewer.object(&list_id, &name)],
        "{}",
        third.body
    );
    assert_ne!(ctag(&viewer), ctag1);
    let owner_second = owner.sync(&app, &owner.collection(&list_id), &owner_first.token());
    assert_eq!(
        owner_second.gone(),
        vec![owner.object(&list_id, &name)],
        "{}",
        owner_second.body
    );
}
