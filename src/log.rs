//! One line per event on stderr, as text or JSON. The level and format are set once at start-up.

use crate::config::{LogFormat, LogLevel};
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static JSON: AtomicU8 = AtomicU8::new(0);

pub fn init(format: LogFormat, level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store((format == LogFormat::Json) as u8, Ordering::Relaxed);
}

pub fn enabled(level: LogLevel) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed) && level != LogLevel::Off
}

/// `fields` are extra key/value pairs; values are written escaped, so request data cannot forge lines.
pub fn log(level: LogLevel, message: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    if !enabled(level) {
        return;
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let name = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::Off => return,
    };
    let line = if JSON.load(Ordering::Relaxed) == 1 {
        let mut map = serde_json::Map::new();
        map.insert("ts".into(), now.into());
        map.insert("level".into(), name.into());
        map.insert("msg".into(), message.into());
        for (k, v) in fields {
            map.insert((*k).into(), v.to_string().into());
        }
        serde_json::Value::Object(map).to_string()
    } else {
        let mut s = format!("{now} {name:<5} {}", message.escape_debug());
        for (k, v) in fields {
            s.push_str(&format!(" {k}={}", v.to_string().escape_debug()));
        }
        s
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn info(message: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(LogLevel::Info, message, fields)
}

pub fn warn(message: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(LogLevel::Warn, message, fields)
}

pub fn error(message: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    log(LogLevel::Error, message, fields)
}
