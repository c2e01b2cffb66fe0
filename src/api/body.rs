//! Request bodies: JSON objects read field by field, so every problem gets its own sentence.

use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::Request;
use serde_json::{Map, Value};

/// The body as a JSON object. No `Content-Type` is read as JSON; another type is 415.
pub fn object(req: &Request) -> ApiResult<Map<String, Value>> {
    if let Some(ct) = req.header("content-type") {
        let media = ct.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "Request body is required: send a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Request body is not valid JSON: {e}"
        ))),
    }
}

/// PostgreSQL cannot store U+0000 in text (a query with one fails), so no string field may hold it.
fn nul(label: &str) -> String {
    format!("{label} must not contain NUL (U+0000) characters")
}

/// Reads the fields of one body (or query), collecting every problem for the `errors` list.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    /// The raw value of a field, for shapes the helpers below do not read.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field)
    }

    /// A parse result: the value, or its problem recorded against `field`.
    pub fn check<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.fail(field, message)).ok()
    }

    pub fn fail(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// A string; `None` (with an error recorded) when it is missing but required, or not a string.
    pub fn string(&mut self, field: &'static str, label: &str, required: bool) -> Option<&'a str> {
        match self.map.get(field) {
            Some(Value::String(s)) if s.contains('\0') => {
                self.fail(field, nul(label));
                None
            }
            Some(Value::String(s)) => Some(s),
            None if !required => None,
            None => {
                self.fail(field, format!("{label} is required"));
                None
            }
            Some(_) => {
                self.fail(field, format!("{label} must be a string"));
                None
            }
        }
    }

    /// Absent: `None`; `null`: `Some(None)`; a string: `Some(Some(..))`.
    pub fn nullable_string(&mut self, field: &'static str, label: &str) -> Option<Option<&'a str>> {
        match self.map.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.contains('\0') => {
                self.fail(field, nul(label));
                None
            }
            Some(Value::String(s)) => Some(Some(s)),
            Some(_) => {
                self.fail(field, format!("{label} must be a string or null"));
                None
            }
        }
    }

    pub fn boolean(&mut self, field: &'static str, label: &str) -> Option<bool> {
        match self.map.get(field) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(field, format!("{label} must be true or false"));
                None
            }
        }
    }

    /// The parsed value when nothing failed; otherwise every problem, as one 400.
    pub fn finish<T>(self, parsed: Option<T>) -> ApiResult<T> {
        match parsed {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(self.errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_with_a_nul_character_is_refused_by_name() {
        let map = match serde_json::json!({ "title": "a\u{0}b", "description": "\u{0}" }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let mut f = Fields::new(&map);
        assert_eq!(f.string("title", "Title", true), None);
        assert_eq!(f.nullable_string("description", "Description"), None);
        let fields: Vec<_> = f.errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "description"]);
        assert_eq!(
            f.errors[0].message,
            "Title must not contain NUL (U+0000) characters"
        );
    }
}
