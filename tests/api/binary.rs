//! The built binary as a child process: --help, configuration errors, the embedded PostgreSQL,
//! and graceful shutdown on SIGTERM.

use crate::support::*;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use todo_api::config::SETTINGS;

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .envs(coverage_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("BCRYPT_COST", "4")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> RawResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let mut raw = Raw::connect(addr);
    raw.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    raw.response().expect("a response")
}

#[test]
fn help_lists_every_setting_with_its_default() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for setting in SETTINGS {
        let (name, default) = (setting.name, setting.default.shown());
        assert!(
            text.contains(&format!("{name:<22} {}\n", setting.help)),
            "--help does not give {name} with its help text"
        );
        assert!(
            text.contains(&format!("default: {default}\n")),
            "--help does not give {name}'s default {default:?}"
        );
    }
}

/// `(variable, default, meaning)` of each row of the README's configuration table, backticks
/// removed.
fn readme_settings() -> Vec<(String, String, String)> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Configuration")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Configuration section in README.md");
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<String> = line
                .split(" | ")
                .map(|cell| cell.trim_matches(['|', ' ']).replace('`', ""))
                .collect();
            assert_eq!(cells.len(), 3, "not three cells: {line}");
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

#[test]
fn the_readme_lists_every_setting_with_its_default_and_its_help_text_and_nothing_else() {
    let readme = readme_settings();
    let documented: Vec<&str> = readme.iter().map(|(name, _, _)| name.as_str()).collect();
    let settings: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    assert_eq!(
        documented, settings,
        "README.md rows against SETTINGS, in order"
    );
    for ((name, default, meaning), setting) in readme.iter().zip(SETTINGS) {
        assert_eq!(
            *default,
            setting.default.shown(),
            "README default of {name}"
        );
        assert_eq!(
            meaning, setting.help,
            "README meaning of {name} against --help"
        );
    }
}

#[test]
fn an_invalid_setting_stops_start_up_with_a_message_naming_it() {
    let dir = temp_dir("badconfig");
    let out = command(&dir).env("WORKERS", "many").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WORKERS"));

    let out = command(&dir)
        .env("DATABASE_URL", "postgres://localhost/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET_KEY"));
}

#[test]
fn with_no_configuration_it_runs_its_own_postgresql_and_keeps_tokens_across_restarts() {
    let dir = temp_dir("embedded");
    let mut server = run(command(&dir));
    let health = http(server.addr, "GET", "/health", None, None);
    assert_eq!(health.status, 200);
    assert!(
        health.body.contains("\"database\":\"ok\""),
        "{}",
        health.body
    );
    let signup = http(
        server.addr,
        "POST",
        "/api/auth/signup",
        None,
        Some(json!({ "name": "Embedded", "email": "e@example.com", "password": PASSWORD })),
    );
    assert_eq!(signup.status, 201, "{}", signup.body);
    let token = serde_json::from_str::<serde_json::Value>(&signup.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = dir.join("data/jwt_secret");
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(30)).success());

    let server = run(command(&dir));
    let me = http(server.addr, "GET", "/api/auth/me", Some(&token), None);
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(!server.logs().contains(&token));
}

#[test]
fn a_generated_secret_other_users_can_read_stops_start_up_with_the_fix() {
    let dir = temp_dir("opensecret");
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let secret = data.join("jwt_secret");
    std::fs::write(&secret, "0123456789abcdef".repeat(4)).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut child = command(&dir).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("with jwt_secret at mode {mode:o}, the server started");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("data/jwt_secret is ")
                && err.contains(&format!("by other users (mode 0{mode:o}); run: chmod 600 "))
                && err.trim_end().ends_with("data/jwt_secret"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!data.join("postgres").exists(), "PostgreSQL was started");
    }
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = run(command(&dir));
    assert_eq!(http(server.addr, "GET", "/health", None, None).status, 200);
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_refuses_new_ones_and_exits_zero() {
    let dir = temp_dir("sigterm");
    let mut cmd = command(&dir);
    cmd.env("DATABASE_URL", fresh_database())
        .env("JWT_SECRET_KEY", SECRET)
        .env("BCRYPT_COST", "13")
        .env("HASH_PRIORITY", "normal")
        .env("SHUTDOWN_TIMEOUT_MS", "20000");
    let mut server = run(cmd);
    let addr = server.addr;
    // A sign-up at cost 13 takes half a second of bcrypt: a slow request (at normal priority, so a
    // loaded test machine cannot stretch it past the shutdown timeout).
    let slow = std::thread::spawn(move || {
        http(
            addr,
            "POST",
            "/api/auth/signup",
            None,
            Some(json!({ "name": "Slow", "email": "slow@example.com", "password": PASSWORD })),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "new connections must be refused during shutdown"
    );
    let resp = slow.join().unwrap();
    assert_eq!(resp.status, 201, "{}", resp.body);
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn missing_postgresql_binaries_give_one_clear_sentence() {
    let dir = temp_dir("nobin");
    let out = command(&dir)
        .env("PG_BINDIR", dir.join("nothing-here"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("apt-get install postgresql") && err.contains("DATABASE_URL"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_dotenv_file_in_the_working_directory_is_read() {
    let dir = temp_dir("dotenv");
    std::fs::write(dir.join(".env"), "# settings\nMAX_BODY_BYTES=lots\n").unwrap();
    let out = command(&dir).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAX_BODY_BYTES"));
}

#[test]
fn the_migrate_command_applies_the_schema_once() {
    let dir = temp_dir("migrate");
    let url = empty_database();
    let first = command(&dir)
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("JWT_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("0001_init"));
    let second = command(&dir)
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("JWT_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains("applied 0 migration(s)"));
}

#[test]
fn a_data_dir_the_postgres_user_cannot_reach_is_explained() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // Only root hands the cluster to another user.
    }
    let dir = temp_dir("private");
    let private = dir.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = command(&dir)
        .env("DATA_DIR", private.join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach") && err.contains("DATA_DIR"),
        "{err}"
    );
}

#[test]
fn json_logs_never_contain_the_password_the_hash_or_the_token() {
    let dir = temp_dir("logs");
    let url = fresh_database();
    let mut cmd = command(&dir);
    cmd.env("DATABASE_URL", &url)
        .env("JWT_SECRET_KEY", SECRET)
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "debug");
    let mut child = cmd.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    let addr: SocketAddr = loop {
        let line = lines.next().expect("a log line");
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            event["ts"].is_string() && event["level"].is_string(),
            "{line}"
        );
        if event["msg"] == "listening" {
            break event["url"]
                .as_str()
                .unwrap()
                .trim_start_matches("http://")
                .parse()
                .unwrap();
        }
    };
    let signup = http(
        addr,
        "POST",
        "/api/auth/signup",
        None,
        Some(json!({ "name": "Logged", "email": "logged@example.com", "password": PASSWORD })),
    );
    assert_eq!(signup.status, 201);
    let token = serde_json::from_str::<serde_json::Value>(&signup.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        http(addr, "GET", "/api/auth/me", Some(&token), None).status,
        200
    );
    let hash: String = connect(&url)
        .query_one(
            "SELECT password_hash FROM users WHERE email = 'logged@example.com'",
            &[],
        )
        .unwrap()
        .get(0);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let rest: Vec<String> = lines.collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.iter().any(|l| l.contains("/api/auth/signup")),
        "the sign-up was not logged"
    );
    for line in &rest {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for secret in [PASSWORD, hash.as_str(), token.as_str(), SECRET] {
            assert!(!line.contains(secret), "a secret was logged: {line}");
        }
    }
}

#[test]
fn on_sigterm_it_reports_not_ready_for_drain_ms_while_serving_then_stops_accepting() {
    let dir = temp_dir("drain");
    let mut cmd = command(&dir);
    cmd.env("DATABASE_URL", fresh_database())
        .env("JWT_SECRET_KEY", SECRET)
        .env("DRAIN_MS", "2000");
    let mut server = run(cmd);
    let addr = server.addr;
    assert_eq!(http(addr, "GET", "/health/ready", None, None).status, 200);
    let signalled = Instant::now();
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    let ready = http(addr, "GET", "/health/ready", None, None);
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.contains("draining"), "{}", ready.body);
    // Still accepting and serving, well inside the drain.
    let signup = http(
        addr,
        "POST",
        "/api/auth/signup",
        None,
        Some(json!({ "name": "Late", "email": "late@example.com", "password": PASSWORD })),
    );
    assert_eq!(signup.status, 201, "{}", signup.body);
    assert!(signalled.elapsed() < Duration::from_millis(1800));
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() >= Duration::from_millis(2000),
        "exited before DRAIN_MS was over"
    );
    assert!(std::net::TcpStream::connect(addr).is_err());
}
