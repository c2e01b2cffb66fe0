//! Runs wrk (the load generator) with one of the Lua scripts in bench/lua and parses the JSON line
//! that `done()` in lua/common.lua prints.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const COMMON: &str = include_str!("../lua/common.lua");
const SCRIPTS: &[(&str, &str)] = &[
    ("get", include_str!("../lua/get.lua")),
    ("w1", include_str!("../lua/w1.lua")),
    ("signin", include_str!("../lua/signin.lua")),
    ("mix", include_str!("../lua/mix.lua")),
    ("dav", include_str!("../lua/dav.lua")),
];

/// Writes each script, with the common part appended, into `dir`.
pub fn write_scripts(dir: &Path) -> Result<(), String> {
    for (name, text) in SCRIPTS {
        let path = dir.join(format!("{name}.lua"));
        std::fs::write(&path, format!("{text}\n{COMMON}"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn program() -> String {
    std::env::var("WRK").unwrap_or_else(|_| "wrk".into())
}

/// wrk must be installed; say how if it is not.
pub fn check() -> Result<String, String> {
    let out = Command::new(program())
        .arg("--version")
        .output()
        .map_err(|e| {
            format!(
                "cannot run wrk ({e}): install it (Debian/Ubuntu: `apt-get install wrk`, macOS: \
             `brew install wrk`) or set WRK to its path"
            )
        })?;
    // wrk --version prints its banner and exits with status 1.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("wrk").trim().to_string())
}

/// One wrk run: `conns` keep-alive connections for `secs` seconds.
#[derive(Clone)]
pub struct Load<'a> {
    pub url: String,
    pub conns: usize,
    pub secs: u64,
    pub script: &'a str,
    pub args: Vec<String>,
}

impl Load<'_> {
    fn command(&self, dir: &Path) -> Command {
        let threads = self.conns.clamp(1, 2);
        let mut cmd = Command::new(program());
        cmd.args(["-t", &threads.to_string()])
            .args(["-c", &self.conns.to_string()])
            .args(["-d", &format!("{}s", self.secs)])
            .args(["--timeout", "5s"])
            .arg("-s")
            .arg(script_path(dir, self.script))
            .arg(&self.url);
        if !self.args.is_empty() {
            cmd.arg("--").args(&self.args);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs wrk to the end.
    pub fn run(&self, dir: &Path) -> Result<Figures, String> {
        let out = self
            .command(dir)
            .output()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        Figures::parse(&out)
    }

    /// Starts wrk in the background (a load that another measurement runs under).
    pub fn spawn(&self, dir: &Path) -> Result<Running, String> {
        let child = self
            .command(dir)
            .spawn()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        Ok(Running(child))
    }
}

fn script_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.lua"))
}

pub struct Running(Child);

impl Running {
    pub fn finish(self) -> Result<Figures, String> {
        let out = self.0.wait_with_output().map_err(|e| format!("wrk: {e}"))?;
        Figures::parse(&out)
    }
}

/// What one wrk run measured. Latencies in microseconds (-1: no request completed).
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub requests: u64,
    pub secs: f64,
    /// Answers outside 2xx/3xx.
    pub non_2xx: u64,
    /// Connect, read and write errors and timeouts.
    pub errors: u64,
    pub timeouts: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Figures {
    fn parse(out: &std::process::Output) -> Result<Figures, String> {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_JSON "))
            .ok_or_else(|| {
                format!(
                    "wrk printed no figures ({}):\n{stdout}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )
            })?;
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("wrk figures {line}: {e}"))?;
        let n = |k: &str| v[k].as_f64().unwrap_or(-1.0);
        let c = |k: &str| v[k].as_u64().unwrap_or(0);
        Ok(Figures {
            requests: c("requests"),
            secs: n("duration_us") / 1e6,
            non_2xx: c("status"),
            errors: c("connect") + c("read") + c("write") + c("timeout"),
            timeouts: c("timeout"),
            p50: n("p50"),
            p95: n("p95"),
            p99: n("p99"),
            max: n("max"),
        })
    }

    /// Answers per second, all statuses.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    /// 2xx/3xx answers per second.
    pub fn ok_rate(&self) -> f64 {
        self.requests.saturating_sub(self.non_2xx) as f64 / self.secs.max(1e-9)
    }

    /// A one-line account for the log.
    pub fn summary(&self) -> String {
        format!(
            "{} requests in {:.1} s = {:.0}/s, {} non-2xx, {} socket errors ({} timeouts); \
             latency p50 {} p99 {} max {}",
            self.requests,
            self.secs,
            self.rate(),
            self.non_2xx,
            self.errors,
            self.timeouts,
            crate::report::ms(self.p50),
            crate::report::ms(self.p99),
            crate::report::ms(self.max)
        )
    }
}
