//! Radicale (Debian's `radicale`, the reference CalDAV server) as the `caldav` scenario's baseline:
//! a temporary configuration (filesystem storage in the run's directory, htpasswd users in plain
//! text, the web interface off, warnings only), its own built-in server on a free port, and
//! calendars written straight into its storage folder the way it keeps them.

use crate::server::{free_port, start_program, Proc};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The program: `RADICALE`, or `radicale` on the PATH.
fn program() -> String {
    std::env::var("RADICALE").unwrap_or_else(|_| "radicale".into())
}

/// Radicale's version, or how to install it.
pub fn check() -> Result<String, String> {
    let out = Command::new(program()).arg("--version").output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => Err(format!(
            "cannot run {:?}: install Radicale (Debian/Ubuntu: `apt-get install radicale`; \
             elsewhere `pip install radicale` and RADICALE=/path/to/radicale)",
            program()
        )),
    }
}

pub struct Radicale {
    pub proc: Proc,
    /// `collection-root` of its storage: `<user>/<calendar>/<name>.ics`.
    root: PathBuf,
    pub user: String,
    pub password: String,
}

impl Radicale {
    /// Starts Radicale on a free port with its storage, configuration and users under `dir`.
    pub fn start(dir: &Path, user: &str, password: &str) -> Result<Radicale, String> {
        let storage = dir.join("collections");
        let root = storage.join("collection-root");
        std::fs::create_dir_all(root.join(user)).map_err(|e| format!("{}: {e}", root.display()))?;
        let users = dir.join("users");
        write(&users, &format!("{user}:{password}\n"))?;
        let port = free_port()?;
        let config = dir.join("config");
        write(
            &config,
            &format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\n\n\
                 [rights]\ntype = owner_only\n\n\
                 [storage]\nfilesystem_folder = {}\n\n\
                 [web]\ntype = none\n\n\
                 [logging]\nlevel = warning\n",
                users.display(),
                storage.display()
            ),
        )?;
        let mut cmd = Command::new(program());
        cmd.arg("--config").arg(&config).current_dir(dir);
        let proc = start_program("radicale", cmd, port, "/")?;
        println!("radicale up at {} (pid {})", proc.addr, proc.pid());
        Ok(Radicale {
            proc,
            root,
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// A VTODO calendar `name` holding `items` (`(file name, iCalendar text)`), written into the
    /// storage folder as Radicale keeps one: a directory with `.Radicale.props` and a file per
    /// object. Returns its path on the server.
    pub fn calendar(&self, name: &str, items: &[(String, String)]) -> Result<String, String> {
        let dir = self.root.join(&self.user).join(name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let props = serde_json::json!({
            "tag": "VCALENDAR",
            "D:displayname": name,
            "C:supported-calendar-component-set": "VTODO",
        });
        write(&dir.join(".Radicale.props"), &props.to_string())?;
        for (file, text) in items {
            write(&dir.join(file), text)?;
        }
        Ok(format!("/{}/{name}/", self.user))
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
