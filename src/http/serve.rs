//! What a worker does with one ready connection: finish a blocked write, read what arrived, parse,
//! run the handler, write the response, and say how to re-arm (or close). A head or body that is
//! not complete yet is kept in the connection, which then waits holding no thread.

use super::conn::{read_into, Conn, Phase, Sent, NEVER};
use super::parse::{parse_head, scan_head, Head, HeadEnd, Reject};
use super::poll::{READ, WRITE};
use super::server::Shared;
use super::timer::now_ms;
use super::{OnOpen, Response};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Bodies up to this size are copied behind the head and sent in one piece; larger ones go out
/// from the handler's own buffer (a list of 10,000 tasks is 2.4 MB).
const COPY_BODY_MAX: usize = 16 * 1024;
const READ_CHUNK: usize = 16 * 1024;
/// A worker's input buffer grown past this (a large MAX_BODY_BYTES) is not kept.
const WORKER_BUFFER_MAX: usize = 1024 * 1024;
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Buffers a worker lends to the connection it is serving, reused for every request.
pub struct Worker {
    input: Vec<u8>,
    out: Vec<u8>,
    /// Set when the response just sent opened an event stream: called with the connection's
    /// token once it is parked.
    pub opened: Option<OnOpen>,
}

impl Worker {
    pub fn new() -> Worker {
        Worker {
            input: Vec::with_capacity(64 * 1024),
            out: Vec::with_capacity(16 * 1024),
            opened: None,
        }
    }
}

pub enum Outcome {
    Arm(u32),
    Close,
}

pub fn on_event(w: &mut Worker, sh: &Shared, conn: &mut Conn) -> Outcome {
    if conn.phase == Phase::Stream {
        return on_stream(w, sh, conn);
    }
    if conn.unsent() {
        match conn.flush(sh.write_timeout_ms) {
            Sent::Done => {}
            Sent::Blocked => return Outcome::Arm(WRITE),
            Sent::Failed => return Outcome::Close,
        }
        if conn.close_after {
            conn.begin_linger();
        } else if conn.phase == Phase::Idle {
            conn.deadline = now_ms() + sh.keep_alive_ms;
        }
    }
    if conn.phase == Phase::Linger {
        return match conn.linger(&mut w.input) {
            true => Outcome::Arm(READ),
            false => Outcome::Close,
        };
    }
    w.input.clear();
    w.input.extend_from_slice(&conn.input);
    conn.input = Vec::new();
    let (outcome, rest) = serve(w, sh, conn);
    if rest < w.input.len() && !conn.close_after {
        conn.input.extend_from_slice(&w.input[rest..]);
    }
    if w.input.capacity() > WORKER_BUFFER_MAX {
        w.input = Vec::with_capacity(64 * 1024);
    }
    outcome
}

/// A stream's connection is ready: finish what it has to send, and read (and discard) what the
/// client sent, to notice when it leaves.
fn on_stream(w: &mut Worker, sh: &Shared, conn: &mut Conn) -> Outcome {
    match conn.flush(sh.write_timeout_ms) {
        Sent::Done => conn.deadline = NEVER,
        Sent::Blocked => {
            if conn.deadline == NEVER {
                conn.deadline = now_ms() + sh.write_timeout_ms;
            }
            return Outcome::Arm(READ | WRITE);
        }
        Sent::Failed => return Outcome::Close,
    }
    for _ in 0..16 {
        w.input.clear();
        match read_into(&conn.sock, &mut w.input, READ_CHUNK) {
            Ok(0) => return Outcome::Close,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => return Outcome::Close,
        }
    }
    w.input.clear();
    Outcome::Arm(READ)
}

/// Serves every complete request in `w.input`, reading more as needed. Returns how to re-arm and
/// where the unconsumed bytes start.
fn serve(w: &mut Worker, sh: &Shared, conn: &mut Conn) -> (Outcome, usize) {
    let limits = &sh.limits;
    let mut start = 0;
    loop {
        if conn.pending.is_none() && w.input.len() > start {
            let avail = &w.input[start..];
            if conn.phase == Phase::Idle {
                conn.phase = Phase::Head;
                conn.scanned = 0;
                conn.deadline = now_ms() + sh.header_timeout_ms;
            }
            match scan_head(avail, conn.scanned) {
                HeadEnd::At(end) if end <= limits.max_head_bytes => {
                    match parse_head(&avail[..end], limits.max_body_bytes) {
                        Ok(head) => {
                            let interim = head.expect_continue
                                && !head.http10
                                && avail.len() < end + head.content_length;
                            conn.pending = Some(head);
                            conn.phase = Phase::Body;
                            conn.deadline = now_ms() + sh.body_timeout_ms;
                            if interim {
                                match conn.send(CONTINUE, Vec::new()) {
                                    Sent::Done => {}
                                    Sent::Blocked => return (Outcome::Arm(WRITE), start),
                                    Sent::Failed => return (Outcome::Close, start),
                                }
                            }
                        }
                        Err(reject) => {
                            let origin = parse_origin(&avail[..end]);
                            return (refuse(w, sh, conn, reject, origin.as_deref()), start);
                        }
                    }
                }
                HeadEnd::At(_) => return (refuse(w, sh, conn, TOO_LARGE, None), start),
                HeadEnd::BareLf => return (refuse(w, sh, conn, BARE_LF, None), start),
                HeadEnd::Incomplete if avail.len() > limits.max_head_bytes => {
                    return (refuse(w, sh, conn, TOO_LARGE, None), start)
                }
                HeadEnd::Incomplete => conn.scanned = avail.len(),
            }
        }
        if let Some(total) = conn.pending.as_ref().map(|h| h.len + h.content_length) {
            if w.input.len() - start >= total {
                let Some(head) = conn.pending.take() else {
                    return (Outcome::Close, start);
                };
                let body = w.input[start + head.len..start + total].to_vec();
                start += total;
                conn.phase = Phase::Idle;
                conn.scanned = 0;
                let sent = respond(w, sh, conn, head, body);
                if conn.phase == Phase::Stream {
                    // Anything the client sent behind the request that opened a stream is dropped.
                    let outcome = match sent {
                        Sent::Done => {
                            conn.deadline = NEVER;
                            Outcome::Arm(READ)
                        }
                        Sent::Blocked => {
                            conn.deadline = now_ms() + sh.write_timeout_ms;
                            Outcome::Arm(READ | WRITE)
                        }
                        Sent::Failed => Outcome::Close,
                    };
                    return (outcome, w.input.len());
                }
                match sent {
                    Sent::Done if conn.close_after => {
                        conn.begin_linger();
                        return (Outcome::Arm(READ), start);
                    }
                    Sent::Done => {
                        conn.deadline = now_ms() + sh.keep_alive_ms;
                        if start == w.input.len() {
                            // Nothing pipelined: wait for readiness rather than spend a read
                            // that would almost always find nothing.
                            return (Outcome::Arm(READ), start);
                        }
                        continue;
                    }
                    Sent::Blocked => {
                        conn.deadline = now_ms() + sh.write_timeout_ms;
                        return (Outcome::Arm(WRITE), start);
                    }
                    Sent::Failed => return (Outcome::Close, start),
                }
            }
        }
        if start > 0 {
            w.input.drain(..start);
            start = 0;
        }
        let room = match &conn.pending {
            Some(h) => (h.len + h.content_length)
                .saturating_sub(w.input.len())
                .max(4096),
            None => READ_CHUNK,
        };
        match read_into(&conn.sock, &mut w.input, room) {
            Ok(0) => return (Outcome::Close, 0),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if conn.phase == Phase::Idle && sh.is_stopping() {
                    // Idle between requests, and nothing arrived: closed only now, after a read
                    // found nothing, so a request that has just arrived is still served.
                    if conn.served > 0 {
                        conn.begin_linger();
                    } else {
                        conn.deadline = conn.deadline.min(sh.stopped_grace_deadline());
                    }
                }
                return (Outcome::Arm(READ), 0);
            }
            Err(_) => return (Outcome::Close, 0),
        }
    }
}

const TOO_LARGE: Reject = Reject {
    status: 431,
    detail: "Request head too large",
};

const BARE_LF: Reject = Reject {
    status: 400,
    detail: "Malformed request: lines must end with CRLF",
};

/// Answers a request the front refuses, then closes (after a short linger).
fn refuse(
    w: &mut Worker,
    sh: &Shared,
    conn: &mut Conn,
    r: Reject,
    origin: Option<&str>,
) -> Outcome {
    let mut resp = Response::error(r.status, r.detail);
    sh.service.finish(origin, &mut resp);
    conn.close_after = true;
    conn.pending = None;
    w.out.clear();
    resp.write_head(&mut w.out, false, false);
    w.out.extend_from_slice(&resp.body);
    match conn.send(&w.out, Vec::new()) {
        Sent::Done => {
            conn.begin_linger();
            Outcome::Arm(READ)
        }
        Sent::Blocked => {
            conn.deadline = now_ms() + sh.write_timeout_ms;
            Outcome::Arm(WRITE)
        }
        Sent::Failed => Outcome::Close,
    }
}

/// Runs the handler (or sheds the request when ready sockets are waiting too long for a worker)
/// and writes the response.
fn respond(w: &mut Worker, sh: &Shared, conn: &mut Conn, head: Head, body: Vec<u8>) -> Sent {
    let (http10, is_head, wants_keep) = (head.http10, head.method == "HEAD", head.keep_alive);
    let req = head.into_request(body, conn.peer);
    let (mut resp, keep) = if sh.overloaded() {
        let busy = Response::error(503, "Server is busy; try again shortly")
            .with_header("Retry-After", "1");
        (busy, false)
    } else {
        let resp = catch_unwind(AssertUnwindSafe(|| sh.service.handle(&req)))
            .unwrap_or_else(|_| Response::error(500, "Internal server error"));
        (resp, wants_keep && !sh.is_stopping())
    };
    sh.service.finish(req.header("origin"), &mut resp);
    conn.served += 1;
    // A stream's body ends with the connection: `Connection: close`, whether it opens or not.
    let stream = resp.stream.is_some();
    let keep = keep && !stream;
    conn.close_after = !keep;
    w.out.clear();
    resp.write_head(&mut w.out, keep, http10);
    if stream && !is_head && !sh.is_stopping() {
        w.opened = resp.stream.take();
        conn.close_after = false;
        conn.phase = Phase::Stream;
    }
    let mut body = resp.body;
    if is_head {
        body.clear();
    }
    if body.len() <= COPY_BODY_MAX {
        w.out.extend_from_slice(&body);
        body.clear();
    }
    conn.send(&w.out, body)
}

/// The Origin of a refused request, so the browser can read the refusal.
fn parse_origin(head: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("origin")
            .then(|| value.trim().to_string())
    })
}
