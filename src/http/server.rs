//! Accept loop, one small thread per open connection (all socket I/O, with deadlines), a bounded queue,
//! and a fixed pool of workers that turn requests into responses without touching a socket.

use super::parse::{head_end, parse_head, Head, Reject, Request};
use super::response::Response;
use crate::log;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the front needs from the application.
pub trait Service: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Response;
    /// Applied to every response, the front's own refusals included (CORS lives here).
    fn finish(&self, _origin: Option<&str>, _resp: &mut Response) {}
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_head_bytes: usize,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub queue_size: usize,
    pub workers: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
}

const CONNECTION_STACK: usize = 128 * 1024;
const IDLE: u8 = 0;
const BUSY: u8 = 1;

struct Conn {
    stream: TcpStream,
    state: AtomicU8,
}

struct Job {
    req: Request,
    reply: SyncSender<Response>,
}

struct Shared {
    limits: Limits,
    service: Arc<dyn Service>,
    stopping: AtomicBool,
    active: AtomicUsize,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    queue: Option<SyncSender<Job>>,
}

impl HttpServer {
    pub fn start(
        listener: TcpListener,
        limits: Limits,
        service: Arc<dyn Service>,
    ) -> std::io::Result<HttpServer> {
        let addr = listener.local_addr()?;
        let (queue, jobs) = mpsc::sync_channel::<Job>(limits.queue_size);
        let jobs = Arc::new(Mutex::new(jobs));
        let shared = Arc::new(Shared {
            limits,
            service,
            stopping: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        });
        let mut workers = Vec::new();
        for i in 0..shared.limits.workers {
            let jobs = Arc::clone(&jobs);
            let service = Arc::clone(&shared.service);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || work(&jobs, &*service))?,
            );
        }
        let acceptor = {
            let shared = Arc::clone(&shared);
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("acceptor".into())
                .spawn(move || accept(listener, shared, queue))?
        };
        Ok(HttpServer {
            addr,
            shared,
            acceptor: Some(acceptor),
            workers,
            queue: Some(queue),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, close idle connections, let in-flight requests finish (up to the shutdown
    /// timeout), then stop the workers.
    pub fn shutdown(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(if wake.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = acceptor.join();
        let deadline = Instant::now() + self.shared.limits.shutdown_timeout;
        // Past `give_up`, threads still waiting on a stuck handler are left behind.
        let give_up = deadline + Duration::from_secs(1);
        loop {
            let open: Vec<Arc<Conn>> = lock(&self.shared.conns).values().cloned().collect();
            if open.is_empty() || Instant::now() >= give_up {
                break;
            }
            let late = Instant::now() >= deadline;
            for conn in open {
                if late || conn.state.load(Ordering::SeqCst) == IDLE {
                    let _ = conn.stream.shutdown(Shutdown::Both);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.queue.take();
        while self.workers.iter().any(|w| !w.is_finished()) && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(10));
        }
        for worker in self.workers.drain(..).filter(|w| w.is_finished()) {
            let _ = worker.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn work(jobs: &Mutex<Receiver<Job>>, service: &dyn Service) {
    loop {
        let job = match lock(jobs).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let resp = catch_unwind(AssertUnwindSafe(|| service.handle(&job.req)))
            .unwrap_or_else(|_| Response::error(500, "Internal server error"));
        let _ = job.reply.send(resp);
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>, queue: SyncSender<Job>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                log::warn("accept failed", &[("error", &e)]);
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.active.load(Ordering::SeqCst) >= shared.limits.max_connections {
            refuse_at_once(&stream, &shared);
            continue;
        }
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            stream: clone,
            state: AtomicU8::new(IDLE),
        });
        shared.active.fetch_add(1, Ordering::SeqCst);
        lock(&shared.conns).insert(id, Arc::clone(&conn));
        let thread_shared = Arc::clone(&shared);
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                let _registered = Registered(&thread_shared, id);
                serve(&thread_shared, &conn, stream, &queue);
            });
        if spawned.is_err() {
            if let Some(conn) = lock(&shared.conns).remove(&id) {
                shared.active.fetch_sub(1, Ordering::SeqCst);
                refuse_at_once(&conn.stream, &shared);
            }
        }
    }
}

/// Removes a connection from the registry when its thread ends, even by a panic, so shutdown
/// never waits for a connection that is gone.
struct Registered<'a>(&'a Shared, u64);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.0.conns).remove(&self.1);
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Over the connection limit: answer 503 without blocking the acceptor, and close.
fn refuse_at_once(stream: &TcpStream, shared: &Shared) {
    let mut resp = Response::error(503, "Server is at its connection limit; try again shortly")
        .with_header("Retry-After", "1");
    shared.service.finish(None, &mut resp);
    let _ = stream.set_nonblocking(true);
    let mut stream = stream;
    let _ = stream.write(&resp.to_bytes(false, false, false));
    let _ = stream.shutdown(Shutdown::Write);
}

enum Next {
    Request(Head),
    Close,
    Refuse(Reject, Option<String>),
}

fn serve(shared: &Shared, conn: &Conn, mut stream: TcpStream, queue: &SyncSender<Job>) {
    let limits = &shared.limits;
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let _ = stream.set_write_timeout(Some(limits.write_timeout));
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut first = true;
    loop {
        let head = match read_head(shared, conn, &mut stream, &mut buf, first) {
            Next::Request(head) => head,
            Next::Close => return,
            Next::Refuse(reject, origin) => {
                let mut resp = Response::error(reject.status, reject.detail);
                shared.service.finish(origin.as_deref(), &mut resp);
                return close_after(&mut stream, &resp);
            }
        };
        first = false;
        let origin = head.header("origin").map(str::to_string);
        let total = head.len + head.content_length;
        if head.expect_continue
            && buf.len() < total
            && !head.http10
            && stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
        {
            return;
        }
        let deadline = Instant::now() + limits.body_timeout;
        while buf.len() < total {
            match read_some(&mut stream, &mut buf, deadline) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let rest = buf.split_off(total);
        let body = buf[head.len..].to_vec();
        buf = rest;
        let (keep_alive, http10, is_head) = (head.keep_alive, head.http10, head.method == "HEAD");
        let req = head.into_request(body, peer);

        let (reply, answer) = mpsc::sync_channel(1);
        let mut resp = match queue.try_send(Job { req, reply }) {
            Ok(()) => answer
                .recv()
                .unwrap_or_else(|_| Response::error(500, "Internal server error")),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let mut resp = Response::error(503, "Server is busy; try again shortly")
                    .with_header("Retry-After", "1");
                shared.service.finish(origin.as_deref(), &mut resp);
                return close_after(&mut stream, &resp);
            }
        };
        shared.service.finish(origin.as_deref(), &mut resp);
        let keep = keep_alive && !shared.stopping.load(Ordering::SeqCst);
        if resp.write_to(&mut stream, keep, http10, is_head).is_err() || !keep {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_head(
    shared: &Shared,
    conn: &Conn,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    first: bool,
) -> Next {
    let limits = &shared.limits;
    let mut deadline: Option<Instant> = None;
    let mut scanned = 0;
    loop {
        if buf.is_empty() {
            conn.state.store(IDLE, Ordering::SeqCst);
            if shared.stopping.load(Ordering::SeqCst) {
                return Next::Close;
            }
        } else {
            conn.state.store(BUSY, Ordering::SeqCst);
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + limits.header_timeout);
            if let Some(end) = head_end(buf, scanned) {
                if end > limits.max_head_bytes {
                    return Next::Refuse(
                        Reject {
                            status: 431,
                            detail: "Request head too large",
                        },
                        None,
                    );
                }
                return match parse_head(&buf[..end], limits.max_body_bytes) {
                    Ok(head) => Next::Request(head),
                    Err(reject) => {
                        let origin = parse_origin(&buf[..end]);
                        Next::Refuse(reject, origin)
                    }
                };
            }
            if buf.len() > limits.max_head_bytes {
                return Next::Refuse(
                    Reject {
                        status: 431,
                        detail: "Request head too large",
                    },
                    None,
                );
            }
            scanned = buf.len();
            match read_some(stream, buf, deadline) {
                Ok(0) => return Next::Close,
                Ok(_) => continue,
                Err(e) if is_timeout(&e) => {
                    return Next::Refuse(
                        Reject {
                            status: 408,
                            detail: "Request timed out",
                        },
                        None,
                    )
                }
                Err(_) => return Next::Close,
            }
        }
        let idle = if first {
            limits.header_timeout
        } else {
            limits.keep_alive_timeout
        };
        match read_some(stream, buf, Instant::now() + idle) {
            Ok(0) | Err(_) => return Next::Close,
            Ok(_) => {}
        }
    }
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// One read, bounded by `deadline`.
fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> std::io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left))?;
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Send a final response and close. The unread rest of the request is not read, but a short,
/// bounded drain after our FIN keeps the kernel from answering with a reset that would destroy the
/// response before the client reads it.
fn close_after(stream: &mut TcpStream, resp: &Response) {
    if stream
        .write_all(&resp.to_bytes(false, false, false))
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut drained = 0usize;
    let mut sink = Vec::new();
    while drained < 256 * 1024 {
        sink.clear();
        match read_some(stream, &mut sink, deadline) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
