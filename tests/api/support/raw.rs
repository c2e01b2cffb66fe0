//! Raw HTTP/1.1 over a socket, for what a well-behaved client library would not send.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use todo_api::http::parse::head_end;

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

/// A raw HTTP/1.1 connection that reads responses one at a time, framed by Content-Length.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next response, or `None` when the server closed the connection first.
    pub fn response(&mut self) -> Option<RawResponse> {
        loop {
            if let Some(head_len) = head_end(&self.buf, 0) {
                let head = String::from_utf8_lossy(&self.buf[..head_len])
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let status = head.get(9..12)?.parse().ok()?;
                let no_body = status == 100 || head.starts_with("HTTP/1.1 100");
                let total = head_len + if no_body { 0 } else { length };
                if self.buf.len() >= total {
                    let body = String::from_utf8_lossy(&self.buf[head_len..total]).into_owned();
                    self.buf.drain(..total);
                    return Some(RawResponse { status, head, body });
                }
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// True when the server has closed: a read returns end of file (or reset) within `wait`.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).ok();
        let mut chunk = [0u8; 4096];
        let started = std::time::Instant::now();
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return started.elapsed() <= wait,
            }
        }
    }
}

pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}
