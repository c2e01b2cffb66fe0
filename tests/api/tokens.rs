//! Access tokens on `GET /api/auth/me`: what a fresh token carries, and every forged, altered,
//! expired or orphaned token refused alike.

use crate::support::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::Sha256;

fn me_with(app: &TestApp, authorization: &str) -> Resp {
    app.request(
        "GET",
        "/api/auth/me",
        &[("Authorization", authorization)],
        None,
    )
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
    assert_eq!(
        keys,
        ["email", "exp", "iat", "sid", "sub", "user_id"],
        "{claims}"
    );
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
