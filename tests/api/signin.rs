//! Sign-in: any letter case, one answer for a wrong password and an unknown address (in body,
//! headers and time). Floods and throttling: hashing.rs and throttling.rs.

use crate::support::*;
use serde_json::json;
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
