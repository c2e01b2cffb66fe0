//! The built binary as a child process, started and waited for by its "listening" log line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_todo-api");

/// `LLVM_PROFILE_FILE` when set (under `cargo llvm-cov`), for a binary started with a cleared
/// environment: its coverage profile still goes where the report looks.
pub fn coverage_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars().filter(|(name, _)| name == "LLVM_PROFILE_FILE")
}

pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: mpsc::Receiver<String>,
}

/// Starts the binary and waits for its "listening" line.
pub fn run(mut cmd: Command) -> Running {
    let mut child = cmd.spawn().expect("spawn the binary");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no listening line; exit: {:?}", child.try_wait()));
        if let Some(url) = line.split("url=http://").nth(1) {
            let addr = url.trim().parse().expect("address in the listening line");
            return Running {
                child,
                addr,
                log: rx,
            };
        }
    }
}

impl Running {
    pub fn terminate(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn logs(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Running {
    /// SIGTERM first, so the server stops its PostgreSQL and writes its coverage profile; SIGKILL
    /// if it has not exited within 10 s.
    fn drop(&mut self) {
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
