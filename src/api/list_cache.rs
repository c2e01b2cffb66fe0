//! The last whole task list (no filter, default order) served for each user, with the position
//! it was read at: the user's number and each of their lists' (`Mark`). The tasks are read only
//! when the sum of those numbers has moved since (every change raises it: `sql/0011`), so a list
//! asked for again and again (a client polling, a page reloaded) costs a few index lookups in
//! PostgreSQL and a copy here instead of reading and writing out every task.
//!
//! Nothing is trusted without the database: every read still asks PostgreSQL for the session and
//! the numbers (`task_list::whole_unless_at`), and the list statement reads the tasks and the
//! numbers in one snapshot. An entry written by a slower request after a newer one is only
//! stale, never wrong: its numbers no longer match. The cache is bounded and may be emptied at
//! any moment.
//!
//! A write of one task (toggle, update) in a list, numbered right after the entry's number of
//! that list, is the list's only change since the entry was read, and leaves the default order
//! (by creation) as it was: every entry holding the list takes the task's new JSON in place and
//! the list's new number. Should another list have changed meanwhile, the sum still differs
//! from PostgreSQL's, and the next read reads afresh.

use crate::db::changes::Mark;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// About 6,000 lists of 20 tasks, or a dozen of 10,000; a list of 10,000 tasks (2.5 MB) is where a
/// hit saves the most (tens of milliseconds of reading and writing).
const TOTAL_MAX: usize = 32 << 20;
const ENTRY_MAX: usize = 4 << 20;

pub struct Cached {
    pub at: Mark,
    pub body: Vec<u8>,
    pub etag: String,
    /// Where each task's JSON lies in `body`, in list order.
    pub spans: Vec<Span>,
}

impl Cached {
    fn size(&self) -> usize {
        self.body.len() + self.spans.len() * std::mem::size_of::<Span>()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub id: i64,
    pub start: usize,
    pub end: usize,
    /// Of the task's JSON, for the list's tag ([`tag_of`]).
    pub digest: [u8; 16],
}

impl Span {
    /// The task `id` written at `start..end` of `body`.
    pub fn of(body: &[u8], id: i64, start: usize, end: usize) -> Span {
        Span {
            id,
            start,
            end,
            digest: digest(&body[start..end]),
        }
    }
}

fn digest(json: &[u8]) -> [u8; 16] {
    let hash = Sha256::digest(json);
    let mut out = [0; 16];
    out.copy_from_slice(&hash[..16]);
    out
}

/// A task list's `ETag`: a hash of its tasks' digests in list order and of its `Link` (`""`
/// without one), so it changes exactly when the list does. A write that changes one task of a
/// held list hashes that task and the digests again, not the whole body (measured under
/// W1-shared, where a toggle edits ten members' lists: hashing bodies was 11 % of the server's
/// CPU).
pub fn tag_of(spans: &[Span], link: &str) -> String {
    let mut hash = Sha256::new();
    for s in spans {
        hash.update(s.digest);
    }
    hash.update(link.as_bytes());
    let hash = hash.finalize();
    let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"l{hex}\"")
}

#[derive(Default)]
pub struct ListCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_user: HashMap<Uuid, Arc<Cached>>,
    /// The users whose entry holds each list.
    by_list: HashMap<Uuid, HashSet<Uuid>>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, user: Uuid) {
        let Some(old) = self.by_user.remove(&user) else {
            return;
        };
        self.bytes -= old.size();
        for (list, _) in &old.at.lists {
            if let Some(users) = self.by_list.get_mut(list) {
                users.remove(&user);
                if users.is_empty() {
                    self.by_list.remove(list);
                }
            }
        }
    }
}

impl ListCache {
    pub fn get(&self, user: Uuid) -> Option<Arc<Cached>> {
        self.lock().by_user.get(&user).cloned()
    }

    /// Keeps `cached` unless it is larger than an entry may be.
    pub fn put(&self, user: Uuid, cached: Cached) {
        if cached.size() > ENTRY_MAX {
            return;
        }
        self.insert(user, Arc::new(cached), None);
    }

    /// After a write of task `id`, now in `list`, that took the list's number `seq`: each entry
    /// that holds the list at `seq - 1` takes `json` in the task's place and `seq`. Anything
    /// else leaves the entry to be read afresh.
    pub fn replace(&self, list: Uuid, seq: i64, id: i64, json: &[u8]) {
        let users: Vec<Uuid> = self
            .lock()
            .by_list
            .get(&list)
            .map(|users| users.iter().copied().collect())
            .unwrap_or_default();
        for user in users {
            self.replace_one(user, list, seq, id, json);
        }
    }

    fn replace_one(&self, user: Uuid, list: Uuid, seq: i64, id: i64, json: &[u8]) {
        let Some(old) = self.get(user).filter(|c| c.at.get(list) == Some(seq - 1)) else {
            return;
        };
        let Some(at) = old.spans.iter().position(|s| s.id == id) else {
            return;
        };
        let Span { start, end, .. } = old.spans[at];
        let mut body = Vec::with_capacity(old.body.len() - (end - start) + json.len());
        body.extend_from_slice(&old.body[..start]);
        body.extend_from_slice(json);
        body.extend_from_slice(&old.body[end..]);
        let mut spans = old.spans.clone();
        spans[at] = Span::of(&body, id, start, start + json.len());
        let moved = |x: usize| x + start + json.len() - end;
        for s in &mut spans[at + 1..] {
            (s.start, s.end) = (moved(s.start), moved(s.end));
        }
        let etag = tag_of(&spans, "");
        let mut position = old.at.clone();
        position.set(list, seq);
        let new = Arc::new(Cached {
            at: position,
            body,
            etag,
            spans,
        });
        if new.size() > ENTRY_MAX {
            return;
        }
        // Built outside the lock; kept only if no other request replaced the entry meanwhile.
        self.insert(user, new, Some(&old));
    }

    /// Keeps `cached` (only in place of `instead` when given); to make room, drops whichever
    /// entries come first (recency is not worth its bookkeeping here: a dropped list costs one
    /// read to come back).
    fn insert(&self, user: Uuid, cached: Arc<Cached>, instead: Option<&Arc<Cached>>) {
        let size = cached.size();
        let mut entries = self.lock();
        let current = entries.by_user.get(&user);
        if instead.is_some_and(|i| !current.is_some_and(|c| Arc::ptr_eq(c, i))) {
            return;
        }
        entries.remove(user);
        while entries.bytes + size > TOTAL_MAX {
            let Some(victim) = entries.by_user.keys().next().copied() else {
                break;
            };
            entries.remove(victim);
        }
        entries.bytes += size;
        for (list, _) in &cached.at.lists {
            entries.by_list.entry(*list).or_default().insert(user);
        }
        entries.by_user.insert(user, cached);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: Uuid = Uuid::from_u128(1);

    fn entry(seq: i64, body: &[u8]) -> Cached {
        Cached {
            at: Mark::new(0, [(LIST, seq)]),
            body: body.to_vec(),
            etag: "\"t\"".into(),
            spans: Vec::new(),
        }
    }

    /// The spans of a list of flat objects, each starting with its `"id"`, as a read finds them.
    fn spans_of(body: &[u8]) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut start = 0;
        for (i, b) in body.iter().enumerate() {
            match b {
                b'{' => start = i,
                b'}' => {
                    let text = std::str::from_utf8(&body[start + 6..i]).expect("utf-8");
                    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
                    spans.push(Span::of(body, digits.parse().expect("an id"), start, i + 1));
                }
                _ => {}
            }
        }
        spans
    }

    /// `[{"id":3},{"id":2},{"id":1}]` at the list's change number 7.
    fn three_tasks(cache: &ListCache, user: Uuid) {
        let body = br#"[{"id":3},{"id":2},{"id":1}]"#;
        let spans = spans_of(body);
        let cached = Cached {
            etag: tag_of(&spans, ""),
            spans,
            ..entry(7, body)
        };
        cache.put(user, cached);
    }

    #[test]
    fn a_write_numbered_right_after_the_list_replaces_its_task_in_place_as_a_read_would() {
        let (cache, user) = (ListCache::default(), Uuid::new_v4());
        three_tasks(&cache, user);
        let before = cache.get(user).expect("kept").etag.clone();
        cache.replace(LIST, 8, 2, br#"{"id":2,"done":true}"#);
        let now = cache.get(user).expect("kept");
        assert_eq!(now.at.get(LIST), Some(8));
        assert_eq!(now.body, br#"[{"id":3},{"id":2,"done":true},{"id":1}]"#);
        assert_eq!(now.spans, spans_of(&now.body));
        assert_eq!(now.etag, tag_of(&spans_of(&now.body), ""));
        assert_ne!(now.etag, before);
        cache.replace(LIST, 9, 1, br#"{"id":1}"#);
        let now = cache.get(user).expect("kept");
        assert_eq!(now.at.get(LIST), Some(9), "spans still right");
        assert_eq!(now.etag, tag_of(&spans_of(&now.body), ""));
    }

    #[test]
    fn a_list_tag_follows_every_byte_and_the_order_of_its_tasks() {
        let tag = |body: &[u8]| tag_of(&spans_of(body), "");
        let list = tag(br#"[{"id":1,"t":"a"},{"id":2,"t":"b"}]"#);
        assert_ne!(list, tag(br#"[{"id":1,"t":"a"},{"id":2,"t":"c"}]"#));
        assert_ne!(list, tag(br#"[{"id":2,"t":"b"},{"id":1,"t":"a"}]"#));
        assert_ne!(list, tag(br#"[{"id":1,"t":"a"}]"#));
        assert_eq!(list, tag(br#"[{"id":1,"t":"a"},{"id":2,"t":"b"}]"#));
    }

    #[test]
    fn a_write_after_another_change_or_of_an_unlisted_task_leaves_the_list_as_read() {
        let (cache, user) = (ListCache::default(), Uuid::new_v4());
        three_tasks(&cache, user);
        cache.replace(LIST, 9, 2, br#"{"id":2,"done":true}"#);
        cache.replace(LIST, 8, 4, br#"{"id":4}"#);
        let now = cache.get(user).expect("kept");
        assert_eq!(now.at.get(LIST), Some(7));
        assert_eq!(now.body, br#"[{"id":3},{"id":2},{"id":1}]"#);
    }

    #[test]
    fn entries_past_the_total_drop_others_and_an_oversized_list_is_not_kept() {
        let cache = ListCache::default();
        let list = vec![b'x'; ENTRY_MAX];
        let users: Vec<Uuid> = (0..TOTAL_MAX / ENTRY_MAX + 3)
            .map(|_| Uuid::new_v4())
            .collect();
        for (n, user) in users.iter().enumerate() {
            cache.put(*user, entry(n as i64, &list));
            let newest = cache.get(*user).and_then(|c| c.at.get(LIST));
            assert_eq!(newest, Some(n as i64), "the newest entry is kept");
            assert!(cache.lock().bytes <= TOTAL_MAX);
        }
        let kept = users.iter().filter(|u| cache.get(**u).is_some()).count();
        assert_eq!(kept, TOTAL_MAX / ENTRY_MAX);

        let big = Uuid::new_v4();
        cache.put(big, entry(1, &vec![b'x'; ENTRY_MAX + 1]));
        assert!(cache.get(big).is_none());
    }
}
