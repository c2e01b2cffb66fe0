//! Accepting under pressure, through the built binary: out of file descriptors the server refuses
//! at once and answers again afterwards; a burst of connections it cannot accept yet waits in the
//! listen backlog instead of being dropped.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FD_LIMIT: libc::rlim_t = 128;

fn start_with_few_descriptors() -> Running {
    start(Some(FD_LIMIT))
}

/// The binary with its descriptor limit lowered to `fd_limit`, if given, before it starts.
fn start(fd_limit: Option<libc::rlim_t>) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(temp_dir("fds"))
        .env_clear()
        .envs(coverage_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATABASE_URL", fresh_database())
        .env("JWT_SECRET_KEY", SECRET)
        .env("WORKERS", "2")
        // Above what the descriptors allow, so the descriptors run out first.
        .env("MAX_CONNECTIONS", "1000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let Some(limit) = fd_limit else {
        return run(cmd);
    };
    // SAFETY: setrlimit is async-signal-safe; it only lowers this child's own limit.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run(cmd)
}

fn health(addr: SocketAddr) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let raw = read_all(&mut s, Duration::from_secs(2));
    raw.get(9..12)?.parse().ok()
}

#[test]
fn out_of_descriptors_new_clients_are_refused_at_once_and_served_again_afterwards() {
    let server = start_with_few_descriptors();
    assert_eq!(health(server.addr), Some(200));
    let started = Instant::now();
    // Twice as many connections as the server has descriptors.
    let flood: Vec<TcpStream> = (0..2 * FD_LIMIT)
        .filter_map(|_| TcpStream::connect(server.addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (mut refused, mut held) = (0, 0);
    for mut s in flood.iter() {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk) {
            // Held open: waiting for a request, as it should.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => held += 1,
            Ok(n) => {
                let text = String::from_utf8_lossy(&chunk[..n]);
                assert!(n == 0 || text.starts_with("HTTP/1.1 503"), "{text}");
                refused += 1;
            }
            Err(_) => refused += 1,
        }
    }
    assert!(held > 0, "nothing was served");
    assert!(refused > 0, "nothing was refused: {held} held");
    drop(flood);
    let recovered = Instant::now();
    loop {
        if health(server.addr) == Some(200) {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_secs(10),
            "never answered again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1100));
    let warnings = server
        .log
        .try_iter()
        .filter(|l| l.contains("out of file descriptors"))
        .count();
    let seconds = started.elapsed().as_secs() as usize + 1;
    assert!(
        (1..=seconds).contains(&warnings),
        "{warnings} warnings in {seconds} s: logged per attempt, not per interval?"
    );
}

/// Sends `signal` to the server's process.
fn signal(server: &Running, signal: libc::c_int) {
    // SAFETY: kill takes a pid this test started and a signal number.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as libc::pid_t, signal) },
        0
    );
}

#[test]
fn a_burst_of_connections_the_server_cannot_accept_yet_waits_in_the_backlog_and_is_served() {
    const BURST: usize = 600;
    let server = start(None);
    assert_eq!(health(server.addr), Some(200));
    // Stopped, the server accepts nothing; the kernel completes each connection into the listen
    // backlog while there is room, and drops the SYN of any that does not fit (its client then
    // waits a second to try again, longer than the timeout here).
    signal(&server, libc::SIGSTOP);
    let mut connected = Vec::new();
    let mut failed = None;
    while connected.len() < BURST && failed.is_none() {
        match TcpStream::connect_timeout(&server.addr, Duration::from_millis(500)) {
            Ok(s) => connected.push(s),
            Err(e) => failed = Some(e),
        }
    }
    signal(&server, libc::SIGCONT);
    assert!(
        failed.is_none(),
        "connection {} of {BURST} was not taken while the server was stopped: {failed:?}",
        connected.len() + 1
    );
    for s in connected.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
    }
    for s in connected.iter_mut() {
        let raw = read_all(s, Duration::from_secs(5));
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    }
}
