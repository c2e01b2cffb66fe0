//! A raw HTTP/1.1 client, for the tests and the bench (never shipped in the server): it sends bytes
//! as given, so it can send what a well-behaved client library would not, and reads responses one
//! at a time, framed by Content-Length (or, without one, by the end of the stream).

// Shared by two crates, each of which uses only part of it.
#![allow(dead_code)]
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use todo_api::http::parse::head_end;

pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

pub struct RawResponse {
    pub status: u16,
    /// Status line and headers, without the blank line.
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl RawClient {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<RawClient> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(RawClient {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next response, or `None` when the connection ends (or times out) first.
    pub fn response(&mut self) -> Option<RawResponse> {
        let mut ended = false;
        loop {
            if let Some(resp) = self.take(ended) {
                return Some(resp);
            }
            if ended {
                return None;
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => ended = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn take(&mut self, ended: bool) -> Option<RawResponse> {
        let head_len = head_end(&self.buf, 0)?;
        let status = status(&self.buf)?;
        let length = match content_length(&self.buf[..head_len]) {
            _ if status == 100 => 0,
            Some(length) => length,
            None if ended => self.buf.len() - head_len,
            None => return None,
        };
        let total = head_len + length;
        if self.buf.len() < total {
            return None;
        }
        let head = String::from_utf8_lossy(&self.buf[..head_len])
            .trim_end_matches(['\r', '\n'])
            .to_string();
        let body = String::from_utf8_lossy(&self.buf[head_len..total]).into_owned();
        self.buf.drain(..total);
        Some(RawResponse { status, head, body })
    }

    /// True when the server has closed: a read returns end of file (or reset) within `wait`.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut chunk = [0u8; 4096];
        let started = Instant::now();
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return started.elapsed() <= wait,
            }
        }
    }
}

/// One request on a new connection (`Connection: close`), answered within `timeout`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<RawResponse> {
    let mut client = RawClient::connect(addr, timeout)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    client.send(head.as_bytes())?;
    client.send(body)?;
    client
        .response()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no complete response"))
}

/// The status code of a response starting with `HTTP/1.x NNN`.
pub fn status(buf: &[u8]) -> Option<u16> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()
}

/// The Content-Length of a response head, if it has one.
pub fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}
