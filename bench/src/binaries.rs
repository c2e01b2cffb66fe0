//! Builds the two servers before a run: the release `todo-api` of this repository and `axum-ref`
//! from ../shared/baselines/axum-ref (or AXUM_REF_DIR) into target/axum-ref, since ../shared may be
//! read-only.

use crate::server::Binaries;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

fn cargo(args: &[&str], target: &Path, what: &str) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("building {what} ...");
    let status = Command::new(&cargo)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .current_dir(repo())
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("building {what} failed ({status})"));
    }
    Ok(())
}

pub fn build() -> Result<Binaries, String> {
    let target = target_dir();
    cargo(
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            "todo-api",
            "--bin",
            "todo-api",
        ],
        &target,
        "todo-api (release)",
    )?;
    let axum_dir = std::env::var_os("AXUM_REF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/baselines/axum-ref"));
    let manifest = axum_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "axum-ref not found at {}: set AXUM_REF_DIR to the baselines/axum-ref directory",
            axum_dir.display()
        ));
    }
    let axum_target = target.join("axum-ref");
    let manifest = manifest.to_string_lossy().into_owned();
    cargo(
        &[
            "build",
            "--release",
            "--quiet",
            "--manifest-path",
            &manifest,
        ],
        &axum_target,
        "axum-ref (release, baseline)",
    )?;
    let bench = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    Ok(Binaries {
        todo_api: target.join("release/todo-api"),
        axum_ref: axum_target.join("release/axum-ref"),
        bench,
    })
}

/// The commit measured, `+dirty` if the work tree has changes.
pub fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if !s.is_empty() => format!("{head}+dirty"),
        _ => head,
    }
}
