//! The password rules on sign-up (8 or more characters, at most 72 bytes, four character classes),
//! sign-in without truncation, and the bcrypt hashes stored.

use crate::support::*;
use serde_json::json;

/// A password that breaks exactly one rule is refused with one error on `password` naming that rule,
/// and no user is created.
fn assert_only_password_rule(password: &str, names: &[&str]) {
    let app = TestApp::spawn();
    let resp = app.signup("Test User", "rule@example.com", password);
    let errors = validation_errors(&resp);
    assert_eq!(
        errors.len(),
        1,
        "exactly one problem for {password:?}: {}",
        resp.body
    );
    assert_eq!(errors[0].0, "password");
    let detail = resp.detail().to_lowercase();
    for name in names {
        assert!(detail.contains(name), "{detail:?} should name {name:?}");
    }
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_rejects_a_password_shorter_than_8_characters() {
    assert_only_password_rule("Ab1!xyz", &["8 characters"]);
}

#[test]
fn signup_rejects_a_password_without_an_uppercase_letter() {
    assert_only_password_rule("passw0rd!", &["uppercase"]);
}

#[test]
fn signup_rejects_a_password_without_a_lowercase_letter() {
    assert_only_password_rule("PASSW0RD!", &["lowercase"]);
}

#[test]
fn signup_rejects_a_password_without_a_digit() {
    assert_only_password_rule("Password!", &["digit"]);
}

#[test]
fn signup_rejects_a_password_without_a_special_character() {
    assert_only_password_rule("Passw0rdX", &["special"]);
}

#[test]
fn signup_rejects_a_password_of_73_ascii_bytes() {
    let password = format!("Aa1!{}", "x".repeat(69));
    assert_eq!(password.len(), 73);
    assert_only_password_rule(&password, &["72 bytes"]);
}

#[test]
fn signup_rejects_a_password_under_72_characters_but_over_72_bytes() {
    let password = format!("Aa1!{}", "é".repeat(35));
    assert!(password.chars().count() <= 72);
    assert_eq!(password.len(), 74);
    assert_only_password_rule(&password, &["72 bytes"]);
}

#[test]
fn a_71_byte_password_signs_up_and_signs_in() {
    let app = TestApp::spawn();
    let password = format!("Aa1!{}", "x".repeat(67));
    assert_eq!(password.len(), 71);
    let resp = app.signup("Long Password", "long@example.com", &password);
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(app.signin("long@example.com", &password).status, 200);
}

#[test]
fn a_72_byte_password_of_multi_byte_characters_signs_up_and_signs_in() {
    let app = TestApp::spawn();
    let password = format!("Aa1!{}", "é".repeat(34));
    assert_eq!(password.len(), 72);
    let resp = app.signup("Exactly 72", "exact@example.com", &password);
    assert_eq!(
        resp.status, 201,
        "72 bytes is within the limit: {}",
        resp.body
    );
    assert_eq!(app.signin("exact@example.com", &password).status, 200);
}

#[test]
fn signin_does_not_truncate_a_password_longer_than_72_bytes() {
    let app = TestApp::spawn();
    let password = format!("Aa1!{}", "x".repeat(68));
    assert_eq!(
        app.signup("Truncation", "trunc@example.com", &password)
            .status,
        201
    );
    let longer = format!("{password}y");
    let resp = app.signin("trunc@example.com", &longer);
    assert_eq!(resp.status, 401, "the 73rd byte must matter: {}", resp.body);
    assert_eq!(resp.json(), json!({"detail": "Invalid email or password"}));
}

#[test]
fn the_stored_hash_is_bcrypt_at_the_configured_cost_and_never_echoed() {
    let app = TestApp::spawn();
    let resp = app.signup("Hash Check", "hash@example.com", PASSWORD);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let (_, _, hash) = stored(&app, "hash@example.com").unwrap();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert_eq!(hash.len(), 60);
    assert!(
        bcrypt::verify(PASSWORD, &hash).unwrap(),
        "the hash is of the password"
    );
    assert!(!resp.body.contains(PASSWORD), "{}", resp.body);
    assert!(!resp.body.contains(&hash), "{}", resp.body);
    assert!(!resp.body.contains("$2b$"), "{}", resp.body);
    let signin = app.signin("hash@example.com", PASSWORD);
    assert!(
        !signin.body.contains(&hash) && !signin.body.contains(PASSWORD),
        "{}",
        signin.body
    );
}

#[test]
fn a_configured_bcrypt_cost_of_5_is_used_for_new_hashes() {
    let app = TestApp::with(|c| c.bcrypt_cost = 5);
    assert_eq!(
        app.signup("Cost Five", "cost5@example.com", PASSWORD)
            .status,
        201
    );
    let (_, _, hash) = stored(&app, "cost5@example.com").unwrap();
    assert!(hash.starts_with("$2b$05$"), "{hash}");
    assert_eq!(app.signin("cost5@example.com", PASSWORD).status, 200);
}
