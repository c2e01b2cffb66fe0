//! The test harness: a real PostgreSQL, the real server in-process, clients for it, and the
//! assertions the contract's responses share.

mod app;
mod binary;
mod citus;
mod contract;
mod databases;
mod dav;
mod lists;
mod pgbouncer;
mod raw;
mod raw_client;
mod sse;
mod tasks;
mod users;

pub use app::*;
pub use binary::*;
pub use citus::on_citus;
pub use contract::*;
pub use databases::*;
pub use dav::*;
pub use lists::*;
pub use pgbouncer::*;
pub use raw::*;
pub use sse::*;
pub use tasks::*;
pub use users::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "Passw0rd!";

/// A number no other call in this test process gets: for names of databases, users, directories.
pub fn unique() -> usize {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "todo-api-{label}-{}-{}",
        std::process::id(),
        unique()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `first` and `second` at once (released together by a barrier) and returns both answers.
pub fn at_once(
    first: impl FnOnce() -> Resp + Send,
    second: impl FnOnce() -> Resp + Send,
) -> (Resp, Resp) {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let one = s.spawn(|| {
            barrier.wait();
            first()
        });
        let two = s.spawn(|| {
            barrier.wait();
            second()
        });
        (one.join().unwrap(), two.join().unwrap())
    })
}
