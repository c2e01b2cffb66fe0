//! Opens (and holds) many sockets: idle keep-alive connections, a flood past the server's
//! descriptor limit, slow clients. It measures what each connection got, not throughput: wrk does
//! the load. One thread, non-blocking sockets in an epoll set, a deadline per connection.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What to open.
pub struct Plan<'a> {
    pub addr: SocketAddr,
    pub count: usize,
    /// Sent once the connection is up (one whole request).
    pub request: &'a [u8],
    /// Connections being set up at once.
    pub in_flight: usize,
    /// A connection with no answer (and not closed) this long after its connect started is hung.
    pub answer_within: Duration,
    /// Keep connections answered 200 open (idle keep-alive) instead of closing them.
    pub keep_ok: bool,
}

/// What the connections got.
#[derive(Default)]
pub struct Tally {
    /// Complete answers by status.
    pub answered: BTreeMap<u16, usize>,
    /// Closed or reset by the server before a complete answer.
    pub closed: usize,
    /// The connection itself failed (refused, reset during the handshake).
    pub refused: usize,
    /// Neither answered nor closed within `answer_within`.
    pub hung: usize,
    /// Microseconds from connect to the answer or close, for every outcome but 200 and hung.
    pub turned_away_us: Vec<u32>,
}

impl Tally {
    pub fn status(&self, code: u16) -> usize {
        self.answered.get(&code).copied().unwrap_or(0)
    }

    /// Refused at once: any answer other than 200, a close, a failed connect.
    pub fn turned_away(&self) -> usize {
        self.answered
            .iter()
            .filter(|(s, _)| **s != 200)
            .map(|(_, n)| n)
            .sum::<usize>()
            + self.closed
            + self.refused
    }

    pub fn summary(&self) -> String {
        let statuses: Vec<String> = self
            .answered
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        format!(
            "answered [{}], closed before an answer {}, connect failed {}, hung {}",
            statuses.join(", "),
            self.closed,
            self.refused,
            self.hung
        )
    }

    /// The `q` quantile of the time to be turned away, in microseconds (-1 if none was).
    pub fn turned_away_quantile(&self, q: f64) -> f64 {
        let mut v = self.turned_away_us.clone();
        v.sort_unstable();
        if v.is_empty() {
            return -1.0;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        f64::from(v[rank - 1])
    }
}

pub struct Opened {
    /// Connections answered 200 and kept open (with `keep_ok`).
    pub held: Vec<Socket>,
    pub tally: Tally,
    pub elapsed: Duration,
}

enum State {
    Connecting,
    Reading,
}

struct Conn {
    socket: Socket,
    state: State,
    started: Instant,
    buf: Vec<u8>,
}

enum Done {
    Answered(u16),
    Closed,
    Refused,
}

/// Opens `plan.count` connections, each sending the request and waiting for its answer.
pub fn open(plan: &Plan) -> Result<Opened, String> {
    let epoll = Epoll::new().map_err(|e| format!("epoll_create1: {e}"))?;
    let mut slots: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut active = 0usize;
    let mut started = 0usize;
    let mut tally = Tally::default();
    let mut held = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let begun = Instant::now();
    let mut last_scan = Instant::now();
    while started < plan.count || active > 0 {
        while started < plan.count && active < plan.in_flight {
            started += 1;
            let socket = connect(plan.addr)?;
            let slot = free.pop().unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            epoll
                .add(
                    socket.as_raw_fd(),
                    libc::EPOLLOUT | libc::EPOLLIN | libc::EPOLLRDHUP,
                    slot as u64,
                )
                .map_err(|e| format!("epoll_ctl: {e}"))?;
            slots[slot] = Some(Conn {
                socket,
                state: State::Connecting,
                started: Instant::now(),
                buf: Vec::new(),
            });
            active += 1;
        }
        let n = epoll
            .wait(&mut events, 20)
            .map_err(|e| format!("epoll_wait: {e}"))?;
        for ev in &events[..n] {
            let (slot, flags) = ({ ev.u64 } as usize, { ev.events });
            let Some(conn) = slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let Some(done) = step(conn, slot as u64, flags, plan.request, &epoll) else {
                continue;
            };
            let Some(conn) = slots[slot].take() else {
                continue;
            };
            free.push(slot);
            active -= 1;
            let took = u32::try_from(conn.started.elapsed().as_micros()).unwrap_or(u32::MAX);
            match done {
                Done::Answered(200) => {
                    *tally.answered.entry(200).or_default() += 1;
                    if plan.keep_ok {
                        let _ = epoll.delete(conn.socket.as_raw_fd());
                        held.push(conn.socket);
                    }
                }
                Done::Answered(status) => {
                    *tally.answered.entry(status).or_default() += 1;
                    tally.turned_away_us.push(took);
                }
                Done::Closed => {
                    tally.closed += 1;
                    tally.turned_away_us.push(took);
                }
                Done::Refused => {
                    tally.refused += 1;
                    tally.turned_away_us.push(took);
                }
            }
        }
        if last_scan.elapsed() >= Duration::from_millis(20) {
            last_scan = Instant::now();
            for (slot, entry) in slots.iter_mut().enumerate() {
                if entry
                    .as_ref()
                    .is_some_and(|c| c.started.elapsed() >= plan.answer_within)
                {
                    if let Some(conn) = entry.take() {
                        let _ = epoll.delete(conn.socket.as_raw_fd());
                        free.push(slot);
                        active -= 1;
                        tally.hung += 1;
                    }
                }
            }
        }
    }
    Ok(Opened {
        held,
        tally,
        elapsed: begun.elapsed(),
    })
}

/// Advances one connection on a readiness event; `Some` once it is finished.
fn step(conn: &mut Conn, token: u64, flags: u32, request: &[u8], epoll: &Epoll) -> Option<Done> {
    if let State::Connecting = conn.state {
        match conn.socket.take_error() {
            Ok(Some(e)) | Err(e) => {
                return Some(if e.kind() == ErrorKind::ConnectionRefused {
                    Done::Refused
                } else {
                    Done::Closed
                });
            }
            Ok(None) => {}
        }
        if flags & libc::EPOLLOUT as u32 == 0 {
            return None;
        }
        // A request fits in the socket buffer of a fresh connection.
        match conn.socket.send(request) {
            Ok(n) if n == request.len() => {}
            Ok(_) | Err(_) => return Some(Done::Closed),
        }
        conn.state = State::Reading;
        let _ = epoll.modify(
            conn.socket.as_raw_fd(),
            libc::EPOLLIN | libc::EPOLLRDHUP,
            token,
        );
        return None;
    }
    let mut chunk = [0u8; 4096];
    loop {
        match (&conn.socket).read(&mut chunk) {
            Ok(0) => return Some(finished(&conn.buf).unwrap_or(Done::Closed)),
            Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Some(finished(&conn.buf).unwrap_or(Done::Closed)),
        }
    }
    complete(&conn.buf).map(Done::Answered)
}

/// With the connection ended: an answer if its head at least arrived.
fn finished(buf: &[u8]) -> Option<Done> {
    crate::http::head_end(buf)?;
    crate::http::status(buf).map(Done::Answered)
}

/// The status of a complete response (head and Content-Length body) at the start of `buf`.
fn complete(buf: &[u8]) -> Option<u16> {
    let end = crate::http::head_end(buf)?;
    let len = crate::http::content_length(&buf[..end]).unwrap_or(0);
    if buf.len() < end + len {
        return None;
    }
    crate::http::status(buf)
}

/// A non-blocking socket with its connect started. Closing it later sends a reset (linger 0), so
/// tens of thousands of closes leave no TIME_WAIT behind to exhaust the ports.
fn connect(addr: SocketAddr) -> Result<Socket, String> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EMFILE) | Some(libc::ENFILE) => {
                format!("the bench itself ran out of file descriptors ({e}): raise `ulimit -n`")
            }
            _ => format!("socket: {e}"),
        })?;
    socket
        .set_nonblocking(true)
        .and_then(|()| socket.set_linger(Some(Duration::ZERO)))
        .and_then(|()| socket.set_tcp_nodelay(true))
        .map_err(|e| format!("socket options: {e}"))?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        // Refused at once: the readiness event reports it (SO_ERROR may be gone, so it counts as
        // closed); rare on loopback.
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
        Err(e) => return Err(format!("connect to {addr}: {e}")),
    }
    Ok(socket)
}

struct Epoll(RawFd);

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 has no preconditions.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll(fd))
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: libc::c_int, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: a valid epoll descriptor and a pointer to a local event.
        if unsafe { libc::epoll_ctl(self.0, op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn add(&self, fd: RawFd, events: libc::c_int, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    /// New interest (EPOLL_CTL_MOD replaces the token too: pass the same one).
    fn modify(&self, fd: RawFd, events: libc::c_int, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events, token)
    }

    fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = i32::try_from(events.len()).unwrap_or(i32::MAX);
        // SAFETY: the buffer holds `max` events.
        let n = unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), max, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this struct owns.
        unsafe { libc::close(self.0) };
    }
}

/// A request head that never ends: slow clients send it one byte at a time.
const SLOW_HEAD: &[u8] = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: ";

/// Slow clients: each sends one byte of a request head every `every`, reconnecting when the server
/// closes it (a head timeout), until stopped.
pub struct Trickle {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<TrickleStats, String>>,
}

#[derive(Debug, Default)]
pub struct TrickleStats {
    pub bytes_sent: u64,
    /// Connections the server closed (or answered, e.g. 408), each replaced by a new one.
    pub closed_by_server: u64,
    /// Connections open and trickling when stopped.
    pub open_at_end: usize,
}

struct Slow {
    socket: Option<Socket>,
    sent: usize,
    next: Instant,
}

impl Trickle {
    pub fn start(addr: SocketAddr, clients: usize, every: Duration) -> Trickle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || trickle(addr, clients, every, &flag));
        Trickle { stop, handle }
    }

    pub fn stop(self) -> Result<TrickleStats, String> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .join()
            .map_err(|_| "the slow-client thread panicked".to_string())?
    }
}

fn trickle(
    addr: SocketAddr,
    clients: usize,
    every: Duration,
    stop: &AtomicBool,
) -> Result<TrickleStats, String> {
    let mut stats = TrickleStats::default();
    let begun = Instant::now();
    let mut slow: Vec<Slow> = (0..clients)
        .map(|i| {
            Ok(Slow {
                socket: Some(connect(addr)?),
                sent: 0,
                // First bytes spread over the interval, then one per interval each.
                next: begun + every.mul_f64(i as f64 / clients as f64),
            })
        })
        .collect::<Result<_, String>>()?;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        for s in &mut slow {
            if s.next > now {
                continue;
            }
            let Some(socket) = s.socket.as_ref() else {
                s.socket = Some(connect(addr)?);
                s.sent = 0;
                continue;
            };
            // Anything to read (an answer such as 408) or an end means the server gave up on it.
            let mut probe = [0u8; 512];
            let gone = match (&*socket).read(&mut probe) {
                Ok(_) => true,
                Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected),
            };
            let byte = SLOW_HEAD.get(s.sent).copied().unwrap_or(b'a');
            let sent = !gone
                && match socket.send(&[byte]) {
                    Ok(1) => true,
                    Ok(_) => false,
                    // Still connecting: try again shortly.
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) =>
                    {
                        s.next = now + Duration::from_millis(20);
                        continue;
                    }
                    Err(_) => false,
                };
            if sent {
                s.sent += 1;
                stats.bytes_sent += 1;
                s.next += every;
            } else {
                stats.closed_by_server += 1;
                s.socket = None;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stats.open_at_end = slow.iter().filter(|s| s.socket.is_some()).count();
    Ok(stats)
}
