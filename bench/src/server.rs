//! The servers under test as child processes: the release `todo-api`, `axum-ref` (the baseline of
//! ../shared/baselines), and a trivial responder (this executable answering fixed bytes). Each is
//! started on a free port, waited for until `/health` answers 200, and stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The JWT secret of both servers (they never see a real user).
pub const SECRET: &str = "bench-jwt-secret-0123456789abcdef-0123456789abcdef";

/// The executables a run needs.
pub struct Binaries {
    pub todo_api: PathBuf,
    pub axum_ref: PathBuf,
    /// This executable: the responder runs as `todo-bench __responder PORT`.
    pub bench: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Kind {
    TodoApi,
    AxumRef,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TodoApi => "todo-api",
            Kind::AxumRef => "axum-ref",
        }
    }

    /// Each server has its own database in the one cluster (their schemas differ).
    pub fn database(self) -> &'static str {
        match self {
            Kind::TodoApi => "bench",
            Kind::AxumRef => "axum",
        }
    }
}

/// How to start a server.
pub struct Launch {
    /// `RLIMIT_NOFILE` soft and hard limit to start with; `None`: the soft limit raised to the hard
    /// one (what the readiness-driven front will do itself at start).
    pub nofile: Option<u64>,
    /// Extra environment (for todo-api: on top of the bench's own environment).
    pub env: Vec<(String, String)>,
}

impl Launch {
    pub fn plain() -> Launch {
        Launch {
            nofile: None,
            env: Vec::new(),
        }
    }
}

/// Lines a child wrote to stderr: a count, the first few, the last.
#[derive(Default)]
pub struct Log {
    pub count: u64,
    pub first: Vec<String>,
    pub last: Option<String>,
}

pub struct Proc {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    log: Arc<Mutex<Log>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines written to stderr so far.
    pub fn log_lines(&self) -> u64 {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .count
    }

    /// The first line written after line number `after`, if any (kept: the first 200 lines).
    pub fn log_sample(&self, after: u64) -> Option<String> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        usize::try_from(after)
            .ok()
            .and_then(|i| log.first.get(i).cloned())
            .or_else(|| log.last.clone())
    }

    fn wait_ready(self, within: Duration) -> Result<Proc, String> {
        self.wait_until(within, "answer /health with 200", |addr| {
            crate::http::wait_healthy(addr, Duration::from_millis(200))
        })
    }

    /// Waits until `ready` (one probe; it may take a while) says yes, the child exits, or `within`
    /// passes.
    fn wait_until(
        mut self,
        within: Duration,
        what: &str,
        ready: impl Fn(SocketAddr) -> bool,
    ) -> Result<Proc, String> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
                return Err(format!(
                    "{} exited at start-up ({status}): {}",
                    self.name,
                    log.first.join("\n")
                ));
            }
            if ready(self.addr) {
                return Ok(self);
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not {what} within {within:?}", self.name));
            }
        }
    }

    /// SIGTERM, then SIGKILL after 15 s.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago (todo-api logs its address only at `info`; the bench runs it
/// at `warn`).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn spawn(
    name: &'static str,
    mut cmd: Command,
    port: u16,
    nofile: Option<u64>,
) -> Result<Proc, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl, getrlimit and setrlimit are async-signal-safe. The child dies with the bench.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                match nofile {
                    Some(n) => {
                        limit.rlim_cur = n.min(limit.rlim_max);
                        limit.rlim_max = limit.rlim_cur;
                    }
                    None => limit.rlim_cur = limit.rlim_max,
                }
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let log = Arc::new(Mutex::new(Log::default()));
    if let Some(pipe) = child.stderr.take() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                log.count += 1;
                if log.first.len() < 200 {
                    log.first.push(line.clone());
                }
                log.last = Some(line);
            }
        });
    }
    Ok(Proc {
        name,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        child,
        log,
    })
}

/// Where the servers find PostgreSQL: the cluster's Unix socket directory, or 127.0.0.1 over TCP
/// (where deployments reach their database), and the port.
pub struct DbAddr<'a> {
    pub socket_dir: &'a Path,
    pub port: u16,
    pub transport: Transport,
}

/// How a server reaches PostgreSQL.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Transport {
    Unix,
    Tcp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Unix => "Unix socket",
            Transport::Tcp => "TCP",
        }
    }
}

impl DbAddr<'_> {
    pub fn url(&self, database: &str) -> String {
        let host = match self.transport {
            Transport::Unix => self.socket_dir.display().to_string(),
            Transport::Tcp => "127.0.0.1".to_string(),
        };
        format!(
            "host={host} port={} user=postgres dbname={database}",
            self.port
        )
    }
}

pub fn start(
    kind: Kind,
    bins: &Binaries,
    db: &DbAddr,
    work: &Path,
    launch: Launch,
) -> Result<Proc, String> {
    let port = free_port()?;
    let url = db.url(kind.database());
    let mut cmd;
    match kind {
        Kind::TodoApi => {
            cmd = Command::new(&bins.todo_api);
            // The bench's environment passes through (WORKERS=..., HASH_CONCURRENCY=...), then:
            cmd.env("DATABASE_URL", url)
                .env("JWT_SECRET_KEY", SECRET)
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string())
                .env("LOG_LEVEL", "warn")
                .env("BCRYPT_COST", "10");
            // One address plays every client here: the sign-in and sign-up throttles would answer
            // the bench's own set-up and floods with 429 (tests/api/throttling.rs covers them).
            for limit in [
                "SIGNIN_LIMIT_PER_EMAIL",
                "SIGNIN_LIMIT_PER_ADDRESS",
                "SIGNUP_LIMIT_PER_ADDRESS",
            ] {
                cmd.env(limit, "1000000");
            }
        }
        Kind::AxumRef => {
            cmd = Command::new(&bins.axum_ref);
            cmd.env_clear()
                .env("DATABASE_URL", url)
                .env("JWT_SECRET_KEY", SECRET)
                .env("ADDR", format!("127.0.0.1:{port}"))
                .env("POOL", "16");
        }
    }
    cmd.envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(work);
    spawn(kind.name(), cmd, port, launch.nofile)?.wait_ready(Duration::from_secs(60))
}

/// Another HTTP server (Radicale), already told to listen on `port`: started, and ready once `path`
/// answers with any status.
pub fn start_program(
    name: &'static str,
    cmd: Command,
    port: u16,
    path: &str,
) -> Result<Proc, String> {
    spawn(name, cmd, port, None)?.wait_until(Duration::from_secs(30), "answer", |addr| {
        let answered =
            crate::http::request(addr, "GET", path, None, None, Duration::from_secs(1)).is_ok();
        if !answered {
            std::thread::sleep(Duration::from_millis(50));
        }
        answered
    })
}

/// The trivial baseline: this executable answering every request head with `response`, a thread
/// per connection.
pub fn start_responder(bins: &Binaries, response: &str, work: &Path) -> Result<Proc, String> {
    let port = free_port()?;
    let mut cmd = Command::new(&bins.bench);
    cmd.env_clear()
        .env("BENCH_RESPONSE", response)
        .arg("__responder")
        .arg(port.to_string())
        .current_dir(work);
    spawn("responder", cmd, port, None)?.wait_ready(Duration::from_secs(10))
}

/// Body of the responder process (`todo-bench __responder PORT`).
pub fn responder(port: &str) -> Result<(), String> {
    let response: Arc<[u8]> = std::env::var("BENCH_RESPONSE")
        .unwrap_or_default()
        .into_bytes()
        .into();
    let port: u16 = port
        .parse()
        .map_err(|_| format!("responder: bad port {port:?}"))?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("responder: cannot listen on port {port}: {e}"))?;
    for stream in listener.incoming().map_while(Result::ok) {
        let response = Arc::clone(&response);
        std::thread::spawn(move || answer_fixed(stream, &response));
    }
    Ok(())
}

fn answer_fixed(mut stream: TcpStream, response: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(end) = crate::http::head_end(&buf) {
            buf.drain(..end);
            if stream.write_all(response).is_err() {
                return;
            }
        }
    }
}
