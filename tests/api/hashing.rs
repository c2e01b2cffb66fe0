//! bcrypt runs on low-priority threads behind a waiting line sized by time: a crowd of sign-ups is
//! served, what cannot be served within the wait limit is refused at once, and one address flooding
//! sign-ins holds neither every place in the line nor the other requests up.

use crate::support::*;
use serde_json::json;
use std::sync::Barrier;
use std::time::{Duration, Instant};
use todo_api::auth::address::Cidr;

fn crowd(adjust: impl FnOnce(&mut todo_api::config::Config)) -> TestApp {
    TestApp::with(|c| {
        c.bcrypt_cost = 10;
        c.hash_concurrency = 2;
        c.workers = 72;
        c.db_pool_size = 8;
        c.trusted_proxies = vec![Cidr::parse("127.0.0.1").unwrap()];
        adjust(c);
    })
}

/// A sign-in as if from `from` (the test server trusts 127.0.0.1 as a proxy).
fn signin_from(app: &TestApp, email: &str, password: &str, from: &str) -> Resp {
    let body = json!({ "email": email, "password": password });
    app.request(
        "POST",
        "/api/auth/signin",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", from),
        ],
        Some(body.to_string().as_bytes()),
    )
}

/// `n` sign-ups at the same moment, each from its own address: (status, Retry-After, time taken).
fn simultaneous_signups(app: &TestApp, n: usize) -> Vec<(u16, Option<String>, Duration)> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    let body = json!({
                        "name": "Crowd",
                        "email": format!("crowd{i}-{}@example.com", unique()),
                        "password": PASSWORD,
                    });
                    let from = format!("198.18.{}.{}", i / 200, i % 200 + 1);
                    barrier.wait();
                    let started = Instant::now();
                    let resp = app.request(
                        "POST",
                        "/api/auth/signup",
                        &[
                            ("Content-Type", "application/json"),
                            ("X-Forwarded-For", &from),
                        ],
                        Some(body.to_string().as_bytes()),
                    );
                    let retry = resp.header("retry-after").map(str::to_string);
                    (resp.status, retry, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn fifty_simultaneous_sign_ups_from_fifty_addresses_all_succeed_at_cost_10() {
    let app = crowd(|_| {});
    let results = simultaneous_signups(&app, 50);
    let created = results.iter().filter(|(status, ..)| *status == 201).count();
    assert_eq!(created, 50, "{results:?}");
    let slowest = results.iter().map(|(.., took)| *took).max().unwrap();
    assert!(slowest < Duration::from_secs(60), "slowest {slowest:?}");
}

#[test]
fn sign_ups_past_what_the_wait_limit_can_serve_get_503_at_once() {
    let app = crowd(|c| c.hash_wait = Duration::from_millis(100));
    let results = simultaneous_signups(&app, 30);
    let refused: Vec<_> = results
        .iter()
        .filter(|(status, ..)| *status == 503)
        .collect();
    let created = results.iter().filter(|(status, ..)| *status == 201).count();
    assert!(!refused.is_empty() && created >= 1, "{results:?}");
    assert_eq!(refused.len() + created, 30, "only 201 or 503: {results:?}");
    for (_, retry, took) in &refused {
        assert_eq!(retry.as_deref(), Some("1"));
        assert!(
            *took < Duration::from_secs(2),
            "refused at once, not after {took:?}"
        );
    }
}

#[test]
fn while_one_address_floods_sign_ins_others_sign_in_and_requests_are_answered() {
    let app = crowd(|c| {
        c.signin_limit_per_email = 1_000_000;
        c.signin_limit_per_address = 1_000_000;
    });
    let user = app.user();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (others, me_times) = std::thread::scope(|s| {
        for _ in 0..8 {
            let (app, stop, email) = (&app, &stop, &user.email);
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    signin_from(app, email, "Wrong-passw0rd", "192.0.2.66");
                }
            });
        }
        std::thread::sleep(Duration::from_millis(300));
        let (mut others, mut me_times) = (Vec::new(), Vec::new());
        for i in 0..20 {
            let from = format!("203.0.113.{}", i + 1);
            let resp = signin_from(&app, &user.email, PASSWORD, &from);
            others.push(resp.status);
            let started = Instant::now();
            assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
            me_times.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (others, me_times)
    });
    assert!(others.iter().all(|s| *s == 200), "{others:?}");
    let slowest = me_times.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_secs(1),
        "GET /api/auth/me took {slowest:?}"
    );
}

#[test]
fn a_sign_in_refused_for_a_full_hashing_line_is_not_counted_against_its_address() {
    // Cost 13 (about half a second a hash): the first attempt still holds its address's one place
    // in the line while the others arrive.
    let app = crowd(|c| {
        c.bcrypt_cost = 13;
        c.hash_wait = Duration::from_millis(100);
        c.signin_limit_per_email = 1_000_000;
        c.signin_limit_per_address = 1_000_000;
    });
    let user = app.user();
    let attempt = || signin_from(&app, &user.email, "Wrong-passw0rd", "198.51.100.7").status;
    let (first, refused) = std::thread::scope(|s| {
        let first = s.spawn(attempt);
        std::thread::sleep(Duration::from_millis(150));
        let refused: Vec<u16> = (0..5).map(|_| attempt()).collect();
        (first.join().unwrap(), refused)
    });
    assert_eq!(first, 401);
    assert_eq!(refused, [503; 5], "the address's place was taken");
    let hits: i32 = app
        .sql()
        .query_one(
            "SELECT hits FROM auth_throttle WHERE key = 'signin:198.51.100.7'",
            &[],
        )
        .expect("the address's count")
        .get(0);
    assert_eq!(hits, 1, "only the attempt that was hashed counts");
}

#[test]
fn sign_ins_waiting_for_their_hashes_in_most_workers_do_not_hold_up_other_requests() {
    // 12 workers, of which 8 serve at once on two cores; 11 sign-ins wait for one hashing thread
    // at cost 13 (about half a second each) while /api/auth/me is asked for.
    let app = crowd(|c| {
        c.workers = 12;
        c.db_pool_size = 12;
        c.bcrypt_cost = 13;
        c.hash_concurrency = 1;
        c.hash_wait = Duration::from_secs(30);
    });
    let user = app.user();
    let times = std::thread::scope(|s| {
        for i in 0..11 {
            let (app, email) = (&app, &user.email);
            s.spawn(move || {
                let from = format!("203.0.113.{}", i + 1);
                let resp = signin_from(app, email, PASSWORD, &from);
                assert_eq!(resp.status, 200, "{}", resp.body);
            });
        }
        std::thread::sleep(Duration::from_millis(300));
        (0..5)
            .map(|_| {
                let started = Instant::now();
                assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
                started.elapsed()
            })
            .collect::<Vec<_>>()
    });
    let slowest = times.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(400),
        "GET /api/auth/me took {slowest:?} while sign-ins waited: {times:?}"
    );
}
