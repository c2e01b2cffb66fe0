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

/// Enough for ~3,000 users' lists of 20 tasks. Lists larger than `ENTRY_MAX` (about 500 tasks)
/// are rare and cost little to send compared to their reading, so they are not kept.
const TOTAL_MAX: usize = 16 << 20;
const ENTRY_MAX: usize = 256 << 10;

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

    pub fn put(&self, user: Uuid, cached: Cached) {
        let size = cached.body.len();
        if size > ENTRY_MAX {
            return;
        }
        let mut entries = self.lock();
        if let Some(old) = entries.by_user.remove(&user) {
            entries.bytes -= old.body.len();
        }
        // Full: start over rather than keep books on recency; refilling costs one read per user.
        if entries.bytes + size > TOTAL_MAX {
            entries.by_user.clear();
            entries.bytes = 0;
        }
        entries.bytes += size;
        entries.by_user.insert(user, Arc::new(cached));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
