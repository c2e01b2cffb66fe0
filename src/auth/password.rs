//! bcrypt on a few dedicated threads (one fewer than the cores), behind a waiting line sized by
//! time: a request that could not be served within `wait` at the measured hash time is refused at
//! once, and one client (a `ClientKey`: an address, an IPv6 /64, or every unknown peer together)
//! holds at most a quarter of the line (one place when it is short), so a sign-in flood can neither
//! take every core from the other requests nor every place from other clients.

use super::address::ClientKey;
use crate::config::HashPriority;
use crate::domain::password::{Password, PASSWORD_MAX_BYTES};
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A real hash (of a random string) verified when the e-mail is unknown, so both failures cost the same.
/// `Hasher::new` rewrites its cost to the configured one: verification time depends only on the cost
/// written in the hash, and a fixed cost 10 would let timing tell which addresses have accounts
/// whenever `BCRYPT_COST` is not 10.
const DUMMY_HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

#[derive(Debug)]
pub enum HashError {
    /// The line is as long as can be served within the wait limit, or this client holds its share.
    Busy,
    Failed(bcrypt::BcryptError),
}

/// Hashes, and hands back how to deliver the result: the line's books are updated in between, so a
/// caller that is answered finds its place already free.
type Work = Box<dyn FnOnce() -> Deliver + Send>;
type Deliver = Box<dyn FnOnce() + Send>;

struct Job {
    client: ClientKey,
    work: Work,
}

struct Line {
    queue: VecDeque<Job>,
    running: usize,
    per_client: HashMap<ClientKey, usize>,
    closed: bool,
}

struct Shared {
    line: Mutex<Line>,
    ready: Condvar,
    /// Moving average of one hash, in nanoseconds.
    mean_nanos: AtomicU64,
}

pub struct Hasher {
    cost: u32,
    dummy: String,
    shared: Arc<Shared>,
    threads: usize,
    wait: Duration,
}

pub struct Limits {
    pub cost: u32,
    pub threads: usize,
    pub wait: Duration,
    pub priority: HashPriority,
}

fn lock(line: &Mutex<Line>) -> MutexGuard<'_, Line> {
    line.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hasher {
    pub fn new(limits: Limits) -> Hasher {
        let cost = limits.cost;
        let dummy = format!("$2b${cost:02}${}", &DUMMY_HASH[7..]);
        // A first guess (about 60 ms at cost 10 on one core of today's machines) until hashes are timed.
        let guess = 60_000_000u64 << cost.saturating_sub(4).min(20) >> 6;
        let shared = Arc::new(Shared {
            line: Mutex::new(Line {
                queue: VecDeque::new(),
                running: 0,
                per_client: HashMap::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            mean_nanos: AtomicU64::new(guess),
        });
        let threads = limits.threads.max(1);
        for i in 0..threads {
            let (shared, priority) = (Arc::clone(&shared), limits.priority);
            let spawned = std::thread::Builder::new()
                .name(format!("hash-{i}"))
                .spawn(move || run(&shared, priority));
            if let Err(e) = spawned {
                crate::log::warn("cannot start a hashing thread", &[("error", &e)]);
            }
        }
        Hasher {
            cost,
            dummy,
            shared,
            threads,
            wait: limits.wait,
        }
    }

    /// A `Password` is at most 72 bytes, so bcrypt uses every byte given. At exactly 72 bytes it
    /// drops only its own NUL terminator, which `non_truncating_hash` refuses (that made a valid
    /// 72-byte password a 500).
    pub fn hash(&self, password: &Password, from: ClientKey) -> Result<String, HashError> {
        let (password, cost) = (password.as_str().to_string(), self.cost);
        self.run(from, move || bcrypt::hash(password, cost))?
            .map_err(HashError::Failed)
    }

    /// Verifies against `hash`, or against a dummy hash when there is none (unknown e-mail). bcrypt
    /// would compare only the first 72 bytes, so a longer password can never be right; it still
    /// costs one verification, like an unknown address.
    pub fn verify(
        &self,
        password: &str,
        hash: Option<&str>,
        from: ClientKey,
    ) -> Result<bool, HashError> {
        let hash = hash.filter(|_| password.len() <= PASSWORD_MAX_BYTES);
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy).to_string();
        let password = password.to_string();
        let ok = self.run(from, move || bcrypt::verify(password, &hash))?;
        Ok(known && ok.unwrap_or(false))
    }

    /// How many waiting jobs can start within `wait`, at the measured hash time; at least one per
    /// thread, so a slow machine still keeps a line.
    fn capacity(&self) -> usize {
        let mean = self.shared.mean_nanos.load(Ordering::Relaxed).max(1) as u128;
        let rounds = self.wait.as_nanos() / mean;
        (rounds as usize).max(1).saturating_mul(self.threads)
    }

    /// Would a job from `from` be admitted now? Asked before any other work for a sign-in or
    /// sign-up, so a flood that the line refuses costs a `503` and nothing else (no throttle
    /// count, no database write) on the cores the other requests need.
    pub fn admits(&self, from: ClientKey) -> Result<(), HashError> {
        match self.has_room(&lock(&self.shared.line), from) {
            true => Ok(()),
            false => Err(HashError::Busy),
        }
    }

    fn has_room(&self, line: &Line, from: ClientKey) -> bool {
        let capacity = self.capacity();
        let idle = line.running < self.threads;
        let fits = line.queue.len() < capacity || (idle && line.queue.is_empty());
        let held = line.per_client.get(&from).copied().unwrap_or(0);
        fits && held < (capacity / 4).max(1) && !line.closed
    }

    fn run<T: Send + 'static>(
        &self,
        from: ClientKey,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = sync_channel(1);
        let job = Job {
            client: from,
            work: Box::new(move || {
                let result = work();
                Box::new(move || {
                    let _ = reply.send(result);
                })
            }),
        };
        {
            let mut line = lock(&self.shared.line);
            if !self.has_room(&line, from) {
                return Err(HashError::Busy);
            }
            *line.per_client.entry(from).or_insert(0) += 1;
            line.queue.push_back(job);
        }
        self.shared.ready.notify_one();
        // Admitted work always runs; a closed channel means it panicked.
        crate::http::gate::aside(|| answer.recv()).map_err(|_| HashError::Busy)
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        lock(&self.shared.line).closed = true;
        self.shared.ready.notify_all();
    }
}

/// Linux schedules each thread on its own; these calls change only the calling thread. The default
/// is normal scheduling: with a core left to the rest, a paced `/api/auth/me` during a sign-in
/// flood had a p99 1.3x-3x its quiet value at normal, 3.5x-5x at `SCHED_IDLE` (bench `auth`): the
/// idle class orders threads inside this process only, while PostgreSQL and the clients run in
/// other process groups (autogroups), against which this process competes as a whole.
fn lower_priority(priority: HashPriority) {
    // SAFETY: sched_setscheduler and setpriority take plain values; pid/who 0 is this thread.
    unsafe {
        match priority {
            HashPriority::Idle => {
                let param = libc::sched_param { sched_priority: 0 };
                libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
            }
            HashPriority::Low => {
                libc::setpriority(libc::PRIO_PROCESS, 0, 10);
            }
            HashPriority::Normal => {}
        }
    }
}

/// CPU time of this thread. A hash is timed by the CPU it used, not the time it took: at a low
/// priority a hash waits whenever requests need the cores, and timing that wait would shorten the
/// line exactly when other requests are busy, turning waiting sign-ins into refusals that their
/// clients retry at once.
fn thread_cpu_nanos() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `t` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (t.tv_sec as u64).saturating_mul(1_000_000_000) + t.tv_nsec as u64
}

fn run(shared: &Shared, priority: HashPriority) {
    lower_priority(priority);
    loop {
        let job = {
            let mut line = lock(&shared.line);
            loop {
                if let Some(job) = line.queue.pop_front() {
                    line.running += 1;
                    break job;
                }
                if line.closed {
                    return;
                }
                line = shared.ready.wait(line).unwrap_or_else(|p| p.into_inner());
            }
        };
        let started = thread_cpu_nanos();
        let deliver = catch_unwind(AssertUnwindSafe(job.work));
        let took = thread_cpu_nanos().saturating_sub(started);
        let mean = shared.mean_nanos.load(Ordering::Relaxed);
        shared
            .mean_nanos
            .store(mean - mean / 4 + took / 4, Ordering::Relaxed);
        {
            let mut line = lock(&shared.line);
            line.running -= 1;
            if let Some(n) = line.per_client.get_mut(&job.client) {
                *n -= 1;
                if *n == 0 {
                    line.per_client.remove(&job.client);
                }
            }
        }
        // A panic in bcrypt drops the reply sender: the caller sees a closed channel.
        if let Ok(deliver) = deliver {
            deliver();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(cost: u32, threads: usize, wait_ms: u64) -> Hasher {
        Hasher::new(Limits {
            cost,
            threads,
            wait: Duration::from_millis(wait_ms),
            priority: HashPriority::Normal,
        })
    }

    #[test]
    fn the_dummy_hash_is_a_valid_cost_10_bcrypt_hash() {
        assert!(bcrypt::verify("anything", DUMMY_HASH).is_ok());
        assert!(DUMMY_HASH.starts_with("$2b$10$"));
    }

    #[test]
    fn the_dummy_hash_has_the_configured_cost() {
        let hasher = hasher(5, 1, 50);
        assert!(hasher.dummy.starts_with("$2b$05$"));
        assert!(bcrypt::verify("anything", &hasher.dummy).is_ok());
    }

    #[test]
    fn a_72_byte_password_hashes_and_verifies() {
        let hasher = hasher(4, 1, 50);
        let raw = format!("Aa1!{}", "x".repeat(68));
        assert_eq!(raw.len(), 72);
        let password = Password::parse(&raw).ok().unwrap();
        let from = ClientKey::UNKNOWN;
        let hash = hasher.hash(&password, from).ok().unwrap();
        assert!(hasher.verify(&raw, Some(&hash), from).ok().unwrap());
        assert!(!hasher.verify(&raw[..71], Some(&hash), from).ok().unwrap());
    }

    fn key(ip: &str) -> ClientKey {
        ClientKey::of(ip.parse().unwrap())
    }

    /// While `holder` holds its one place (one thread, a line of four), `same` is refused and
    /// `other` is served.
    fn holds_its_place(holder: ClientKey, same: ClientKey, other: ClientKey) {
        let hasher = Arc::new(hasher(4, 1, 4_000));
        hasher
            .shared
            .mean_nanos
            .store(1_000_000_000, Ordering::Relaxed);
        let (release, gate) = sync_channel::<()>(0);
        let blocker = {
            let hasher = Arc::clone(&hasher);
            std::thread::spawn(move || {
                hasher.run(holder, move || {
                    let _ = gate.recv();
                })
            })
        };
        while lock(&hasher.shared.line).running == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(hasher.run(same, || ()), Err(HashError::Busy)));
        let other = {
            let hasher = Arc::clone(&hasher);
            std::thread::spawn(move || hasher.run(other, || 7))
        };
        let _ = release.send(());
        assert!(blocker.join().unwrap().is_ok());
        assert_eq!(other.join().unwrap().ok(), Some(7));
    }

    #[test]
    fn one_address_holds_at_most_a_quarter_of_the_line() {
        holds_its_place(key("192.0.2.1"), key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn the_addresses_of_one_ipv6_64_hold_one_quarter_of_the_line_between_them() {
        let holder = key("2001:db8:1:2::1");
        holds_its_place(holder, key("2001:db8:1:2::2"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn requests_of_unknown_origin_hold_one_quarter_of_the_line_between_them() {
        let unknown = ClientKey::UNKNOWN;
        holds_its_place(unknown, unknown, key("192.0.2.2"));
    }

    #[test]
    fn the_line_is_as_long_as_the_wait_limit_can_serve() {
        let hasher = hasher(4, 2, 1000);
        hasher
            .shared
            .mean_nanos
            .store(100_000_000, Ordering::Relaxed);
        assert_eq!(hasher.capacity(), 20);
        hasher
            .shared
            .mean_nanos
            .store(2_000_000_000, Ordering::Relaxed);
        assert_eq!(
            hasher.capacity(),
            2,
            "one waiting place per thread at least"
        );
    }
}
