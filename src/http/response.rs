//! A response as the worker hands it back, and its wire form.

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Names are static; values are built by our code, never copied unchecked from a request.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub const JSON: &str = "application/json; charset=utf-8";

impl Response {
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
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
        use std::fmt::Write;
        let mut out = String::with_capacity(256);
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        let _ = write!(
            out,
            "Date: {}\r\n",
            chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT")
        );
        if !self.content_type.is_empty() {
            let _ = write!(out, "Content-Type: {}\r\n", self.content_type);
        }
        let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("cache-control"))
        {
            out.push_str("Cache-Control: no-store\r\n");
        }
        out.push_str("X-Content-Type-Options: nosniff\r\n");
        for (name, value) in &self.headers {
            // Defence in depth: a value with CR, LF or NUL never reaches the wire.
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                continue;
            }
            let _ = write!(out, "{name}: {value}\r\n");
        }
        if !keep_alive {
            out.push_str("Connection: close\r\n");
        } else if http10 {
            out.push_str("Connection: keep-alive\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !head {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }

    /// Writes the response; a large body goes out from where it is instead of being copied
    /// behind the head first (a list of 10,000 tasks is 2.4 MB).
    pub fn write_to(
        &self,
        w: &mut impl std::io::Write,
        keep_alive: bool,
        http10: bool,
        head: bool,
    ) -> std::io::Result<()> {
        if head || self.body.len() <= 16 * 1024 {
            return w.write_all(&self.to_bytes(keep_alive, http10, head));
        }
        w.write_all(&self.to_bytes(keep_alive, http10, true))?;
        w.write_all(&self.body)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
