//! The one error type. Each variant maps to a status and the contract's `{"detail": ...}` body; causes
//! are logged, never shown to the client.

use crate::auth::password::HashError;
use crate::http::Response;
use crate::log;
use serde::Serialize;

#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// 400 listing every problem; `detail` is the first.
    Validation(Vec<FieldError>),
    BadRequest(String),
    /// 401 for a missing or bad token.
    InvalidToken,
    /// 401 for a failed sign-in.
    InvalidCredentials,
    /// 401 for an event-stream ticket that is unknown, used, expired or another user's.
    InvalidTicket,
    Forbidden,
    /// 403 with its own sentence: the caller's role in a list, or their kind of token, does not
    /// allow the request.
    NotAllowed(&'static str),
    /// 409: the same request is still being processed.
    Conflict(&'static str),
    /// 410: what the request refers to is gone for good (an expired sync cursor).
    Gone(&'static str),
    /// 403 over CalDAV: the WebDAV or CalDAV precondition that failed, as `prefix:name`
    /// (`c:supported-calendar-component`), in an XML error body, and a sentence for people.
    Precondition(String, String),
    /// 412: `If-Match` did not match the task's current tag.
    PreconditionFailed,
    /// 422: well-formed, but cannot be honoured (an idempotency key reused with another body).
    Unprocessable(&'static str),
    /// 429 with `Retry-After` (seconds).
    TooMany(&'static str, i64),
    NotFound(&'static str),
    /// 405 with the path's `Allow` value.
    MethodNotAllowed(String),
    UnsupportedMediaType,
    /// 503 because we chose to shed load.
    Busy(&'static str),
    /// 503 because a statement ran past `STATEMENT_TIMEOUT_MS` and was cancelled.
    TimedOut,
    /// 503 because PostgreSQL cannot be reached.
    Unavailable(String),
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest(detail.into())
    }

    /// A 4xx that a dead session's 401 must win over.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            ApiError::Validation(_)
                | ApiError::BadRequest(_)
                | ApiError::Forbidden
                | ApiError::NotAllowed(_)
                | ApiError::NotFound(_)
                | ApiError::UnsupportedMediaType
                | ApiError::TooMany(..)
                | ApiError::Conflict(_)
                | ApiError::Gone(_)
                | ApiError::PreconditionFailed
                | ApiError::Precondition(..)
                | ApiError::Unprocessable(_)
        )
    }

    pub fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => {
                let detail = errors
                    .first()
                    .map_or("Invalid request", |e| e.message.as_str())
                    .to_string();
                Response::json(
                    400,
                    &serde_json::json!({ "detail": detail, "errors": errors }),
                )
            }
            ApiError::BadRequest(detail) => Response::error(400, &detail),
            ApiError::InvalidToken => Response::error(401, "Invalid or expired token")
                .with_header("WWW-Authenticate", "Bearer"),
            ApiError::InvalidCredentials => Response::error(401, "Invalid email or password"),
            ApiError::InvalidTicket => Response::error(401, "Invalid or expired ticket")
                .with_header("WWW-Authenticate", "Bearer"),
            ApiError::Forbidden => Response::error(403, "Access denied"),
            ApiError::NotAllowed(detail) => Response::error(403, detail),
            ApiError::Conflict(detail) => {
                Response::error(409, detail).with_header("Retry-After", "1")
            }
            ApiError::Gone(detail) => Response::error(410, detail),
            ApiError::PreconditionFailed => {
                Response::error(412, "Task was changed by someone else")
            }
            ApiError::Precondition(element, detail) => {
                let mut resp = Response::empty(403);
                resp.content_type = crate::dav::XML;
                resp.body = crate::dav::xml::error_body(&element);
                // Clients show a header more readily than an XML body: one line of it.
                let detail: String = detail
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(300)
                    .collect();
                resp.with_header("X-Detail", detail)
            }
            ApiError::Unprocessable(detail) => Response::error(422, detail),
            ApiError::TooMany(detail, retry_after) => Response::error(429, detail)
                .with_header("Retry-After", retry_after.max(1).to_string()),
            ApiError::NotFound(detail) => Response::error(404, detail),
            ApiError::MethodNotAllowed(allow) => {
                Response::error(405, "Method Not Allowed").with_header("Allow", allow)
            }
            ApiError::UnsupportedMediaType => {
                Response::error(415, "Content-Type must be application/json")
            }
            ApiError::Busy(detail) => Response::error(503, detail).with_header("Retry-After", "1"),
            ApiError::TimedOut => {
                Response::error(503, "The request took too long; try again later")
                    .with_header("Retry-After", "2")
            }
            ApiError::Unavailable(cause) => {
                log::warn("database unavailable", &[("cause", &cause)]);
                Response::error(503, "Service temporarily unavailable")
                    .with_header("Retry-After", "2")
            }
            ApiError::Internal(cause) => {
                log::error("internal error", &[("cause", &cause)]);
                Response::error(500, "Internal server error")
            }
        }
    }
}

impl From<postgres::Error> for ApiError {
    fn from(e: postgres::Error) -> ApiError {
        // Class 40 (a deadlock or serialization failure, e.g. an account deleted while one of its
        // tasks is written) rolled the statement back: nothing changed, and a retry succeeds.
        let connection_lost = e.is_closed()
            || e.code().is_some_and(|c| {
                let c = c.code();
                c.starts_with("08") || c.starts_with("57P") || c == "53300" || c.starts_with("40")
            })
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        // 57014: cancelled, which on our connections means statement_timeout.
        if e.code().is_some_and(|c| c.code() == "57014") {
            return ApiError::TimedOut;
        }
        if connection_lost {
            ApiError::Unavailable(e.to_string())
        } else {
            let detail = e.as_db_error().map_or(String::new(), |d| {
                format!(
                    ": {} {} ({})",
                    d.code().code(),
                    d.message(),
                    d.where_().unwrap_or("")
                )
            });
            ApiError::Internal(format!("database: {e}{detail}"))
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> ApiError {
        match e {
            HashError::Busy => ApiError::Busy("Too many sign-ins at once; try again in a moment"),
            HashError::Failed(e) => ApiError::Internal(format!("bcrypt: {e}")),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> ApiError {
        ApiError::Unavailable(e.to_string())
    }
}
