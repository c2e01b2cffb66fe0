//! Recurring tasks (contract part 3, "Subtasks and recurring tasks"): the RRULE subset and the time
//! zone, validated; completing a recurring task (toggle or `PUT "completed": true`) records the
//! completion and moves `due_at` to the next occurrence, evaluated in the task's zone (across
//! daylight-saving changes), until the rule ends; one advance per completion, also concurrently;
//! the completion reaches the changes feed, events and ETags; a `PUT` of the rule, the zone or the
//! due date computes the next occurrence again.

use crate::support::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Barrier;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const NEEDS_DUE: &str = "A recurring task needs a due_at";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn due(task: &Value) -> DateTime<Utc> {
    timestamp(&task["due_at"])
}

/// A recurring task: `rule` from `due_at`, in `zone` (`None`: the default), asserting 201.
fn recurring(app: &TestApp, user: &User, rule: &str, due_at: &str, zone: Option<&str>) -> Value {
    let mut body =
        json!({ "title": format!("every {rule}"), "recurrence": rule, "due_at": due_at });
    if let Some(zone) = zone {
        body["timezone"] = json!(zone);
    }
    let task = create(app, user, body);
    assert_eq!(task["recurrence"], rule, "{task}");
    assert_eq!(task["timezone"], zone.unwrap_or("UTC"), "{task}");
    assert_eq!(due(&task), at(due_at), "{task}");
    assert_eq!(task["completed"], false, "{task}");
    assert_eq!(task["last_completed_at"], Value::Null, "{task}");
    task
}

fn toggle(app: &TestApp, user: &User, task: &Value) -> Value {
    let resp = app.send(
        "PATCH",
        &format!("{}/complete", task_path(user, id_of(task))),
        Some(&user.token),
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

fn put(app: &TestApp, user: &User, task: &Value, body: Value) -> Resp {
    app.send(
        "PUT",
        &task_path(user, id_of(task)),
        Some(&user.token),
        Some(body),
    )
}

fn fetch(app: &TestApp, user: &User, task: &Value) -> Value {
    let resp = app.get(&task_path(user, id_of(task)), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

/// A completion that kept the task open: not completed, no `completed_at`, the completion
/// recorded just now.
fn assert_advanced(task: &Value) {
    assert_eq!(task["completed"], false, "{task}");
    assert_eq!(task["completed_at"], Value::Null, "{task}");
    let recorded = timestamp(&task["last_completed_at"]);
    let age = Utc::now().signed_duration_since(recorded);
    assert!(age.num_seconds().abs() < 60, "recorded just now: {task}");
}

/// Completes the task once per entry of `expected`, asserting where `due_at` moves each time.
fn completions_move_due_to(app: &TestApp, user: &User, task: &Value, expected: &[&str]) {
    for next in expected {
        let done = toggle(app, user, task);
        assert_advanced(&done);
        assert_eq!(due(&done), at(next), "{done}");
        assert_eq!(
            fetch(app, user, task),
            done,
            "GET shows what the toggle answered"
        );
    }
}

/// A completion past the last occurrence: completed like any task, `due_at` left where it was.
fn assert_completed_at_last(task: &Value, last_due: &str) {
    assert_eq!(task["completed"], true, "{task}");
    let completed_at = timestamp(&task["completed_at"]);
    assert_eq!(
        timestamp(&task["last_completed_at"]),
        completed_at,
        "{task}"
    );
    assert_eq!(due(task), at(last_due), "{task}");
}

/// The fields a 400 names.
fn fields(resp: &Resp) -> Vec<String> {
    validation_errors(resp)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

#[test]
fn a_rule_outside_the_subset_an_unknown_zone_or_a_missing_due_date_is_a_400_naming_the_field() {
    let app = TestApp::spawn();
    let user = app.user();
    let due_at = "2027-01-04T09:00:00Z";
    for rule in [
        json!(""),
        json!("FREQ=HOURLY"),
        json!("FREQ=MINUTELY"),
        json!("FREQ=SECONDLY"),
        json!("FREQ=FORTNIGHTLY"),
        json!("INTERVAL=2"),
        json!("FREQ=DAILY;BYHOUR=9"),
        json!("FREQ=DAILY;BYMINUTE=30"),
        json!("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO"),
        json!("FREQ=YEARLY;BYYEARDAY=100"),
        json!("FREQ=YEARLY;BYWEEKNO=20"),
        json!("FREQ=WEEKLY;WKST=SU"),
        json!("FREQ=DAILY;INTERVAL=0"),
        json!("FREQ=DAILY;INTERVAL=x"),
        json!("FREQ=DAILY;COUNT=0"),
        json!("FREQ=DAILY;COUNT=-1"),
        json!("FREQ=DAILY;COUNT=2;UNTIL=20270201"),
        json!("FREQ=DAILY;UNTIL=tomorrow"),
        json!("FREQ=WEEKLY;BYDAY=XX"),
        json!("FREQ=WEEKLY;BYDAY="),
        json!("FREQ=MONTHLY;BYMONTHDAY=0"),
        json!("FREQ=MONTHLY;BYMONTHDAY=32"),
        json!("FREQ=YEARLY;BYMONTH=13"),
        json!("FREQ=YEARLY;BYMONTH=0"),
        json!("FREQ=DAILY;FREQ=WEEKLY"),
        json!("FREQ"),
        json!("FREQ=DAILY;"),
        json!(42),
        json!(["FREQ=DAILY"]),
    ] {
        let resp = post_task(
            &app,
            &user,
            json!({ "title": "bad rule", "recurrence": rule, "due_at": due_at }),
        );
        assert_eq!(fields(&resp), ["recurrence"], "{rule}: {}", resp.body);
    }
    for zone in [
        json!("Mars/Olympus"),
        json!("Europe/Berlinn"),
        json!(""),
        json!(1),
    ] {
        let resp = post_task(
            &app,
            &user,
            json!({ "title": "bad zone", "recurrence": "FREQ=DAILY", "due_at": due_at, "timezone": zone }),
        );
        assert_eq!(fields(&resp), ["timezone"], "{zone}: {}", resp.body);
    }
    let resp = post_task(
        &app,
        &user,
        json!({ "title": "no due date", "recurrence": "FREQ=DAILY" }),
    );
    assert_invalid(&resp, NEEDS_DUE, &["recurrence"]);
    let resp = post_task(
        &app,
        &user,
        json!({ "title": "no due date", "recurrence": "FREQ=DAILY", "due_at": null }),
    );
    assert_invalid(&resp, NEEDS_DUE, &["recurrence"]);
    assert!(
        list(&app, &user, "").is_empty(),
        "no refused request made a task"
    );

    // The same through PUT, which changes nothing.
    let plain = app.task(&user, "plain");
    assert_eq!(plain["recurrence"], Value::Null, "{plain}");
    assert_eq!(plain["timezone"], "UTC", "{plain}");
    assert_eq!(plain["last_completed_at"], Value::Null, "{plain}");
    let resp = put(&app, &user, &plain, json!({ "recurrence": "FREQ=DAILY" }));
    assert_invalid(&resp, NEEDS_DUE, &["recurrence"]);
    let resp = put(
        &app,
        &user,
        &plain,
        json!({ "recurrence": "FREQ=HOURLY", "due_at": due_at }),
    );
    assert_eq!(fields(&resp), ["recurrence"], "{}", resp.body);
    let resp = put(&app, &user, &plain, json!({ "timezone": "Nowhere/Atall" }));
    assert_eq!(fields(&resp), ["timezone"], "{}", resp.body);
    assert_eq!(fetch(&app, &user, &plain), plain);

    let task = recurring(&app, &user, "FREQ=DAILY", due_at, Some("Europe/Berlin"));
    let resp = put(&app, &user, &task, json!({ "due_at": null }));
    assert_eq!(fields(&resp), ["due_at"], "{}", resp.body);
    assert_eq!(resp.detail(), NEEDS_DUE, "{}", resp.body);
    let resp = put(
        &app,
        &user,
        &task,
        json!({ "recurrence": "FREQ=DAILY;BYHOUR=7" }),
    );
    assert_eq!(fields(&resp), ["recurrence"], "{}", resp.body);
    assert_eq!(
        fetch(&app, &user, &task),
        task,
        "refused PUTs changed nothing"
    );
    // Dropping the rule and the date together is fine: a plain task again.
    let resp = put(
        &app,
        &user,
        &task,
        json!({ "recurrence": null, "due_at": null }),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let plain_again = resp.json();
    assert_eq!(plain_again["recurrence"], Value::Null, "{plain_again}");
    assert_eq!(plain_again["due_at"], Value::Null, "{plain_again}");
    let done = toggle(&app, &user, &plain_again);
    assert_eq!(done["completed"], true, "{done}");
}

#[test]
fn every_part_of_the_subset_is_accepted_and_given_back() {
    let app = TestApp::spawn();
    let user = app.user();
    for rule in [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
        "FREQ=MONTHLY;BYMONTHDAY=1,15,-1",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1FR",
        "FREQ=DAILY;COUNT=3",
        "FREQ=DAILY;UNTIL=20270301",
        "FREQ=DAILY;UNTIL=20270301T090000Z",
    ] {
        recurring(&app, &user, rule, "2027-01-04T09:00:00Z", None);
    }
    for zone in ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"] {
        recurring(
            &app,
            &user,
            "FREQ=DAILY",
            "2027-01-04T09:00:00Z",
            Some(zone),
        );
    }
}

#[test]
fn a_daily_0900_task_in_berlin_stays_at_0900_local_across_spring_forward_and_fall_back() {
    let app = TestApp::spawn();
    let user = app.user();
    // 09:00 CET is 08:00Z; from 2027-03-28 09:00 CEST is 07:00Z.
    let spring = recurring(
        &app,
        &user,
        "FREQ=DAILY",
        "2027-03-26T08:00:00Z",
        Some("Europe/Berlin"),
    );
    completions_move_due_to(
        &app,
        &user,
        &spring,
        &[
            "2027-03-27T08:00:00Z",
            "2027-03-28T07:00:00Z",
            "2027-03-29T07:00:00Z",
        ],
    );
    // From 2027-10-31 09:00 CET is 08:00Z again.
    let autumn = recurring(
        &app,
        &user,
        "FREQ=DAILY",
        "2027-10-29T07:00:00Z",
        Some("Europe/Berlin"),
    );
    completions_move_due_to(
        &app,
        &user,
        &autumn,
        &[
            "2027-10-30T07:00:00Z",
            "2027-10-31T08:00:00Z",
            "2027-11-01T08:00:00Z",
        ],
    );
    // In UTC (the default zone) the same task keeps its UTC hour.
    let utc = recurring(&app, &user, "FREQ=DAILY", "2027-03-27T08:00:00Z", None);
    completions_move_due_to(
        &app,
        &user,
        &utc,
        &["2027-03-28T08:00:00Z", "2027-03-29T08:00:00Z"],
    );
}

#[test]
fn monthly_on_the_31st_skips_the_months_without_one() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(
        &app,
        &user,
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "2027-01-31T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &[
            "2027-03-31T09:00:00Z",
            "2027-05-31T09:00:00Z",
            "2027-07-31T09:00:00Z",
            "2027-08-31T09:00:00Z",
            "2027-10-31T09:00:00Z",
        ],
    );
    // Without BYMONTHDAY the day comes from the start, and invalid dates are skipped the same way
    // (RFC 5545 3.3.10).
    let task = recurring(&app, &user, "FREQ=MONTHLY", "2027-01-31T09:00:00Z", None);
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2027-03-31T09:00:00Z", "2027-05-31T09:00:00Z"],
    );
}

#[test]
fn yearly_on_february_29_waits_for_the_next_leap_year() {
    let app = TestApp::spawn();
    let user = app.user();
    for rule in ["FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"] {
        let task = recurring(&app, &user, rule, "2028-02-29T09:00:00Z", None);
        completions_move_due_to(
            &app,
            &user,
            &task,
            &["2032-02-29T09:00:00Z", "2036-02-29T09:00:00Z"],
        );
    }
}

#[test]
fn with_count_3_two_completions_advance_and_the_third_completes_the_task() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(
        &app,
        &user,
        "FREQ=DAILY;COUNT=3",
        "2027-01-01T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2027-01-02T09:00:00Z", "2027-01-03T09:00:00Z"],
    );
    let last = toggle(&app, &user, &task);
    assert_completed_at_last(&last, "2027-01-03T09:00:00Z");
    assert_eq!(fetch(&app, &user, &task), last);
    assert_eq!(
        last["recurrence"], "FREQ=DAILY;COUNT=3",
        "the rule stays: {last}"
    );

    // Un-completing it is a plain flip, and so is completing it again: no occurrences are left.
    let reopened = toggle(&app, &user, &task);
    assert_eq!(reopened["completed"], false, "{reopened}");
    assert_eq!(reopened["completed_at"], Value::Null, "{reopened}");
    assert_eq!(due(&reopened), at("2027-01-03T09:00:00Z"), "{reopened}");
    assert_eq!(
        reopened["last_completed_at"], last["last_completed_at"],
        "un-completing records no completion"
    );
    let again = toggle(&app, &user, &task);
    assert_completed_at_last(&again, "2027-01-03T09:00:00Z");
    assert!(timestamp(&again["last_completed_at"]) > timestamp(&last["last_completed_at"]));
}

#[test]
fn until_ends_the_rule_with_a_utc_instant_or_a_date_in_the_tasks_zone() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(
        &app,
        &user,
        "FREQ=DAILY;UNTIL=20270103T090000Z",
        "2027-01-01T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2027-01-02T09:00:00Z", "2027-01-03T09:00:00Z"],
    );
    assert_completed_at_last(&toggle(&app, &user, &task), "2027-01-03T09:00:00Z");

    // An UNTIL instant between two occurrences: the one before it is the last.
    let task = recurring(
        &app,
        &user,
        "FREQ=WEEKLY;UNTIL=20270120T000000Z",
        "2027-01-04T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2027-01-11T09:00:00Z", "2027-01-18T09:00:00Z"],
    );
    assert_completed_at_last(&toggle(&app, &user, &task), "2027-01-18T09:00:00Z");

    // A date: the whole of that day in the task's zone (23:30 in Berlin is 22:30Z).
    let task = recurring(
        &app,
        &user,
        "FREQ=DAILY;UNTIL=20270103",
        "2027-01-01T22:30:00Z",
        Some("Europe/Berlin"),
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2027-01-02T22:30:00Z", "2027-01-03T22:30:00Z"],
    );
    assert_completed_at_last(&toggle(&app, &user, &task), "2027-01-03T22:30:00Z");
}

#[test]
fn interval_2_skips_every_other_period() {
    let app = TestApp::spawn();
    let user = app.user();
    let daily = recurring(
        &app,
        &user,
        "FREQ=DAILY;INTERVAL=2",
        "2027-01-01T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &daily,
        &[
            "2027-01-03T09:00:00Z",
            "2027-01-05T09:00:00Z",
            "2027-01-07T09:00:00Z",
        ],
    );
    let monthly = recurring(
        &app,
        &user,
        "FREQ=MONTHLY;INTERVAL=2",
        "2027-01-15T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &monthly,
        &["2027-03-15T09:00:00Z", "2027-05-15T09:00:00Z"],
    );
}

#[test]
fn weekly_on_monday_wednesday_and_friday_goes_from_day_to_day() {
    let app = TestApp::spawn();
    let user = app.user();
    // 2027-01-04 is a Monday.
    let task = recurring(
        &app,
        &user,
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "2027-01-04T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &[
            "2027-01-06T09:00:00Z",
            "2027-01-08T09:00:00Z",
            "2027-01-11T09:00:00Z",
            "2027-01-13T09:00:00Z",
        ],
    );
    // Every other week, in New York (09:00 EST is 14:00Z).
    let task = recurring(
        &app,
        &user,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
        "2027-01-04T14:00:00Z",
        Some("America/New_York"),
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &[
            "2027-01-08T14:00:00Z",
            "2027-01-18T14:00:00Z",
            "2027-01-22T14:00:00Z",
        ],
    );
}

#[test]
fn yearly_on_the_last_friday_of_march_finds_it_each_year() {
    let app = TestApp::spawn();
    let user = app.user();
    // 2027-03-26, 2028-03-31 and 2029-03-30 are the last Fridays of March.
    let task = recurring(
        &app,
        &user,
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1FR",
        "2027-03-26T09:00:00Z",
        None,
    );
    completions_move_due_to(
        &app,
        &user,
        &task,
        &["2028-03-31T09:00:00Z", "2029-03-30T09:00:00Z"],
    );
}

#[test]
fn put_completed_true_advances_like_the_toggle_and_put_completed_false_is_a_plain_flip() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(
        &app,
        &user,
        "FREQ=DAILY;COUNT=3",
        "2027-01-01T09:00:00Z",
        Some("Europe/Berlin"),
    );
    let resp = put(&app, &user, &task, json!({ "completed": true }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let first = resp.json();
    assert_advanced(&first);
    assert_eq!(due(&first), at("2027-01-02T09:00:00Z"), "{first}");
    assert_eq!(fetch(&app, &user, &task), first);

    // With other fields in the same PUT.
    let resp = put(
        &app,
        &user,
        &task,
        json!({ "completed": true, "title": "renamed", "priority": "high" }),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let second = resp.json();
    assert_advanced(&second);
    assert_eq!(due(&second), at("2027-01-03T09:00:00Z"), "{second}");
    assert_eq!(second["title"], "renamed", "{second}");
    assert_eq!(second["priority"], "high", "{second}");
    assert!(timestamp(&second["last_completed_at"]) > timestamp(&first["last_completed_at"]));

    let resp = put(&app, &user, &task, json!({ "completed": true }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let last = resp.json();
    assert_completed_at_last(&last, "2027-01-03T09:00:00Z");

    // Completed stays completed; false reopens it without moving anything.
    let resp = put(&app, &user, &task, json!({ "completed": true }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let still = resp.json();
    assert_eq!(still["completed"], true, "{still}");
    assert_eq!(still["completed_at"], last["completed_at"], "{still}");
    assert_eq!(
        still["last_completed_at"], last["last_completed_at"],
        "{still}"
    );
    let resp = put(&app, &user, &task, json!({ "completed": false }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let reopened = resp.json();
    assert_eq!(reopened["completed"], false, "{reopened}");
    assert_eq!(reopened["completed_at"], Value::Null, "{reopened}");
    assert_eq!(due(&reopened), at("2027-01-03T09:00:00Z"), "{reopened}");
    assert_eq!(reopened["last_completed_at"], last["last_completed_at"]);

    // PUT completed:false on an open recurring task changes nothing of its schedule.
    let open = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
    let resp = put(&app, &user, &open, json!({ "completed": false }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let same = resp.json();
    assert_eq!(due(&same), at("2027-01-01T09:00:00Z"), "{same}");
    assert_eq!(same["last_completed_at"], Value::Null, "{same}");
}

#[test]
fn twelve_completions_in_a_row_each_advance_a_daily_task_by_exactly_one_day() {
    let app = TestApp::spawn();
    let user = app.user();
    let start = at("2027-01-01T09:00:00Z");
    let task = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
    let mut last_completion = None;
    for n in 1..=12 {
        // Every third completion by PUT, to mix both ways through the kept occurrences.
        let done = if n % 3 == 0 {
            let resp = put(&app, &user, &task, json!({ "completed": true }));
            assert_eq!(resp.status, 200, "{}", resp.body);
            resp.json()
        } else {
            toggle(&app, &user, &task)
        };
        assert_advanced(&done);
        assert_eq!(
            due(&done),
            start + chrono::Duration::days(n),
            "completion {n}: {done}"
        );
        let completion = timestamp(&done["last_completed_at"]);
        assert!(
            last_completion.is_none_or(|before| completion > before),
            "completion {n} recorded later than the one before: {done}"
        );
        last_completion = Some(completion);
    }
    assert_eq!(due(&fetch(&app, &user, &task)), at("2027-01-13T09:00:00Z"));
}

#[test]
fn two_concurrent_toggles_of_one_recurring_task_advance_it_exactly_twice() {
    let app = TestApp::spawn();
    let user = app.user();
    let start = at("2027-01-01T09:00:00Z");
    let task = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
    let path = format!("{}/complete", task_path(&user, id_of(&task)));
    // Ten rounds of two: through several refills of the kept occurrences.
    for round in 1..=10 {
        let barrier = Barrier::new(2);
        let answers: Vec<Value> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        let resp = app.send("PATCH", &path, Some(&user.token), None);
                        assert_eq!(resp.status, 200, "round {round}: {}", resp.body);
                        resp.json()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut dues: Vec<DateTime<Utc>> = answers.iter().map(due).collect();
        dues.sort();
        let expected = [
            start + chrono::Duration::days(2 * round - 1),
            start + chrono::Duration::days(2 * round),
        ];
        assert_eq!(dues, expected, "round {round}: {answers:?}");
        for answer in &answers {
            assert_advanced(answer);
        }
        let now = fetch(&app, &user, &task);
        assert_eq!(due(&now), expected[1], "round {round}: {now}");
        assert_eq!(now["completed"], false, "{now}");
    }
}

#[test]
fn a_completion_reaches_every_members_changes_feed_and_stream_and_changes_the_etags() {
    let app = TestApp::spawn();
    let owner = app.user();
    let member = app.user();
    let list = share(&app, &owner, &member, "editor");
    let created = post_task(
        &app,
        &owner,
        json!({
            "title": "water the plants",
            "list_id": list,
            "recurrence": "FREQ=WEEKLY;BYDAY=MO,TH",
            "due_at": "2027-01-04T08:00:00Z",
            "timezone": "Europe/Berlin",
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let task = created.json();
    let path = task_path(&owner, id_of(&task));
    let task_tag = app
        .get(&path, Some(&owner.token))
        .header("etag")
        .expect("an ETag")
        .to_string();
    let listed = app.get(&tasks_path(&owner), Some(&owner.token));
    let list_tag = listed.header("etag").expect("a list ETag").to_string();
    let owner_start = feed_cursor(&changes(&app, &owner, ""));
    let member_start = feed_cursor(&changes(&app, &member, ""));
    let mut member_stream = Sse::of(&app, &member);
    let auth = format!("Bearer {}", owner.token);

    // The member completes it.
    let done = toggle(&app, &member, &task);
    assert_advanced(&done);
    assert_eq!(due(&done), at("2027-01-07T08:00:00Z"), "{done}");

    let after = app.get(&path, Some(&owner.token));
    assert_ne!(
        after.header("etag"),
        Some(task_tag.as_str()),
        "the task's ETag changed"
    );
    let stale = app.request(
        "PUT",
        &path,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
            ("If-Match", task_tag.as_str()),
        ],
        Some(br#"{"title": "stale"}"#),
    );
    assert_eq!(stale.status, 412, "{}", stale.body);
    let relisted = app.request(
        "GET",
        &tasks_path(&owner),
        &[
            ("Authorization", auth.as_str()),
            ("If-None-Match", list_tag.as_str()),
        ],
        None,
    );
    assert_eq!(relisted.status, 200, "the list changed: {}", relisted.body);
    assert_ne!(relisted.header("etag"), Some(list_tag.as_str()));

    for (who, user, start) in [
        ("owner", &owner, &owner_start),
        ("member", &member, &member_start),
    ] {
        let page = changes(&app, user, &format!("?since={start}"));
        let tasks = page["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 1, "{who}: {page}");
        assert_eq!(id_of(&tasks[0]), id_of(&task), "{who}: {page}");
        assert_eq!(tasks[0]["due_at"], done["due_at"], "{who}: {page}");
        assert_eq!(
            tasks[0]["last_completed_at"], done["last_completed_at"],
            "{who}"
        );
        assert_eq!(tasks[0]["completed"], false, "{who}: {page}");
        // And nothing more after it: the kept occurrences are not a change of their own.
        let quiet = changes(&app, user, &format!("?since={}", feed_cursor(&page)));
        assert!(
            quiet["tasks"].as_array().expect("tasks").is_empty(),
            "{who}: {quiet}"
        );
    }
    let events = member_stream.until(WAIT, |e| about_task(e, id_of(&task)));
    let event = events.last().unwrap();
    assert_eq!(event.data["op"], "updated", "{event:?}");
    assert_eq!(event.data["task"]["due_at"], done["due_at"], "{event:?}");
}

#[test]
fn a_put_of_the_rule_the_due_date_or_the_zone_computes_the_next_occurrence_again() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
    completions_move_due_to(&app, &user, &task, &["2027-01-02T09:00:00Z"]);

    // A new rule starts at the current due date.
    let resp = put(&app, &user, &task, json!({ "recurrence": "FREQ=WEEKLY" }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let weekly = resp.json();
    assert_eq!(weekly["recurrence"], "FREQ=WEEKLY", "{weekly}");
    assert_eq!(
        due(&weekly),
        at("2027-01-02T09:00:00Z"),
        "setting a rule moves nothing"
    );
    completions_move_due_to(&app, &user, &task, &["2027-01-09T09:00:00Z"]);

    // A new due date: the next occurrence is the first after it, not one kept from before.
    let resp = put(
        &app,
        &user,
        &task,
        json!({ "due_at": "2027-02-20T09:00:00Z" }),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(due(&resp.json()), at("2027-02-20T09:00:00Z"));
    completions_move_due_to(&app, &user, &task, &["2027-02-27T09:00:00Z"]);

    // Both at once, with an offset: the rule starts at the instant given.
    let resp = put(
        &app,
        &user,
        &task,
        json!({ "recurrence": "FREQ=MONTHLY;BYMONTHDAY=31", "due_at": "2027-03-31T11:00:00+02:00" }),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(due(&resp.json()), at("2027-03-31T09:00:00Z"));
    completions_move_due_to(&app, &user, &task, &["2027-05-31T09:00:00Z"]);

    // A new zone: the rule's start read in it, so a daily 08:00Z (09:00 in Berlin in winter)
    // follows Berlin's clocks into summer time.
    let daily = recurring(&app, &user, "FREQ=DAILY", "2027-03-26T08:00:00Z", None);
    completions_move_due_to(&app, &user, &daily, &["2027-03-27T08:00:00Z"]);
    let resp = put(&app, &user, &daily, json!({ "timezone": "Europe/Berlin" }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["timezone"], "Europe/Berlin");
    completions_move_due_to(&app, &user, &daily, &["2027-03-28T07:00:00Z"]);

    // A rule dropped: the next completion completes it like any task.
    let resp = put(&app, &user, &daily, json!({ "recurrence": null }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let plain = resp.json();
    assert_eq!(plain["recurrence"], Value::Null, "{plain}");
    let done = toggle(&app, &user, &plain);
    assert_eq!(done["completed"], true, "{done}");
    assert_eq!(due(&done), at("2027-03-28T07:00:00Z"), "{done}");

    // A rule added to a task with a due date: recurring from that date on.
    let later = create(
        &app,
        &user,
        json!({ "title": "later", "due_at": "2027-06-01T09:00:00Z" }),
    );
    let resp = put(
        &app,
        &user,
        &later,
        json!({ "recurrence": "FREQ=DAILY;INTERVAL=3" }),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    completions_move_due_to(
        &app,
        &user,
        &later,
        &["2027-06-04T09:00:00Z", "2027-06-07T09:00:00Z"],
    );
}

#[test]
fn a_recurring_task_created_completed_reopens_at_its_next_occurrence_on_the_next_completion() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(
        &app,
        &user,
        json!({
            "title": "done already",
            "recurrence": "FREQ=DAILY",
            "due_at": "2027-01-01T09:00:00Z",
            "completed": true,
        }),
    );
    assert_eq!(task["completed"], true, "{task}");
    assert_eq!(due(&task), at("2027-01-01T09:00:00Z"), "{task}");
    // Un-completing is a plain flip; completing then advances.
    let reopened = toggle(&app, &user, &task);
    assert_eq!(reopened["completed"], false, "{reopened}");
    assert_eq!(due(&reopened), at("2027-01-01T09:00:00Z"), "{reopened}");
    completions_move_due_to(&app, &user, &task, &["2027-01-02T09:00:00Z"]);
}

#[test]
fn two_concurrent_completions_by_put_or_by_put_and_toggle_advance_the_task_exactly_twice() {
    let app = TestApp::spawn();
    let user = app.user();
    let start = at("2027-01-01T09:00:00Z");
    let task = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
    let complete = || put(&app, &user, &task, json!({ "completed": true }));
    let toggled = || {
        app.send(
            "PATCH",
            &format!("{}/complete", task_path(&user, id_of(&task))),
            Some(&user.token),
            None,
        )
    };
    let mut wrong = Vec::new();
    let mut expected = start;
    for round in 0..10 {
        let (first, second) = match round % 2 {
            0 => at_once(complete, complete),
            _ => at_once(complete, toggled),
        };
        // Neither request sent If-Match: a completion is never refused for another one.
        for resp in [&first, &second] {
            if resp.status == 200 {
                expected += chrono::Duration::days(1);
            } else {
                wrong.push(format!("round {round}: {} {}", resp.status, resp.body));
            }
        }
        let now = fetch(&app, &user, &task);
        assert_eq!(
            due(&now),
            expected,
            "round {round}: one day per completion: {now}"
        );
        assert_eq!(now["completed"], false, "{now}");
    }
    assert!(
        wrong.is_empty(),
        "{} of 20 concurrent completions were refused:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_daily_time_that_does_not_exist_or_exists_twice_on_a_dst_change_follows_rfc_5545() {
    let app = TestApp::spawn();
    let user = app.user();
    // 02:30 does not exist in Berlin on 2027-03-28: RFC 5545 reads it with the offset before the
    // gap (02:30 CET, 01:30Z); the next day 02:30 CEST is 00:30Z.
    let gap = recurring(
        &app,
        &user,
        "FREQ=DAILY",
        "2027-03-27T01:30:00Z",
        Some("Europe/Berlin"),
    );
    completions_move_due_to(
        &app,
        &user,
        &gap,
        &["2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"],
    );
    // 02:30 exists twice on 2027-10-31: the first (CEST, 00:30Z); then 02:30 CET is 01:30Z.
    let overlap = recurring(
        &app,
        &user,
        "FREQ=DAILY",
        "2027-10-30T00:30:00Z",
        Some("Europe/Berlin"),
    );
    completions_move_due_to(
        &app,
        &user,
        &overlap,
        &["2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"],
    );
}

#[test]
fn a_completion_never_moves_due_at_beyond_what_an_rfc_3339_timestamp_can_say() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = recurring(&app, &user, "FREQ=DAILY", "9999-12-31T09:00:00Z", None);
    let done = toggle(&app, &user, &task);
    // RFC 3339 years have four digits: an occurrence in the year 10000 cannot be given back (nor
    // sent back in a PUT), so there is none: the task completes like any task past its last one.
    let text = done["due_at"].as_str().unwrap_or_default();
    assert!(
        DateTime::parse_from_rfc3339(text).is_ok(),
        "due_at is not an RFC 3339 timestamp: {done}"
    );
    assert_completed_at_last(&done, "9999-12-31T09:00:00Z");
}

#[test]
fn a_put_of_the_due_date_racing_a_completion_is_applied_in_some_order_never_refused() {
    let app = TestApp::spawn();
    let user = app.user();
    let moved_to = at("2027-06-01T09:00:00Z");
    let mut wrong = Vec::new();
    for round in 0..10 {
        let task = recurring(&app, &user, "FREQ=DAILY", "2027-01-01T09:00:00Z", None);
        let (moved, toggled) = at_once(
            || {
                put(
                    &app,
                    &user,
                    &task,
                    json!({ "due_at": "2027-06-01T09:00:00Z" }),
                )
            },
            || {
                app.send(
                    "PATCH",
                    &format!("{}/complete", task_path(&user, id_of(&task))),
                    Some(&user.token),
                    None,
                )
            },
        );
        for (what, resp) in [("PUT due_at", &moved), ("toggle", &toggled)] {
            if resp.status != 200 {
                wrong.push(format!(
                    "round {round}: {what} {} {}",
                    resp.status, resp.body
                ));
            }
        }
        let now = due(&fetch(&app, &user, &task));
        // Completed then moved: the date sent; moved then completed: the day after it.
        if moved.status == 200 && toggled.status == 200 {
            assert!(
                now == moved_to || now == moved_to + chrono::Duration::days(1),
                "round {round}: due_at {now}"
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 20 requests without If-Match were refused:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
