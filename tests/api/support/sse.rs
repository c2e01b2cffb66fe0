//! A reader of `text/event-stream` and of the changes feed, for the tests of live events and of
//! sync across members.

use super::{TestApp, User};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub struct Sse {
    pub stream: TcpStream,
    buf: String,
    pub head: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub id: String,
    pub data: Value,
}

/// `POST /api/{user}/events/ticket`, asserting 201.
pub fn ticket(app: &TestApp, user: &User) -> String {
    let resp = app.send(
        "POST",
        &format!("/api/{}/events/ticket", user.id),
        Some(&user.token),
        None,
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()["ticket"]
        .as_str()
        .expect("a ticket")
        .to_string()
}

impl Sse {
    /// Opens `GET /api/{user}/events?ticket=` on `app` with a ticket from `app` and checks 200.
    pub fn of(app: &TestApp, user: &User) -> Sse {
        let sse = Sse::open(app, &user.id, &ticket(app, user), None);
        assert_eq!(sse.status(), 200, "{}", sse.head);
        sse
    }

    /// Opens `GET /api/{user}/events?ticket=` and reads the response head.
    pub fn open(app: &TestApp, user_id: &str, ticket: &str, last_event_id: Option<&str>) -> Sse {
        let mut stream = TcpStream::connect(app.addr).expect("connect");
        let extra = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET /api/{user_id}/events?ticket={ticket} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n{extra}\r\n"
        )
        .unwrap();
        let mut sse = Sse {
            stream,
            buf: String::new(),
            head: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sse.buf.contains("\r\n\r\n") {
            assert!(sse.fill(deadline), "no response head: {}", sse.buf);
        }
        let end = sse.buf.find("\r\n\r\n").unwrap() + 4;
        sse.head = sse.buf[..end].to_string();
        sse.buf.drain(..end);
        sse
    }

    pub fn status(&self) -> u16 {
        self.head[9..12].parse().unwrap()
    }

    /// Reads more; false at the end of the stream or the deadline.
    fn fill(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => true,
            Err(_) => false,
            Ok(n) => {
                self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
                true
            }
        }
    }

    /// Does the server close the stream within `wait` (whatever it sends before)?
    pub fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 16384];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }

    /// The next event (comments and `retry:` skipped), within `wait`.
    pub fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = Event {
                    name: String::new(),
                    id: String::new(),
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event.name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        event.id = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        event.data = serde_json::from_str(v).expect("data is JSON");
                    }
                }
                if !event.name.is_empty() {
                    return Some(event);
                }
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }

    /// Every event until the first one `until` accepts (included), within `wait`; panics with
    /// what did arrive when it does not come.
    pub fn until(&mut self, wait: Duration, until: impl Fn(&Event) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(event) => {
                    let done = until(&event);
                    seen.push(event);
                    if done {
                        return seen;
                    }
                }
                None => panic!("the awaited event did not come; got {seen:?}"),
            }
        }
    }
}

/// Is `event` a `task` event about task `id`?
pub fn about_task(event: &Event, id: i64) -> bool {
    event.name == "task" && event.data["id"].as_i64() == Some(id)
}

/// Is `event` a `list` event `op` about list `id`?
pub fn list_event(event: &Event, op: &str, id: &str) -> bool {
    event.name == "list" && event.data["op"] == op && event.data["id"] == id
}

/// `GET /api/{user}/changes{query}` on `app`, asserting 200.
pub fn changes(app: &TestApp, user: &User, query: &str) -> Value {
    let resp = app.get(
        &format!("/api/{}/changes{query}", user.id),
        Some(&user.token),
    );
    assert_eq!(resp.status, 200, "{query}: {}", resp.body);
    resp.json()
}

pub fn feed_cursor(page: &Value) -> String {
    page["cursor"].as_str().expect("a cursor").to_string()
}

/// The strings of the array `page[key]` (list ids in `lists` are objects: their `id`).
pub fn feed_ids(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} array: {page}"))
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other["id"].to_string().trim_matches('"').to_string(),
        })
        .collect()
}
