//! A one-request HTTP/1.1 client for set-up (readiness, sign-in) and probes, and the few head
//! parsing helpers the socket opener shares. It sends `Connection: close` and reads to the end.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("not JSON ({e}): {}", self.text()))
    }
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
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = json.unwrap_or("");
    let kind = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}{kind}\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    // Up to the end of the body its Content-Length announces, or else to the end of the stream.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Some(reply) = parse(&buf, false) {
            return Ok(reply);
        }
        match stream.read(&mut chunk)? {
            0 => break,
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
    parse(&buf, true)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no complete response"))
}

/// A complete response at the start of `buf`; without a Content-Length, only once it `ended`.
fn parse(buf: &[u8], ended: bool) -> Option<Reply> {
    let end = head_end(buf)?;
    let status = status(buf)?;
    let len = match content_length(&buf[..end]) {
        Some(len) => len,
        None if ended => buf.len() - end,
        None => return None,
    };
    let body = buf.get(end..end + len)?.to_vec();
    Some(Reply { status, body })
}

/// Where the body starts: just past the blank line that ends the head.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// The status code of a response starting with `HTTP/1.x NNN`.
pub fn status(buf: &[u8]) -> Option<u16> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()
}

/// The Content-Length of a response head, if it has one.
pub fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
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
            reply.status,
            reply.text()
        ));
    }
    reply.json()?["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no access_token in the sign-in answer of {addr}"))
}
