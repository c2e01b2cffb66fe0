//! The local PostgreSQL used when no `DATABASE_URL` is set (and by the tests): a cluster created once
//! under a directory, listening only on a Unix socket inside it, stopped with the process.

use crate::StartError;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub pgdata: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

/// Where the server binaries are: `PG_BINDIR`, `pg_config --bindir`, the newest
/// `/usr/lib/postgresql/*/bin`, or `PATH`.
pub fn find_bindir() -> Result<PathBuf, StartError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        if has_server(&dir) {
            return Ok(dir);
        }
        return Err(StartError::new(format!(
            "PostgreSQL server binaries (initdb, postgres) are not in PG_BINDIR={}: install PostgreSQL \
             (Debian/Ubuntu: `apt-get install postgresql`), point PG_BINDIR at its bin directory, or set \
             DATABASE_URL to use an existing server",
            dir.display()
        )));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Ok(dir);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    Err(StartError::new(
        "PostgreSQL server binaries (initdb, postgres) were not found: install them (Debian/Ubuntu: \
         `apt-get install postgresql`, macOS: `brew install postgresql`), set PG_BINDIR to their \
         directory, or set DATABASE_URL to use an existing server",
    ))
}

/// initdb refuses to run as root: then the cluster belongs to the `postgres` system user.
pub fn run_as() -> Result<Option<(u32, u32)>, StartError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = c"postgres";
    // SAFETY: getpwnam gets a NUL-terminated name; the fields are copied out before any other call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(StartError::new(
            "running as root, PostgreSQL needs the `postgres` system user, which does not exist: \
             create it (`useradd --system postgres`) or run as an ordinary user",
        ));
    }
    // SAFETY: pw was checked non-null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

fn command(bindir: &Path, program: &str, owner: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bindir.join(program));
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<(), StartError> {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| StartError::caused(format!("chown {}", path.display()), e))?;
    }
    Ok(())
}

/// Spawning as the `postgres` user fails with EACCES when that user cannot reach the directory.
fn unreachable_dir(e: std::io::Error, pgdata: &Path, owner: Option<(u32, u32)>) -> StartError {
    if owner.is_some() && e.kind() == std::io::ErrorKind::PermissionDenied {
        StartError::new(format!(
            "the postgres system user cannot reach {}: every parent directory must be searchable by it \
             (e.g. `chmod o+x` on each), or choose another DATA_DIR",
            pgdata.display()
        ))
    } else {
        StartError::caused("PostgreSQL could not run", e)
    }
}

impl Cluster {
    /// Creates the cluster under `pgdata` unless it exists, then starts it. `settings` are extra
    /// `-c name=value` server settings (the tests turn fsync off, or listen on TCP with TLS).
    pub fn start(
        pgdata: &Path,
        port: u16,
        settings: &[(&str, &str)],
    ) -> Result<Cluster, StartError> {
        let bindir = find_bindir()?;
        let owner = run_as()?;
        fs::create_dir_all(pgdata)
            .map_err(|e| StartError::caused(format!("cannot create {}", pgdata.display()), e))?;
        let pgdata = pgdata
            .canonicalize()
            .map_err(|e| StartError::caused(pgdata.display().to_string(), e))?;
        let socket = pgdata.join(format!(".s.PGSQL.{port}"));
        if socket.as_os_str().len() > 100 {
            return Err(StartError::new(format!(
                "the data directory path {} is too long for a Unix socket; use a shorter DATA_DIR",
                pgdata.display()
            )));
        }
        chown(&pgdata, owner)?;
        fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o700))
            .map_err(|e| StartError::caused(format!("chmod {}", pgdata.display()), e))?;
        let log_path = pgdata.with_extension("log");
        if !pgdata.join("PG_VERSION").exists() {
            let out = command(&bindir, "initdb", owner)
                .args(["-D"])
                .arg(&pgdata)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ])
                .current_dir(&pgdata)
                .output()
                .map_err(|e| unreachable_dir(e, &pgdata, owner))?;
            if !out.status.success() {
                return Err(StartError::new(format!(
                    "initdb failed for {}: {}{}",
                    pgdata.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
        }
        let (log2, log) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .and_then(|log| Ok((log.try_clone()?, log)))
            .map_err(|e| StartError::caused(format!("cannot open {}", log_path.display()), e))?;
        let mut cmd = command(&bindir, "postgres", owner);
        cmd.arg("-D")
            .arg(&pgdata)
            .arg("-k")
            .arg(&pgdata)
            .args(["-p", &port.to_string()]);
        cmd.args(["-c", "listen_addresses="]);
        for (name, value) in settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd.current_dir(&pgdata)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // SAFETY: prctl is async-signal-safe. PostgreSQL gets SIGQUIT (immediate shutdown) if the
        // thread that started it dies, so a killed server or test run leaves no orphan cluster.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| unreachable_dir(e, &pgdata, owner))?;
        let mut cluster = Cluster {
            pgdata: pgdata.clone(),
            port,
            child: Some(child),
        };
        cluster.wait_ready(&log_path)?;
        Ok(cluster)
    }

    fn wait_ready(&mut self, log_path: &Path) -> Result<(), StartError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    let log = fs::read_to_string(log_path).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(5).collect();
                    return Err(StartError::new(format!(
                        "postgres exited ({status}) at start-up: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    )));
                }
            }
            if self.config().connect(postgres::NoTls).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::new(
                    "postgres did not accept connections within 60 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Superuser connection over the Unix socket.
    pub fn config(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host_path(&self.pgdata)
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .application_name("todo-api")
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// Fast shutdown: disconnect clients, checkpoint, exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: signalling our own child process by pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
