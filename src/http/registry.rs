//! Every open connection, in a slab of slots addressed by the epoll token: slot index in the low
//! 32 bits, the slot's generation in the high 32. Closing a connection bumps its slot's generation,
//! so an event still in flight for it can never reach the connection that reuses the slot (or the
//! descriptor number).
//!
//! A connection is either parked in its slot (armed in epoll, or waiting for the timer) or checked
//! out by exactly one thread: a worker serving an event, the timer closing it, shutdown. Whoever
//! checks it out either puts it back and re-arms it, or closes it; an event that finds its
//! connection checked out is dropped, because the holder's re-arm brings it back. Any thread may
//! check a parked connection out by its token, so a connection can later be parked holding no
//! thread and written to by whichever thread has something for it (server-sent events).

use super::conn::Conn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum State {
    Free,
    Parked(Box<Conn>),
    Out,
}

struct Entry {
    generation: u32,
    state: State,
    /// Bytes for a stream that were delivered while a thread held it: sent after its check-in.
    inbox: Vec<u8>,
}

/// A connection as `Registry::with` finds it.
pub enum Held<'a> {
    Parked(&'a mut Conn),
    /// Checked out by a thread: only its inbox can be reached.
    Out(&'a mut Vec<u8>),
}

pub struct Registry {
    slots: Box<[Mutex<Entry>]>,
    free: Mutex<Vec<u32>>,
    /// Slots below this index have been used at least once (what the timer scans).
    used: AtomicUsize,
    open: AtomicUsize,
}

fn split(token: u64) -> (usize, u32) {
    ((token & 0xffff_ffff) as usize, (token >> 32) as u32)
}

fn token(index: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | index as u64
}

impl Registry {
    /// `capacity` must stay below `u32::MAX - 16`; the tokens above are reserved.
    pub fn new(capacity: usize) -> Registry {
        let capacity = capacity.min(u32::MAX as usize - 16);
        Registry {
            slots: (0..capacity)
                .map(|_| {
                    Mutex::new(Entry {
                        generation: 0,
                        state: State::Free,
                        inbox: Vec::new(),
                    })
                })
                .collect(),
            free: Mutex::new(Vec::new()),
            used: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Parks `conn` in a free slot and calls `arm` with its token while the slot is still locked,
    /// so nothing can close it before it is registered. `None`: no slot free (or `arm` failed).
    pub fn insert(
        &self,
        conn: Box<Conn>,
        arm: impl FnOnce(u64, &Conn) -> std::io::Result<()>,
    ) -> Result<u64, Box<Conn>> {
        let index = match lock(&self.free).pop() {
            Some(i) => i as usize,
            None => {
                let i = self.used.fetch_add(1, Ordering::SeqCst);
                if i >= self.slots.len() {
                    self.used.fetch_sub(1, Ordering::SeqCst);
                    return Err(conn);
                }
                i
            }
        };
        let mut entry = lock(&self.slots[index]);
        let t = token(index, entry.generation);
        if arm(t, &conn).is_err() {
            drop(entry);
            lock(&self.free).push(index as u32);
            return Err(conn);
        }
        entry.state = State::Parked(conn);
        self.open.fetch_add(1, Ordering::SeqCst);
        Ok(t)
    }

    /// Takes the connection for `token` if it is parked; `None` for a stale or busy token.
    pub fn checkout(&self, token: u64) -> Option<Box<Conn>> {
        let (index, generation) = split(token);
        let mut entry = lock(self.slots.get(index)?);
        if entry.generation != generation || !matches!(entry.state, State::Parked(_)) {
            return None;
        }
        match std::mem::replace(&mut entry.state, State::Out) {
            State::Parked(conn) => Some(conn),
            _ => None,
        }
    }

    /// Puts a checked-out connection back and re-arms it with `interest` under the slot lock (see
    /// `insert`); a stream's inbox joins what it has to send, and then it waits to write too.
    /// If re-arming fails the connection is closed.
    pub fn checkin(
        &self,
        token: u64,
        mut conn: Box<Conn>,
        mut interest: u32,
        arm: impl FnOnce(&Conn, u32) -> std::io::Result<()>,
    ) {
        let (index, _) = split(token);
        let Some(slot) = self.slots.get(index) else {
            return;
        };
        let mut entry = lock(slot);
        if !entry.inbox.is_empty() {
            let inbox = std::mem::take(&mut entry.inbox);
            if conn.phase == super::conn::Phase::Stream {
                conn.queue(&inbox);
                interest |= super::poll::READ | super::poll::WRITE;
            }
        }
        if arm(&conn, interest).is_ok() {
            entry.state = State::Parked(conn);
        } else {
            drop(conn);
            self.free_locked(index, &mut entry);
        }
    }

    /// Frees the slot of a checked-out connection (the caller drops the connection, closing it).
    pub fn release(&self, token: u64) {
        let (index, _) = split(token);
        if let Some(slot) = self.slots.get(index) {
            let mut entry = lock(slot);
            self.free_locked(index, &mut entry);
        }
    }

    /// Runs `visit` under the slot lock of `token`'s connection, parked or held by a thread;
    /// `false` for a stale token. When `visit` returns true for a parked connection, it is closed.
    pub fn with(&self, token: u64, visit: impl FnOnce(Held<'_>) -> bool) -> bool {
        let (index, generation) = split(token);
        let Some(slot) = self.slots.get(index) else {
            return false;
        };
        let mut entry = lock(slot);
        if entry.generation != generation {
            return false;
        }
        let entry = &mut *entry;
        let close = match &mut entry.state {
            State::Free => return false,
            State::Out => {
                visit(Held::Out(&mut entry.inbox));
                false
            }
            State::Parked(conn) => visit(Held::Parked(conn)),
        };
        if close {
            let conn = std::mem::replace(&mut entry.state, State::Out);
            self.free_locked(index, entry);
            drop(conn);
        }
        true
    }

    fn free_locked(&self, index: usize, entry: &mut Entry) {
        entry.generation = entry.generation.wrapping_add(1);
        entry.state = State::Free;
        entry.inbox = Vec::new();
        self.open.fetch_sub(1, Ordering::SeqCst);
        lock(&self.free).push(index as u32);
    }

    /// Visits every parked connection under its slot lock. With `try_only`, slots another thread
    /// holds are skipped instead of waited for (the timer must never stall behind a worker).
    /// `visit` returns true to check the connection out; those are returned with their tokens.
    pub fn scan(
        &self,
        try_only: bool,
        mut visit: impl FnMut(u64, &mut Conn) -> bool,
    ) -> Vec<(u64, Box<Conn>)> {
        let mut taken = Vec::new();
        let used = self.used.load(Ordering::SeqCst).min(self.slots.len());
        for (index, slot) in self.slots[..used].iter().enumerate() {
            let mut entry = if try_only {
                match slot.try_lock() {
                    Ok(e) => e,
                    Err(TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(TryLockError::WouldBlock) => continue,
                }
            } else {
                lock(slot)
            };
            let t = token(index, entry.generation);
            let State::Parked(conn) = &mut entry.state else {
                continue;
            };
            if visit(t, conn) {
                if let State::Parked(conn) = std::mem::replace(&mut entry.state, State::Out) {
                    taken.push((t, conn));
                }
            }
        }
        taken
    }
}
