//! The server: one epoll set holding the listener and every connection, a fixed pool of workers
//! that wait on it themselves (leader/followers: each ready socket wakes one worker, which reads,
//! parses, runs the handler and writes with no hand-off), a timer thread, and graceful shutdown.

use super::accept::{accept_batch, Acceptor};
use super::conn::Phase;
use super::gate::Gate;
use super::poll::{Epoll, EventFd, READ, WRITE};
use super::registry::{lock, Registry};
use super::serve::{on_event, Outcome, Worker};
use super::stream::Outlet;
use super::timer::{self, now_ms};
use super::{Request, Response};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the front needs from the application.
pub trait Service: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Response;
    /// Applied to every response, the front's own refusals included (CORS lives here).
    fn finish(&self, _origin: Option<&str>, _resp: &mut Response) {}
    /// Called once at start with the handle through which event streams are written.
    fn attach(&self, _outlet: Outlet) {}
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_head_bytes: usize,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    /// Longest a ready request may wait for a worker; past it, requests are answered 503.
    pub queue_wait: Duration,
    pub workers: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
}

pub const LISTENER: u64 = u64::MAX;
const WAKE: u64 = u64::MAX - 1;
const HEARTBEAT: u64 = u64::MAX - 2;
/// How long a connection that has sent nothing yet gets to send its request once shutdown begins.
const STOP_GRACE_MS: u64 = 1000;

pub struct Shared {
    pub limits: Limits,
    pub service: Arc<dyn Service>,
    pub epoll: Epoll,
    pub registry: Registry,
    pub acceptor: Mutex<Acceptor>,
    pub stopping: AtomicBool,
    stopped_at: AtomicU64,
    pub exit: AtomicBool,
    /// Level-triggered: once signalled, every waiting worker wakes and sees `exit`.
    wake: EventFd,
    /// Posted by the timer into the ready list; its age while unread is how long ready sockets
    /// are waiting for a worker (the list is served in order).
    pub heartbeat: EventFd,
    pub heartbeat_posted: AtomicU64,
    pub refused_no_fd: AtomicU64,
    gate: Arc<Gate>,
    pub accept_errors: AtomicU64,
    pub header_timeout_ms: u64,
    pub body_timeout_ms: u64,
    pub keep_alive_ms: u64,
    pub write_timeout_ms: u64,
    queue_wait_ms: u64,
}

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128 / 2) as u64
}

impl Shared {
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn overloaded(&self) -> bool {
        let posted = self.heartbeat_posted.load(Ordering::Relaxed);
        posted != 0 && now_ms().saturating_sub(posted) > self.queue_wait_ms
    }

    pub fn stopped_grace_deadline(&self) -> u64 {
        let grace = STOP_GRACE_MS.min(self.header_timeout_ms);
        self.stopped_at.load(Ordering::SeqCst) + grace
    }

    pub fn first_request_deadline(&self) -> u64 {
        let deadline = now_ms() + self.header_timeout_ms;
        if self.is_stopping() {
            deadline.min(self.stopped_grace_deadline())
        } else {
            deadline
        }
    }
}

pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    running: bool,
}

impl HttpServer {
    pub fn start(
        listener: TcpListener,
        limits: Limits,
        service: Arc<dyn Service>,
    ) -> std::io::Result<HttpServer> {
        super::accept::raise_nofile_limit();
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        super::accept::deepen_backlog(&listener)?;
        let epoll = Epoll::new()?;
        let (wake, heartbeat) = (EventFd::new()?, EventFd::new()?);
        epoll.add_level(wake.raw(), WAKE)?;
        epoll.add_oneshot(heartbeat.raw(), HEARTBEAT, READ)?;
        epoll.add_oneshot(listener.as_raw_fd(), LISTENER, READ)?;
        let limits_workers = limits.workers;
        let shared = Arc::new(Shared {
            registry: Registry::new(limits.max_connections),
            header_timeout_ms: millis(limits.header_timeout),
            body_timeout_ms: millis(limits.body_timeout),
            keep_alive_ms: millis(limits.keep_alive_timeout),
            write_timeout_ms: millis(limits.write_timeout),
            queue_wait_ms: millis(limits.queue_wait),
            limits,
            service,
            epoll,
            acceptor: Mutex::new(Acceptor::new(listener)),
            stopping: AtomicBool::new(false),
            stopped_at: AtomicU64::new(0),
            exit: AtomicBool::new(false),
            wake,
            heartbeat,
            heartbeat_posted: AtomicU64::new(0),
            refused_no_fd: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            gate: Arc::new(Gate::new(crate::config::serving_workers(limits_workers))),
        });
        shared.service.attach(Outlet(Arc::downgrade(&shared)));
        let mut server = HttpServer {
            addr,
            shared: Arc::clone(&shared),
            threads: Vec::new(),
            running: true,
        };
        for i in 0..shared.limits.workers.max(1) {
            let sh = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || work(&sh));
            server.spawned(spawned)?;
        }
        let sh = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("timer".into())
            .spawn(move || timer::run(&sh));
        server.spawned(spawned)?;
        Ok(server)
    }

    /// Keeps a started thread; on failure stops the ones already started (via Drop).
    fn spawned(&mut self, t: std::io::Result<JoinHandle<()>>) -> std::io::Result<()> {
        self.threads.push(t?);
        Ok(())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting (serving what the kernel already accepted), close idle connections between
    /// requests, let requests in progress finish (up to the shutdown timeout), then stop.
    pub fn shutdown(&mut self) {
        if !std::mem::replace(&mut self.running, false) {
            return;
        }
        let sh = &*self.shared;
        sh.stopped_at.store(now_ms(), Ordering::SeqCst);
        sh.stopping.store(true, Ordering::SeqCst);
        // Whatever is in the listen backlog was accepted by the kernel: take it and serve it
        // (or answer 503 if it sends nothing), then close the listener so new clients are refused.
        {
            let mut acc = lock(&sh.acceptor);
            if let Some(l) = &acc.listener {
                let _ = sh.epoll.delete(l.as_raw_fd());
            }
            drop(acc);
            accept_batch(sh, true);
            acc = lock(&sh.acceptor);
            acc.listener = None;
        }
        let deadline = Instant::now() + sh.limits.shutdown_timeout;
        // Past `give_up`, workers still inside a stuck handler are left behind.
        let give_up = deadline + Duration::from_secs(1);
        while sh.registry.open() > 0 && Instant::now() < give_up {
            if Instant::now() >= deadline {
                for (token, conn) in sh.registry.scan(false, |_, _| true) {
                    sh.registry.release(token);
                    drop(conn);
                }
            } else {
                // Repeated, because a connection a worker holds now is idle and parked later.
                kick_idle(sh);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop_threads(give_up);
    }

    fn stop_threads(&mut self, give_up: Instant) {
        self.shared.exit.store(true, Ordering::SeqCst);
        self.shared.wake.signal();
        while self.threads.iter().any(|t| !t.is_finished()) && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        for t in self.threads.drain(..).filter(|t| t.is_finished()) {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Idle connections that have been used get one more read from a worker, which closes them if
/// nothing arrived (and serves the request if one did); ones that never sent anything get a short
/// grace to send their request, after which the timer answers them 503. Event streams end once
/// what they have to send is sent: the client sees the stream end and reconnects elsewhere.
fn kick_idle(sh: &Shared) {
    let grace = sh.stopped_grace_deadline();
    sh.registry.scan(false, |token, conn| {
        if conn.phase == Phase::Stream && !conn.unsent() {
            conn.begin_linger();
            let _ = sh.epoll.rearm(conn.sock.as_raw_fd(), token, READ);
        } else if conn.phase == Phase::Idle && !conn.unsent() {
            if conn.served > 0 {
                let _ = sh.epoll.rearm(conn.sock.as_raw_fd(), token, READ | WRITE);
            } else {
                conn.deadline = conn.deadline.min(grace);
            }
        }
        false
    });
}

fn work(sh: &Shared) {
    let mut w = Worker::new();
    sh.gate.join();
    let mut held = false;
    while !sh.exit.load(Ordering::SeqCst) {
        if !sh.gate.take_place(&mut held, &sh.exit) {
            break;
        }
        let (token, _events) = match sh.epoll.wait_one(1000) {
            Ok(Some(ev)) => ev,
            Ok(None) => continue,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        match token {
            WAKE => continue,
            LISTENER => accept_batch(sh, false),
            HEARTBEAT => {
                sh.heartbeat.drain();
                sh.heartbeat_posted.store(0, Ordering::SeqCst);
                let _ = sh.epoll.rearm(sh.heartbeat.raw(), HEARTBEAT, READ);
            }
            token => {
                // A panic outside the handler (a bug in the front) costs that connection only:
                // the checkout guard frees its slot while unwinding.
                let _ = catch_unwind(AssertUnwindSafe(|| serve_token(sh, &mut w, token)));
            }
        }
    }
}

struct Checkout<'a> {
    sh: &'a Shared,
    token: u64,
    done: bool,
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.sh.registry.release(self.token);
        }
    }
}

fn serve_token(sh: &Shared, w: &mut Worker, token: u64) {
    w.opened = None;
    let Some(mut conn) = sh.registry.checkout(token) else {
        return;
    };
    let mut guard = Checkout {
        sh,
        token,
        done: false,
    };
    let outcome = on_event(w, sh, &mut conn);
    guard.done = true;
    match outcome {
        Outcome::Arm(interest) => {
            let fd = conn.sock.as_raw_fd();
            sh.registry.checkin(token, conn, interest, |_, interest| {
                sh.epoll.rearm(fd, token, interest)
            });
            if let Some(opened) = w.opened.take() {
                opened(token);
            }
        }
        Outcome::Close => {
            w.opened = None;
            sh.registry.release(token);
            drop(conn);
        }
    }
}
