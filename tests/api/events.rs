//! Live events: tickets, `text/event-stream` across instances, `Last-Event-ID` replay, the stream
//! limit, shutdown, and streams that hold no worker.

use crate::support::*;
use serde_json::{json, Value};
use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn a_change_made_through_server_a_arrives_on_a_stream_opened_on_server_b() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let mut sse = Sse::open(&b, &user.id, &ticket(&a, &user), None);
    assert_eq!(sse.status(), 200, "{}", sse.head);
    assert!(
        sse.head
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{}",
        sse.head
    );
    let task = a.task(&user, "from a");
    let created = sse.next(WAIT).expect("the created event");
    assert_eq!(created.name, "task");
    assert_eq!(created.data["op"], "created");
    assert_eq!(created.data["id"], task["id"]);
    assert_eq!(created.data["task"], task);
    assert_eq!(created.id, created.data["cursor"].as_str().unwrap());
    let path = task_path(&user, id_of(&task));
    let updated = a.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({"title": "edited"})),
    );
    let event = sse.next(WAIT).expect("the updated event");
    assert_eq!(event.data["op"], "updated");
    assert_eq!(event.data["task"], updated.json());
    a.send("DELETE", &path, Some(&user.token), None);
    let event = sse.next(WAIT).expect("the deleted event");
    assert_eq!(event.data["op"], "deleted");
    assert_eq!(event.data["task"], Value::Null);
    assert_eq!(event.data["id"], task["id"]);
    // The stream's cursor is a sync cursor: the feed after it has nothing new.
    let feed = a.get(
        &format!("/api/{}/changes?since={}", user.id, event.id),
        Some(&user.token),
    );
    assert_eq!(feed.json()["tasks"], json!([]));
}

/// A second session of `user` (a sign-in of its own).
fn second_session(app: &TestApp, user: &User) -> User {
    let resp = app.signin(&user.email, PASSWORD);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let token = resp.json()["access_token"].as_str().unwrap().to_string();
    User {
        token,
        ..user.clone()
    }
}

#[test]
fn ending_a_session_ends_its_streams_on_every_server_and_no_other_stream() {
    let a = TestApp::spawn();
    let b = a.beside(|_| {});
    let user = a.user();
    let other = second_session(&a, &user);
    let mut on_a = Sse::open(&a, &user.id, &ticket(&a, &user), None);
    let mut on_b = Sse::open(&b, &user.id, &ticket(&a, &user), None);
    let mut kept = Sse::open(&b, &user.id, &ticket(&a, &other), None);
    for s in [&on_a, &on_b, &kept] {
        assert_eq!(s.status(), 200, "{}", s.head);
    }
    let out = a.send("POST", "/api/auth/signout", Some(&user.token), None);
    assert_eq!(out.status, 204);
    assert!(
        on_a.ends_within(WAIT),
        "the stream on the server signed out on"
    );
    assert!(on_b.ends_within(WAIT), "the stream on the other server");
    let task = a.task(&other, "after the sign-out");
    let created = kept.next(WAIT).expect("the other session's stream goes on");
    assert_eq!(created.data["id"], task["id"]);

    let password = json!({ "current_password": PASSWORD, "new_password": "Another-pass-2" });
    let changed = a.send(
        "PUT",
        "/api/auth/password",
        Some(&other.token),
        Some(password),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(
        kept.ends_within(WAIT),
        "a password change ends every session"
    );
}

/// The instance checks the sessions of a user's streams whenever one opens; a stream of another
/// session that opens during that check is not one the check found ended.
#[test]
fn streams_of_ten_sessions_opened_at_once_all_stay_open_and_get_the_next_change() {
    let app = TestApp::spawn();
    // Three users, as the window is narrow: one round alone misses it now and then.
    for _ in 0..3 {
        let user = app.user();
        let tickets: Vec<String> = (0..10)
            .map(|_| ticket(&app, &second_session(&app, &user)))
            .collect();
        let mut streams: Vec<Sse> = std::thread::scope(|s| {
            let opening: Vec<_> = tickets
                .iter()
                .map(|t| s.spawn(|| Sse::open(&app, &user.id, t, None)))
                .collect();
            opening.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert_eq!(streams.len(), 10);
        for s in &streams {
            assert_eq!(s.status(), 200, "{}", s.head);
        }
        let task = app.task(&user, "to every stream");
        for (i, s) in streams.iter_mut().enumerate() {
            let created = s.next(WAIT);
            let created = created.unwrap_or_else(|| panic!("stream {i} got no event"));
            assert_eq!(created.data["id"], task["id"], "stream {i}");
        }
    }
}

#[test]
fn a_ticket_works_once_within_sixty_seconds_for_its_user_only() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let t = ticket(&app, &user);
    let theirs = Sse::open(&app, &other.id, &t, None);
    assert_eq!(theirs.status(), 401, "another user's path");
    let t = ticket(&app, &user);
    assert_eq!(Sse::open(&app, &user.id, &t, None).status(), 200);
    assert_eq!(
        Sse::open(&app, &user.id, &t, None).status(),
        401,
        "used twice"
    );
    assert_eq!(Sse::open(&app, &user.id, "made-up", None).status(), 401);
    let late = ticket(&app, &user);
    app.sql()
        .execute(
            "UPDATE event_tickets SET expires_at = now() - interval '1 second'",
            &[],
        )
        .unwrap();
    let resp = app.get(&format!("/api/{}/events?ticket={late}", user.id), None);
    assert_error(&resp, 401, "Invalid or expired ticket");
    let no_ticket = app.get(&format!("/api/{}/events", user.id), None);
    assert_eq!(no_ticket.status, 401);
    let resp = app.send(
        "POST",
        &format!("/api/{}/events/ticket", other.id),
        Some(&user.token),
        None,
    );
    assert_error(&resp, 403, "Access denied");
}

#[test]
fn a_reconnect_with_last_event_id_receives_what_happened_while_it_was_away() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut sse = Sse::open(&app, &user.id, &ticket(&app, &user), None);
    let kept = app.task(&user, "kept");
    let last = sse.next(WAIT).expect("an event").id;
    drop(sse);
    let path = task_path(&user, id_of(&kept));
    app.send(
        "PUT",
        &path,
        Some(&user.token),
        Some(json!({"title": "while away"})),
    );
    let new = app.task(&user, "new while away");
    app.send("DELETE", &path, Some(&user.token), None);
    let mut back = Sse::open(&app, &user.id, &ticket(&app, &user), Some(&last));
    let first = back.next(WAIT).expect("the replayed creation");
    assert_eq!(
        (first.data["op"].as_str(), &first.data["id"]),
        (Some("created"), &new["id"])
    );
    let second = back.next(WAIT).expect("the replayed deletion");
    assert_eq!(
        (second.data["op"].as_str(), &second.data["id"]),
        (Some("deleted"), &kept["id"])
    );
    let live = app.task(&user, "live");
    let third = back.next(WAIT).expect("then live events");
    assert_eq!(third.data["id"], live["id"]);
    let mut bad = Sse::open(&app, &user.id, &ticket(&app, &user), Some("not-a-cursor"));
    let resync = bad.next(WAIT).expect("a resync event");
    assert_eq!(resync.name, "resync");
    assert_eq!(
        resync.data["detail"],
        "Sync cursor expired; fetch the full list again"
    );
}

#[test]
fn the_eleventh_stream_of_a_user_is_429() {
    let app = TestApp::spawn();
    let (user, other) = (app.user(), app.user());
    let open: Vec<Sse> = (0..10)
        .map(|_| Sse::open(&app, &user.id, &ticket(&app, &user), None))
        .collect();
    assert!(open.iter().all(|s| s.status() == 200));
    let eleventh = app.get(
        &format!("/api/{}/events?ticket={}", user.id, ticket(&app, &user)),
        None,
    );
    assert_error(&eleventh, 429, "Too many event streams for this user");
    assert!(eleventh.header("retry-after").is_some());
    assert_eq!(
        Sse::open(&app, &other.id, &ticket(&app, &other), None).status(),
        200
    );
    drop(open);
    let deadline = Instant::now() + WAIT;
    loop {
        let again = Sse::open(&app, &user.id, &ticket(&app, &user), None);
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closed streams free their places"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn open_streams_hold_no_worker_and_shutdown_ends_them_cleanly() {
    let mut app = TestApp::with(|c| {
        c.workers = 2;
        c.db_pool_size = 2;
    });
    let users: Vec<User> = (0..3).map(|_| app.user()).collect();
    let mut streams: Vec<Sse> = users
        .iter()
        .flat_map(|u| {
            (0..10)
                .map(|_| Sse::open(&app, &u.id, &ticket(&app, u), None))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(streams.iter().all(|s| s.status() == 200));
    // Thirty open streams, two workers: requests are still served, and events still arrive.
    let task = app.task(&users[0], "still served");
    let event = streams[0].next(WAIT).expect("an event");
    assert_eq!(event.data["id"], task["id"]);
    let started = Instant::now();
    app.stop();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown waited {:?}",
        started.elapsed()
    );
    for sse in &mut streams {
        sse.stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut rest = Vec::new();
        match sse.stream.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => panic!("reset instead of an end"),
            Err(e) => panic!("no clean end: {e}"),
        }
    }
}
