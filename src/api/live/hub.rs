//! This instance's open event streams, by user, and what each has been sent. The listener
//! (`listener.rs`) publishes each change to the streams of its user; a stream is written through
//! the front's `Outlet` and holds no thread.

use crate::api::cursor::Cursors;
use crate::db::changes::{Feed, Item, ListItem, Mark};
use crate::http::{OnOpen, Outlet};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use uuid::Uuid;

pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

struct Stream {
    token: u64,
    /// The position this stream has been sent up to (or that its client had).
    sent: Mark,
    /// The session its ticket was issued to (`None`: a token from before sessions).
    session: Option<Uuid>,
    /// Its session has ended; closed as soon as no thread is writing it.
    revoked: bool,
}

#[derive(Default)]
struct Streams {
    open: Vec<Stream>,
    /// Places taken by streams being opened.
    reserved: usize,
}

pub struct Hub {
    outlet: OnceLock<Outlet>,
    users: Mutex<HashMap<Uuid, Streams>>,
    /// Users whose new stream may have missed a change between its replay and its registration.
    pokes: Mutex<Vec<Uuid>>,
    limit: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One change as a server-sent event, its id the position `at` after it. `since` is where the
/// client stood: a task brought into its list after it is new to the client ("created"),
/// otherwise "updated".
pub fn event(cursors: &Cursors, user: Uuid, item: &Item, since: &Mark, at: &Mark) -> String {
    let cursor = cursors.encode_change(user, at);
    let data = match item {
        Item::Changed {
            task,
            list,
            created_no,
            ..
        } => json!({
            "op": if since.before(*list, *created_no) { "created" } else { "updated" },
            "task": task,
            "id": task.id().ok(),
            "cursor": cursor,
        }),
        Item::Deleted { id, .. } => {
            json!({ "op": "deleted", "task": null, "id": id, "cursor": cursor })
        }
    };
    format!("event: task\nid: {cursor}\ndata: {data}\n\n")
}

/// A list's change as a server-sent event.
fn list_event(cursors: &Cursors, user: Uuid, list: &ListItem, at: &Mark) -> String {
    let cursor = cursors.encode_change(user, at);
    let data = json!({ "op": list.op, "list": list.json, "id": list.id, "cursor": cursor });
    format!("event: list\nid: {cursor}\ndata: {data}\n\n")
}

/// The changes of `feed` after `since` and up to `upto`, as server-sent events: the lists' first
/// (a list joined comes before its tasks), then the tasks by list in change order. `at` is where
/// the client stands before them, and after them on return.
pub fn events(
    cursors: &Cursors,
    user: Uuid,
    feed: &Feed,
    since: &Mark,
    upto: &Mark,
    at: &mut Mark,
) -> String {
    let mut out = String::new();
    for list in &feed.lists {
        if list.change_no > at.user && list.change_no <= upto.user {
            at.user = list.change_no;
            out.push_str(&list_event(cursors, user, list, at));
        }
    }
    for item in &feed.items {
        let (list, n) = (item.list(), item.change_no());
        if at.before(list, n) && upto.get(list).is_some_and(|reach| n <= reach) {
            at.set(list, n);
            out.push_str(&event(cursors, user, item, since, at));
        }
    }
    at.merge(upto);
    out
}

impl Hub {
    pub fn new(limit: usize) -> Hub {
        Hub {
            outlet: OnceLock::new(),
            users: Mutex::new(HashMap::new()),
            pokes: Mutex::new(Vec::new()),
            limit,
        }
    }

    pub fn attach(&self, outlet: Outlet) {
        let _ = self.outlet.set(outlet);
    }

    /// A place for one more stream of `user`; `None` past the limit. Streams whose connection
    /// has gone are forgotten first.
    pub fn reserve(self: &Arc<Hub>, user: Uuid, session: Option<Uuid>) -> Option<Reservation> {
        let outlet = self.outlet.get()?;
        let mut users = lock(&self.users);
        let streams = users.entry(user).or_default();
        streams.open.retain(|s| outlet.alive(s.token));
        if streams.open.len() + streams.reserved >= self.limit {
            return None;
        }
        streams.reserved += 1;
        Some(Reservation {
            hub: Arc::clone(self),
            user,
            session,
            sent: None,
        })
    }

    /// Users with open streams.
    pub fn users(&self) -> Vec<Uuid> {
        lock(&self.users).keys().copied().collect()
    }

    pub fn take_pokes(&self) -> Vec<Uuid> {
        std::mem::take(&mut *lock(&self.pokes))
    }

    /// The oldest position among `user`'s streams: what the listener must read from.
    pub fn position(&self, user: Uuid) -> Option<Mark> {
        let users = lock(&self.users);
        let mut sent = users.get(&user)?.open.iter().map(|s| &s.sent);
        let first = sent.next()?.clone();
        Some(sent.fold(first, |oldest, s| oldest.min(s)))
    }

    /// The sessions `user`'s streams were opened with.
    pub fn sessions(&self, user: Uuid) -> Vec<Uuid> {
        let users = lock(&self.users);
        let open = users.get(&user).map(|s| &s.open[..]).unwrap_or_default();
        open.iter().filter_map(|s| s.session).collect()
    }

    /// Ends the streams of `user` whose session is not `live` (`None`: a token from before
    /// sessions); they get nothing more.
    pub fn end_revoked(&self, user: Uuid, live: impl Fn(Option<Uuid>) -> bool) {
        let Some(outlet) = self.outlet.get() else {
            return;
        };
        let mut users = lock(&self.users);
        if let Some(streams) = users.get_mut(&user) {
            for s in &mut streams.open {
                s.revoked |= !live(s.session);
            }
            streams
                .open
                .retain(|s| !(s.revoked && outlet.close(s.token)));
        }
    }

    /// Sends each stream of `user` the changes of `feed`, up to `upto`, that it has not had.
    pub fn publish(&self, cursors: &Cursors, user: Uuid, feed: &Feed, upto: &Mark) {
        let Some(outlet) = self.outlet.get() else {
            return;
        };
        let mut users = lock(&self.users);
        let Some(streams) = users.get_mut(&user) else {
            return;
        };
        streams.open.retain_mut(|s| {
            if s.revoked {
                return !outlet.close(s.token);
            }
            let since = s.sent.clone();
            let text = events(cursors, user, feed, &since, upto, &mut s.sent);
            text.is_empty() || outlet.send(s.token, text.as_bytes())
        });
        if streams.open.is_empty() && streams.reserved == 0 {
            users.remove(&user);
        }
    }

    /// A comment line on every stream, so proxies keep them open; streams that are gone are
    /// forgotten.
    pub fn heartbeat(&self) {
        let Some(outlet) = self.outlet.get() else {
            return;
        };
        let mut users = lock(&self.users);
        users.retain(|_, streams| {
            streams.open.retain(|s| match s.revoked {
                true => !outlet.close(s.token),
                false => outlet.send(s.token, HEARTBEAT),
            });
            !streams.open.is_empty() || streams.reserved > 0
        });
    }

    /// Open streams on this instance.
    pub fn count(&self) -> usize {
        lock(&self.users).values().map(|s| s.open.len()).sum()
    }
}

/// A place taken for a stream being opened; given back if the stream never opens.
pub struct Reservation {
    hub: Arc<Hub>,
    user: Uuid,
    session: Option<Uuid>,
    sent: Option<Mark>,
}

impl Reservation {
    /// What the front calls once the stream's connection is parked: the stream joins its user's,
    /// already sent everything up to `sent`, and the listener is asked to catch it up.
    pub fn open(mut self, sent: Mark) -> OnOpen {
        Box::new(move |token| {
            self.sent = Some(sent.clone());
            let mut users = lock(&self.hub.users);
            let streams = users.entry(self.user).or_default();
            streams.reserved = streams.reserved.saturating_sub(1);
            streams.open.push(Stream {
                token,
                sent,
                session: self.session,
                revoked: false,
            });
            drop(users);
            lock(&self.hub.pokes).push(self.user);
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.sent.is_none() {
            let mut users = lock(&self.hub.users);
            if let Some(streams) = users.get_mut(&self.user) {
                streams.reserved = streams.reserved.saturating_sub(1);
            }
        }
    }
}
