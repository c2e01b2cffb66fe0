//! Sync over CalDAV (RFC 6578 sync-collection): an initial sync lists everything, an incremental
//! one only what changed, deletions and moves out of the list as `404` responses, a bogus or future
//! token `403` with `DAV:valid-sync-token`; and one task whichever protocol changed it: CalDAV
//! changes in the REST changes feed and event streams, REST changes in the CalDAV sync.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn an_initial_sync_lists_every_object_with_its_etag_and_the_collections_token() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let one = du.object(&inbox, "one.ics");
    let two = du.object(&inbox, "two.ics");
    du.create(&app, &one, &vtodo(&new_uid(), &["SUMMARY:one"]));
    du.create(&app, &two, &vtodo(&new_uid(), &["SUMMARY:two"]));
    let rest = app.task(&du.user, "three");
    let three = du.object_of_uid(&inbox, rest["uid"].as_str().unwrap());
    let synced = du.sync(&app, &coll, "");
    assert_eq!(
        synced.present(),
        sorted(&[one.clone(), two.clone(), three.clone()])
    );
    assert_eq!(synced.gone(), Vec::<String>::new());
    for path in [&one, &two, &three] {
        assert_eq!(
            synced.get(path).etag(),
            etag_of(&du.get(&app, path)),
            "{path}"
        );
    }
    let token = synced.token();
    assert!(token.starts_with("http://todo-api/sync/"), "{token}");
    let prop = du.props(&app, &coll, "0", &["d:sync-token"]);
    assert_eq!(prop.one().text(DAV, "sync-token"), token);
}

#[test]
fn an_incremental_sync_lists_only_what_changed_since_its_token() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let kept = du.object(&inbox, "kept.ics");
    du.create(&app, &kept, &vtodo(&new_uid(), &["SUMMARY:kept"]));
    let changed = app.task(&du.user, "to change");
    let changed_path = du.object_of_uid(&inbox, changed["uid"].as_str().unwrap());
    let first = du.sync(&app, &coll, "");
    assert_eq!(first.present().len(), 2);

    let after = rest_put(&app, &du.user, &changed, json!({ "title": "changed" }));
    let second = du.sync(&app, &coll, &first.token());
    assert_eq!(
        second.present(),
        vec![changed_path.clone()],
        "{}",
        second.body
    );
    let (_, _, rest_etag) = rest_get(&app, &du.user, id_of(&after));
    assert_eq!(second.get(&changed_path).etag(), rest_etag);
    assert_ne!(second.token(), first.token());

    let added = du.object(&inbox, "added.ics");
    du.create(&app, &added, &vtodo(&new_uid(), &["SUMMARY:added"]));
    let third = du.sync(&app, &coll, &second.token());
    assert_eq!(third.present(), [added], "{}", third.body);
    assert_eq!(third.gone(), Vec::<String>::new());

    let quiet = du.sync(&app, &coll, &third.token());
    assert_eq!(quiet.hrefs(), Vec::<String>::new(), "{}", quiet.body);
    // The old tokens still work and still say what changed since each.
    let replay = du.sync(&app, &coll, &second.token());
    assert_eq!(replay.present().len(), 1, "{}", replay.body);
}

#[test]
fn an_object_deleted_over_caldav_or_rest_comes_back_as_a_404_response() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let by_dav = du.object(&inbox, "by-dav.ics");
    du.create(&app, &by_dav, &vtodo(&new_uid(), &["SUMMARY:by dav"]));
    let rest = app.task(&du.user, "by rest");
    let by_rest = du.object_of_uid(&inbox, rest["uid"].as_str().unwrap());
    let survivor = app.task(&du.user, "survivor");
    let survivor_path = du.object_of_uid(&inbox, survivor["uid"].as_str().unwrap());
    let first = du.sync(&app, &coll, "");
    let deleted = du.delete(&app, &by_dav, &[]);
    assert!(
        deleted.status == 204 || deleted.status == 200,
        "{}",
        deleted.status
    );
    let gone = app.send(
        "DELETE",
        &task_path(&du.user, id_of(&rest)),
        Some(&du.user.token),
        None,
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    let second = du.sync(&app, &coll, &first.token());
    assert_eq!(second.gone(), sorted(&[by_dav, by_rest]), "{}", second.body);
    assert_eq!(second.present(), Vec::<String>::new(), "{}", second.body);
    let initial = du.sync(&app, &coll, "");
    assert_eq!(
        initial.present(),
        [survivor_path],
        "an initial sync lists no tombstones"
    );
    assert_eq!(initial.gone(), Vec::<String>::new());
}

#[test]
fn a_task_moved_to_another_list_over_rest_is_a_404_in_the_old_collection_and_new_in_the_other() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let other = id_str(&new_list(&app, &du.user, "Other"));
    let task = app.task(&du.user, "wanderer");
    let name = format!("{}.ics", task["uid"].as_str().unwrap());
    let old_first = du.sync(&app, &du.collection(&inbox), "");
    let new_first = du.sync(&app, &du.collection(&other), "");
    assert_eq!(new_first.hrefs(), Vec::<String>::new());
    rest_put(&app, &du.user, &task, json!({ "list_id": other }));
    let old = du.sync(&app, &du.collection(&inbox), &old_first.token());
    assert_eq!(old.gone(), [du.object(&inbox, &name)], "{}", old.body);
    assert_eq!(old.present(), Vec::<String>::new());
    let new = du.sync(&app, &du.collection(&other), &new_first.token());
    assert_eq!(new.present(), [du.object(&other, &name)], "{}", new.body);
    assert_eq!(du.get(&app, &du.object(&inbox, &name)).status, 404);
    assert_eq!(du.get(&app, &du.object(&other, &name)).status, 200);
}

#[test]
fn a_bogus_foreign_or_future_sync_token_is_403_valid_sync_token() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    app.task(&du.user, "something");
    let current = du.sync(&app, &coll, "").token();
    let number: u64 = current
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the documented token shape: {current}"));
    for token in [
        "http://todo-api/sync/banana".to_string(),
        "http://todo-api/sync/-1".to_string(),
        format!("http://todo-api/sync/list/{}", number + 1000),
        "http://todo-api/sync/99999999999999999999999".to_string(),
        "urn:uuid:not-ours".to_string(),
    ] {
        let resp = du.report(&app, &coll, "0", &sync_collection(&token));
        assert_precondition(&resp, 403, DAV, "valid-sync-token");
    }
}

#[test]
fn a_task_changed_over_caldav_is_in_the_rest_changes_feed_and_a_deletion_in_deleted() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let start = feed_cursor(&changes(&app, &du.user, ""));
    let uid = new_uid();
    let path = du.object(&inbox, "fed.ics");
    let etag = du.create(&app, &path, &vtodo(&uid, &["SUMMARY:from the phone"]));
    let page = changes(&app, &du.user, &format!("?since={start}"));
    let tasks = page["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 1, "{page}");
    assert_eq!(tasks[0]["uid"], uid.as_str());
    assert_eq!(tasks[0]["title"], "from the phone");
    let id = id_of(&tasks[0]);
    let next = feed_cursor(&page);
    let changed = du.put(
        &app,
        &path,
        &vtodo(&uid, &["SUMMARY:edited on the phone"]),
        &[("If-Match", &etag)],
    );
    assert!(
        changed.status == 204 || changed.status == 200,
        "{}",
        changed.body
    );
    let page = changes(&app, &du.user, &format!("?since={next}"));
    assert_eq!(page["tasks"][0]["title"], "edited on the phone", "{page}");
    let next = feed_cursor(&page);
    let deleted = du.delete(&app, &path, &[]);
    assert!(
        deleted.status == 204 || deleted.status == 200,
        "{}",
        deleted.status
    );
    let page = changes(&app, &du.user, &format!("?since={next}"));
    assert_eq!(page["deleted"], json!([id]), "{page}");
    assert_eq!(page["tasks"], json!([]), "{page}");
}

#[test]
fn a_task_put_over_caldav_arrives_on_an_open_event_stream() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let mut stream = Sse::of(&app, &du.user);
    let uid = new_uid();
    du.create(
        &app,
        &du.object(&inbox, "live.ics"),
        &vtodo(&uid, &["SUMMARY:live"]),
    );
    let seen = stream.until(Duration::from_secs(10), |e| {
        e.name == "task" && e.data["task"]["uid"] == uid.as_str()
    });
    let last = seen.last().unwrap();
    assert_eq!(last.data["op"], "created", "{:?}", last.data);
    assert_eq!(last.data["task"]["title"], "live");
}

#[test]
fn a_deletion_is_reported_once_and_not_again_after_the_token_that_reported_it() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let path = du.object(&inbox, "once.ics");
    du.create(&app, &path, &vtodo(&new_uid(), &["SUMMARY:once"]));
    let first = du.sync(&app, &coll, "");
    assert_eq!(du.delete(&app, &path, &[]).status / 100, 2);
    let second = du.sync(&app, &coll, &first.token());
    assert_eq!(second.gone(), vec![path.clone()]);
    let third = du.sync(&app, &coll, &second.token());
    assert_eq!(third.hrefs(), Vec::<String>::new(), "{}", third.body);
}

#[test]
fn a_name_deleted_and_then_used_again_is_reported_present_not_gone() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let path = du.object(&inbox, "reused.ics");
    du.create(&app, &path, &vtodo(&new_uid(), &["SUMMARY:first life"]));
    let first = du.sync(&app, &coll, "");
    assert_eq!(du.delete(&app, &path, &[]).status / 100, 2);
    let etag = du.create(&app, &path, &vtodo(&new_uid(), &["SUMMARY:second life"]));
    let second = du.sync(&app, &coll, &first.token());
    assert_eq!(
        second.hrefs(),
        vec![path.clone()],
        "one answer per href: {}",
        second.body
    );
    assert_eq!(second.present(), vec![path.clone()], "{}", second.body);
    assert_eq!(second.get(&path).etag(), etag);
}

#[test]
fn a_task_moved_away_and_back_is_present_in_its_first_collection() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let other = id_str(&new_list(&app, &du.user, "Other"));
    let task = app.task(&du.user, "boomerang");
    let path = du.object_of_uid(&inbox, task["uid"].as_str().unwrap());
    let first = du.sync(&app, &du.collection(&inbox), "");
    rest_put(&app, &du.user, &task, json!({ "list_id": other }));
    rest_put(&app, &du.user, &task, json!({ "list_id": inbox }));
    let second = du.sync(&app, &du.collection(&inbox), &first.token());
    assert_eq!(second.present(), vec![path.clone()], "{}", second.body);
    assert_eq!(second.gone(), Vec::<String>::new(), "{}", second.body);
}

/// A token from before deletions the server no longer remembers must not sync silently past
/// them: either `403 valid-sync-token` (RFC 6578 3.2, the client starts over) or the deletion
/// still reported. The ageing reaches into the tables, as the changes feed's test does.
#[test]
fn a_token_older_than_the_remembered_deletions_never_misses_one() {
    let app = TestApp::spawn();
    let du = dav_user(&app);
    let inbox = inbox_id(&app, &du.user);
    let coll = du.collection(&inbox);
    let path = du.object(&inbox, "forgotten.ics");
    du.create(&app, &path, &vtodo(&new_uid(), &["SUMMARY:forgotten"]));
    let old = du.sync(&app, &coll, "").token();
    assert_eq!(du.delete(&app, &path, &[]).status / 100, 2);
    let mut db = app.sql();
    db.execute(
        "UPDATE list_tombstones SET deleted_at = now() - interval '31 days'",
        &[],
    )
    .unwrap();
    db.execute(
        "UPDATE dav_gone SET gone_at = now() - interval '31 days'",
        &[],
    )
    .unwrap();
    // A fresh instance purges on its first sign-up.
    let other = app.beside(|_| {});
    other.user();
    let resp = du.report(&app, &coll, "0", &sync_collection(&old));
    if resp.status == 207 {
        let answer = Multistatus::of(&resp);
        assert_eq!(answer.gone(), vec![path], "{}", answer.body);
    } else {
        assert_precondition(&resp, 403, DAV, "valid-sync-token");
    }
}
