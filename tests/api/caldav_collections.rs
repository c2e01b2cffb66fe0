//! Calendars as lists: `MKCALENDAR` at a client's name makes a list reachable at that URL,
//! `PROPPATCH` of `displayname` and `calendar-color` renames and recolours it, and `DELETE` of a
//! collection deletes the list (owner only, never the default list).

use crate::support::*;
use serde_json::json;

fn list_named<'a>(lists: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    lists.iter().find(|l| l["name"] == name)
}

#[test]
fn mkcalendar_at_a_clients_name_makes_a_list_reachable_at_that_url() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let path = du.collection("my-errands");
    let made = du.mkcalendar(&app, &path, "Errands");
    assert_eq!(made.status, 201, "{}", made.body);
    let lists = lists_of(&app, &du.user);
    let list = list_named(&lists, "Errands").unwrap_or_else(|| panic!("no list: {lists:?}"));
    assert_eq!(list["role"], "owner");
    assert_eq!(list["is_default"], false);
    let list_id = id_str(list);
    let found = du.props(
        &app,
        &path,
        "0",
        &[
            "d:resourcetype",
            "d:displayname",
            "c:supported-calendar-component-set",
        ],
    );
    let calendar = found.one();
    assert_eq!(calendar.href, path);
    assert!(calendar.is_calendar(), "{:?}", calendar.xml);
    assert_eq!(calendar.text(DAV, "displayname"), "Errands");
    // The home lists it at the client's name, once.
    let home = du.props(&app, &du.home(), "1", &["d:resourcetype"]);
    let calendars: Vec<String> = home
        .responses
        .iter()
        .filter(|r| r.is_calendar())
        .map(|r| r.href.clone())
        .collect();
    assert_eq!(
        sorted(&calendars),
        sorted(&[path.clone(), du.collection(&inbox_id(&app, &du.user))])
    );
    // A task PUT there lands in that list.
    let uid = new_uid();
    du.create(
        &app,
        &du.object("my-errands", "stamps.ics"),
        &vtodo(&uid, &["SUMMARY:Buy stamps"]),
    );
    assert_eq!(rest_task(&app, &du.user, &uid)["list_id"], list_id.as_str());
}

#[test]
fn mkcalendar_without_a_body_makes_a_list_too() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let path = du.collection("bare");
    let made = du.request(&app, "MKCALENDAR", &path, &[], "");
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(lists_of(&app, &du.user).len(), 2);
    let found = du.props(&app, &path, "0", &["d:resourcetype"]);
    assert!(found.one().is_calendar(), "{}", found.body);
}

#[test]
fn mkcalendar_on_a_name_in_use_is_refused_and_makes_no_list() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let path = du.collection("taken");
    assert_eq!(du.mkcalendar(&app, &path, "First").status, 201);
    let again = du.mkcalendar(&app, &path, "Second");
    assert!(
        again.status == 405 || again.status == 403 || again.status == 409,
        "RFC 4791 5.3.1 resource-must-be-null: {} {}",
        again.status,
        again.body
    );
    let inbox = inbox_id(&app, &du.user);
    let over_rest_list = du.mkcalendar(&app, &du.collection(&inbox), "Third");
    assert!(
        over_rest_list.status == 405
            || over_rest_list.status == 403
            || over_rest_list.status == 409,
        "{} {}",
        over_rest_list.status,
        over_rest_list.body
    );
    let lists = lists_of(&app, &du.user);
    let mut names: Vec<&str> = lists.iter().map(|l| l["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["First", "Inbox"]);
}

#[test]
fn mkcalendar_outside_the_callers_home_is_refused() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let other = dav_user(&app);
    let resp = du.mkcalendar(&app, &other.collection("squat"), "Squat");
    assert!(
        resp.status == 403 || resp.status == 404,
        "{} {}",
        resp.status,
        resp.body
    );
    assert_eq!(lists_of(&app, &other.user).len(), 1);
    assert_eq!(lists_of(&app, &du.user).len(), 1);
}

#[test]
fn proppatch_of_displayname_and_calendar_color_renames_and_recolours_the_list() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list_id = id_str(&new_list(&app, &du.user, "Before"));
    let path = du.collection(&list_id);
    let resp = du.proppatch(
        &app,
        &path,
        "<d:displayname>After</d:displayname><a:calendar-color>#12AB34FF</a:calendar-color>",
    );
    let answer = Multistatus::of(&resp);
    let r = answer.one();
    assert!(r.prop(DAV, "displayname").is_some(), "{}", answer.body);
    assert!(r.prop(APPLE, "calendar-color").is_some(), "{}", answer.body);
    let list = list_of(&app, &du.user, &list_id);
    assert_eq!(list["name"], "After");
    let color = list["color"].as_str().unwrap_or_default();
    assert!(color.eq_ignore_ascii_case("#12ab34"), "{list}");
    let found = du.props(&app, &path, "0", &["d:displayname", "a:calendar-color"]);
    assert_eq!(found.one().text(DAV, "displayname"), "After");
    let shown = found
        .one()
        .text(APPLE, "calendar-color")
        .to_ascii_lowercase();
    assert!(shown == "#12ab34" || shown == "#12ab34ff", "{shown}");
}

#[test]
fn proppatch_of_a_list_made_with_mkcalendar_renames_it() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let path = du.collection("renamed-later");
    assert_eq!(du.mkcalendar(&app, &path, "Old name").status, 201);
    let resp = du.proppatch(&app, &path, "<d:displayname>New name</d:displayname>");
    Multistatus::of(&resp);
    let lists = lists_of(&app, &du.user);
    assert!(list_named(&lists, "New name").is_some(), "{lists:?}");
    assert!(list_named(&lists, "Old name").is_none(), "{lists:?}");
}

#[test]
fn delete_of_a_collection_deletes_the_list_and_its_tasks() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list_id = id_str(&new_list(&app, &du.user, "Doomed"));
    let task = task_in(&app, &du.user, &list_id, "doomed task");
    let path = du.collection(&list_id);
    let gone = du.delete(&app, &path, &[]);
    assert!(
        gone.status == 204 || gone.status == 200,
        "{} {}",
        gone.status,
        gone.body
    );
    let rest = app.get(&list_path(&du.user, &list_id), Some(&du.user.token));
    assert_eq!(rest.status, 404, "{}", rest.body);
    assert_eq!(rest_get(&app, &du.user, id_of(&task)).0, 404);
    let again = du.propfind(&app, &path, "0", &propfind_body(&["d:displayname"]));
    assert_eq!(again.status, 404, "{}", again.body);
}

#[test]
fn delete_of_a_collection_made_with_mkcalendar_deletes_its_list() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let path = du.collection("short-lived");
    assert_eq!(du.mkcalendar(&app, &path, "Short lived").status, 201);
    assert_eq!(lists_of(&app, &du.user).len(), 2);
    let gone = du.delete(&app, &path, &[]);
    assert!(gone.status == 204 || gone.status == 200, "{}", gone.status);
    assert_eq!(lists_of(&app, &du.user).len(), 1);
}

#[test]
fn an_editor_cannot_delete_a_shared_collection() {
    let app = TestApp::spawn();
    let owner = app.user();
    let editor = app.user();
    let list_id = share(&app, &owner, &editor, "editor");
    task_in(&app, &owner, &list_id, "still here");
    let du = dav_as(&app, &editor, "write");
    let resp = du.delete(&app, &du.collection(&list_id), &[]);
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert!(list_of(&app, &owner, &list_id)["name"].is_string());
    assert_eq!(
        tasks_seen(&app, &owner, &format!("?list={list_id}")).len(),
        1
    );
    assert_eq!(member_ids(&app, &owner, &list_id).len(), 2, "nobody left");
}

#[test]
fn the_default_lists_collection_cannot_be_deleted() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    app.task(&du.user, "in the inbox");
    let resp = du.delete(&app, &du.collection(&inbox), &[]);
    assert!(
        matches!(resp.status, 403 | 405 | 409),
        "{} {}",
        resp.status,
        resp.body
    );
    assert_eq!(inbox_id(&app, &du.user), inbox);
    assert_eq!(rest_count(&app, &du.user), 1);
}

#[test]
fn a_list_renamed_over_rest_shows_its_new_name_and_colour() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list_id = id_str(&new_list(&app, &du.user, "Before"));
    let resp = app.send(
        "PATCH",
        &list_path(&du.user, &list_id),
        Some(&du.user.token),
        Some(json!({ "name": "After", "color": "#00ff00" })),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let found = du.props(
        &app,
        &du.collection(&list_id),
        "0",
        &["d:displayname", "a:calendar-color"],
    );
    assert_eq!(found.one().text(DAV, "displayname"), "After");
    let color = found
        .one()
        .text(APPLE, "calendar-color")
        .to_ascii_lowercase();
    assert!(color == "#00ff00" || color == "#00ff00ff", "{color}");
}

#[test]
fn a_task_made_over_rest_in_a_list_made_with_mkcalendar_is_under_the_clients_collection_name() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    assert_eq!(
        du.mkcalendar(&app, &du.collection("chores"), "Chores")
            .status,
        201
    );
    let lists = lists_of(&app, &du.user);
    let list_id = id_str(list_named(&lists, "Chores").expect("Chores"));
    let task = task_in(&app, &du.user, &list_id, "Hoover");
    let path = du.object_of_uid("chores", task["uid"].as_str().unwrap());
    let got = du.get(&app, &path);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(vtodo_value(&got.body, "SUMMARY").as_deref(), Some("Hoover"));
    let listed = du.props(&app, &du.collection("chores"), "1", &["d:getetag"]);
    assert!(listed.find(&path).is_some(), "{}", listed.body);
}

/// A PROPPATCH refusal: `4xx` outright, or a `207` in which no property was set.
fn assert_nothing_set(resp: &Resp, what: &str) {
    if resp.status == 207 {
        let answer = Multistatus::of(resp);
        let r = answer.one();
        assert!(r.found.is_empty(), "{what}: {}", resp.body);
        assert!(
            r.missing.iter().all(|(s, _)| *s >= 400),
            "{what}: {}",
            resp.body
        );
    } else {
        assert!(
            resp.status / 100 == 4,
            "{what}: {} {}",
            resp.status,
            resp.body
        );
    }
}

#[test]
fn names_and_colours_past_the_list_limits_are_refused_and_change_nothing() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let made = post_list(
        &app,
        &du.user,
        json!({ "name": "Kept", "color": "#123456" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let list_id = id_str(&made.json());
    let path = du.collection(&list_id);
    let long = "n".repeat(101);
    for (what, props) in [
        (
            "a 101-character name",
            format!("<d:displayname>{long}</d:displayname>"),
        ),
        (
            "an empty name",
            "<d:displayname>   </d:displayname>".to_string(),
        ),
        (
            "a colour that is not one",
            "<a:calendar-color>red</a:calendar-color>".to_string(),
        ),
    ] {
        assert_nothing_set(&du.proppatch(&app, &path, &props), what);
        let list = list_of(&app, &du.user, &list_id);
        assert_eq!(list["name"], "Kept", "{what}");
        assert_eq!(list["color"], "#123456", "{what}");
    }
    let resp = du.mkcalendar(&app, &du.collection("too-long"), &long);
    assert!(resp.status / 100 == 4, "{} {}", resp.status, resp.body);
    assert_eq!(lists_of(&app, &du.user).len(), 2, "no list made");
}
