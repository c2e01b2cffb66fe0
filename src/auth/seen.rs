//! When this instance last recorded each session's use: `last_used_at` may lag by up to ten minutes,
//! so a session is written at most once per `EVERY` per instance instead of on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

const EVERY: Duration = Duration::from_secs(5 * 60);
/// Past this many entries, those older than `EVERY` are dropped (they would be written again anyway).
const PRUNE_AT: usize = 50_000;

#[derive(Default)]
pub struct Seen(Mutex<HashMap<Uuid, Instant>>);

impl Seen {
    /// True when the session's use should be written now (and notes that it is).
    pub fn due(&self, session: Uuid) -> bool {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&session).is_some_and(|at| now - *at < EVERY) {
            return false;
        }
        if map.len() >= PRUNE_AT {
            map.retain(|_, at| now - *at < EVERY);
        }
        map.insert(session, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_due_once_per_interval() {
        let seen = Seen::default();
        let id = Uuid::new_v4();
        assert!(seen.due(id));
        assert!(!seen.due(id));
        assert!(seen.due(Uuid::new_v4()));
    }
}
