//! Sign-up, sign-in and access tokens, against the contract's Authentication section.

use crate::support::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const SEVEN_DAYS: i64 = 7 * 86_400;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn users_count(app: &TestApp) -> i64 {
    app.sql()
        .query_one("SELECT count(*) FROM users", &[])
        .expect("count users")
        .get(0)
}

fn stored(app: &TestApp, email: &str) -> Option<(String, String, String)> {
    app.sql()
        .query_opt(
            "SELECT email, name, password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .expect("select user")
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

/// A 400 whose `detail` is its first listed error, returning the listed `(field, message)` pairs.
fn validation_errors(resp: &Resp) -> Vec<(String, String)> {
    assert_eq!(resp.status, 400, "{}", resp.body);
    let body = resp.json();
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {}", resp.body))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!errors.is_empty(), "{}", resp.body);
    assert_eq!(resp.detail(), errors[0].1, "detail is the first error");
    errors
}

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

fn me_with(app: &TestApp, authorization: &str) -> Resp {
    app.request(
        "GET",
        "/api/auth/me",
        &[("Authorization", authorization)],
        None,
    )
}

fn assert_token_refused(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.body);
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{what}");
    assert_eq!(
        resp.json(),
        json!({"detail": "Invalid or expired token"}),
        "{what}"
    );
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).expect("base64url")
}

fn hmac_sha256(secret: &[u8], input: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token with any header and claims, signed with HMAC-SHA256 whatever the header says.
fn forge(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = b64(&hmac_sha256(secret, &input));
    format!("{input}.{signature}")
}

/// A token made by the jsonwebtoken crate with the given algorithm.
fn encode(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("encode")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims_for(user: &User) -> Value {
    let iat = now();
    json!({"sub": user.id, "user_id": user.id, "email": user.email, "iat": iat, "exp": iat + SEVEN_DAYS})
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&unb64(part)).expect("payload is JSON")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// Password rules
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Name and body shape
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// E-mail addresses
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Sign-up and sign-in responses
// ---------------------------------------------------------------------------------------------

fn assert_public_user(user: &Value, id: &str, email: &str, name: &str) {
    let mut keys: Vec<&str> = user
        .as_object()
        .expect("user object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "email", "id", "name"], "{user}");
    assert_eq!(user["id"], id);
    assert_eq!(user["email"], email);
    assert_eq!(user["name"], name);
    let created = user["created_at"].as_str().expect("created_at string");
    assert!(created.ends_with('Z'), "{created} is UTC with a Z");
    let parsed = chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(parsed);
    assert!(age.num_seconds().abs() < 60, "created just now: {created}");
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

// ---------------------------------------------------------------------------------------------
// Stored hashes
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Tokens on GET /api/auth/me
// ---------------------------------------------------------------------------------------------

#[test]
fn me_returns_the_signed_in_user() {
    let app = TestApp::spawn();
    let signup = app
        .signup("  Me Myself ", "Me@Example.com", PASSWORD)
        .json();
    let _other = app.user();
    let token = signup["access_token"].as_str().unwrap();
    let resp = app.get("/api/auth/me", Some(token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let id = signup["user_id"].as_str().unwrap();
    assert_public_user(&resp.json(), id, "me@example.com", "Me Myself");
    assert_eq!(resp.json(), signup["user"]);
}

#[test]
fn me_accepts_the_bearer_scheme_in_lower_case() {
    let app = TestApp::spawn();
    let user = app.user();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = me_with(&app, &format!("{scheme} {}", user.token));
        assert_eq!(resp.status, 200, "{scheme}: {}", resp.body);
        assert_eq!(resp.json()["id"], user.id.as_str());
    }
}

#[test]
fn a_fresh_token_carries_exactly_sub_user_id_email_iat_and_exp_for_seven_days() {
    let app = TestApp::spawn();
    let user = app.user();
    let header: Value =
        serde_json::from_slice(&unb64(user.token.split('.').next().unwrap())).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims = payload(&user.token);
    let mut keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["email", "exp", "iat", "sub", "user_id"], "{claims}");
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["user_id"], user.id.as_str());
    assert_eq!(claims["email"], user.email.as_str());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, SEVEN_DAYS);
    assert!((now() - iat).abs() < 60, "issued now");
    let signature = unb64(user.token.rsplit('.').next().unwrap());
    let input = user.token.rsplit_once('.').unwrap().0;
    assert_eq!(
        signature,
        hmac_sha256(SECRET.as_bytes(), input),
        "HS256 with JWT_SECRET_KEY"
    );
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
}

#[test]
fn a_token_forged_with_the_right_secret_is_accepted() {
    // The control for the refusals below: the forging helpers make tokens the server accepts.
    let app = TestApp::spawn();
    let user = app.user();
    let claims = claims_for(&user);
    let by_hand = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        SECRET.as_bytes(),
    );
    let by_crate = encode(Algorithm::HS256, &claims, SECRET.as_bytes());
    for token in [by_hand, by_crate] {
        let resp = app.get("/api/auth/me", Some(&token));
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
}

#[test]
fn me_without_an_authorization_header_is_401() {
    let app = TestApp::spawn();
    assert_token_refused(&app.get("/api/auth/me", None), "no header");
}

#[test]
fn me_with_a_non_bearer_or_empty_authorization_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let cases = [
        "Basic dXNlcjpwYXNz".to_string(),
        format!("Basic {}", user.token),
        "Bearer ".to_string(),
        "Bearer".to_string(),
        user.token.clone(),
        format!("Token {}", user.token),
    ];
    for value in &cases {
        assert_token_refused(&me_with(&app, value), value);
    }
}

#[test]
fn me_with_a_garbage_token_is_401() {
    let app = TestApp::spawn();
    for token in [
        "garbage",
        "a.b.c",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "%%%.%%%.%%%",
    ] {
        assert_token_refused(&app.get("/api/auth/me", Some(token)), token);
    }
}

#[test]
fn me_with_a_flipped_signature_byte_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let (input, signature) = user.token.rsplit_once('.').unwrap();
    let mut bytes = unb64(signature);
    bytes[0] ^= 0x01;
    let tampered = format!("{input}.{}", b64(&bytes));
    assert_ne!(tampered, user.token);
    assert_token_refused(
        &app.get("/api/auth/me", Some(&tampered)),
        "flipped signature byte",
    );
}

#[test]
fn me_with_a_changed_payload_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let victim = app.user();
    let parts: Vec<&str> = user.token.split('.').collect();
    let mut claims = payload(&user.token);
    claims["sub"] = victim.id.as_str().into();
    claims["user_id"] = victim.id.as_str().into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_token_refused(
        &app.get("/api/auth/me", Some(&tampered)),
        "payload names another user",
    );
}

#[test]
fn me_with_an_alg_none_token_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let claims = claims_for(&user);
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    assert_token_refused(
        &app.get("/api/auth/me", Some(&unsigned)),
        "alg none, no signature",
    );
    let signed = forge(
        &json!({"alg": "none", "typ": "JWT"}),
        &claims,
        SECRET.as_bytes(),
    );
    assert_token_refused(
        &app.get("/api/auth/me", Some(&signed)),
        "alg none with a valid HS256 signature",
    );
}

#[test]
fn me_with_an_hs512_token_signed_with_the_right_secret_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let token = encode(Algorithm::HS512, &claims_for(&user), SECRET.as_bytes());
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "HS512");
}

#[test]
fn me_with_an_rs256_header_token_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    // Algorithm confusion: an RS256 header over an HMAC of the secret.
    let token = forge(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims_for(&user),
        SECRET.as_bytes(),
    );
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "RS256 header");
}

#[test]
fn me_with_a_token_without_exp_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut claims = claims_for(&user);
    claims.as_object_mut().unwrap().remove("exp");
    let token = encode(Algorithm::HS256, &claims, SECRET.as_bytes());
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "no exp");
}

#[test]
fn me_with_a_token_expired_10_seconds_ago_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let mut claims = claims_for(&user);
    claims["iat"] = (now() - SEVEN_DAYS - 10).into();
    claims["exp"] = (now() - 10).into();
    let token = encode(Algorithm::HS256, &claims, SECRET.as_bytes());
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "expired");
}

#[test]
fn me_with_a_token_signed_with_another_secret_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let token = encode(
        Algorithm::HS256,
        &claims_for(&user),
        b"another-secret-another-secret-0123456789",
    );
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "other secret");
}

#[test]
fn me_with_a_token_whose_sub_and_user_id_differ_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    let other = app.user();
    let mut claims = claims_for(&user);
    claims["user_id"] = other.id.as_str().into();
    let token = encode(Algorithm::HS256, &claims, SECRET.as_bytes());
    assert_token_refused(&app.get("/api/auth/me", Some(&token)), "sub != user_id");
}

#[test]
fn me_with_the_token_of_a_deleted_user_is_401() {
    let app = TestApp::spawn();
    let user = app.user();
    assert_eq!(app.get("/api/auth/me", Some(&user.token)).status, 200);
    let deleted = app
        .sql()
        .execute("DELETE FROM users WHERE email = $1", &[&user.email])
        .unwrap();
    assert_eq!(deleted, 1);
    assert_token_refused(&app.get("/api/auth/me", Some(&user.token)), "deleted user");
}

// ---------------------------------------------------------------------------------------------
// The bounded hashing section
// ---------------------------------------------------------------------------------------------

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
