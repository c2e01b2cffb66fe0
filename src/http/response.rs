//! A response as a handler returns it, and its wire form.

/// Called by the front with the connection's token once an event stream's head is sent and the
/// connection is parked as a stream (see `http::stream`). Dropped uncalled when the stream did not
/// open (the client left, the server is stopping, a `HEAD`).
pub type OnOpen = Box<dyn FnOnce(u64) + Send>;

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Names are static; values are built by our code, never copied unchecked from a request.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Set for an event stream: `body` is its first bytes, sent without a length, and the
    /// connection then stays open as a stream.
    pub stream: Option<OnOpen>,
}

pub const JSON: &str = "application/json; charset=utf-8";

impl Response {
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
            stream: None,
        }
    }

    pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::json_bytes(status, body),
            Err(_) => Response::error(500, "Internal server error"),
        }
    }

    pub fn error(status: u16, detail: &str) -> Response {
        Response::json(status, &serde_json::json!({ "detail": detail }))
    }

    pub fn empty(status: u16) -> Response {
        Response {
            status,
            content_type: "",
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The bytes on the wire. `HEAD` keeps `Content-Length` but sends no body.
    pub fn to_bytes(&self, keep_alive: bool, http10: bool, head: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        self.write_head(&mut out, keep_alive, http10);
        if !head {
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// Appends the status line and headers (with `Content-Length` of the body) to `out`.
    pub fn write_head(&self, out: &mut Vec<u8>, keep_alive: bool, http10: bool) {
        use std::io::Write;
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        DATE.with(|date| {
            let mut date = date.borrow_mut();
            let now = chrono::Utc::now();
            if date.0 != now.timestamp() {
                date.0 = now.timestamp();
                date.1 = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            }
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(date.1.as_bytes());
            out.extend_from_slice(b"\r\n");
        });
        if !self.content_type.is_empty() {
            let _ = write!(out, "Content-Type: {}\r\n", self.content_type);
        }
        // A stream's body ends when the connection does; a 304 has no body of its own.
        if self.stream.is_none() && self.status != 304 {
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("cache-control"))
        {
            out.extend_from_slice(b"Cache-Control: no-store\r\n");
        }
        out.extend_from_slice(b"X-Content-Type-Options: nosniff\r\n");
        for (name, value) in &self.headers {
            // Defence in depth: a value with CR, LF or NUL never reaches the wire.
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                continue;
            }
            let _ = write!(out, "{name}: {value}\r\n");
        }
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

thread_local! {
    /// The Date header value, formatted once per second per thread.
    static DATE: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
