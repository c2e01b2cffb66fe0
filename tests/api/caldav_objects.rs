//! CalDAV objects (`.ics` under a calendar): PUT at the client's name with `If-None-Match: *` and
//! `If-Match`, GET with the REST task's ETag, DELETE; the contract's mapping of VTODO properties
//! onto task fields in both directions; everything else kept byte for byte across REST edits; and
//! the refusals (`403` with the RFC 4791 precondition element, nothing stored).

use crate::support::*;
use serde_json::{json, Value};

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// A user with a write token, and the collection name of their Inbox.
fn setup(app: &TestApp) -> (DavUser, String) {
    let du = dav_user(app);
    let inbox = inbox_id(app, &du.user);
    (du, inbox)
}

/// PUTs a new VTODO with `lines` at `name` in `collection`; returns (path, uid, ETag).
fn put_new(
    app: &TestApp,
    du: &DavUser,
    collection: &str,
    name: &str,
    lines: &[&str],
) -> (String, String, String) {
    let uid = new_uid();
    let path = du.object(collection, name);
    let etag = du.create(app, &path, &vtodo(&uid, lines));
    (path, uid, etag)
}

/// GET, asserting 200 and an iCalendar body; returns (body, ETag).
fn fetch(app: &TestApp, du: &DavUser, path: &str) -> (String, String) {
    let resp = du.get(app, path);
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.body);
    let kind = resp.header("content-type").unwrap_or_default();
    assert!(kind.starts_with("text/calendar"), "Content-Type: {kind}");
    assert!(resp.body.starts_with("BEGIN:VCALENDAR"), "{}", resp.body);
    (resp.body.clone(), etag_of(&resp))
}

fn rest_etag(app: &TestApp, du: &DavUser, task: &Value) -> String {
    let (status, _, etag) = rest_get(app, &du.user, id_of(task));
    assert_eq!(status, 200);
    assert!(!etag.is_empty(), "the REST answer has an ETag");
    etag
}

fn assert_updated(resp: &Resp, what: &str) {
    assert!(
        resp.status == 200 || resp.status == 204,
        "{what}: {} {}",
        resp.status,
        resp.body
    );
}

fn priority_number(ics: &str) -> Option<u8> {
    vtodo_value(ics, "PRIORITY").map(|p| p.parse().expect("PRIORITY is a number"))
}

#[test]
fn a_put_with_if_none_match_star_creates_a_task_at_the_clients_name_with_201_and_an_etag() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let uid = new_uid();
    let path = du.object(&inbox, "client-chosen_name-42.ics");
    let resp = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:Buy milk"]),
        &[("If-None-Match", "*")],
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let etag = etag_of(&resp);
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong ETag: {etag}"
    );
    let task = rest_task(&app, &du.user, &uid);
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["list_id"], inbox.as_str());
    let (body, got) = fetch(&app, &du, &path);
    assert_eq!(got, etag, "GET answers the ETag the PUT did");
    assert_eq!(got, rest_etag(&app, &du, &task), "the REST task's ETag");
    assert_eq!(vtodo_value(&body, "UID").as_deref(), Some(uid.as_str()));
    assert_eq!(vtodo_value(&body, "SUMMARY").as_deref(), Some("Buy milk"));
    // The collection lists it at exactly that name.
    let listed = du.props(&app, &du.collection(&inbox), "1", &["d:getetag"]);
    let objects: Vec<String> = listed
        .hrefs()
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .collect();
    assert_eq!(objects, vec![path.clone()]);
    assert_eq!(listed.get(&path).etag(), etag);
}

#[test]
fn a_vtodo_maps_onto_the_rest_task_fields() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (_, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "mapped.ics",
        &[
            "SUMMARY:File the taxes",
            r"DESCRIPTION:Line one\nLine two\, with a comma\; and a semicolon",
            "PRIORITY:1",
            "DUE:20300110T120000Z",
            "CATEGORIES:work,home",
            "STATUS:COMPLETED",
            "COMPLETED:20260102T030405Z",
        ],
    );
    let task = rest_task(&app, &du.user, &uid);
    assert_eq!(task["uid"], uid.as_str());
    assert_eq!(task["title"], "File the taxes");
    assert_eq!(
        task["description"],
        "Line one\nLine two, with a comma; and a semicolon"
    );
    assert_eq!(task["priority"], "high");
    assert_eq!(
        timestamp(&task["due_at"]),
        timestamp(&json!("2030-01-10T12:00:00Z"))
    );
    assert_eq!(task["tags"], json!(["work", "home"]));
    assert_eq!(task["completed"], true);
    assert_eq!(
        timestamp(&task["completed_at"]),
        timestamp(&json!("2026-01-02T03:04:05Z"))
    );
    assert_eq!(task["parent_id"], Value::Null);
    assert_eq!(task["recurrence"], Value::Null);
}

#[test]
fn priority_1_to_4_is_high_5_is_medium_6_to_9_is_low_and_0_or_none_is_none() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let cases = [
        (Some(1), "high"),
        (Some(4), "high"),
        (Some(5), "medium"),
        (Some(6), "low"),
        (Some(9), "low"),
        (Some(0), "none"),
        (None, "none"),
    ];
    for (i, (priority, expected)) in cases.into_iter().enumerate() {
        let line = priority.map(|p| format!("PRIORITY:{p}"));
        let mut lines = vec!["SUMMARY:prioritised"];
        lines.extend(line.as_deref());
        let (_, uid, _) = put_new(&app, &du, &inbox, &format!("p{i}.ics"), &lines);
        assert_eq!(
            rest_task(&app, &du.user, &uid)["priority"],
            expected,
            "PRIORITY {priority:?}"
        );
    }
}

#[test]
fn a_put_over_an_object_with_its_etag_changes_the_same_task_and_needs_action_reopens_it() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, etag) = put_new(
        &app,
        &du,
        &inbox,
        "laundry.ics",
        &["SUMMARY:Laundry", "STATUS:NEEDS-ACTION"],
    );
    let first = rest_task(&app, &du.user, &uid);
    assert_eq!(first["completed"], false);
    let done = du.put(
        &app,
        &path,
        &vtodo(
            &uid,
            &[
                "SUMMARY:Laundry, folded",
                "STATUS:COMPLETED",
                "COMPLETED:20260105T101010Z",
            ],
        ),
        &[("If-Match", &etag)],
    );
    assert_updated(&done, "PUT with the current ETag");
    let second = rest_task(&app, &du.user, &uid);
    assert_eq!(id_of(&second), id_of(&first), "the same task");
    assert_eq!(second["title"], "Laundry, folded");
    assert_eq!(second["completed"], true);
    assert!(second["completed_at"].is_string(), "{second}");
    let (_, now) = fetch(&app, &du, &path);
    assert_ne!(now, etag, "the ETag moved");
    if let Some(answered) = done.header("etag") {
        assert_eq!(answered, now, "the PUT answered the new ETag");
    }
    let reopened = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:Laundry, folded", "STATUS:NEEDS-ACTION"]),
        &[("If-Match", &now)],
    );
    assert_updated(&reopened, "PUT reopening");
    let third = rest_task(&app, &du.user, &uid);
    assert_eq!(id_of(&third), id_of(&first));
    assert_eq!(third["completed"], false);
    assert_eq!(third["completed_at"], Value::Null);
    assert_eq!(rest_count(&app, &du.user), 1);
}

#[test]
fn if_none_match_star_on_an_existing_name_is_412_and_changes_nothing() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, etag) = put_new(&app, &du, &inbox, "taken.ics", &["SUMMARY:First"]);
    let again = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:Second"]),
        &[("If-None-Match", "*")],
    );
    assert_eq!(again.status, 412, "{}", again.body);
    assert_eq!(rest_task(&app, &du.user, &uid)["title"], "First");
    assert_eq!(fetch(&app, &du, &path).1, etag);
    // A REST-made task's name is taken too.
    let task = app.task(&du.user, "made over REST");
    let rest_uid = task["uid"].as_str().unwrap();
    let over = du.put(
        &app,
        &du.object_of_uid(&inbox, rest_uid),
        &vtodo(rest_uid, &["SUMMARY:clobbered"]),
        &[("If-None-Match", "*")],
    );
    assert_eq!(over.status, 412, "{}", over.body);
    assert_eq!(
        rest_task(&app, &du.user, rest_uid)["title"],
        "made over REST"
    );
}

#[test]
fn if_match_with_a_stale_etag_is_412_for_put_and_delete_and_changes_nothing() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, stale) = put_new(&app, &du, &inbox, "contested.ics", &["SUMMARY:Mine"]);
    let task = rest_task(&app, &du.user, &uid);
    rest_put(&app, &du.user, &task, json!({ "title": "Theirs" }));
    let put = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:Mine again"]),
        &[("If-Match", &stale)],
    );
    assert_eq!(put.status, 412, "{}", put.body);
    let delete = du.delete(&app, &path, &[("If-Match", &stale)]);
    assert_eq!(delete.status, 412, "{}", delete.body);
    assert_eq!(rest_task(&app, &du.user, &uid)["title"], "Theirs");
    // If-Match on a name nobody has is 412 too (RFC 9110 13.1.1), and creates nothing.
    let nowhere = du.put(
        &app,
        &du.object(&inbox, "nowhere.ics"),
        &vtodo(&new_uid(), &["SUMMARY:ghost"]),
        &[("If-Match", &stale)],
    );
    assert_eq!(nowhere.status, 412, "{}", nowhere.body);
    assert_eq!(rest_count(&app, &du.user), 1);
}

#[test]
fn a_delete_removes_the_task_from_rest_too() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, etag) = put_new(&app, &du, &inbox, "doomed.ics", &["SUMMARY:Doomed"]);
    let id = id_of(&rest_task(&app, &du.user, &uid));
    let gone = du.delete(&app, &path, &[("If-Match", &etag)]);
    assert!(
        gone.status == 204 || gone.status == 200,
        "{} {}",
        gone.status,
        gone.body
    );
    assert_eq!(du.get(&app, &path).status, 404);
    assert_eq!(rest_get(&app, &du.user, id).0, 404);
    assert!(rest_task_by_uid(&app, &du.user, &uid).is_none());
    assert_eq!(du.delete(&app, &path, &[]).status, 404, "already gone");
}

#[test]
fn a_name_nobody_put_is_404() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let resp = du.get(&app, &du.object(&inbox, "never-written.ics"));
    assert_eq!(resp.status, 404, "{}", resp.body);
}

#[test]
fn a_task_made_over_rest_is_at_its_uid_dot_ics_with_its_fields_and_etag() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let task = create(
        &app,
        &du.user,
        json!({
            "title": "Call the plumber",
            "description": "About the sink, urgently; really",
            "priority": "high",
            "due_at": "2030-01-10T12:00:00Z",
            "tags": ["home", "calls"],
        }),
    );
    let uid = task["uid"].as_str().expect("uid").to_string();
    let (ics, etag) = fetch(&app, &du, &du.object_of_uid(&inbox, &uid));
    assert_eq!(etag, rest_etag(&app, &du, &task));
    assert!(has_line(&ics, "VERSION:2.0"), "{ics}");
    assert!(
        vtodo_line(&ics, "DTSTAMP").is_some(),
        "RFC 5545 wants DTSTAMP: {ics}"
    );
    assert_eq!(vtodo_value(&ics, "UID").as_deref(), Some(uid.as_str()));
    assert_eq!(
        vtodo_value(&ics, "SUMMARY").as_deref(),
        Some("Call the plumber")
    );
    assert_eq!(
        vtodo_value(&ics, "DESCRIPTION").as_deref(),
        Some(r"About the sink\, urgently\; really")
    );
    let priority = priority_number(&ics).expect("a PRIORITY");
    assert!((1..=4).contains(&priority), "high is 1-4: {priority}");
    assert_eq!(
        vtodo_value(&ics, "DUE").as_deref(),
        Some("20300110T120000Z")
    );
    let mut tags: Vec<String> = vtodo_lines(&ics)
        .iter()
        .filter(|l| l.to_ascii_uppercase().starts_with("CATEGORIES"))
        .flat_map(|l| {
            line_value(l)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    tags.sort();
    assert_eq!(tags, ["calls", "home"]);
    assert!(vtodo_line(&ics, "STATUS").is_none_or(|s| !s.ends_with(":COMPLETED")));
    assert!(vtodo_line(&ics, "COMPLETED").is_none(), "{ics}");
}

#[test]
fn rest_edits_of_mapped_fields_show_in_the_object() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "edited.ics",
        &[
            "SUMMARY:Before",
            "DESCRIPTION:Some words",
            "PRIORITY:1",
            "DUE:20300110T120000Z",
            "CATEGORIES:old",
            "X-KEEP-ME:yes",
        ],
    );
    let task = rest_task(&app, &du.user, &uid);
    rest_put(
        &app,
        &du.user,
        &task,
        json!({
            "title": "After",
            "description": null,
            "priority": "low",
            "due_at": null,
            "tags": ["new", "newer"],
        }),
    );
    let (ics, _) = fetch(&app, &du, &path);
    assert_eq!(vtodo_value(&ics, "SUMMARY").as_deref(), Some("After"));
    assert!(vtodo_line(&ics, "DESCRIPTION").is_none(), "{ics}");
    let priority = priority_number(&ics).expect("a PRIORITY");
    assert!((6..=9).contains(&priority), "low is 6-9: {priority}");
    assert!(vtodo_line(&ics, "DUE").is_none(), "{ics}");
    let categories: Vec<String> = vtodo_lines(&ics)
        .iter()
        .filter(|l| l.to_ascii_uppercase().starts_with("CATEGORIES"))
        .flat_map(|l| {
            line_value(l)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(categories, ["new", "newer"]);
    assert!(has_line(&ics, "X-KEEP-ME:yes"), "{ics}");
}

#[test]
fn a_rest_completion_shows_as_status_completed_and_a_second_toggle_reopens() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "toggle.ics",
        &["SUMMARY:Toggle me", "STATUS:NEEDS-ACTION", "X-KEEP-ME:yes"],
    );
    let task = rest_task(&app, &du.user, &uid);
    let toggle = format!("{}/complete", task_path(&du.user, id_of(&task)));
    let done = app.send("PATCH", &toggle, Some(&du.user.token), None);
    assert_eq!(done.status, 200, "{}", done.body);
    let (ics, etag) = fetch(&app, &du, &path);
    assert_eq!(vtodo_value(&ics, "STATUS").as_deref(), Some("COMPLETED"));
    let completed_at = timestamp(&done.json()["completed_at"]);
    assert_eq!(
        vtodo_value(&ics, "COMPLETED"),
        Some(completed_at.format("%Y%m%dT%H%M%SZ").to_string()),
        "COMPLETED is completed_at: {ics}"
    );
    assert_eq!(etag, etag_of(&done), "the toggle's ETag");
    let undone = app.send("PATCH", &toggle, Some(&du.user.token), None);
    assert_eq!(undone.status, 200, "{}", undone.body);
    let (ics, _) = fetch(&app, &du, &path);
    assert_ne!(vtodo_value(&ics, "STATUS").as_deref(), Some("COMPLETED"));
    assert!(vtodo_line(&ics, "COMPLETED").is_none(), "{ics}");
    assert!(has_line(&ics, "X-KEEP-ME:yes"), "{ics}");
}

#[test]
fn a_rest_change_moves_the_etag_and_keeps_valarm_x_properties_dtstart_and_geo_byte_for_byte() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let long = format!("X-LONG-NOTE:{}", "n".repeat(100));
    let folded = format!("{}\r\n {}", &long[..75], &long[75..]);
    let alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER;RELATED=START:-PT15M\r\nX-WR-ALARMUID:4B5C6D\r\nEND:VALARM\r\n";
    let kept = [
        "DTSTART:20300101T090000Z\r\n".to_string(),
        "GEO:48.85299;2.36885\r\n".to_string(),
        "X-APPLE-SORT-ORDER:123456789\r\n".to_string(),
        "X-CUSTOM;X-PARAM=\"quoted; value\":keep me, exactly\\; please\r\n".to_string(),
        "CLASS:PRIVATE\r\n".to_string(),
        format!("{folded}\r\n"),
        alarm.to_string(),
    ];
    let uid = new_uid();
    let mut ics = vtodo(&uid, &["SUMMARY:Original"]);
    let body: String = kept.concat();
    ics = ics.replacen("END:VTODO\r\n", &format!("{body}END:VTODO\r\n"), 1);
    let path = du.object(&inbox, "kept.ics");
    let put_etag = du.create(&app, &path, &ics);
    let (stored, first) = fetch(&app, &du, &path);
    assert_eq!(first, put_etag);
    for fragment in &kept {
        assert!(
            stored.contains(fragment.as_str()),
            "missing {fragment:?} in\n{stored}"
        );
    }
    let task = rest_task(&app, &du.user, &uid);
    let changed = rest_put(
        &app,
        &du.user,
        &task,
        json!({ "title": "Renamed over REST" }),
    );
    let (after, second) = fetch(&app, &du, &path);
    assert_ne!(second, first, "a REST change moves the CalDAV ETag");
    assert_eq!(second, rest_etag(&app, &du, &changed));
    assert_eq!(
        vtodo_value(&after, "SUMMARY").as_deref(),
        Some("Renamed over REST")
    );
    for fragment in &kept {
        assert!(
            after.contains(fragment.as_str()),
            "lost {fragment:?} after a REST edit:\n{after}"
        );
    }
    assert_eq!(
        after.matches("BEGIN:VALARM").count(),
        1,
        "one alarm, not two: {after}"
    );
}

#[test]
fn a_date_only_due_comes_back_date_only_and_stays_so_after_a_rest_edit() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "all-day.ics",
        &["SUMMARY:All day", "DUE;VALUE=DATE:20300110"],
    );
    let task = rest_task(&app, &du.user, &uid);
    assert_eq!(task["timezone"], "UTC");
    assert_eq!(
        timestamp(&task["due_at"]),
        timestamp(&json!("2030-01-10T00:00:00Z")),
        "the start of the day in the task's zone"
    );
    let (ics, _) = fetch(&app, &du, &path);
    assert_eq!(
        vtodo_line(&ics, "DUE").as_deref(),
        Some("DUE;VALUE=DATE:20300110")
    );
    rest_put(
        &app,
        &du.user,
        &task,
        json!({ "title": "All day, renamed" }),
    );
    let (ics, _) = fetch(&app, &du, &path);
    assert_eq!(
        vtodo_line(&ics, "DUE").as_deref(),
        Some("DUE;VALUE=DATE:20300110")
    );
}

#[test]
fn a_due_with_a_tzid_keeps_its_zone_and_sets_the_tasks_timezone() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let uid = new_uid();
    let ics = vtodo(
        &uid,
        &["SUMMARY:Standup", "DUE;TZID=Europe/Berlin:20300110T090000"],
    )
    .replacen("BEGIN:VTODO", &format!("{BERLIN}BEGIN:VTODO"), 1);
    let path = du.object(&inbox, "berlin.ics");
    du.create(&app, &path, &ics);
    let task = rest_task(&app, &du.user, &uid);
    assert_eq!(task["timezone"], "Europe/Berlin");
    assert_eq!(
        timestamp(&task["due_at"]),
        timestamp(&json!("2030-01-10T08:00:00Z")),
        "09:00 in Berlin in winter"
    );
    let (back, _) = fetch(&app, &du, &path);
    assert_eq!(
        vtodo_line(&back, "DUE").as_deref(),
        Some("DUE;TZID=Europe/Berlin:20300110T090000")
    );
    assert!(back.contains(BERLIN), "the VTIMEZONE is kept: {back}");
    // A REST move of the due date is written in the same zone (summer time: UTC+2).
    rest_put(
        &app,
        &du.user,
        &task,
        json!({ "due_at": "2030-07-10T07:00:00Z" }),
    );
    let (moved, _) = fetch(&app, &du, &path);
    assert_eq!(
        vtodo_line(&moved, "DUE").as_deref(),
        Some("DUE;TZID=Europe/Berlin:20300710T090000")
    );
}

#[test]
fn related_to_parent_maps_to_parent_id_and_back() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (_, parent_uid, _) = put_new(&app, &du, &inbox, "parent.ics", &["SUMMARY:Move house"]);
    let related = format!("RELATED-TO;RELTYPE=PARENT:{parent_uid}");
    let (_, child_uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "child.ics",
        &["SUMMARY:Pack books", &related],
    );
    let parent = rest_task(&app, &du.user, &parent_uid);
    let child = rest_task(&app, &du.user, &child_uid);
    assert_eq!(child["parent_id"], parent["id"]);
    // And a subtask made over REST names its parent.
    let sub = create(
        &app,
        &du.user,
        json!({ "title": "Label boxes", "parent_id": parent["id"] }),
    );
    let (ics, _) = fetch(
        &app,
        &du,
        &du.object_of_uid(&inbox, sub["uid"].as_str().unwrap()),
    );
    let line = vtodo_line(&ics, "RELATED-TO").expect("a RELATED-TO");
    assert_eq!(line_value(&line), parent_uid);
    let upper = line.to_ascii_uppercase();
    assert!(
        !upper.contains("RELTYPE=") || upper.contains("RELTYPE=PARENT"),
        "{line}"
    );
}

#[test]
fn a_subtask_put_before_its_parent_keeps_its_related_to_and_is_linked_once_the_parent_arrives() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let parent_uid = new_uid();
    let related = format!("RELATED-TO;RELTYPE=PARENT:{parent_uid}");
    let (child_path, child_uid, child_etag) = put_new(
        &app,
        &du,
        &inbox,
        "child.ics",
        &["SUMMARY:Pack books", &related],
    );
    // The parent is not there yet: no parent_id, but the client's line is not lost.
    assert_eq!(
        rest_task(&app, &du.user, &child_uid)["parent_id"],
        Value::Null
    );
    let (ics, _) = fetch(&app, &du, &child_path);
    let line = vtodo_line(&ics, "RELATED-TO").expect("the client's RELATED-TO is kept");
    assert_eq!(line_value(&line), parent_uid);
    // The parent arrives: the child is linked to it, and its ETag moves so clients see it.
    du.create(
        &app,
        &du.object(&inbox, "parent.ics"),
        &vtodo(&parent_uid, &["SUMMARY:Move house"]),
    );
    let parent = rest_task(&app, &du.user, &parent_uid);
    assert_eq!(
        rest_task(&app, &du.user, &child_uid)["parent_id"],
        parent["id"]
    );
    let (ics, etag) = fetch(&app, &du, &child_path);
    assert_ne!(etag, child_etag);
    assert_eq!(
        line_value(&vtodo_line(&ics, "RELATED-TO").expect("RELATED-TO")),
        parent_uid
    );
    // A parent set over REST replaces what the client named.
    let other = create(&app, &du.user, json!({ "title": "Other" }));
    let child = rest_task(&app, &du.user, &child_uid);
    rest_put(&app, &du.user, &child, json!({ "parent_id": other["id"] }));
    let (ics, _) = fetch(&app, &du, &child_path);
    assert_eq!(
        line_value(&vtodo_line(&ics, "RELATED-TO").expect("RELATED-TO")),
        other["uid"].as_str().unwrap()
    );
}

#[test]
fn rrule_maps_to_recurrence_and_back() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (_, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "weekly.ics",
        &[
            "SUMMARY:Take out the bins",
            "DUE:20300107T070000Z",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
        ],
    );
    assert_eq!(
        rest_task(&app, &du.user, &uid)["recurrence"],
        "FREQ=WEEKLY;BYDAY=MO"
    );
    let made = create(
        &app,
        &du.user,
        json!({
            "title": "Water the plants",
            "due_at": "2030-01-07T08:00:00Z",
            "recurrence": "FREQ=DAILY;INTERVAL=2",
        }),
    );
    let (ics, _) = fetch(
        &app,
        &du,
        &du.object_of_uid(&inbox, made["uid"].as_str().unwrap()),
    );
    assert_eq!(
        vtodo_value(&ics, "RRULE").as_deref(),
        Some("FREQ=DAILY;INTERVAL=2")
    );
}

#[test]
fn a_vevent_is_403_supported_calendar_component_and_nothing_is_stored() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let event = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300101T100000Z\r\nSUMMARY:A meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        new_uid()
    );
    let path = du.object(&inbox, "meeting.ics");
    let resp = du.put(&app, &path, &event, &[("If-None-Match", "*")]);
    assert_precondition(&resp, 403, CALDAV, "supported-calendar-component");
    assert_eq!(rest_count(&app, &du.user), 0);
    assert_eq!(du.get(&app, &path).status, 404);
}

#[test]
fn two_vtodos_with_one_uid_are_403_valid_calendar_object_resource_and_nothing_is_stored() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let uid = new_uid();
    let one = vtodo(&uid, &["SUMMARY:One"]);
    let two = one.replacen(
        "END:VCALENDAR",
        &format!("BEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Two\r\nEND:VTODO\r\nEND:VCALENDAR"),
        1,
    );
    let path = du.object(&inbox, "twins.ics");
    let resp = du.put(&app, &path, &two, &[("If-None-Match", "*")]);
    assert_precondition(&resp, 403, CALDAV, "valid-calendar-object-resource");
    assert_eq!(rest_count(&app, &du.user), 0);
    assert_eq!(du.get(&app, &path).status, 404);
}

/// RFC 4791 4.1: components with different UIDs belong in separate objects; storing one of two
/// would lose the other without a word.
#[test]
fn two_vtodos_with_different_uids_in_one_object_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let one = vtodo(&new_uid(), &["SUMMARY:One"]);
    let two = one.replacen(
        "END:VCALENDAR",
        &format!(
            "BEGIN:VTODO\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Two\r\nEND:VTODO\r\nEND:VCALENDAR",
            new_uid()
        ),
        1,
    );
    let resp = du.put(
        &app,
        &du.object(&inbox, "pair.ics"),
        &two,
        &[("If-None-Match", "*")],
    );
    assert_precondition(&resp, 403, CALDAV, "valid-calendar-object-resource");
    assert_eq!(rest_count(&app, &du.user), 0);
}

#[test]
fn fields_past_the_task_limits_are_403_valid_calendar_object_resource_and_nothing_is_stored() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let long_summary = format!("SUMMARY:{}", "s".repeat(201));
    let long_description = format!("DESCRIPTION:{}", "d".repeat(1001));
    let many_tags = format!(
        "CATEGORIES:{}",
        (0..21)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: [(&str, Vec<&str>); 3] = [
        ("a 201-character SUMMARY", vec![long_summary.as_str()]),
        (
            "a 1001-character DESCRIPTION",
            vec!["SUMMARY:ok", long_description.as_str()],
        ),
        ("21 CATEGORIES", vec!["SUMMARY:ok", many_tags.as_str()]),
    ];
    for (i, (what, lines)) in cases.iter().enumerate() {
        let path = du.object(&inbox, &format!("too-much-{i}.ics"));
        let resp = du.put(
            &app,
            &path,
            &vtodo(&new_uid(), lines),
            &[("If-None-Match", "*")],
        );
        assert_precondition(&resp, 403, CALDAV, "valid-calendar-object-resource");
        assert_eq!(rest_count(&app, &du.user), 0, "{what}");
        assert_eq!(du.get(&app, &path).status, 404, "{what}");
    }
    // Exactly 200 characters is fine.
    let (_, uid, _) = put_new(
        &app,
        &du,
        &inbox,
        "just-fits.ics",
        &[&format!("SUMMARY:{}", "s".repeat(200))],
    );
    assert_eq!(
        rest_task(&app, &du.user, &uid)["title"]
            .as_str()
            .map(str::len),
        Some(200)
    );
}

#[test]
fn a_body_that_is_not_icalendar_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let resp = du.put(
        &app,
        &du.object(&inbox, "garbage.ics"),
        "this is not a calendar",
        &[("If-None-Match", "*")],
    );
    assert!(
        matches!(resp.status, 400 | 403 | 415),
        "{} {}",
        resp.status,
        resp.body
    );
    assert_eq!(rest_count(&app, &du.user), 0);
}

/// RFC 4791 5.3.2.1 CALDAV:no-uid-conflict: a UID names one task; a second object with it would
/// make two tasks out of one.
#[test]
fn a_second_object_with_a_uid_already_in_use_is_refused_with_no_uid_conflict() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (_, uid, _) = put_new(&app, &du, &inbox, "first.ics", &["SUMMARY:First"]);
    let resp = du.put(
        &app,
        &du.object(&inbox, "second.ics"),
        &vtodo(&uid, &["SUMMARY:Second"]),
        &[("If-None-Match", "*")],
    );
    assert!(
        resp.status == 403 || resp.status == 409,
        "{} {}",
        resp.status,
        resp.body
    );
    assert_precondition(&resp, resp.status, CALDAV, "no-uid-conflict");
    assert_eq!(rest_count(&app, &du.user), 1);
    assert_eq!(rest_task(&app, &du.user, &uid)["title"], "First");
}

#[test]
fn a_put_over_an_object_without_preconditions_replaces_it() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, etag) = put_new(&app, &du, &inbox, "plain.ics", &["SUMMARY:First"]);
    let resp = du.put(&app, &path, &vtodo(&uid, &["SUMMARY:Second"]), &[]);
    assert_updated(&resp, "an unconditional PUT");
    assert_eq!(rest_task(&app, &du.user, &uid)["title"], "Second");
    assert_ne!(fetch(&app, &du, &path).1, etag);
    assert_eq!(rest_count(&app, &du.user), 1);
}

#[test]
fn a_name_with_percent_encoded_characters_is_reachable_and_listed_once() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let uid = new_uid();
    let encoded = du.object(&inbox, "Task%20from%20Thunderbird%40home.ics");
    let etag = du.create(&app, &encoded, &vtodo(&uid, &["SUMMARY:encoded"]));
    let (_, got) = fetch(&app, &du, &encoded);
    assert_eq!(got, etag);
    let listed = du.props(&app, &du.collection(&inbox), "1", &["d:getetag"]);
    let decoded = du.object(&inbox, "Task from Thunderbird@home.ics");
    assert_eq!(listed.get(&decoded).etag(), etag, "{}", listed.body);
    let objects = listed
        .hrefs()
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .count();
    assert_eq!(objects, 1, "{}", listed.body);
    let gone = du.delete(&app, &encoded, &[]);
    assert_updated(&gone, "DELETE");
    assert!(rest_task_by_uid(&app, &du.user, &uid).is_none());
}

#[test]
fn a_depth_1_propfind_on_a_calendar_lists_each_task_with_its_etag_and_content_type() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (by_dav, _, dav_etag) = put_new(&app, &du, &inbox, "by-dav.ics", &["SUMMARY:by dav"]);
    let rest = app.task(&du.user, "by rest");
    let by_rest = du.object_of_uid(&inbox, rest["uid"].as_str().unwrap());
    let listed = du.props(
        &app,
        &du.collection(&inbox),
        "1",
        &["d:getetag", "d:getcontenttype", "d:resourcetype"],
    );
    assert_eq!(
        listed.hrefs(),
        sorted(&[du.collection(&inbox), by_dav.clone(), by_rest.clone()])
    );
    assert_eq!(listed.get(&by_dav).etag(), dav_etag);
    assert_eq!(listed.get(&by_rest).etag(), rest_etag(&app, &du, &rest));
    for path in [&by_dav, &by_rest] {
        let r = listed.get(path);
        let kind = r.text(DAV, "getcontenttype");
        assert!(kind.starts_with("text/calendar"), "{path}: {kind}");
        assert!(!r.is_calendar(), "an object is not a collection");
    }
}

#[test]
fn the_caldav_etag_is_a_valid_if_match_over_rest_and_the_rest_etag_over_caldav() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let (path, uid, dav_etag) = put_new(&app, &du, &inbox, "shared-tag.ics", &["SUMMARY:one"]);
    let task = rest_task(&app, &du.user, &uid);
    let resp = app.request(
        "PUT",
        &task_path(&du.user, id_of(&task)),
        &[
            ("Authorization", &format!("Bearer {}", du.user.token)),
            ("Content-Type", "application/json"),
            ("If-Match", &dav_etag),
        ],
        Some(br#"{"title": "two"}"#),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let rest_tag = etag_of(&resp);
    let over = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:three"]),
        &[("If-Match", &rest_tag)],
    );
    assert_updated(&over, "PUT with the REST ETag");
    let stale = app.request(
        "PUT",
        &task_path(&du.user, id_of(&task)),
        &[
            ("Authorization", &format!("Bearer {}", du.user.token)),
            ("Content-Type", "application/json"),
            ("If-Match", &rest_tag),
        ],
        Some(br#"{"title": "four"}"#),
    );
    assert_eq!(
        stale.status, 412,
        "a CalDAV write moved the REST ETag: {}",
        stale.body
    );
    assert_eq!(rest_task(&app, &du.user, &uid)["title"], "three");
}

#[test]
fn a_long_non_ascii_title_and_a_multi_line_description_made_over_rest_are_folded_and_escaped() {
    let app = TestApp::spawn();
    let (du, inbox) = setup(&app);
    let title = "Grüße an Zoë – ".repeat(10).trim().to_string();
    let task = create(
        &app,
        &du.user,
        json!({
            "title": title,
            "description": "line one\nline two, with; a \\ backslash",
        }),
    );
    let resp = du.get(
        &app,
        &du.object_of_uid(&inbox, task["uid"].as_str().unwrap()),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let ics = resp.body;
    for line in ics.split("\r\n") {
        assert!(
            line.len() <= 75,
            "RFC 5545 3.1: lines of at most 75 octets ({}): {line:?}",
            line.len()
        );
    }
    assert!(ics.ends_with("\r\n"), "CRLF line ends: {ics:?}");
    assert_eq!(
        vtodo_value(&ics, "SUMMARY").as_deref(),
        Some(title.as_str())
    );
    assert_eq!(
        vtodo_value(&ics, "DESCRIPTION").as_deref(),
        Some(r"line one\nline two\, with\; a \\ backslash")
    );
}

#[test]
fn a_put_into_a_collection_that_does_not_exist_stores_nothing() {
    let app = TestApp::spawn();
    let (du, _) = setup(&app);
    let resp = du.put(
        &app,
        &du.object("no-such-calendar", "orphan.ics"),
        &vtodo(&new_uid(), &["SUMMARY:orphan"]),
        &[("If-None-Match", "*")],
    );
    assert!(
        matches!(resp.status, 403 | 404 | 409),
        "{} {}",
        resp.status,
        resp.body
    );
    assert_eq!(rest_count(&app, &du.user), 0);
}
