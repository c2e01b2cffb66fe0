//! Live events across instances: a change made through one todo-api instance reaches an event
//! stream opened on another (latency from sending the write to the event's arrival, p50/p99),
//! and what 5,000 open streams on one instance cost (RSS, threads, descriptors) while a change
//! still reaches its user's streams.

use super::quantile;
use crate::postgres::seed;
use crate::procstat::footprint;
use crate::report::{int, mib, ms, ratio};
use crate::server::{Kind, Launch};
use crate::{http, settle, Ctx, PASSWORD};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const CHANGES: usize = 300;
const USERS: usize = 500;
const PER_USER: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A one-use ticket, then the stream opened with it (its response head read).
pub(super) fn open_stream(addr: SocketAddr, user: Uuid, token: &str) -> Result<TcpStream, String> {
    let path = format!("/api/{user}/events/ticket");
    let reply = http::request(addr, "POST", &path, Some(token), None, TIMEOUT)
        .map_err(|e| format!("POST {path}: {e}"))?;
    let ticket = http::json(&reply)?["ticket"]
        .as_str()
        .ok_or("no ticket")?
        .to_string();
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /api/{user}/events?ticket={ticket} HTTP/1.1\r\nHost: bench\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return Err("the stream closed before its head".into()),
        }
    }
    match http::status(&head) {
        Some(200) => Ok(s),
        other => Err(format!("stream answered {other:?}")),
    }
}

/// Reads `stream` on a thread and hands `each` the title of each task event with its arrival
/// time, until the stream ends, `each` returns false, or (unless `patient`) a read times out.
pub(super) fn watch_with(
    mut stream: TcpStream,
    patient: bool,
    mut each: impl FnMut(String, Instant) -> bool + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut buf = String::new();
        let mut chunk = [0u8; 16384];
        loop {
            let n = match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e)
                    if patient
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock
                                | std::io::ErrorKind::TimedOut
                                | std::io::ErrorKind::Interrupted
                        ) =>
                {
                    continue
                }
                Err(_) => return,
            };
            let at = Instant::now();
            buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                let title = data
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    .and_then(|v| v["task"]["title"].as_str().map(str::to_string));
                if let Some(title) = title {
                    if !each(title, at) {
                        return;
                    }
                }
            }
        }
    });
}

/// Reads `stream` on a thread and reports the title of each task event with its arrival time.
fn watch(stream: TcpStream) -> mpsc::Receiver<(String, Instant)> {
    let (tx, rx) = mpsc::channel();
    watch_with(stream, false, move |title, at| tx.send((title, at)).is_ok());
    rx
}

fn create(addr: SocketAddr, user: Uuid, token: &str, title: &str) -> Result<(), String> {
    let body = format!("{{\"title\": \"{title}\"}}");
    let path = format!("/api/{user}/tasks");
    let reply = http::request(addr, "POST", &path, Some(token), Some(&body), TIMEOUT)
        .map_err(|e| format!("POST {path}: {e}"))?;
    match reply.status {
        201 => Ok(()),
        s => Err(format!("POST {path}: {s} {}", reply.body)),
    }
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let a = ctx.start(Kind::TodoApi, Launch::plain())?;
    let b = ctx.start(Kind::TodoApi, Launch::plain())?;
    let users: Vec<(Uuid, String)> = (0..USERS)
        .map(|i| (Uuid::new_v4(), format!("events-{i}@bench.example.com")))
        .collect();
    let mut db = ctx.pg.connect(Kind::TodoApi.database())?;
    seed(&mut db, &users, &ctx.cheap_hash, 0)?;
    let tokens: Vec<String> = users
        .iter()
        .map(|(_, email)| http::sign_in(a.addr, email, PASSWORD))
        .collect::<Result<_, _>>()?;

    // Across instances: written through A, read on a stream opened on B.
    let (user, token) = (users[0].0, &tokens[0]);
    let arrivals = watch(open_stream(b.addr, user, token)?);
    let mut sent = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        sent.push(Instant::now());
        create(a.addr, user, token, &format!("latency {i}"))?;
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut latencies = Vec::with_capacity(CHANGES);
    while latencies.len() < CHANGES {
        let (title, at) = arrivals
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("{} of {CHANGES} events arrived", latencies.len()))?;
        let i: usize = title
            .strip_prefix("latency ")
            .and_then(|n| n.parse().ok())
            .ok_or(format!("unexpected event {title}"))?;
        latencies.push(at.duration_since(sent[i]).as_secs_f64() * 1e6);
    }
    let p50 = quantile(&mut latencies, 0.50);
    let p99 = quantile(&mut latencies, 0.99);
    println!(
        "write on A -> event on B, {CHANGES} changes: p50 {}, p99 {}",
        ms(p50),
        ms(p99)
    );

    // 5,000 streams on one fresh instance.
    let c = ctx.start(Kind::TodoApi, Launch::plain())?;
    settle();
    let at_rest = footprint(c.pid())?;
    let t = Instant::now();
    let mut held = Vec::with_capacity(USERS * PER_USER);
    for ((user, _), token) in users.iter().zip(&tokens) {
        for _ in 0..PER_USER {
            held.push(open_stream(c.addr, *user, token)?);
        }
    }
    println!(
        "opened {} streams on one instance in {:.1} s",
        held.len(),
        t.elapsed().as_secs_f64()
    );
    settle();
    let loaded = footprint(c.pid())?;
    // Still live: a change through A reaches every stream of its user on C.
    let last = users.len() - 1;
    let watched: Vec<_> = held.drain(held.len() - PER_USER..).map(watch).collect();
    let t = Instant::now();
    create(a.addr, users[last].0, &tokens[last], "fan-out")?;
    for rx in &watched {
        rx.recv_timeout(TIMEOUT)
            .map_err(|_| "a stream did not get the change".to_string())?;
    }
    let fan_out = t.elapsed().as_secs_f64() * 1e6;
    println!(
        "holding {} streams: {} RSS (at rest {}), {} threads (at rest {}), {} descriptors; a change \
         reached its user's {PER_USER} streams in {}",
        held.len() + PER_USER,
        mib(loaded.rss_kib),
        mib(at_rest.rss_kib),
        loaded.threads,
        at_rest.threads,
        loaded.fds,
        ms(fan_out)
    );
    drop(held);

    let r = &mut ctx.report;
    r.add(
        "events",
        format!("write on one instance -> event on another, p99 ({CHANGES} changes)"),
        ms(p99),
        "100 ms target".to_string(),
        ratio(p99, 100_000.0),
    );
    r.note("events", "same, p50", ms(p50));
    let n = USERS * PER_USER;
    r.add(
        "events",
        format!("server RSS holding {} streams", int(n as f64)),
        mib(loaded.rss_kib),
        "64 MiB target".to_string(),
        ratio(loaded.rss_kib as f64, 64.0 * 1024.0),
    );
    r.add(
        "events",
        format!("server threads holding {} streams", int(n as f64)),
        int(loaded.threads as f64),
        format!("{} at rest", at_rest.threads),
        ratio(loaded.threads as f64, at_rest.threads as f64),
    );
    r.note(
        "events",
        "a change through another instance to its user's 10 streams, among them",
        ms(fan_out),
    );
    Ok(())
}
