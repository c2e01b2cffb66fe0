//! The JWT secret of an embedded deployment: generated once into `DATA_DIR/jwt_secret`, mode 0600,
//! so tokens survive restarts; refused when group or others may read it.

use crate::StartError;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub fn persistent(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join("jwt_secret");
    // As OpenSSH with a private key: a secret others could read may have been read, so it is not
    // used; the operator decides whether to tighten it or to replace it.
    if let Ok(meta) = fs::metadata(&path) {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let open = if mode & 0o044 != 0 {
                "readable"
            } else {
                "accessible"
            };
            return Err(StartError::new(format!(
                "{} is {open} by other users (mode {mode:04o}); run: chmod 600 {}",
                path.display(),
                path.display()
            )));
        }
    }
    if let Ok(secret) = fs::read_to_string(&path) {
        let secret = secret.trim().to_string();
        if secret.len() >= 32 {
            return Ok(secret);
        }
    }
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| StartError::caused("cannot read /dev/urandom", e))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    fs::create_dir_all(data_dir)
        .map_err(|e| StartError::caused(format!("cannot create {}", data_dir.display()), e))?;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(secret.as_bytes()))
        .map_err(|e| StartError::caused(format!("cannot write {}", path.display()), e))?;
    Ok(secret)
}
