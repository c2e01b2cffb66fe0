//! A CalDAV client for the `caldav` scenario, on the tests' raw HTTP client: one connection kept
//! open while the server allows it (Radicale's built-in server answers HTTP/1.0 and closes after each
//! answer, so it reconnects as a client would), the request bodies a syncing client sends, the few
//! elements it reads back, and the VTODO both servers are seeded with.

use crate::http::raw_client::{RawClient, RawResponse};
use std::net::SocketAddr;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

pub struct Dav {
    addr: SocketAddr,
    /// The `Authorization` header's value.
    pub auth: String,
    conn: Option<RawClient>,
    /// Connections opened so far.
    pub connects: u64,
    /// Response body bytes received so far.
    pub bytes: u64,
}

impl Dav {
    /// A client that signs each request with HTTP Basic.
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> Dav {
        Dav {
            addr,
            auth: basic(user, password),
            conn: None,
            connects: 0,
            bytes: 0,
        }
    }

    /// One request; `headers` on top of Host, Authorization and Content-Length.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<RawResponse, String> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n",
            self.addr, self.auth
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        // A kept connection the server has closed meanwhile fails at once: one retry on a new one.
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            let conn = match &mut self.conn {
                Some(c) => c,
                None => {
                    let c = RawClient::connect(self.addr, TIMEOUT)
                        .map_err(|e| format!("connect to {}: {e}", self.addr))?;
                    self.connects += 1;
                    self.conn.insert(c)
                }
            };
            let answer = conn.send(&bytes).ok().and_then(|()| conn.response());
            match answer {
                Some(r) => {
                    if !keeps_alive(&r) {
                        self.conn = None;
                    }
                    self.bytes += r.body.len() as u64;
                    return Ok(r);
                }
                None => {
                    self.conn = None;
                    if !reused || attempt == 1 {
                        break;
                    }
                }
            }
        }
        Err(format!(
            "{method} {path} at {}: no complete answer",
            self.addr
        ))
    }

    /// A request with an XML body and a Depth header that must answer 207 Multi-Status.
    pub fn multistatus(
        &mut self,
        method: &str,
        path: &str,
        depth: &str,
        body: &str,
    ) -> Result<String, String> {
        let r = self.call(
            method,
            path,
            &[
                ("Depth", depth),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            body,
        )?;
        if r.status != 207 {
            return Err(format!(
                "{method} {path} at {} answered {} (expected 207): {}",
                self.addr,
                r.status,
                r.body.chars().take(500).collect::<String>()
            ));
        }
        Ok(r.body)
    }
}

/// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
fn keeps_alive(r: &RawResponse) -> bool {
    let connection = r.header("Connection").unwrap_or("").to_ascii_lowercase();
    if r.head.starts_with("HTTP/1.0") {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    }
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `PROPFIND` Depth 1 of a calendar: what a client asks first (the objects and their ETags).
pub const PROPFIND_ETAGS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>"#;

/// `REPORT calendar-multiget` of `hrefs` (as the server gave them): calendar data and ETags.
pub fn multiget(hrefs: &[String]) -> String {
    let mut body = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>"#,
    );
    for href in hrefs {
        body.push_str("<D:href>");
        body.push_str(&escape(href));
        body.push_str("</D:href>");
    }
    body.push_str("</C:calendar-multiget>");
    body
}

/// `REPORT sync-collection` from `token` ("" for the initial one), ETags only.
pub fn sync_collection(token: &str) -> String {
    let token = if token.is_empty() {
        "<D:sync-token/>".to_string()
    } else {
        format!("<D:sync-token>{}</D:sync-token>", escape(token))
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">{token}<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of every element named `local` (any namespace prefix), in order; an empty element
/// (`<x/>`) gives "".
pub fn texts(xml: &str, local: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let name = name.rsplit(':').next().unwrap_or(name);
        if name != local {
            continue;
        }
        if tag.ends_with('/') {
            out.push(String::new());
            continue;
        }
        let body = &rest[(end + 1).min(rest.len())..];
        let text = &body[..body.find('<').unwrap_or(body.len())];
        out.push(unescape(text.trim()));
    }
    out
}

/// The hrefs of a Depth 1 answer's members (not the collection itself, whose href ends in `/`).
pub fn member_hrefs(xml: &str) -> Vec<String> {
    texts(xml, "href")
        .into_iter()
        .filter(|h| !h.ends_with('/'))
        .collect()
}

/// The VTODO of task `i` in a calendar (CRLF lines): title, description, due date, priority,
/// category, a third of them completed, and a VALARM (a component todo-api does not model and
/// keeps verbatim).
pub fn vtodo(uid: &str, i: usize) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//todo-bench//CalDAV bench//EN".into(),
        "BEGIN:VTODO".into(),
        format!("UID:{uid}"),
        "DTSTAMP:20261201T090000Z".into(),
        "CREATED:20261201T090000Z".into(),
        "LAST-MODIFIED:20261201T090000Z".into(),
        format!("SUMMARY:Task number {i}"),
        format!("DESCRIPTION:Description of task {i}\\, about as long as a real one"),
        format!("DUE:2027{:02}{:02}T090000Z", 1 + (i / 28) % 12, 1 + i % 28),
    ];
    match i % 4 {
        0 => {}
        p => lines.push(format!("PRIORITY:{}", [1, 5, 9][p - 1])),
    }
    lines.push(format!("CATEGORIES:tag{}", i % 30));
    if i % 3 == 0 {
        lines.push("STATUS:COMPLETED".into());
        lines.push("COMPLETED:20261202T090000Z".into());
        lines.push("PERCENT-COMPLETE:100".into());
    } else {
        lines.push("STATUS:NEEDS-ACTION".into());
    }
    lines.extend([
        "BEGIN:VALARM".to_string(),
        "ACTION:DISPLAY".into(),
        format!("DESCRIPTION:Task number {i} is due"),
        "TRIGGER;RELATED=END:-PT15M".into(),
        "END:VALARM".into(),
        "END:VTODO".into(),
        "END:VCALENDAR".into(),
        String::new(),
    ]);
    lines.join("\r\n")
}
