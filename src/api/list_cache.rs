//! The last whole task list (no filter, default order) served for each user, with the user's
//! change number it was read at. The list statement sends the tasks only when the number has
//! moved since, so a list asked for again and again (a client polling, a page reloaded) costs one
//! index lookup in PostgreSQL and a copy here instead of reading and writing out every task.
//!
//! Nothing is trusted without the database: every request still runs the statement, which checks
//! the session and compares the number in the same snapshot as the tasks. An entry written by a
//! slower request after a newer one is only stale, never wrong: its number no longer matches. The
//! cache is bounded and may be emptied at any moment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// About 6,000 lists of 20 tasks, or a dozen of 10,000; a list of 10,000 tasks (2.5 MB) is where a
/// hit saves the most (tens of milliseconds of reading and writing).
const TOTAL_MAX: usize = 32 << 20;
const ENTRY_MAX: usize = 4 << 20;

pub struct Cached {
    pub seq: i64,
    pub body: Vec<u8>,
    pub etag: String,
}

#[derive(Default)]
pub struct ListCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_user: HashMap<Uuid, Arc<Cached>>,
    bytes: usize,
}

impl ListCache {
    pub fn get(&self, user: Uuid) -> Option<Arc<Cached>> {
        self.lock().by_user.get(&user).cloned()
    }

    /// Keeps a copy of `body` unless it is larger than an entry may be; to make room, drops
    /// whichever entries come first (recency is not worth its bookkeeping here: a dropped list
    /// costs one read to come back).
    pub fn put(&self, user: Uuid, seq: i64, body: &[u8], etag: &str) {
        let size = body.len();
        if size > ENTRY_MAX {
            return;
        }
        let cached = Arc::new(Cached {
            seq,
            body: body.to_vec(),
            etag: etag.to_string(),
        });
        let mut entries = self.lock();
        if let Some(old) = entries.by_user.remove(&user) {
            entries.bytes -= old.body.len();
        }
        while entries.bytes + size > TOTAL_MAX {
            let Some(victim) = entries.by_user.keys().next().copied() else {
                break;
            };
            if let Some(old) = entries.by_user.remove(&victim) {
                entries.bytes -= old.body.len();
            }
        }
        entries.bytes += size;
        entries.by_user.insert(user, cached);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_past_the_total_drop_others_and_an_oversized_list_is_not_kept() {
        let cache = ListCache::default();
        let list = vec![b'x'; ENTRY_MAX];
        let users: Vec<Uuid> = (0..TOTAL_MAX / ENTRY_MAX + 3)
            .map(|_| Uuid::new_v4())
            .collect();
        for (n, user) in users.iter().enumerate() {
            cache.put(*user, n as i64, &list, "\"t\"");
            let newest = cache.get(*user).map(|c| c.seq);
            assert_eq!(newest, Some(n as i64), "the newest entry is kept");
            assert!(cache.lock().bytes <= TOTAL_MAX);
        }
        let kept = users.iter().filter(|u| cache.get(**u).is_some()).count();
        assert_eq!(kept, TOTAL_MAX / ENTRY_MAX);

        let big = Uuid::new_v4();
        cache.put(big, 1, &vec![b'x'; ENTRY_MAX + 1], "\"t\"");
        assert!(cache.get(big).is_none());
    }
}
