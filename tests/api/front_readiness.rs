//! The readiness-driven front: idle, slow and trickling connections hold no worker.

use crate::support::*;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn two_thousand_idle_connections_do_not_block_a_request() {
    let app = TestApp::with(|c| {
        c.workers = 2;
        c.db_pool_size = 2;
    });
    let mut idle = Vec::new();
    for i in 0..2000 {
        let mut raw = Raw::connect(app.addr);
        // Half have been used once and sit idle between requests; half never sent anything.
        if i % 2 == 0 {
            raw.send(&get_request("/"));
            assert_eq!(raw.response().expect("a response").status, 200);
        }
        idle.push(raw);
    }
    let started = Instant::now();
    let health = app.get("/health", None);
    assert_eq!(health.status, 200);
    assert!(
        started.elapsed() < 5 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    // The used ones are still being kept alive.
    let raw = &mut idle[0];
    raw.send(&get_request("/"));
    assert_eq!(raw.response().expect("a second response").status, 200);
}

/// A client socket with a tiny receive buffer, so a large response fills both socket buffers.
fn small_window_client(addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(v4) = addr else {
        panic!("the test server listens on IPv4")
    };
    // SAFETY: socket setup on a descriptor we own; handed to TcpStream right after connect.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

#[test]
fn clients_reading_a_large_response_slowly_hold_no_worker() {
    let app = TestApp::with(|c| {
        c.workers = 2;
        c.db_pool_size = 2;
        c.queue_wait = 30 * SECOND;
    });
    let user = app.user();
    app.sql()
        .execute(
            "INSERT INTO tasks (user_id, list_id, title, description)
             SELECT $1::text::uuid, $2::text::uuid, 'task ' || g, repeat('d', 1000)
             FROM generate_series(1, 5000) g",
            &[&user.id, &inbox_id(&app, &user)],
        )
        .unwrap();
    let request = format!(
        "GET /api/{}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        user.id, user.token
    );
    // Twice as many slow readers as workers, each with a 5 MB response (more than the kernel
    // buffers) that it does not read yet.
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = small_window_client(app.addr);
            s.write_all(request.as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(app.get("/health", None).status, 200);
        assert!(
            started.elapsed() < 5 * SECOND,
            "took {:?}",
            started.elapsed()
        );
    }
    // The writes were only waiting: every slow reader still gets its whole response.
    for s in &mut slow {
        s.set_read_timeout(Some(10 * SECOND)).unwrap();
        let resp = read_response(s).expect("the whole response");
        assert_eq!(resp.status, 200, "{}", resp.head);
        // Complete to the last byte of its Content-Length (JSON parsing 5 MB in a debug build
        // would only slow the rest of the suite down).
        assert!(resp.body.len() > 5_000_000 && resp.body.ends_with(']'));
    }
}

/// One response framed by Content-Length (the stream must carry nothing after it).
pub fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let l = l.to_ascii_lowercase();
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                let status = head.get(9..12)?.parse().ok()?;
                return Some(RawResponse { status, head, body });
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn a_request_sent_one_byte_at_a_time_is_parsed() {
    let app = TestApp::spawn();
    let body = json!({ "name": "Slow Typist", "email": "slow@example.com", "password": PASSWORD })
        .to_string();
    let request = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    for byte in request.as_bytes() {
        stream.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_micros(500));
    }
    let resp = read_response(&mut stream).expect("a response");
    assert_eq!(resp.status, 201, "{}", resp.body);
    stream.write_all(&get_request("/health")).unwrap();
    assert_eq!(read_response(&mut stream).expect("a second").status, 200);
}

#[test]
fn a_response_the_client_never_reads_is_dropped_after_the_write_timeout() {
    let app = TestApp::with(|c| c.write_timeout = SECOND);
    let user = app.user();
    app.sql()
        .execute(
            "INSERT INTO tasks (user_id, list_id, title, description)
             SELECT $1::text::uuid, $2::text::uuid, 'task ' || g, repeat('d', 1000)
             FROM generate_series(1, 5000) g",
            &[&user.id, &inbox_id(&app, &user)],
        )
        .unwrap();
    let mut s = small_window_client(app.addr);
    s.write_all(
        format!(
            "GET /api/{}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            user.id, user.token
        )
        .as_bytes(),
    )
    .unwrap();
    // Once the response has started arriving, stop reading for longer than the write timeout.
    s.set_read_timeout(Some(60 * SECOND)).unwrap();
    s.peek(&mut [0u8; 1]).expect("the response starts");
    std::thread::sleep(4 * SECOND);
    // Now read: what the kernel buffered, then the connection ends short of the 5 MB.
    s.set_read_timeout(Some(5 * SECOND)).unwrap();
    let mut total = 0;
    let mut chunk = [0u8; 65536];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(total < 5_000_000, "read {total} bytes");
}
