//! PgBouncer 1.18 in transaction pooling mode in front of the test PostgreSQL: `TEST_PGBOUNCER=1`
//! sends every test server through it (`.ci/run` runs the API suite once that way), and
//! tests/api/pgbouncer.rs always does.
//!
//! It lets anyone who reaches it in as the `postgres` superuser (`auth_type = any`), so it listens
//! on no TCP port, only on a Unix socket in a directory that only its own user may enter (0700): the
//! test process runs as that user or as root.

use super::{base_conninfo, temp_dir};
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// Whether the test servers reach PostgreSQL through PgBouncer (`TEST_PGBOUNCER=1`).
pub fn through_pgbouncer() -> bool {
    std::env::var("TEST_PGBOUNCER").is_ok_and(|v| v == "1")
}

/// The installed binary, if any.
pub fn pgbouncer_binary() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin"])
        .map(|dir| PathBuf::from(dir).join("pgbouncer"))
        .find(|p| p.is_file());
    found
}

pub struct PgBouncer {
    pub pid: u32,
    /// The directory of its socket, `.s.PGSQL.{PGBOUNCER_PORT}` (a libpq `host`).
    pub socket_dir: PathBuf,
}

/// The port in the socket's name.
pub const PGBOUNCER_PORT: u16 = 6432;

/// The one PgBouncer of this test process, started on first use; `None` when it is not installed
/// (CI installs it, and then its absence is a failure).
pub fn pgbouncer() -> Option<&'static PgBouncer> {
    static PGBOUNCER: OnceLock<Option<PgBouncer>> = OnceLock::new();
    PGBOUNCER
        .get_or_init(|| {
            let Some(binary) = pgbouncer_binary() else {
                assert!(
                    std::env::var("CI").is_err(),
                    "pgbouncer is not installed (apt-get install pgbouncer)"
                );
                eprintln!("pgbouncer is not installed: its tests are skipped");
                return None;
            };
            Some(start(binary))
        })
        .as_ref()
}

/// A test database's connection string rewritten to go through PgBouncer (same database name).
/// `None` for a database of another cluster.
pub fn via_pgbouncer(direct: &str) -> Option<String> {
    if !direct.starts_with(&format!("{} dbname=", base_conninfo())) {
        return None;
    }
    let socket_dir = &pgbouncer()?.socket_dir;
    let dbname = direct
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("dbname="))?;
    Some(format!(
        "host={} port={PGBOUNCER_PORT} user=postgres dbname={dbname} connect_timeout=10",
        socket_dir.display()
    ))
}

fn socket(dir: &Path) -> PathBuf {
    dir.join(format!(".s.PGSQL.{PGBOUNCER_PORT}"))
}

/// Runs from a thread that never ends: PgBouncer is told to quit when its starting thread dies,
/// so it goes with the test process.
fn start(binary: PathBuf) -> PgBouncer {
    let dir = temp_dir("pgbouncer");
    let socket_dir = dir.join("socket");
    let owner = todo_api::db::embedded::run_as().expect("the postgres user");
    std::fs::create_dir(&socket_dir).expect("create the socket directory");
    if let Some((uid, gid)) = owner {
        chown(&socket_dir, Some(uid), Some(gid)).expect("chown the socket directory");
    }
    std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod the socket directory");
    let server: String = base_conninfo()
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect::<Vec<_>>()
        .join(" ");
    let config = format!(
        "[databases]\n* = {server}\n\n[pgbouncer]\n\
         listen_port = {PGBOUNCER_PORT}\nunix_socket_dir = {}\n\
         auth_type = any\npool_mode = transaction\n\
         max_client_conn = 5000\ndefault_pool_size = 8\n\
         server_idle_timeout = 5\nserver_lifetime = 60\nquery_wait_timeout = 3\n\
         logfile =\npidfile =\n",
        socket_dir.display()
    );
    let ini = dir.join("pgbouncer.ini");
    std::fs::write(&ini, config).expect("write pgbouncer.ini");
    let log = std::fs::File::create(dir.join("pgbouncer.log")).expect("pgbouncer log");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(binary);
        cmd.arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // PgBouncer refuses to run as root. It is not given `user = postgres` to switch itself:
        // a change of user clears the parent-death signal, and every run as root left a PgBouncer
        // behind. The standard library switches before the pre_exec hook sets the signal.
        if let Some((uid, gid)) = owner {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn();
        tx.send(child.as_ref().map(|c| c.id()).map_err(|e| e.to_string()))
            .ok();
        let _keep = child;
        loop {
            std::thread::park();
        }
    });
    let pid = rx
        .recv()
        .expect("pgbouncer thread")
        .expect("start pgbouncer");
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(socket(&socket_dir)).is_err() {
        assert!(
            Instant::now() < deadline,
            "pgbouncer did not listen; see {}",
            dir.join("pgbouncer.log").display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    PgBouncer { pid, socket_dir }
}
