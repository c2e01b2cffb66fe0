//! Sign-up: its 201 answer, and one account per address however it is spelled or raced.

use crate::support::*;
use std::sync::Barrier;

#[test]
fn signup_refuses_an_email_already_registered_in_another_letter_case() {
    let app = TestApp::spawn();
    assert_eq!(app.signup("First", "dup@example.com", PASSWORD).status, 201);
    let resp = app.signup("Second", "  DUP@Example.Com", "Other1!pass");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.detail(), "Email already registered");
    assert_eq!(users_count(&app), 1);
    let (_, name, _) = stored(&app, "dup@example.com").unwrap();
    assert_eq!(name, "First", "the first account is untouched");
}

#[test]
fn twenty_concurrent_signups_with_one_email_create_exactly_one_user() {
    let app = TestApp::spawn();
    let barrier = Barrier::new(20);
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (app, barrier) = (&app, &barrier);
                s.spawn(move || {
                    // Every thread spells the address differently; they are still one address.
                    let email = if i % 2 == 0 {
                        "race@example.com"
                    } else {
                        "Race@Example.com"
                    };
                    barrier.wait();
                    let resp = app.signup(&format!("Racer {i}"), email, PASSWORD);
                    let detail = if resp.status == 201 {
                        String::new()
                    } else {
                        resp.detail()
                    };
                    (resp.status, detail)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = results.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{results:?}");
    for (status, detail) in results.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(
            (*status, detail.as_str()),
            (400, "Email already registered"),
            "{results:?}"
        );
    }
    assert_eq!(users_count(&app), 1);
}

#[test]
fn signup_answers_201_with_message_user_id_token_and_user() {
    let app = TestApp::spawn();
    let resp = app.signup("Ann Lee", "ann@example.com", PASSWORD);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["message"], "User created successfully");
    let id = body["user_id"].as_str().expect("user_id");
    uuid::Uuid::parse_str(id).expect("user_id is a UUID");
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().expect("access_token");
    assert_public_user(&body["user"], id, "ann@example.com", "Ann Lee");
    let me = app.get("/api/auth/me", Some(token));
    assert_eq!(
        me.status, 200,
        "the sign-up token works at once: {}",
        me.body
    );
}
