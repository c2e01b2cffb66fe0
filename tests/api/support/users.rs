//! Users as stored, and as the API shows them.

use super::TestApp;
use serde_json::Value;

/// The token lifetime at the default `TOKEN_TTL_DAYS`, in seconds.
pub const SEVEN_DAYS: i64 = 7 * 86_400;

pub fn users_count(app: &TestApp) -> i64 {
    app.sql()
        .query_one("SELECT count(*) FROM users", &[])
        .expect("count users")
        .get(0)
}

pub fn stored(app: &TestApp, email: &str) -> Option<(String, String, String)> {
    app.sql()
        .query_opt(
            "SELECT email, name, password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .expect("select user")
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

pub fn assert_public_user(user: &Value, id: &str, email: &str, name: &str) {
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
