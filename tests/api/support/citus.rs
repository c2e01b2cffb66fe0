//! A throwaway Citus cluster for the tests (`TEST_CITUS=1`): a coordinator and two workers, each a
//! PostgreSQL started like the single test cluster, listening on 127.0.0.1 as well, since Citus
//! reaches its nodes by host and port (as the same user, trusted by initdb's pg_hba).

use super::databases::{
    clusters_dir, connect, create_template, fast_settings, migrate_template, remove_stale_clusters,
    start_parked_cluster,
};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Whether the test servers run against Citus (`TEST_CITUS=1`).
pub fn on_citus() -> bool {
    std::env::var("TEST_CITUS").is_ok_and(|v| v == "1")
}

struct Node {
    /// Also the directory of its Unix socket.
    pgdata: PathBuf,
    port: u16,
}

impl Node {
    /// Over the Unix socket, without a database name.
    fn conninfo(&self) -> String {
        format!(
            "host={} port={} user=postgres",
            self.pgdata.display(),
            self.port
        )
    }
}

/// Starts the nodes and gives each a migrated `template` that Citus can clone; returns the
/// coordinator's connection string and the workers', without a database name.
pub(super) fn start_with_template(template: &str) -> (String, Vec<String>) {
    remove_stale_clusters();
    let nodes = start_nodes();
    let (coordinator, workers) = nodes.split_first().expect("a coordinator");
    for node in &nodes {
        create_template(&node.conninfo(), template);
        connect(&format!("{} dbname={template}", node.conninfo()))
            .batch_execute("CREATE EXTENSION citus")
            .expect("create the citus extension");
    }
    add_workers(coordinator, workers, template);
    migrate_template(&coordinator.conninfo(), template);
    for node in &nodes {
        seal(&node.conninfo(), template);
    }
    let mut bases: Vec<String> = nodes.iter().map(Node::conninfo).collect();
    let workers = bases.split_off(1);
    (bases.remove(0), workers)
}

/// The coordinator, then two workers, started at once.
fn start_nodes() -> Vec<Node> {
    let dir = clusters_dir();
    let names = ["coordinator", "worker1", "worker2"];
    let ports = free_ports(names.len());
    std::thread::scope(|s| {
        let started: Vec<_> = names
            .iter()
            .zip(&ports)
            .map(|(name, &port)| {
                let pgdata = dir.join(name);
                s.spawn(move || Node {
                    pgdata: start_parked_cluster(&pgdata, port, &settings(name)),
                    port,
                })
            })
            .collect();
        started
            .into_iter()
            .map(|node| node.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Held open together, so that no two are the same.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("a bound port").port())
        .collect()
}

/// A worker takes connections from the coordinator on behalf of every client of the coordinator,
/// and then some of its own. Nodes talk to each other without TLS: PostgreSQL inherits the test
/// process's HOME, and libpq in it, looking there for a client certificate, fails on root's.
fn settings(node: &str) -> Vec<(&'static str, &'static str)> {
    let max_connections = if node == "coordinator" { "400" } else { "600" };
    let mut settings = fast_settings();
    settings.retain(|(name, _)| *name != "max_connections");
    settings.extend([
        ("max_connections", max_connections),
        ("shared_preload_libraries", "citus"),
        ("listen_addresses", "127.0.0.1"),
        ("citus.shard_count", "8"),
        ("citus.node_conninfo", "sslmode=disable"),
        ("citus.enable_statistics_collection", "off"),
    ]);
    settings
}

fn add_workers(coordinator: &Node, workers: &[Node], template: &str) {
    let mut db = connect(&format!("{} dbname={template}", coordinator.conninfo()));
    db.batch_execute(&format!(
        "SELECT citus_set_coordinator_host('127.0.0.1', {})",
        coordinator.port
    ))
    .expect("register the coordinator");
    for worker in workers {
        db.batch_execute(&format!(
            "SELECT citus_add_node('127.0.0.1', {})",
            worker.port
        ))
        .expect("add a worker");
    }
}

/// CREATE DATABASE ... TEMPLATE refuses a template anyone is connected to, and Citus's maintenance
/// daemon stays connected to every database with the extension: the template stops taking
/// connections, which keeps the daemon out too, and whoever is still in is ended.
fn seal(base: &str, template: &str) {
    let mut admin = connect(&format!("{base} dbname=postgres"));
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {template} WITH ALLOW_CONNECTIONS false"
        ))
        .expect("close the template to connections");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connected = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&template],
            )
            .expect("end the template's sessions");
        if connected.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sessions stay connected to {template} on {base}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
