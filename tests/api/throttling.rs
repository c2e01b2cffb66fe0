//! Throttling of sign-in and sign-up per client address, counted in PostgreSQL.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

fn throttled_app(adjust: impl FnOnce(&mut todo_api::config::Config)) -> TestApp {
    TestApp::with(|c| {
        c.signin_limit_per_email = 5;
        c.signin_limit_per_address = 50;
        c.signup_limit_per_address = 20;
        c.trusted_proxies = vec![todo_api::auth::address::Cidr::parse("127.0.0.1").unwrap()];
        adjust(c);
    })
}

fn signin_from(app: &TestApp, from: &str, email: &str, password: &str) -> Resp {
    let body = json!({ "email": email, "password": password }).to_string();
    app.request(
        "POST",
        "/api/auth/signin",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", from),
        ],
        Some(body.as_bytes()),
    )
}

/// A sign-in carrying one `X-Forwarded-For` line per entry of `lines`, in that order: the first as
/// a client would send it, the last as a proxy appending its own line would.
fn signin_with_lines(app: &TestApp, lines: &[&str], email: &str, password: &str) -> u16 {
    let body = json!({ "email": email, "password": password }).to_string();
    let forwarded: String = lines
        .iter()
        .map(|l| format!("X-Forwarded-For: {l}\r\n"))
        .collect();
    let mut raw = Raw::connect(app.addr);
    raw.send(
        format!(
            "POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{forwarded}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    raw.response().expect("a response").status
}

fn assert_throttled(resp: &Resp, detail: &str) {
    assert_error(resp, 429, detail);
    let wait: u64 = resp
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(wait >= 1, "{wait}");
}

const SIGNIN: &str = "Too many sign-in attempts; try again later";

#[test]
fn the_sixth_wrong_password_from_one_address_for_one_email_is_429_with_retry_after() {
    let app = throttled_app(|_| {});
    let user = app.user();
    for _ in 0..5 {
        assert_eq!(
            signin_from(&app, "198.51.100.7", &user.email, "Wrong-1").status,
            401
        );
    }
    let resp = signin_from(&app, "198.51.100.7", &user.email, "Wrong-1");
    assert_throttled(&resp, SIGNIN);
    let wait: u64 = resp.header("retry-after").unwrap().parse().unwrap();
    assert!(wait <= 900, "{wait}");
    // The right password from the throttled address is refused too, without a bcrypt verification.
    assert_throttled(
        &signin_from(&app, "198.51.100.7", &user.email, PASSWORD),
        SIGNIN,
    );
    assert_eq!(
        signin_from(&app, "203.0.113.9", &user.email, PASSWORD).status,
        200
    );
}

#[test]
fn a_successful_sign_in_clears_the_count_for_its_address_and_email() {
    let app = throttled_app(|_| {});
    let user = app.user();
    for _ in 0..4 {
        assert_eq!(
            signin_from(&app, "198.51.100.8", &user.email, "Wrong-1").status,
            401
        );
    }
    assert_eq!(
        signin_from(&app, "198.51.100.8", &user.email, PASSWORD).status,
        200
    );
    for _ in 0..5 {
        assert_eq!(
            signin_from(&app, "198.51.100.8", &user.email, "Wrong-1").status,
            401
        );
    }
    assert_eq!(
        signin_from(&app, "198.51.100.8", &user.email, "Wrong-1").status,
        429
    );
}

#[test]
fn one_address_is_throttled_across_emails_past_its_own_limit() {
    let app = throttled_app(|c| c.signin_limit_per_address = 3);
    for i in 0..3 {
        let email = format!("nobody{i}@example.com");
        assert_eq!(
            signin_from(&app, "198.51.100.9", &email, "Wrong-1").status,
            401
        );
    }
    let resp = signin_from(&app, "198.51.100.9", "someone-else@example.com", "Wrong-1");
    assert_throttled(&resp, SIGNIN);
}

#[test]
fn counts_expire_with_their_window() {
    let app = throttled_app(|c| c.signin_window_seconds = 1);
    let user = app.user();
    for _ in 0..5 {
        signin_from(&app, "198.51.100.10", &user.email, "Wrong-1");
    }
    assert_eq!(
        signin_from(&app, "198.51.100.10", &user.email, "Wrong-1").status,
        429
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        signin_from(&app, "198.51.100.10", &user.email, PASSWORD).status,
        200
    );
}

#[test]
fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = throttled_app(|c| c.trusted_proxies.clear());
    let user = app.user();
    for i in 0..5 {
        let from = format!("192.0.2.{i}");
        assert_eq!(signin_from(&app, &from, &user.email, "Wrong-1").status, 401);
    }
    // Every attempt came from 127.0.0.1, whatever the header claimed.
    assert_throttled(
        &signin_from(&app, "192.0.2.99", &user.email, "Wrong-1"),
        SIGNIN,
    );
}

#[test]
fn the_twenty_first_sign_up_from_one_address_in_an_hour_is_429() {
    let app = throttled_app(|c| c.signup_limit_per_address = 3);
    let signup = |from: &str, n: usize| {
        let body = json!({ "name": "Someone", "email": format!("s{n}-{}@example.com", unique()), "password": PASSWORD });
        app.request(
            "POST",
            "/api/auth/signup",
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", from),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    for n in 0..3 {
        assert_eq!(signup("198.51.100.11", n).status, 201);
    }
    assert_throttled(
        &signup("198.51.100.11", 4),
        "Too many sign-ups; try again later",
    );
    assert_eq!(signup("198.51.100.12", 5).status, 201);
}

#[test]
fn throttle_counts_are_shared_by_every_instance_on_the_database() {
    let a = throttled_app(|_| {});
    let b = a.beside(|c| {
        c.signin_limit_per_email = 5;
        c.trusted_proxies = vec![todo_api::auth::address::Cidr::parse("127.0.0.1").unwrap()];
    });
    let user = a.user();
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            signin_from(app, "198.51.100.13", &user.email, "Wrong-1").status,
            401
        );
    }
    assert_eq!(
        signin_from(&b, "198.51.100.13", &user.email, "Wrong-1").status,
        429
    );
    assert_eq!(
        signin_from(&a, "198.51.100.13", &user.email, "Wrong-1").status,
        429
    );
}

#[test]
fn expired_counts_are_purged_from_the_database() {
    let app = throttled_app(|c| c.signin_window_seconds = 1);
    signin_from(&app, "198.51.100.14", "x@example.com", "Wrong-1");
    let mut db = app.sql();
    let before: i64 = db
        .query_one("SELECT count(*) FROM auth_throttle", &[])
        .unwrap()
        .get(0);
    assert!(before >= 2);
    db.execute(
        "UPDATE auth_throttle SET reset_at = now() - interval '1 hour'",
        &[],
    )
    .unwrap();
    // Purging runs at most once a minute per instance; a fresh instance purges on its first attempt.
    let other = app.beside(|c| {
        c.trusted_proxies = vec![todo_api::auth::address::Cidr::parse("127.0.0.1").unwrap()];
    });
    signin_from(&other, "198.51.100.15", "y@example.com", "Wrong-1");
    let keys: Vec<String> = db
        .query("SELECT key FROM auth_throttle", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(keys.iter().all(|k| k.contains("198.51.100.15")), "{keys:?}");
}

#[test]
fn a_forwarded_for_line_sent_before_the_proxys_own_does_not_change_the_client_address() {
    let app = throttled_app(|_| {});
    let user = app.user();
    let statuses: Vec<u16> = (0..7)
        .map(|i| {
            let forged = format!("192.0.2.{i}");
            signin_with_lines(&app, &[&forged, "198.51.100.20"], &user.email, "Wrong-1")
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
}

#[test]
fn the_addresses_of_one_ipv6_64_share_one_count_and_another_64_has_its_own() {
    let app = throttled_app(|_| {});
    let user = app.user();
    let statuses: Vec<u16> = (1..=7)
        .map(|i| {
            let from = format!("2001:db8:1:2::{i:x}");
            signin_from(&app, &from, &user.email, "Wrong-1").status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    assert_throttled(
        &signin_from(&app, "2001:db8:1:2:ffff::9", &user.email, PASSWORD),
        SIGNIN,
    );
    assert_eq!(
        signin_from(&app, "2001:db8:1:3::1", &user.email, PASSWORD).status,
        200
    );
}

#[test]
fn an_ipv4_mapped_ipv6_address_shares_the_count_of_its_ipv4_address() {
    let app = throttled_app(|_| {});
    let user = app.user();
    for from in ["::ffff:203.0.113.9", "203.0.113.9"]
        .repeat(3)
        .iter()
        .take(5)
    {
        assert_eq!(signin_from(&app, from, &user.email, "Wrong-1").status, 401);
    }
    assert_throttled(
        &signin_from(&app, "::ffff:203.0.113.9", &user.email, "Wrong-1"),
        SIGNIN,
    );
    assert_throttled(
        &signin_from(&app, "203.0.113.9", &user.email, "Wrong-1"),
        SIGNIN,
    );
}

#[test]
fn sign_ups_from_the_addresses_of_one_ipv6_64_share_one_count() {
    let app = throttled_app(|c| c.signup_limit_per_address = 3);
    let signup = |from: &str| {
        let body = json!({ "name": "Someone", "email": format!("v6-{}@example.com", unique()), "password": PASSWORD });
        app.request(
            "POST",
            "/api/auth/signup",
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", from),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    for i in 1..=3 {
        assert_eq!(signup(&format!("2001:db8:5:6::{i}")).status, 201);
    }
    assert_throttled(
        &signup("2001:db8:5:6:abcd::1"),
        "Too many sign-ups; try again later",
    );
    assert_eq!(signup("2001:db8:5:7::1").status, 201);
}
