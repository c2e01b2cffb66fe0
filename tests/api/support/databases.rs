//! A real PostgreSQL for the tests: `TEST_DATABASE_URL`, a throwaway cluster started here, or with
//! `TEST_CITUS=1` a throwaway Citus cluster (see citus.rs); one database per test, cloned from a
//! migrated template.

use super::{citus, on_citus, unique};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;
use todo_api::config::{LogFormat, LogLevel};
use todo_api::db::embedded::Cluster;

struct Postgres {
    /// Connection string of the maintenance database, without a database name.
    base: String,
    /// On Citus, the workers' `base`: each holds its own copy of every test database, under the
    /// same name, with the shards of its distributed tables.
    workers: Vec<String>,
    template: String,
}

static POSTGRES: OnceLock<Postgres> = OnceLock::new();

/// `host=... user=...` for the test cluster (key/value form; `dbname` appended by callers).
fn postgres() -> &'static Postgres {
    POSTGRES.get_or_init(|| {
        todo_api::log::init(LogFormat::Text, LogLevel::Off);
        let template = format!("todo_template_{}", std::process::id());
        if on_citus() {
            let (base, workers) = citus::start_with_template(&template);
            return Postgres {
                base,
                workers,
                template,
            };
        }
        let base = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url_to_keyvalue(&url),
            _ => start_throwaway_cluster(),
        };
        create_template(&base, &template);
        migrate_template(&base, &template);
        Postgres {
            base,
            workers: Vec::new(),
            template,
        }
    })
}

/// Creates the template database on the cluster of `base`, dropping one of that name first.
pub(super) fn create_template(base: &str, template: &str) {
    let mut admin = connect(&format!("{base} dbname=postgres"));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {template}"))
        .expect("drop an old template");
    admin
        .batch_execute(&format!("CREATE DATABASE {template}"))
        .expect("create the template database");
}

pub(super) fn migrate_template(base: &str, template: &str) {
    let mut client = connect(&format!("{base} dbname={template}"));
    todo_api::db::migrate::run(&mut client).expect("migrate the template");
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

fn start_throwaway_cluster() -> String {
    remove_stale_clusters();
    let pgdata = start_parked_cluster(&clusters_dir(), 5432, &fast_settings());
    format!("host={} port=5432 user=postgres", pgdata.display())
}

/// Where this process's clusters live; remove_stale_clusters knows the name.
pub(super) fn clusters_dir() -> PathBuf {
    std::env::temp_dir().join(format!("todo-api-test-{}", std::process::id()))
}

/// Starts a cluster in `pgdata` and returns that directory (its Unix socket's). The cluster lives
/// on a thread that never ends: PostgreSQL is told to quit when its starting thread dies, so it goes
/// with the test process and not with the first test.
pub(super) fn start_parked_cluster(
    pgdata: &Path,
    port: u16,
    settings: &[(&'static str, &'static str)],
) -> PathBuf {
    let (tx, rx) = mpsc::channel();
    let (dir, settings) = (pgdata.to_path_buf(), settings.to_vec());
    std::thread::spawn(move || {
        let started = Cluster::start(&dir, port, &settings);
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
    match rx.recv().expect("cluster thread") {
        Ok(pgdata) => pgdata,
        Err(e) => panic!(
            "start a throwaway PostgreSQL cluster in {}: {e}\n{}",
            pgdata.display(),
            log_tail(&pgdata.with_extension("log"))
        ),
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("last lines of {}:\n{tail}", log.display())
}

/// The cluster lives as long as the test process and its directory and log outlast it (a test run
/// creates a database per test: gigabytes over many runs), so each run first removes those of runs
/// that have ended.
pub(super) fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("todo-api-test-"))
            .map(|n| n.strip_suffix(".log").unwrap_or(n))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let path = entry.path();
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
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

/// A database name no other test uses.
fn new_name(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), unique())
}

/// A new database cloned from the migrated template; returns its connection string. On Citus the
/// coordinator and every worker get a clone under the same name.
pub fn fresh_database() -> String {
    let pg = postgres();
    let name = new_name("test");
    for base in std::iter::once(&pg.base).chain(&pg.workers) {
        clone_template(base, &name, &pg.template);
    }
    format!("{} dbname={name}", pg.base)
}

fn clone_template(base: &str, name: &str, template: &str) {
    let mut admin = connect(&format!("{base} dbname=postgres"));
    // CREATE DATABASE ... TEMPLATE fails if another session is copying the same template at once.
    for attempt in 0.. {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
            Ok(()) => break,
            Err(_) if attempt < 50 => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("create {name}: {e}"),
        }
    }
}

/// A new empty database (no schema); returns its connection string.
pub fn empty_database() -> String {
    let name = new_name("empty");
    connect(&format!("{} dbname=postgres", postgres().base))
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
