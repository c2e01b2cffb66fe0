//! Concurrent toggles and creates on one user's tasks.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Barrier;

#[test]
fn fifty_concurrent_toggles_leave_completed_where_it_started() {
    let app = TestApp::spawn();
    let user = app.user();
    let task = create(&app, &user, json!({ "title": "flip", "completed": true }));
    let path = format!("{}/complete", task_path(&user, id_of(&task)));
    let barrier = Barrier::new(50);
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let resp = app.send("PATCH", &path, Some(&user.token), None);
                    assert_eq!(resp.status, 200, "{}", resp.body);
                    resp.json()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a toggle thread"))
            .collect()
    });
    let now_true = results.iter().filter(|t| t["completed"] == true).count();
    assert_eq!(
        now_true, 25,
        "the toggles ran one after another, alternating"
    );
    let stamps: HashSet<&str> = results
        .iter()
        .filter_map(|t| t["updated_at"].as_str())
        .collect();
    assert_eq!(stamps.len(), 50, "each toggle moved updated_at forward");
    let after = app
        .get(&task_path(&user, id_of(&task)), Some(&user.token))
        .json();
    assert_eq!(after["completed"], true);
    assert!(stamps.contains(after["updated_at"].as_str().unwrap_or_default()));
}

#[test]
fn fifty_concurrent_creates_give_fifty_distinct_tasks() {
    let app = TestApp::spawn();
    let user = app.user();
    let barrier = Barrier::new(50);
    let created: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (app, user, barrier) = (&app, &user, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    app.task(user, &format!("concurrent {i}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a create thread"))
            .collect()
    });
    let created_ids: HashSet<i64> = created.iter().map(id_of).collect();
    assert_eq!(created_ids.len(), 50);
    let listed = list(&app, &user, "");
    assert_eq!(listed.len(), 50);
    assert_eq!(
        listed.iter().map(id_of).collect::<HashSet<_>>(),
        created_ids
    );
    let titles: HashSet<String> = listed
        .iter()
        .filter_map(|t| t["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(titles, (0..50).map(|i| format!("concurrent {i}")).collect());
    assert_newest_first(&listed);
}
