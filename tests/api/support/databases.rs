//! A real PostgreSQL for the tests: `TEST_DATABASE_URL`, or a throwaway cluster started here; one
//! database per test, cloned from a migrated template.

use super::unique;
use std::sync::{mpsc, OnceLock};
use std::time::Duration;
use todo_api::config::{LogFormat, LogLevel};
use todo_api::db::embedded::Cluster;

struct Postgres {
    /// Connection string of the maintenance database, without a database name.
    base: String,
    template: String,
}

static POSTGRES: OnceLock<Postgres> = OnceLock::new();

/// `host=... user=...` for the test cluster (key/value form; `dbname` appended by callers).
fn postgres() -> &'static Postgres {
    POSTGRES.get_or_init(|| {
        todo_api::log::init(LogFormat::Text, LogLevel::Off);
        let base = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url_to_keyvalue(&url),
            _ => start_throwaway_cluster(),
        };
        let template = format!("todo_template_{}", std::process::id());
        let mut admin = connect(&format!("{base} dbname=postgres"));
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {template}"))
            .expect("drop an old template");
        admin
            .batch_execute(&format!("CREATE DATABASE {template}"))
            .expect("create the template database");
        let mut client = connect(&format!("{base} dbname={template}"));
        todo_api::db::migrate::run(&mut client).expect("migrate the template");
        Postgres { base, template }
    })
}

/// `host=... port=... user=...` of the test cluster, without a database name.
pub fn base_conninfo() -> String {
    postgres().base.clone()
}

fn url_to_keyvalue(url: &str) -> String {
    let config: postgres::Config = url.parse().expect("TEST_DATABASE_URL is a valid URL");
    let mut out = String::new();
    for host in config.get_hosts() {
        match host {
            postgres::config::Host::Tcp(h) => out.push_str(&format!("host={h} ")),
            postgres::config::Host::Unix(p) => out.push_str(&format!("host={} ", p.display())),
        }
    }
    if let Some(port) = config.get_ports().first() {
        out.push_str(&format!("port={port} "));
    }
    if let Some(user) = config.get_user() {
        out.push_str(&format!("user={user} "));
    }
    if let Some(pw) = config.get_password() {
        out.push_str(&format!("password={} ", String::from_utf8_lossy(pw)));
    }
    out.trim_end().to_string()
}

/// The cluster lives on a thread that never ends: PostgreSQL is told to quit when its starting
/// thread dies, so it goes with the test process and not with the first test.
fn start_throwaway_cluster() -> String {
    remove_stale_clusters();
    let dir = std::env::temp_dir().join(format!("todo-api-test-{}", std::process::id()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let started = Cluster::start(&dir, 5432, &fast_settings());
        let result = started
            .as_ref()
            .map(|c| c.pgdata.clone())
            .map_err(|e| e.to_string());
        tx.send(result).ok();
        let _keep = started;
        loop {
            std::thread::park();
        }
    });
    let pgdata = rx
        .recv()
        .expect("cluster thread")
        .expect("start a throwaway PostgreSQL cluster");
    format!("host={} port=5432 user=postgres", pgdata.display())
}

/// The cluster lives as long as the test process and its directory outlasts it (a test run creates
/// a database per test: gigabytes over many runs), so each run first removes those of runs that
/// have ended.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("todo-api-test-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

pub fn fast_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("max_connections", "400"),
        ("shared_buffers", "64MB"),
    ]
}

pub fn connect(conninfo: &str) -> postgres::Client {
    postgres::Client::connect(conninfo, postgres::NoTls).expect("connect to the test PostgreSQL")
}

/// A unique database name and a connection to the maintenance database that can create it.
fn new_database(prefix: &str) -> (String, postgres::Client) {
    let pg = postgres();
    let name = format!("{prefix}_{}_{}", std::process::id(), unique());
    (name, connect(&format!("{} dbname=postgres", pg.base)))
}

/// A new database cloned from the migrated template; returns its connection string.
pub fn fresh_database() -> String {
    let pg = postgres();
    let (name, mut admin) = new_database("test");
    // CREATE DATABASE ... TEMPLATE fails if another session is copying the same template at once.
    for attempt in 0.. {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", pg.template)) {
            Ok(()) => break,
            Err(_) if attempt < 50 => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("create {name}: {e}"),
        }
    }
    format!("{} dbname={name}", pg.base)
}

/// A new empty database (no schema); returns its connection string.
pub fn empty_database() -> String {
    let (name, mut admin) = new_database("empty");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create an empty database");
    format!("{} dbname={name}", postgres().base)
}

/// The database records every migration the binary embeds, each once, in order.
pub fn assert_every_migration_applied(db: &mut postgres::Client) {
    let versions: Vec<String> = db
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, todo_api::db::migrate::versions());
}
