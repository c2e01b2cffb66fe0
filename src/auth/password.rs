//! bcrypt, run in a bounded section: at most `concurrency` hashes at once and as many waiting (each at
//! most `wait`); beyond that a sign-up or sign-in is refused with 503 at once. bcrypt is CPU-bound,
//! so without this a sign-in flood would park every worker and stop the task routes.

use crate::domain::password::{Password, PASSWORD_MAX_BYTES};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A real hash (of a random string) verified when the e-mail is unknown, so both failures cost the same.
/// `Hasher::new` rewrites its cost to the configured one: verification time depends only on the cost
/// written in the hash, and a fixed cost 10 would let timing tell which addresses have accounts
/// whenever `BCRYPT_COST` is not 10.
const DUMMY_HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

pub struct Hasher {
    cost: u32,
    dummy: String,
    slots: Mutex<Slots>,
    freed: Condvar,
    concurrency: usize,
    wait: Duration,
}

struct Slots {
    running: usize,
    waiting: usize,
}

#[derive(Debug)]
pub enum HashError {
    /// Every slot is taken and the waiting line is full, or the wait ran out.
    Busy,
    Failed(bcrypt::BcryptError),
}

impl Hasher {
    pub fn new(cost: u32, concurrency: usize, wait: Duration) -> Hasher {
        let dummy = format!("$2b${cost:02}${}", &DUMMY_HASH[7..]);
        Hasher {
            cost,
            dummy,
            slots: Mutex::new(Slots {
                running: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
            concurrency,
            wait,
        }
    }

    /// A `Password` is at most 72 bytes, so bcrypt uses every byte given. At exactly 72 bytes it
    /// drops only its own NUL terminator, which `non_truncating_hash` refuses (that made a valid
    /// 72-byte password a 500).
    pub fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.bounded(|| bcrypt::hash(password.as_str(), self.cost))?
            .map_err(HashError::Failed)
    }

    /// Verifies against `hash`, or against a dummy hash when there is none (unknown e-mail). bcrypt
    /// would compare only the first 72 bytes, so a longer password can never be right; it still
    /// costs one verification, like an unknown address.
    pub fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
        let hash = hash.filter(|_| password.len() <= PASSWORD_MAX_BYTES);
        let ok = self.bounded(|| bcrypt::verify(password, hash.unwrap_or(&self.dummy)))?;
        Ok(hash.is_some() && ok.unwrap_or(false))
    }

    fn bounded<T>(&self, work: impl FnOnce() -> T) -> Result<T, HashError> {
        {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.running >= self.concurrency {
                if slots.waiting >= self.concurrency {
                    return Err(HashError::Busy);
                }
                slots.waiting += 1;
                let deadline = Instant::now() + self.wait;
                while slots.running >= self.concurrency {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        slots.waiting -= 1;
                        return Err(HashError::Busy);
                    }
                    slots = self
                        .freed
                        .wait_timeout(slots, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                slots.waiting -= 1;
            }
            slots.running += 1;
        }
        let release = Release(self);
        let result = work();
        drop(release);
        Ok(result)
    }
}

/// Frees the slot even if the work panics.
struct Release<'a>(&'a Hasher);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let mut slots = self.0.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.running -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_valid_cost_10_bcrypt_hash() {
        assert!(bcrypt::verify("anything", DUMMY_HASH).is_ok());
        assert!(DUMMY_HASH.starts_with("$2b$10$"));
    }

    #[test]
    fn the_dummy_hash_has_the_configured_cost() {
        let hasher = Hasher::new(5, 1, Duration::from_millis(50));
        assert!(hasher.dummy.starts_with("$2b$05$"));
        assert!(bcrypt::verify("anything", &hasher.dummy).is_ok());
    }

    #[test]
    fn a_72_byte_password_hashes_and_verifies() {
        let hasher = Hasher::new(4, 1, Duration::from_millis(50));
        let raw = format!("Aa1!{}", "x".repeat(68));
        assert_eq!(raw.len(), 72);
        let password = Password::parse(&raw).ok().unwrap();
        let hash = hasher.hash(&password).ok().unwrap();
        assert!(hasher.verify(&raw, Some(&hash)).ok().unwrap());
        assert!(!hasher.verify(&raw[..71], Some(&hash)).ok().unwrap());
    }

    #[test]
    fn a_full_section_refuses_at_once() {
        let hasher = Hasher::new(4, 1, Duration::from_millis(50));
        let inner = hasher.bounded(|| {
            // One running; this nested call waits its 50 ms, then is refused.
            let started = Instant::now();
            let r = hasher.bounded(|| ());
            (r.is_err(), started.elapsed())
        });
        let (refused, waited) = inner.ok().unwrap();
        assert!(refused);
        assert!(waited < Duration::from_millis(500));
    }
}
