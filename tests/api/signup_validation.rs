//! What sign-up and sign-in refuse before any account is touched: names, e-mail addresses, and
//! bodies that are not the JSON object asked for.

use crate::support::*;
use serde_json::json;

fn assert_email_refused(email: &str, names: &[&str]) {
    let app = TestApp::spawn();
    let resp = app.signup("Test User", email, PASSWORD);
    let errors = validation_errors(&resp);
    assert_eq!(errors, [("email".to_string(), resp.detail())], "{email:?}");
    let detail = resp.detail().to_lowercase();
    for name in names {
        assert!(
            detail.contains(name),
            "{detail:?} should name {name:?} for {email:?}"
        );
    }
    assert_eq!(users_count(&app), 0);
}

fn assert_email_accepted(email: &str) {
    let app = TestApp::spawn();
    let resp = app.signup("Test User", email, PASSWORD);
    assert_eq!(resp.status, 201, "{email:?}: {}", resp.body);
    assert_eq!(resp.json()["user"]["email"], email);
    assert!(stored(&app, email).is_some(), "{email:?} stored as given");
    assert_eq!(app.signin(email, PASSWORD).status, 200);
}

fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: &[u8]) -> Resp {
    let headers: Vec<(&str, &str)> = content_type
        .iter()
        .map(|ct| ("Content-Type", *ct))
        .collect();
    app.request("POST", path, &headers, Some(body))
}

#[test]
fn signup_lists_every_failing_field_in_errors() {
    let app = TestApp::spawn();
    let resp = app.signup(" x ", "not-an-email", "abc");
    let errors = validation_errors(&resp);
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"name"), "{}", resp.body);
    assert!(fields.contains(&"email"), "{}", resp.body);
    let password: Vec<String> = errors
        .iter()
        .filter(|(f, _)| f == "password")
        .map(|(_, m)| m.to_lowercase())
        .collect();
    for rule in ["8 characters", "uppercase", "digit", "special"] {
        assert!(
            password.iter().any(|m| m.contains(rule)),
            "{rule} missing from {password:?}"
        );
    }
    assert!(
        !password.iter().any(|m| m.contains("lowercase")),
        "abc has lowercase letters"
    );
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_rejects_a_name_shorter_than_2_characters_after_trimming() {
    let app = TestApp::spawn();
    let resp = app.signup("   a   ", "short@example.com", PASSWORD);
    let errors = validation_errors(&resp);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "name");
    assert!(resp.detail().contains('2'), "{}", resp.detail());
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_rejects_a_name_longer_than_100_characters() {
    let app = TestApp::spawn();
    let resp = app.signup(&"n".repeat(101), "long-name@example.com", PASSWORD);
    let errors = validation_errors(&resp);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "name");
    assert!(resp.detail().contains("100"), "{}", resp.detail());
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_trims_the_name_and_counts_characters_not_bytes() {
    let app = TestApp::spawn();
    let name = "é".repeat(100);
    let resp = app.signup(&format!("  {name}\t "), "accents@example.com", PASSWORD);
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(resp.json()["user"]["name"], name.as_str());
    assert_eq!(stored(&app, "accents@example.com").unwrap().1, name);
}

#[test]
fn signup_with_missing_fields_names_each_of_them() {
    let app = TestApp::spawn();
    let resp = app.send("POST", "/api/auth/signup", None, Some(json!({})));
    let errors = validation_errors(&resp);
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["name", "email", "password"]);
    assert!(
        errors.iter().all(|(_, m)| m.contains("required")),
        "{errors:?}"
    );
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_with_wrong_json_types_says_which_field_must_be_a_string() {
    let app = TestApp::spawn();
    let body = json!({"name": 42, "email": ["a@example.com"], "password": null});
    let resp = app.send("POST", "/api/auth/signup", None, Some(body));
    let errors = validation_errors(&resp);
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["name", "email", "password"]);
    assert!(
        errors.iter().all(|(_, m)| m.contains("must be a string")),
        "{errors:?}"
    );
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_with_invalid_json_is_400_saying_so() {
    let app = TestApp::spawn();
    let resp = post_raw(
        &app,
        "/api/auth/signup",
        Some("application/json"),
        br#"{"name": "Ann", "email":"#,
    );
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(
        resp.detail().contains("not valid JSON"),
        "{}",
        resp.detail()
    );
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_with_an_empty_body_is_400_asking_for_a_json_object() {
    let app = TestApp::spawn();
    let resp = post_raw(&app, "/api/auth/signup", Some("application/json"), b"");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(resp.detail().contains("required"), "{}", resp.detail());
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_with_a_json_array_body_is_400_asking_for_an_object() {
    let app = TestApp::spawn();
    let body = json!([{"name": "Ann", "email": "ann@example.com", "password": PASSWORD}]);
    let resp = app.send("POST", "/api/auth/signup", None, Some(body));
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(resp.detail().contains("JSON object"), "{}", resp.detail());
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_with_a_non_json_content_type_is_415() {
    let app = TestApp::spawn();
    let body = json!({"name": "Ann", "email": "ann@example.com", "password": PASSWORD}).to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        let resp = post_raw(&app, "/api/auth/signup", Some(ct), body.as_bytes());
        assert_eq!(resp.status, 415, "{ct}: {}", resp.body);
        assert!(
            resp.detail().contains("application/json"),
            "{}",
            resp.detail()
        );
    }
    assert_eq!(users_count(&app), 0);
}

#[test]
fn signup_without_a_content_type_reads_the_body_as_json() {
    let app = TestApp::spawn();
    let body = json!({"name": "Ann", "email": "ann@example.com", "password": PASSWORD}).to_string();
    let resp = post_raw(&app, "/api/auth/signup", None, body.as_bytes());
    assert_eq!(resp.status, 201, "{}", resp.body);
    let resp = post_raw(
        &app,
        "/api/auth/signin",
        Some("application/json; charset=utf-8"),
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn signin_with_a_malformed_body_is_400_or_415_not_401() {
    let app = TestApp::spawn();
    let resp = post_raw(&app, "/api/auth/signin", Some("application/json"), b"{oops");
    assert_eq!(resp.status, 400, "{}", resp.body);
    let resp = post_raw(&app, "/api/auth/signin", Some("text/plain"), b"{}");
    assert_eq!(resp.status, 415, "{}", resp.body);
    let resp = app.send("POST", "/api/auth/signin", None, Some(json!({"email": 1})));
    let fields: Vec<String> = validation_errors(&resp)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["email", "password"]);
}

#[test]
fn signup_accepts_plus_addressing() {
    assert_email_accepted("first.last+todo@example.com");
}

#[test]
fn signup_accepts_an_address_on_a_subdomain() {
    assert_email_accepted("ops@mail.eu.example.co.uk");
}

#[test]
fn signup_accepts_an_international_domain_in_its_xn_form() {
    assert_email_accepted("leser@xn--bcher-kva.de");
}

#[test]
fn signup_refuses_a_unicode_domain_on_purpose_and_says_to_use_the_xn_form() {
    assert_email_refused("leser@bücher.de", &["ascii", "xn--"]);
}

#[test]
fn signup_refuses_an_address_with_a_space() {
    assert_email_refused("john doe@example.com", &["space"]);
}

#[test]
fn signup_refuses_a_domain_without_a_dot() {
    assert_email_refused("root@localhost", &["dot"]);
}

#[test]
fn signup_refuses_an_address_with_two_at_signs() {
    assert_email_refused("a@b@example.com", &["one @"]);
}

#[test]
fn signup_refuses_an_address_without_an_at_sign() {
    assert_email_refused("plainaddress.example.com", &["@"]);
}

#[test]
fn signup_refuses_an_address_longer_than_255_characters() {
    let email = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
    assert!(email.len() > 255);
    assert_email_refused(&email, &["255"]);
}

#[test]
fn signup_stores_the_email_trimmed_and_lower_cased() {
    let app = TestApp::spawn();
    let resp = app.signup("Mixed Case", "  Mixed.Case@Example.COM \t", PASSWORD);
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(resp.json()["user"]["email"], "mixed.case@example.com");
    let (email, _, _) = stored(&app, "mixed.case@example.com").expect("stored lower-cased");
    assert_eq!(email, "mixed.case@example.com");
    assert_eq!(users_count(&app), 1);
}
