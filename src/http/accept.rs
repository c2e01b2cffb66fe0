//! Accepting connections: in batches by whichever worker the listener's event wakes, refusing at
//! once past the connection limit, and surviving descriptor exhaustion (EMFILE) with a reserve
//! descriptor instead of stopping.

use super::conn::{refuse_now, Conn};
use super::poll::READ;
use super::registry::lock;
use super::server::{Shared, LISTENER};
use super::timer::now_ms;
use super::Response;
use std::fs::File;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::Ordering;

/// Accepts per wake-up before the listener is re-armed, so one worker does not spend a flood
/// accepting while connections it accepted wait.
const BATCH: usize = 64;
/// Descriptors left for PostgreSQL connections, files and the process itself.
const RESERVED_FDS: u64 = 256;
const MAX_DEFAULT_CONNECTIONS: u64 = 65_536;
/// Connections the kernel may complete before one is accepted. The standard library listens with
/// 128: a burst of connects overflowed it while the workers were busy, and each connect that did
/// not fit waited a second for its SYN to be sent again. The kernel caps it at `somaxconn`.
const BACKLOG: libc::c_int = 4096;

pub struct Acceptor {
    pub listener: Option<TcpListener>,
    /// Closed to make room for one `accept` when descriptors run out, then reopened.
    reserve: Option<File>,
    /// Set while accepting is paused (the timer resumes it).
    pub paused_at: Option<u64>,
}

impl Acceptor {
    pub fn new(listener: TcpListener) -> Acceptor {
        Acceptor {
            listener: Some(listener),
            reserve: File::open("/dev/null").ok(),
            paused_at: None,
        }
    }

    pub fn resume(&mut self, sh: &Shared) {
        self.paused_at = None;
        if self.reserve.is_none() {
            self.reserve = File::open("/dev/null").ok();
        }
        self.rearm(sh);
    }

    fn rearm(&self, sh: &Shared) {
        if let Some(l) = &self.listener {
            if !sh.stopping.load(Ordering::SeqCst) {
                let _ = sh.epoll.rearm(l.as_raw_fd(), LISTENER, READ);
            }
        }
    }
}

/// Listening again on a listening socket only sets its backlog.
pub fn deepen_backlog(listener: &TcpListener) -> io::Result<()> {
    // SAFETY: listen takes a descriptor the listener owns and a plain number.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Raises the soft descriptor limit to the hard one (as nginx does) and returns the soft limit.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        // An unlimited hard limit is not a valid soft limit for descriptors: stay within nr_open.
        let target = lim.rlim_max.min(1 << 20);
        if lim.rlim_cur < target {
            let raised = libc::rlimit {
                rlim_cur: target,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = target;
            }
        }
    }
    lim.rlim_cur
}

/// The default `MAX_CONNECTIONS`: the descriptor limit, less room for everything else.
pub fn default_max_connections() -> usize {
    let fds = raise_nofile_limit();
    let max = if fds > 2 * RESERVED_FDS {
        fds - RESERVED_FDS
    } else {
        fds / 2
    };
    max.clamp(1, MAX_DEFAULT_CONNECTIONS) as usize
}

fn accept4(fd: i32) -> io::Result<TcpStream> {
    loop {
        // SAFETY: plain syscall; a returned descriptor is owned by the TcpStream.
        let s = unsafe {
            libc::accept4(
                fd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if s >= 0 {
            // SAFETY: `s` is a fresh connected socket nobody else owns.
            return Ok(unsafe { TcpStream::from_raw_fd(s) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// Accepts what is waiting, up to a batch (or everything, when `all`: shutdown's final drain).
/// Returns with the listener re-armed unless accepting is paused or stopping.
pub fn accept_batch(sh: &Shared, all: bool) {
    let mut acc = lock(&sh.acceptor);
    let Some(fd) = acc.listener.as_ref().map(|l| l.as_raw_fd()) else {
        return;
    };
    let mut accepted = 0;
    while all || accepted < BATCH {
        accepted += 1;
        match accept4(fd) {
            Ok(sock) => admit(sh, sock),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
            Err(e) if out_of_descriptors(&e) => {
                sh.refused_no_fd.fetch_add(1, Ordering::Relaxed);
                // The reserve descriptor makes room to accept one connection and refuse it, so
                // the client hears "busy" at once instead of hanging in the backlog.
                if acc.reserve.take().is_some() {
                    if let Ok(sock) = accept4(fd) {
                        refuse(sh, &sock, "Server is out of connections; try again shortly");
                    }
                    acc.reserve = File::open("/dev/null").ok();
                }
                if acc.reserve.is_none() {
                    acc.paused_at = Some(now_ms());
                    return;
                }
            }
            Err(_) => {
                sh.accept_errors.fetch_add(1, Ordering::Relaxed);
                acc.paused_at = Some(now_ms());
                return;
            }
        }
    }
    acc.rearm(sh);
}

fn refuse(sh: &Shared, sock: &TcpStream, detail: &str) {
    let mut resp = Response::error(503, detail).with_header("Retry-After", "1");
    sh.service.finish(None, &mut resp);
    refuse_now(sock, &resp.to_bytes(false, false, false));
}

/// Registers a new connection, or refuses it at once past the connection limit.
pub fn admit(sh: &Shared, sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let fd = sock.as_raw_fd();
    let conn = Box::new(Conn::new(sock, sh.first_request_deadline()));
    let epoll = &sh.epoll;
    if let Err(conn) = sh
        .registry
        .insert(conn, |token, _| epoll.add_oneshot(fd, token, READ))
    {
        refuse(
            sh,
            &conn.sock,
            "Server is at its connection limit; try again shortly",
        );
    }
}
