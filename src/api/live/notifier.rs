//! Tells every instance (`LISTEN task_changes`, see `listener.rs`) which lists' tasks and which
//! users' lists or sessions this instance has changed, once the change has committed. Sent from
//! here, not from the trigger: a transaction that NOTIFYs holds one database-wide lock through
//! its commit, so every write (its fsync included) queued behind the one before (measured with
//! pgbench, 16 clients toggling: 1,978/s with the NOTIFY in the trigger, 4,342/s without). A
//! thread sends what has piled up in one statement, outside any write's transaction.
//!
//! A notification only says "look"; the streams read the changes feed. One lost (this instance
//! dies between a commit and the send) costs that user's streams latency until the next change
//! or heartbeat, never a change.

use super::listener::CHANNEL;
use crate::db::Pool;
use crate::log;
use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

const GATHER: Duration = Duration::from_millis(5);

#[derive(Default)]
struct Pending {
    users: HashSet<Uuid>,
    lists: HashSet<Uuid>,
    closed: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.lists.is_empty()
    }
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    ready: Condvar,
}

pub struct Notifier {
    shared: Arc<Shared>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Pending> {
    shared.pending.lock().unwrap_or_else(|p| p.into_inner())
}

impl Notifier {
    pub fn start(pool: Pool) -> Notifier {
        let shared = Arc::new(Shared::default());
        let mine = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("notifier".into())
            .spawn(move || run(&mine, &pool));
        if let Err(e) = spawned {
            log::warn("cannot start the notifier thread", &[("error", &e)]);
        }
        Notifier { shared }
    }

    /// `user`'s tasks or sessions changed in a transaction that has committed. The thread waits
    /// only while nothing is pending, so only the first change of a batch wakes it (the standard
    /// library's `notify_one` is a system call even with nobody waiting).
    pub fn changed(&self, user: Uuid) {
        self.add(|p| {
            p.users.insert(user);
        });
    }

    /// Tasks of `list` changed in a transaction that has committed: its members are to look.
    pub fn list_changed(&self, list: Uuid) {
        self.add(|p| {
            p.lists.insert(list);
        });
    }

    fn add(&self, what: impl FnOnce(&mut Pending)) {
        let mut pending = lock(&self.shared);
        let first = pending.is_empty();
        what(&mut pending);
        drop(pending);
        if first {
            self.shared.ready.notify_one();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.ready.notify_one();
    }
}

fn run(shared: &Shared, pool: &Pool) {
    loop {
        {
            let mut pending = lock(shared);
            while pending.is_empty() && !pending.closed {
                pending = shared
                    .ready
                    .wait(pending)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        // Writes come in bursts: what arrives within a few milliseconds goes out in one statement.
        std::thread::sleep(GATHER);
        let (users, lists, closed) = {
            let mut pending = lock(shared);
            let users = std::mem::take(&mut pending.users);
            (users, std::mem::take(&mut pending.lists), pending.closed)
        };
        if !users.is_empty() || !lists.is_empty() {
            if let Err(e) = send(pool, &users, &lists) {
                log::warn("cannot notify task changes", &[("cause", &e)]);
                let mut pending = lock(shared);
                pending.users.extend(users);
                pending.lists.extend(lists);
                if closed {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        }
        if closed {
            return;
        }
    }
}

/// A user is named by their id, a list by `l <id>`.
fn send(pool: &Pool, users: &HashSet<Uuid>, lists: &HashSet<Uuid>) -> Result<(), String> {
    let users: Vec<Uuid> = users.iter().copied().collect();
    let lists: Vec<Uuid> = lists.iter().copied().collect();
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    conn.execute(
        "SELECT pg_notify($1, u::text) FROM unnest($2::uuid[]) AS u
         UNION ALL
         SELECT pg_notify($1, 'l ' || l) FROM unnest($3::uuid[]) AS l",
        &[&CHANNEL, &users, &lists],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}
