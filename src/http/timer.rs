//! One timer thread: closes connections past their deadline, posts the heartbeat that measures how
//! long ready sockets wait for a worker, resumes accepting after a pause, and logs descriptor
//! exhaustion once per interval.
//!
//! Deadlines are found by scanning the registry a few times a second rather than kept in a heap: a
//! deadline moves on every request, and a scan of 15,000 slots (try-locks, skipping slots a worker
//! holds) costs well under a millisecond.

use super::conn::Phase;
use super::poll::READ;
use super::registry::lock;
use super::server::Shared;
use super::Response;
use crate::log;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(25);
const SCAN_EVERY_MS: u64 = 100;
const LOG_EVERY_MS: u64 = 1000;
const PAUSE_MS: u64 = 100;

/// Milliseconds since the first call, never 0 (0 means "unset" in atomics that hold these).
pub fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

pub fn run(sh: &Shared) {
    let (mut last_scan, mut last_log) = (0, now_ms());
    while !sh.exit.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        let now = now_ms();
        if sh.heartbeat_posted.load(Ordering::SeqCst) == 0 {
            sh.heartbeat_posted.store(now, Ordering::SeqCst);
            sh.heartbeat.signal();
        }
        {
            let mut acc = lock(&sh.acceptor);
            if acc.paused_at.is_some_and(|at| now >= at + PAUSE_MS) {
                acc.resume(sh);
            }
        }
        if now >= last_scan + SCAN_EVERY_MS {
            last_scan = now;
            expire(sh, now);
        }
        if now >= last_log + LOG_EVERY_MS {
            last_log = now;
            let refused = sh.refused_no_fd.swap(0, Ordering::Relaxed);
            let failed = sh.accept_errors.swap(0, Ordering::Relaxed);
            if refused > 0 || failed > 0 {
                log::warn(
                    "out of file descriptors: refusing new connections",
                    &[("refused", &refused), ("other_accept_errors", &failed)],
                );
            }
        }
    }
}

fn expire(sh: &Shared, now: u64) {
    let stopping = sh.stopping.load(Ordering::SeqCst);
    for (token, mut conn) in sh.registry.scan(true, |_, conn| conn.deadline <= now) {
        let answer = match conn.phase {
            _ if conn.unsent() => None,
            Phase::Head => Some(Response::error(408, "Request timed out")),
            // A connection accepted just before shutdown whose request never came.
            Phase::Idle if stopping && conn.served == 0 => Some(
                Response::error(503, "Server is shutting down; try again")
                    .with_header("Retry-After", "1"),
            ),
            Phase::Idle | Phase::Body | Phase::Linger | Phase::Stream => None,
        };
        let Some(mut resp) = answer else {
            sh.registry.release(token);
            continue;
        };
        sh.service.finish(None, &mut resp);
        let _ = conn.send(&resp.to_bytes(false, false, false), Vec::new());
        conn.discard_unsent();
        conn.begin_linger();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.sock);
        sh.registry.checkin(token, conn, READ, |_, interest| {
            sh.epoll.rearm(fd, token, interest)
        });
    }
}
