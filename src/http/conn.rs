//! One connection's state between events, and the socket I/O on it. A connection holds no thread:
//! between events it is this struct, parked in the registry. The bytes of a request that has not
//! fully arrived and the rest of a response the client has not taken yet are kept here; an idle
//! connection keeps no buffer at all (workers lend theirs).

use super::parse::Head;
use super::timer::now_ms;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Between requests (or before the first): nothing buffered.
    Idle,
    /// Part of a request head has arrived.
    Head,
    /// The head is parsed (`Conn::pending`); waiting for the rest of the body.
    Body,
    /// Final response sent and our side shut down: reading and discarding what the client still
    /// sends, briefly, so that closing does not reset the connection under the response.
    Linger,
    /// An event stream: the response goes on for as long as the connection lives; whatever
    /// thread has an event for it writes it (see `stream.rs`). What the client sends is discarded.
    Stream,
}

/// The deadline of a connection that has none (a stream with nothing waiting to be written).
pub const NEVER: u64 = u64::MAX;

pub struct Conn {
    pub sock: TcpStream,
    pub phase: Phase,
    /// Milliseconds on the `timer::now_ms` clock when the timer closes this connection.
    pub deadline: u64,
    /// Bytes read but not yet consumed (a partial request, or pipelined ones).
    pub input: Vec<u8>,
    /// How far `input` has been searched for the end of the head.
    pub scanned: usize,
    pub pending: Option<Head>,
    /// Response bytes the socket has not taken yet: `out[out_pos..]`, then `body[body_pos..]`.
    pub out: Vec<u8>,
    pub out_pos: usize,
    pub body: Vec<u8>,
    pub body_pos: usize,
    /// After the unsent bytes are written: shut down and linger instead of reading on.
    pub close_after: bool,
    /// Requests answered on this connection.
    pub served: u32,
    /// Bytes discarded while lingering.
    pub discarded: usize,
    /// The client's address, read once at accept.
    pub peer: Option<std::net::IpAddr>,
}

pub enum Sent {
    Done,
    Blocked,
    Failed,
}

impl Conn {
    pub fn new(sock: TcpStream, deadline: u64) -> Conn {
        let peer = sock.peer_addr().ok().map(|a| a.ip());
        Conn {
            peer,
            sock,
            phase: Phase::Idle,
            deadline,
            input: Vec::new(),
            scanned: 0,
            pending: None,
            out: Vec::new(),
            out_pos: 0,
            body: Vec::new(),
            body_pos: 0,
            close_after: false,
            served: 0,
            discarded: 0,
        }
    }

    pub fn unsent(&self) -> bool {
        self.out_pos < self.out.len() || self.body_pos < self.body.len()
    }

    /// Writes `head` then `body` without blocking; what the socket does not take is kept here
    /// (copied for `head`, moved for `body`) to be finished on writability.
    pub fn send(&mut self, head: &[u8], body: Vec<u8>) -> Sent {
        let (mut hpos, mut bpos) = (0, 0);
        let result = loop {
            if hpos == head.len() && bpos == body.len() {
                break Sent::Done;
            }
            match send_two(&self.sock, &head[hpos..], &body[bpos..]) {
                Ok(n) => {
                    let from_head = n.min(head.len() - hpos);
                    hpos += from_head;
                    bpos += n - from_head;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Sent::Blocked,
                Err(_) => break Sent::Failed,
            }
        };
        if let Sent::Blocked = result {
            self.out.clear();
            self.out.extend_from_slice(&head[hpos..]);
            self.out_pos = 0;
            self.body = body;
            self.body_pos = bpos;
        }
        result
    }

    pub fn unsent_len(&self) -> usize {
        (self.out.len() - self.out_pos) + (self.body.len() - self.body_pos)
    }

    /// Appends `bytes` behind what is still to be sent (a stream's next events).
    pub fn queue(&mut self, bytes: &[u8]) {
        if self.body_pos < self.body.len() {
            self.body.drain(..self.body_pos);
            self.body_pos = 0;
            self.body.extend_from_slice(bytes);
        } else {
            (self.body, self.body_pos) = (Vec::new(), 0);
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
            self.out.extend_from_slice(bytes);
        }
    }

    pub fn discard_unsent(&mut self) {
        self.out = Vec::new();
        self.body = Vec::new();
        (self.out_pos, self.body_pos) = (0, 0);
    }

    /// Continues writing the kept bytes. Progress moves the write deadline on.
    pub fn flush(&mut self, write_timeout_ms: u64) -> Sent {
        loop {
            if !self.unsent() {
                self.discard_unsent();
                return Sent::Done;
            }
            match send_two(
                &self.sock,
                &self.out[self.out_pos..],
                &self.body[self.body_pos..],
            ) {
                Ok(n) => {
                    let from_head = n.min(self.out.len() - self.out_pos);
                    self.out_pos += from_head;
                    self.body_pos += n - from_head;
                    self.deadline = now_ms() + write_timeout_ms;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Sent::Blocked,
                Err(_) => return Sent::Failed,
            }
        }
    }

    /// Our side is done: send FIN now and discard the client's late bytes for at most
    /// `LINGER_MS`, so closing later does not turn into a reset that destroys the response.
    pub fn begin_linger(&mut self) {
        let _ = self.sock.shutdown(Shutdown::Write);
        self.phase = Phase::Linger;
        self.pending = None;
        self.input = Vec::new();
        self.deadline = now_ms() + LINGER_MS;
    }

    /// Reads and discards. True while the connection should keep lingering.
    pub fn linger(&mut self, scratch: &mut Vec<u8>) -> bool {
        loop {
            scratch.clear();
            match read_into(&self.sock, scratch, 16 * 1024) {
                Ok(0) => return false,
                Ok(n) => {
                    self.discarded += n;
                    if self.discarded > LINGER_BYTES {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

pub const LINGER_MS: u64 = 500;
const LINGER_BYTES: usize = 256 * 1024;

/// One `recv` appending at most `room` bytes to `buf` (reusing its spare capacity).
pub fn read_into(sock: &TcpStream, buf: &mut Vec<u8>, room: usize) -> io::Result<usize> {
    buf.reserve(room);
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(room);
    loop {
        // SAFETY: the kernel writes at most `len` bytes into spare capacity we own.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                len,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let n = n as usize;
        // SAFETY: `n` bytes past the old length were just initialised by recv.
        unsafe { buf.set_len(buf.len() + n) };
        return Ok(n);
    }
}

/// One `sendmsg` of two slices; never raises SIGPIPE.
fn send_two(sock: &TcpStream, a: &[u8], b: &[u8]) -> io::Result<usize> {
    let mut iov = [
        libc::iovec {
            iov_base: a.as_ptr() as *mut libc::c_void,
            iov_len: a.len(),
        },
        libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        },
    ];
    // SAFETY: a zeroed msghdr is valid; we set only the iovec fields.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = if b.is_empty() { 1 } else { 2 };
    // SAFETY: the iovecs point into slices that outlive the call.
    let n = unsafe {
        libc::sendmsg(
            sock.as_raw_fd(),
            &msg,
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Best effort, never blocking: answer a connection we will not keep and close it.
pub fn refuse_now(sock: &TcpStream, bytes: &[u8]) {
    let _ = send_two(sock, bytes, &[]);
    // What already arrived is read first: closing with unread bytes would send a reset.
    let mut sink = Vec::new();
    let _ = read_into(sock, &mut sink, 64 * 1024);
    let _ = sock.shutdown(Shutdown::Write);
}
