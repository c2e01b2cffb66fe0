//! Raw HTTP/1.1 over a socket, for what a well-behaved client library would not send.

pub use super::raw_client::{RawClient, RawResponse};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub fn read_all(stream: &mut TcpStream, wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).ok();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Status codes of every response in a raw HTTP/1.1 byte stream, in order.
pub fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

/// The library's raw client (shared with the bench), failing the test where it cannot connect or write.
pub struct Raw(RawClient);

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        Raw(RawClient::connect(addr, Duration::from_secs(10)).expect("connect"))
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.0.send(bytes).expect("write");
    }

    /// The next response, or `None` when the server closed the connection first.
    pub fn response(&mut self) -> Option<RawResponse> {
        self.0.response()
    }

    /// True when the server has closed: a read returns end of file (or reset) within `wait`.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.0.closed_within(wait)
    }
}

pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}
