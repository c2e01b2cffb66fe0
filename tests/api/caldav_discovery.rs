//! CalDAV discovery (contract part 3, "CalDAV"): `/.well-known/caldav`, the current user's
//! principal, the calendar home, one calendar collection per list with its properties, `OPTIONS`,
//! and nobody else's calendars.

use crate::support::*;
use serde_json::json;

const COLLECTION_PROPS: [&str; 8] = [
    "d:resourcetype",
    "d:displayname",
    "c:supported-calendar-component-set",
    "cs:getctag",
    "d:sync-token",
    "a:calendar-color",
    "d:current-user-privilege-set",
    "d:owner",
];

fn changes_of(app: &TestApp, du: &DavUser, list_id: &str) -> (String, String) {
    let home = du.props(app, &du.home(), "1", &["cs:getctag", "d:sync-token"]);
    let r = home.get(&du.collection(list_id));
    (r.text(CS, "getctag"), r.text(DAV, "sync-token"))
}

#[test]
fn well_known_caldav_redirects_every_method_to_dav_with_a_301() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    for method in ["GET", "PROPFIND", "OPTIONS"] {
        let resp = du.request(&app, method, "/.well-known/caldav", &[("Depth", "0")], "");
        assert_eq!(resp.status, 301, "{method}: {}", resp.body);
        let location = resp.header("location").expect("a Location header");
        assert_eq!(path_of(location), "/dav/", "{method}");
    }
}

#[test]
fn a_propfind_on_dav_answers_the_current_user_principal() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let root = du.props(&app, "/dav/", "0", &["d:current-user-principal"]);
    let principal = root.one().must(DAV, "current-user-principal").hrefs();
    assert_eq!(principal, [du.principal()]);
}

#[test]
fn the_principal_answers_its_calendar_home_name_mail_address_and_resource_type() {
    let app = TestApp::spawn();
    let user = named_user(&app, "Pat Principal");
    let du = dav_as(&app, &user, "write");
    let found = du.props(
        &app,
        &du.principal(),
        "0",
        &[
            "c:calendar-home-set",
            "d:current-user-principal",
            "d:displayname",
            "c:calendar-user-address-set",
            "d:resourcetype",
        ],
    );
    let principal = found.one();
    assert_eq!(principal.href, du.principal());
    assert_eq!(
        principal.must(CALDAV, "calendar-home-set").hrefs(),
        [du.home()]
    );
    assert_eq!(
        principal.must(DAV, "current-user-principal").hrefs(),
        [du.principal()]
    );
    assert_eq!(principal.text(DAV, "displayname"), "Pat Principal");
    let addresses: Vec<String> = principal
        .must(CALDAV, "calendar-user-address-set")
        .find_all(DAV, "href")
        .iter()
        .map(|h| h.trimmed().to_ascii_lowercase())
        .collect();
    assert!(
        addresses.contains(&format!("mailto:{}", du.user.email)),
        "{addresses:?}"
    );
    let kind = principal.must(DAV, "resourcetype");
    assert!(kind.child(DAV, "principal").is_some(), "{kind:?}");
}

#[test]
fn the_home_at_depth_1_lists_one_calendar_per_list_named_like_the_list_holding_vtodo() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let errands = id_str(&new_list(&app, &du.user, "Errands"));
    let work = id_str(&new_list(&app, &du.user, "Work & Play"));
    let inbox = inbox_id(&app, &du.user);
    let home = du.props(&app, &du.home(), "1", &COLLECTION_PROPS);
    let calendars: Vec<String> = home
        .responses
        .iter()
        .filter(|r| r.is_calendar())
        .map(|r| r.href.clone())
        .collect();
    assert_eq!(
        sorted(&calendars),
        sorted(&[
            du.collection(&inbox),
            du.collection(&errands),
            du.collection(&work)
        ]),
        "{}",
        home.body
    );
    // Nothing but the home itself and the calendars.
    for r in &home.responses {
        assert!(
            r.href == du.home() || calendars.contains(&r.href),
            "unexpected {}",
            r.href
        );
    }
    for (id, name) in [
        (&inbox, "Inbox"),
        (&errands, "Errands"),
        (&work, "Work & Play"),
    ] {
        let calendar = home.get(&du.collection(id));
        assert_eq!(calendar.text(DAV, "displayname"), name);
        let components: Vec<&str> = calendar
            .must(CALDAV, "supported-calendar-component-set")
            .children_named(CALDAV, "comp")
            .map(|c| c.attr("name").expect("comp name"))
            .collect();
        assert_eq!(components, ["VTODO"], "{name}");
        let ctag = calendar.text(CS, "getctag");
        let token = calendar.text(DAV, "sync-token");
        assert!(!ctag.is_empty() && !token.is_empty(), "{name}");
        assert!(
            token.starts_with("http://todo-api/sync/"),
            "the documented token shape: {token}"
        );
        assert_eq!(
            calendar.must(DAV, "owner").hrefs(),
            [du.principal()],
            "{name}"
        );
    }
}

#[test]
fn a_depth_0_propfind_on_the_home_answers_the_home_alone() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    new_list(&app, &du.user, "Errands");
    let home = du.props(&app, &du.home(), "0", &["d:resourcetype", "d:displayname"]);
    let only = home.one();
    assert_eq!(only.href, du.home());
    let kind = only.must(DAV, "resourcetype");
    assert!(kind.child(DAV, "collection").is_some(), "{kind:?}");
    assert!(kind.child(CALDAV, "calendar").is_none(), "{kind:?}");
}

#[test]
fn a_depth_0_propfind_on_a_calendar_answers_its_properties() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list = id_str(&new_list(&app, &du.user, "Errands"));
    let found = du.props(&app, &du.collection(&list), "0", &COLLECTION_PROPS);
    let calendar = found.one();
    assert_eq!(calendar.href, du.collection(&list));
    assert!(calendar.is_calendar(), "{:?}", calendar.xml);
    assert_eq!(calendar.text(DAV, "displayname"), "Errands");
    let privileges = calendar.privileges();
    assert!(
        privileges.iter().any(|p| p == "read") || privileges.iter().any(|p| p == "all"),
        "{privileges:?}"
    );
    assert!(
        privileges.iter().any(|p| p == "write") || privileges.iter().any(|p| p == "all"),
        "the owner may write: {privileges:?}"
    );
}

#[test]
fn a_property_the_server_does_not_have_is_answered_404_in_its_own_propstat() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list = id_str(&new_list(&app, &du.user, "Errands"));
    let body = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:x="urn:example:unknown"><d:prop><d:displayname/><x:no-such-thing/></d:prop></d:propfind>"#;
    let found = Multistatus::of(&du.propfind(&app, &du.collection(&list), "0", body));
    let calendar = found.one();
    assert_eq!(calendar.text(DAV, "displayname"), "Errands");
    assert_eq!(
        calendar.missing_status("urn:example:unknown", "no-such-thing"),
        Some(404),
        "{}",
        found.body
    );
}

#[test]
fn getctag_and_sync_token_change_after_a_task_changes_in_that_list() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list = id_str(&new_list(&app, &du.user, "Errands"));
    let (ctag0, token0) = changes_of(&app, &du, &list);
    let task = task_in(&app, &du.user, &list, "milk");
    let (ctag1, token1) = changes_of(&app, &du, &list);
    assert_ne!(ctag1, ctag0, "a task created");
    assert_ne!(token1, token0, "a task created");
    rest_put(&app, &du.user, &task, json!({ "title": "oat milk" }));
    let (ctag2, token2) = changes_of(&app, &du, &list);
    assert_ne!(ctag2, ctag1, "a task changed");
    assert_ne!(token2, token1, "a task changed");
    let gone = app.send(
        "DELETE",
        &task_path(&du.user, id_of(&task)),
        Some(&du.user.token),
        None,
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    let (ctag3, token3) = changes_of(&app, &du, &list);
    assert_ne!(ctag3, ctag2, "a task deleted");
    assert_ne!(token3, token2, "a task deleted");
    // Asking again with nothing changed gives the same values.
    assert_eq!(changes_of(&app, &du, &list), (ctag3, token3));
}

#[test]
fn calendar_color_is_the_list_color() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let made = post_list(&app, &du.user, json!({ "name": "Red", "color": "#ff0000" }));
    assert_eq!(made.status, 201, "{}", made.body);
    let list = id_str(&made.json());
    let found = du.props(&app, &du.collection(&list), "0", &["a:calendar-color"]);
    let color = found
        .one()
        .text(APPLE, "calendar-color")
        .to_ascii_lowercase();
    assert!(
        color == "#ff0000" || color == "#ff0000ff",
        "#rrggbb or #rrggbbff: {color}"
    );
}

#[test]
fn options_advertises_dav_1_3_and_calendar_access() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    for path in ["/dav/".to_string(), du.home(), du.collection(&inbox)] {
        let resp = du.request(&app, "OPTIONS", &path, &[], "");
        assert!(
            resp.status == 200 || resp.status == 204,
            "{path}: {} {}",
            resp.status,
            resp.body
        );
        let dav = resp
            .header("dav")
            .unwrap_or_else(|| panic!("{path}: no DAV header"));
        let classes: Vec<&str> = dav.split(',').map(str::trim).collect();
        for class in ["1", "3", "calendar-access"] {
            assert!(classes.contains(&class), "{path}: DAV: {dav}");
        }
        let allow = resp
            .header("allow")
            .unwrap_or_default()
            .to_ascii_uppercase();
        for method in ["PROPFIND", "REPORT"] {
            assert!(allow.contains(method), "{path}: Allow: {allow}");
        }
    }
}

#[test]
fn another_users_principal_home_calendars_and_tasks_are_out_of_reach() {
    let app = TestApp::spawn();
    let owner = dav_user(&app);
    let stranger = dav_user(&app);
    let inbox = inbox_id(&app, &owner.user);
    let task = app.task(&owner.user, "private plans");
    let uid = task["uid"].as_str().expect("uid").to_string();
    let object = owner.object_of_uid(&inbox, &uid);
    assert_eq!(owner.get(&app, &object).status, 200);
    for path in [owner.principal(), owner.home(), owner.collection(&inbox)] {
        let resp = stranger.propfind(&app, &path, "1", &propfind_body(&["d:displayname"]));
        assert!(
            resp.status == 403 || resp.status == 404,
            "{path}: {} {}",
            resp.status,
            resp.body
        );
        assert!(!resp.body.contains("Inbox"), "{path}: {}", resp.body);
    }
    let read = stranger.get(&app, &object);
    assert!(read.status == 403 || read.status == 404, "{}", read.status);
    assert!(!read.body.contains("private plans"), "{}", read.body);
    let write = stranger.put(&app, &object, &vtodo(&uid, &["SUMMARY:mine now"]), &[]);
    assert!(
        write.status == 403 || write.status == 404,
        "{}",
        write.status
    );
    let delete = stranger.delete(&app, &object, &[]);
    assert!(
        delete.status == 403 || delete.status == 404,
        "{}",
        delete.status
    );
    let (status, kept, _) = rest_get(&app, &owner.user, id_of(&task));
    assert_eq!(status, 200);
    assert_eq!(kept["title"], "private plans");
    // Nor does a stranger reach the list through their own home.
    let through_own = stranger.propfind(
        &app,
        &stranger.collection(&inbox),
        "1",
        &propfind_body(&["d:displayname"]),
    );
    assert_eq!(through_own.status, 404, "{}", through_own.body);
}

/// RFC 4918 9.1: a PROPFIND without a body is an `allprop`.
#[test]
fn a_propfind_without_a_body_answers_the_calendars_properties() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let list = id_str(&new_list(&app, &du.user, "Errands"));
    let resp = du.request(
        &app,
        "PROPFIND",
        &du.collection(&list),
        &[("Depth", "0")],
        "",
    );
    let found = Multistatus::of(&resp);
    let calendar = found.one();
    assert!(calendar.is_calendar(), "{}", found.body);
    assert_eq!(calendar.text(DAV, "displayname"), "Errands");
}
