//! Graceful shutdown loses nothing: requests already read are answered, connections the kernel
//! already accepted are answered rather than reset, idle connections are closed between requests.

use crate::front_readiness::read_response;
use crate::support::*;
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use todo_api::http::{HttpServer, Limits, Request, Response, Service};

const SECOND: Duration = Duration::from_secs(1);

/// `/slow` takes 600 ms; every request is counted.
#[derive(Default)]
struct Counted {
    handled: AtomicUsize,
}

impl Service for Counted {
    fn handle(&self, req: &Request) -> Response {
        if req.path == "/slow" {
            std::thread::sleep(Duration::from_millis(600));
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Response::json(200, &json!({ "path": req.path }))
    }
}

fn one_worker(service: Arc<Counted>) -> HttpServer {
    let limits = Limits {
        max_head_bytes: 16 * 1024,
        max_body_bytes: 1024,
        max_connections: 100,
        queue_wait: 10 * SECOND,
        workers: 1,
        header_timeout: 5 * SECOND,
        body_timeout: 5 * SECOND,
        keep_alive_timeout: 30 * SECOND,
        write_timeout: 5 * SECOND,
        shutdown_timeout: 5 * SECOND,
    };
    HttpServer::start(TcpListener::bind("127.0.0.1:0").unwrap(), limits, service).unwrap()
}

/// Shuts the server down on another thread; returns when shutdown has begun.
fn shut_down_in_background(mut server: HttpServer) -> std::thread::JoinHandle<Duration> {
    let handle = std::thread::spawn(move || {
        let started = Instant::now();
        server.shutdown();
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(50));
    handle
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(10 * SECOND)).unwrap();
    s
}

/// Reads to the end; panics on a reset.
fn read_to_clean_end(stream: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => panic!("connection reset"),
            Err(e) => panic!("no clean end: {e}"),
        }
    }
}

#[test]
fn a_request_that_arrives_as_shutdown_begins_is_answered_with_connection_close() {
    let service = Arc::new(Counted::default());
    let server = one_worker(Arc::clone(&service));
    let addr = server.local_addr();
    let mut keep_alive = connect(addr);
    keep_alive.write_all(&get_request("/first")).unwrap();
    assert_eq!(read_response(&mut keep_alive).unwrap().status, 200);
    // The only worker is busy, so the next request on the idle connection is not read yet when
    // shutdown begins.
    let mut busy = connect(addr);
    busy.write_all(&get_request("/slow")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    keep_alive.write_all(&get_request("/second")).unwrap();
    let stopping = shut_down_in_background(server);
    let resp = read_response(&mut keep_alive).expect("the second request is answered");
    assert_eq!(resp.status, 200);
    assert!(resp.head.contains("Connection: close"), "{}", resp.head);
    assert!(resp.body.contains("/second"));
    assert_eq!(read_to_clean_end(&mut keep_alive), 0);
    assert_eq!(read_response(&mut busy).unwrap().status, 200);
    assert!(stopping.join().unwrap() < 5 * SECOND);
    assert_eq!(service.handled.load(Ordering::SeqCst), 3);
}

#[test]
fn connections_waiting_in_the_backlog_get_a_response_not_a_reset() {
    let service = Arc::new(Counted::default());
    let server = one_worker(Arc::clone(&service));
    let addr = server.local_addr();
    let mut busy = connect(addr);
    busy.write_all(&get_request("/slow")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // The worker is inside the slow handler: these wait in the listen backlog.
    let mut waiting: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut s = connect(addr);
            s.write_all(&get_request(&format!("/queued/{i}"))).unwrap();
            s
        })
        .collect();
    let mut silent = connect(addr);
    std::thread::sleep(Duration::from_millis(50));
    let stopping = shut_down_in_background(server);
    assert!(
        TcpStream::connect(addr).is_err(),
        "new connections are refused once shutdown began"
    );
    for s in &mut waiting {
        let resp = read_response(s).expect("a response, not a reset");
        assert!(resp.status == 200 || resp.status == 503, "{}", resp.head);
        assert!(resp.head.contains("Connection: close"), "{}", resp.head);
        read_to_clean_end(s);
    }
    // One that connected but never sent a request is told to come back, not reset.
    let resp = read_response(&mut silent).expect("a response for the silent connection");
    assert_eq!(resp.status, 503);
    assert!(resp.head.contains("Connection: close"), "{}", resp.head);
    assert_eq!(read_response(&mut busy).unwrap().status, 200);
    assert!(stopping.join().unwrap() < 5 * SECOND);
}

#[test]
fn idle_keep_alive_connections_are_closed_cleanly_at_shutdown() {
    let service = Arc::new(Counted::default());
    let server = one_worker(Arc::clone(&service));
    let addr = server.local_addr();
    let mut idle: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(&get_request("/")).unwrap();
            assert_eq!(read_response(&mut s).unwrap().status, 200);
            s
        })
        .collect();
    let stopping = shut_down_in_background(server);
    for s in &mut idle {
        assert_eq!(read_to_clean_end(s), 0, "closed with no stray bytes");
    }
    assert!(stopping.join().unwrap() < 3 * SECOND);
}
