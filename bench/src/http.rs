//! Set-up requests (readiness, sign-in) and probes, on the library's raw client that the tests
//! use too, and the head parsing helpers the socket opener shares.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

// The tests' raw client, shared rather than shipped in the server.
#[path = "../../tests/api/support/raw_client.rs"]
pub mod raw_client;

pub use raw_client::{content_length, status, RawResponse as Reply};

/// Where the body starts: just past the blank line that ends the head (the server's own scan).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    todo_api::http::parse::head_end(buf, 0)
}

/// Sends one request on a new connection and reads the whole answer within `timeout`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
    timeout: Duration,
) -> io::Result<Reply> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = Vec::new();
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    if json.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let body = json.unwrap_or("").as_bytes();
    raw_client::request(addr, method, path, &headers, body, timeout)
}

/// The body as JSON.
pub fn json(reply: &Reply) -> Result<serde_json::Value, String> {
    serde_json::from_str(&reply.body).map_err(|e| format!("not JSON ({e}): {}", reply.body))
}

/// `GET /health` until it answers 200 or `within` passes.
pub fn wait_healthy(addr: SocketAddr, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = request(addr, "GET", "/health", None, None, Duration::from_secs(1)) {
            if r.status == 200 {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Signs in and returns the access token.
pub fn sign_in(addr: SocketAddr, email: &str, password: &str) -> Result<String, String> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let reply = request(
        addr,
        "POST",
        "/api/auth/signin",
        None,
        Some(&body),
        Duration::from_secs(10),
    )
    .map_err(|e| format!("sign-in of {email} at {addr}: {e}"))?;
    if reply.status != 200 {
        return Err(format!(
            "sign-in of {email} at {addr} answered {}: {}",
            reply.status, reply.body
        ));
    }
    json(&reply)?["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no access_token in the sign-in answer of {addr}"))
}
