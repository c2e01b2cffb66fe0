//! The error shapes of the contract: `{"detail"}`, and for validation `{"detail", "errors"}`.

use super::Resp;
use serde_json::json;

pub fn assert_error(resp: &Resp, status: u16, detail: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert_eq!(resp.detail(), detail, "{}", resp.body);
}

/// The validation-error contract: a 400 listing every problem in `errors`, each entry exactly
/// `{field, message}` with a message, and `detail` the first message. Returns the
/// `(field, message)` pairs.
pub fn validation_errors(resp: &Resp) -> Vec<(String, String)> {
    assert_eq!(resp.status, 400, "{}", resp.body);
    let body = resp.json();
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {}", resp.body))
        .iter()
        .map(|error| {
            let entry = error
                .as_object()
                .unwrap_or_else(|| panic!("error entry is not an object: {error}"));
            assert_eq!(entry.len(), 2, "{error}");
            match (error["field"].as_str(), error["message"].as_str()) {
                (Some(field), Some(message)) if !message.is_empty() => {
                    (field.to_string(), message.to_string())
                }
                _ => panic!("not a {{field, message}} entry: {error}"),
            }
        })
        .collect();
    assert!(!errors.is_empty(), "{}", resp.body);
    assert_eq!(
        resp.detail(),
        errors[0].1,
        "detail is the first problem: {}",
        resp.body
    );
    errors
}

/// [`validation_errors`] naming exactly `fields`, in order, with `detail` first.
pub fn assert_invalid(resp: &Resp, detail: &str, fields: &[&str]) {
    let errors = validation_errors(resp);
    let named: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(named, fields, "{}", resp.body);
    assert_eq!(resp.detail(), detail, "{}", resp.body);
}

/// The one answer to a missing, bad, expired or orphaned token.
pub fn assert_token_refused(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.body);
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{what}");
    assert_eq!(
        resp.json(),
        json!({"detail": "Invalid or expired token"}),
        "{what}"
    );
}
