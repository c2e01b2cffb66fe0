//! One PostgreSQL connection per instance that LISTENs for users whose lists or sessions changed
//! and for lists whose tasks changed (every instance notifies them once such a write commits:
//! `notifier.rs`) and feeds this instance's streams from the changes feed, ending first those
//! whose session has ended. A notification only says "look": what is sent is read from the feed
//! after each stream's position, so a lost notification (a reconnect, a restart) costs latency,
//! never a change; every heartbeat also looks for every user with streams.

use crate::api::App;
use crate::db::changes::{self, Reader};
use crate::db::{lists, sessions};
use crate::db::{Conn, Target};
use crate::log;
use postgres::fallible_iterator::FallibleIterator;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const CHANNEL: &str = "task_changes";
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Longest wait for a notification before new streams and the heartbeat are looked at.
const WAIT: Duration = Duration::from_millis(50);
const PAGE: i64 = 1000;

pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// `distributed`: the tables are distributed by Citus (see `Conn::distributed`).
    pub fn start(target: Target, distributed: bool, app: Arc<App>) -> std::io::Result<Listener> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("listener".into())
            .spawn(move || run(&target, distributed, &app, &flag))?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(target: &Target, distributed: bool, app: &App, stop: &AtomicBool) {
    let mut beat = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let mut conn = match target.connect() {
            Ok(client) => Conn::new(client, distributed),
            Err(e) => {
                log::warn("listener cannot connect", &[("cause", &e)]);
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        // The feed's statement takes the readers' positions as arrays, for which PostgreSQL
        // would plan it afresh on every call: its plan does not depend on them. Citus plans only
        // with the parameters' values, and reads the feed in parts (`changes::feed`).
        let setup = match distributed {
            false => format!("SET plan_cache_mode = force_generic_plan; LISTEN {CHANNEL}"),
            true => format!("LISTEN {CHANNEL}"),
        };
        if let Err(e) = conn.client.batch_execute(&setup) {
            log::warn("listener cannot LISTEN", &[("cause", &e)]);
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        // Whatever happened while no connection listened.
        let mut due: HashSet<Uuid> = app.hub.users().into_iter().collect();
        while !stop.load(Ordering::SeqCst) {
            due.extend(app.hub.take_pokes());
            if beat.elapsed() >= HEARTBEAT {
                beat = Instant::now();
                app.hub.heartbeat();
                due.extend(app.hub.users());
            }
            if let Err(e) = due
                .drain()
                .try_for_each(|user| catch_up(&mut conn, app, user))
            {
                log::warn("listener lost its connection", &[("cause", &e)]);
                break;
            }
            if let Err(e) = wait(&mut conn, app, &mut due) {
                log::warn("listener lost its connection", &[("cause", &e)]);
                break;
            }
        }
    }
}

/// Collects the users named by notifications: waits up to `WAIT` for the first, then takes what
/// has already arrived. A list named (`l <id>`) names its members with streams here.
fn wait(conn: &mut Conn, app: &App, due: &mut HashSet<Uuid>) -> Result<(), postgres::Error> {
    let (first, rest) = {
        let mut notes = conn.client.notifications();
        let first = notes.timeout_iter(WAIT).next()?;
        let rest: Vec<_> = notes.iter().collect()?;
        (first, rest)
    };
    let mut lists = Vec::new();
    for note in first.into_iter().chain(rest) {
        match note.payload().split_once(' ') {
            Some(("l", list)) => lists.extend(Uuid::parse_str(list).ok()),
            _ => due.extend(Uuid::parse_str(note.payload()).ok()),
        }
    }
    let users = app.hub.users();
    if !lists.is_empty() && !users.is_empty() {
        due.extend(lists::members_among(conn, &lists, &users)?);
    }
    Ok(())
}

/// Ends `user`'s streams whose session has ended, then sends the others every change after the
/// oldest of their positions.
fn catch_up(conn: &mut Conn, app: &App, user: Uuid) -> Result<(), postgres::Error> {
    if app.hub.position(user).is_none() {
        return Ok(());
    }
    // A stream that opens while this runs is not judged here: its own catch-up checks it.
    let asked = app.hub.sessions(user);
    let (live, legacy) = sessions::live(conn, user, &asked)?;
    app.hub.end_revoked(user, |s| {
        s.map_or(legacy, |id| live.contains(&id) || !asked.contains(&id))
    });
    let Some(mut since) = app.hub.position(user) else {
        return Ok(());
    };
    loop {
        let Some(feed) = changes::feed(conn, Reader::Instance(user), Some(&since), PAGE)? else {
            return Ok(());
        };
        let reach = feed.reach(&since, PAGE);
        app.hub.publish(&app.cursors, user, &feed, &reach);
        if !feed.stopped_short(PAGE) {
            return Ok(());
        }
        since = reach;
    }
}
