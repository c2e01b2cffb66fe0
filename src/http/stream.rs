//! Event streams: a response that stays open. Its connection is parked in the registry like any
//! other, holding no worker and no thread; whichever thread has an event for it writes through an
//! `Outlet` under the connection's slot lock. A write the socket does not take is kept and
//! finished by a worker on writability; a client that stops reading for the write timeout, or
//! falls more than `MAX_UNSENT` behind, is dropped.

use super::conn::{Phase, Sent};
use super::poll::{READ, WRITE};
use super::registry::Held;
use super::server::Shared;
use super::timer::now_ms;
use std::os::fd::AsRawFd;
use std::sync::Weak;

const MAX_UNSENT: usize = 1024 * 1024;

/// The application's handle on open streams (given to it by `Service::attach`).
#[derive(Clone)]
pub struct Outlet(pub(super) Weak<Shared>);

impl Outlet {
    /// Sends `bytes` on the stream `token`; `false` once that stream is gone.
    pub fn send(&self, token: u64, bytes: &[u8]) -> bool {
        let Some(sh) = self.0.upgrade() else {
            return false;
        };
        let mut alive = false;
        sh.registry.with(token, |held| match held {
            Held::Out(inbox) => {
                inbox.extend_from_slice(bytes);
                alive = true;
                false
            }
            Held::Parked(conn) if conn.phase != Phase::Stream => false,
            Held::Parked(conn) if conn.unsent() => {
                if conn.unsent_len() + bytes.len() > MAX_UNSENT {
                    return true;
                }
                conn.queue(bytes);
                alive = true;
                false
            }
            Held::Parked(conn) => match conn.send(bytes, Vec::new()) {
                Sent::Done => {
                    alive = true;
                    false
                }
                Sent::Blocked => {
                    conn.deadline = now_ms() + sh.write_timeout_ms;
                    let fd = conn.sock.as_raw_fd();
                    alive = sh.epoll.rearm(fd, token, READ | WRITE).is_ok();
                    !alive
                }
                Sent::Failed => true,
            },
        });
        alive
    }

    /// Closes the stream `token` unless a thread is writing it just now; `true` once it is gone.
    pub fn close(&self, token: u64) -> bool {
        let Some(sh) = self.0.upgrade() else {
            return true;
        };
        let mut busy = false;
        sh.registry.with(token, |held| match held {
            Held::Parked(_) => true,
            Held::Out(_) => {
                busy = true;
                false
            }
        });
        !busy
    }

    /// Is `token` still an open connection?
    pub fn alive(&self, token: u64) -> bool {
        self.0
            .upgrade()
            .is_some_and(|sh| sh.registry.with(token, |_| false))
    }
}
