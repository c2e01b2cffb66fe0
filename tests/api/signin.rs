//! Sign-in: any letter case, one answer for a wrong password and an unknown address (in body,
//! headers and time), and a flood shed with 503 by the bounded hashing section.

use crate::support::*;
use serde_json::{json, Value};
use std::sync::Barrier;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn signin_works_with_the_email_in_any_letter_case() {
    let app = TestApp::spawn();
    let signup = app.signup("Ann Lee", "ann@example.com", PASSWORD).json();
    let id = signup["user_id"].as_str().unwrap();
    for email in ["ann@example.com", "ANN@EXAMPLE.COM", "  Ann@Example.com "] {
        let resp = app.signin(email, PASSWORD);
        assert_eq!(resp.status, 200, "{email:?}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], SEVEN_DAYS);
        assert!(body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3));
        assert_public_user(&body["user"], id, "ann@example.com", "Ann Lee");
        assert_eq!(body["user"]["created_at"], signup["user"]["created_at"]);
    }
}

#[test]
fn wrong_password_and_unknown_email_give_identical_401s() {
    let app = TestApp::spawn();
    let user = app.user();
    let wrong = app.signin(&user.email, "Wrong-passw0rd");
    let unknown = app.signin("nobody@example.com", PASSWORD);
    for resp in [&wrong, &unknown] {
        assert_eq!(resp.status, 401, "{}", resp.body);
        assert_eq!(resp.json(), json!({"detail": "Invalid email or password"}));
    }
    assert_eq!(wrong.body, unknown.body, "byte-identical bodies");
    let names = |r: &Resp| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(names(&wrong), names(&unknown), "same headers");
}

#[test]
fn unknown_email_and_wrong_password_take_about_the_same_time() {
    // Cost 8 differs from the cost 10 a fixed dummy hash would have: an unknown address must cost
    // one verification at the configured cost, or timing tells which addresses have accounts.
    let app = TestApp::with(|c| c.bcrypt_cost = 8);
    let user = app.user();
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let started = Instant::now();
        assert_eq!(app.signin(&user.email, "Wrong-passw0rd").status, 401);
        wrong.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(
            app.signin("nobody@example.com", "Wrong-passw0rd").status,
            401
        );
        unknown.push(started.elapsed());
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "wrong password {wrong:?}, unknown email {unknown:?}"
    );
}

#[test]
fn a_sign_in_flood_is_shed_with_503_while_me_stays_fast() {
    let hash_wait = Duration::from_millis(200);
    let app = TestApp::with(|c| {
        c.hash_concurrency = 1;
        c.hash_wait = hash_wait;
        c.bcrypt_cost = 10;
        c.workers = 8;
        c.db_pool_size = 8;
    });
    let user = app.user();
    let started = Instant::now();
    assert_eq!(app.signin(&user.email, PASSWORD).status, 200);
    let one_bcrypt = started.elapsed();
    let limit = hash_wait + one_bcrypt + Duration::from_secs(2);

    let barrier = Barrier::new(17);
    let (signins, me_times) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (app, barrier, email) = (&app, &barrier, &user.email);
                s.spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let resp = app.signin(email, PASSWORD);
                    (
                        resp.status,
                        resp.header("retry-after").map(str::to_string),
                        resp.body.clone(),
                        started.elapsed(),
                    )
                })
            })
            .collect();
        barrier.wait();
        let mut me_times = Vec::new();
        while me_times.len() < 5 || !handles.iter().all(|h| h.is_finished()) {
            let started = Instant::now();
            let resp = app.get("/api/auth/me", Some(&user.token));
            assert_eq!(resp.status, 200, "{}", resp.body);
            me_times.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(10));
        }
        let signins: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (signins, me_times)
    });

    let shed: Vec<_> = signins
        .iter()
        .filter(|(status, ..)| *status == 503)
        .collect();
    let ok = signins.iter().filter(|(status, ..)| *status == 200).count();
    assert!(!shed.is_empty(), "some sign-ins are shed: {signins:?}");
    assert!(ok >= 1, "some sign-ins get through: {signins:?}");
    assert_eq!(ok + shed.len(), 16, "only 200 or 503: {signins:?}");
    for (_, retry_after, body, _) in &shed {
        let secs: u64 = retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!(secs >= 1, "{secs}");
        let detail = serde_json::from_str::<Value>(body).unwrap()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!detail.is_empty(), "{body}");
    }
    let slowest = signins.iter().map(|(.., took)| *took).max().unwrap();
    assert!(
        slowest < limit,
        "slowest sign-in {slowest:?}, one bcrypt {one_bcrypt:?}, limit {limit:?}"
    );
    let slowest_me = me_times.iter().max().unwrap();
    assert!(
        *slowest_me < Duration::from_millis(300),
        "GET /api/auth/me took {slowest_me:?}: {me_times:?}"
    );
}
