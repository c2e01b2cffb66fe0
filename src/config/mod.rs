//! Configuration from the environment, with an optional `.env` file in the working directory.
//! Each setting is one row of [`SETTINGS`].

/// Workers per core that take requests at once; the others stand in for those waiting on a
/// password hash. A macro so that WORKERS' `--help` line is built from the number (`concat!`).
/// Under W1 on two cores, once toggles were HOT updates, three gave a lower p99 than four at the
/// same throughput (two paired runs); fewer lose throughput, more add p99.
macro_rules! serving_per_core {
    () => {
        3
    };
}

mod dotenv;
mod settings;

pub use settings::{Fallback, Setting, SETTINGS};

use crate::auth::address::Cidr;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Option<Secret>,
    pub listen_database_url: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub host: IpAddr,
    pub port: u16,
    pub workers: usize,
    pub db_pool_size: usize,
    pub db_timeout: Duration,
    pub db_statements: DbStatements,
    pub statement_timeout: Duration,
    pub queue_wait: Duration,
    pub max_connections: usize,
    pub cors_origins: Vec<String>,
    pub bcrypt_cost: u32,
    pub hash_concurrency: usize,
    pub hash_wait: Duration,
    pub hash_priority: HashPriority,
    pub token_ttl_days: i64,
    pub max_body_bytes: usize,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_level: LogLevel,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub drain: Duration,
    pub docs_assets_url: String,
    pub trusted_proxies: Vec<Cidr>,
    pub signin_limit_per_email: i32,
    pub signin_limit_per_address: i32,
    pub signin_window_seconds: i64,
    pub signup_limit_per_address: i32,
    pub signup_window_seconds: i64,
    pub tombstone_days: i64,
    pub max_streams_per_user: usize,
}

/// How statements reach PostgreSQL: prepared once per connection and cached (the default), or
/// unnamed, parsed with each execution, which PgBouncer's transaction pooling requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbStatements {
    Prepared,
    Unnamed,
}

/// How the hashing threads are scheduled against the workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashPriority {
    /// `SCHED_IDLE`: bcrypt runs only on CPU time no request wants.
    Idle,
    /// Nice 10.
    Low,
    Normal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

/// A value that `Debug` does not print: the JWT secret, and a database URL with its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A setting that stops start-up; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Invalid {
        setting: &'static str,
        expected: &'static str,
        got: String,
    },
    SecretRequired,
    SecretTooShort(usize),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                setting,
                expected,
                got,
            } => write!(f, "{setting} must be {expected}, got {got:?}"),
            ConfigError::SecretRequired => f.write_str(
                "JWT_SECRET_KEY must be set when DATABASE_URL is set \
                 (at least 32 bytes; e.g. `openssl rand -hex 32`)",
            ),
            ConfigError::SecretTooShort(len) => write!(
                f,
                "JWT_SECRET_KEY must be at least 32 bytes long, got {len}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The variables as read: a value is trimmed, and an empty one counts as unset.
pub struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

pub const SERVING_PER_CORE: usize = serving_per_core!();

/// Of `workers`, how many take requests at once: `SERVING_PER_CORE` per core.
pub fn serving_workers(workers: usize) -> usize {
    workers.min(SERVING_PER_CORE * cores()).max(1)
}

impl Default for Config {
    /// Every setting at its default. The defaults are constants and the machine's core count,
    /// never the environment, and a test reads them, so this cannot fail at run time.
    fn default() -> Self {
        Config::from_vars(&HashMap::new())
            .unwrap_or_else(|e| panic!("a default in SETTINGS does not parse: {e}"))
    }
}

impl Config {
    /// Reads the process environment, falling back to `./.env` for variables it does not set.
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = match std::fs::read_to_string(".env") {
            Ok(text) => dotenv::parse(&text),
            Err(_) => HashMap::new(),
        };
        vars.extend(std::env::vars());
        Config::from_vars(&vars)
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let vars = Vars(vars);
        let mut config = Config::blank();
        for setting in SETTINGS {
            let value = match (vars.get(setting.name), &setting.default) {
                (Some(value), _) => value.to_string(),
                (None, Fallback::Unset(_)) => continue,
                (None, Fallback::Value(value)) => value.to_string(),
                (None, Fallback::Computed(_, compute)) => compute(&config, &vars),
            };
            (setting.apply)(&mut config, &value).map_err(|expected| ConfigError::Invalid {
                setting: setting.name,
                expected,
                got: value,
            })?;
        }
        if config.database_url.is_some() {
            match &config.jwt_secret {
                None => return Err(ConfigError::SecretRequired),
                Some(s) if s.expose().len() < 32 => {
                    return Err(ConfigError::SecretTooShort(s.expose().len()))
                }
                Some(_) => {}
            }
        }
        Ok(config)
    }

    /// What `from_vars` starts from: each field is then set by its setting's value or default.
    fn blank() -> Config {
        Config {
            database_url: None,
            listen_database_url: None,
            jwt_secret: None,
            host: IpAddr::from([0, 0, 0, 0]),
            port: 0,
            workers: 0,
            db_pool_size: 0,
            db_timeout: Duration::ZERO,
            db_statements: DbStatements::Prepared,
            statement_timeout: Duration::ZERO,
            queue_wait: Duration::ZERO,
            max_connections: 0,
            cors_origins: Vec::new(),
            bcrypt_cost: 0,
            hash_concurrency: 0,
            hash_wait: Duration::ZERO,
            hash_priority: HashPriority::Normal,
            token_ttl_days: 0,
            max_body_bytes: 0,
            data_dir: PathBuf::new(),
            log_format: LogFormat::Text,
            log_level: LogLevel::Off,
            header_timeout: Duration::ZERO,
            body_timeout: Duration::ZERO,
            keep_alive_timeout: Duration::ZERO,
            write_timeout: Duration::ZERO,
            shutdown_timeout: Duration::ZERO,
            drain: Duration::ZERO,
            docs_assets_url: String::new(),
            trusted_proxies: Vec::new(),
            signin_limit_per_email: 0,
            signin_limit_per_address: 0,
            signin_window_seconds: 0,
            signup_limit_per_address: 0,
            signup_window_seconds: 0,
            tombstone_days: 0,
            max_streams_per_user: 0,
        }
    }

    pub fn help() -> String {
        let mut out = String::from(
            "todo-api: a multi-user todo REST API\n\n\
             Usage:\n  todo-api            run the server\n  todo-api migrate    apply database migrations and exit\n  todo-api --help     show this text\n\n\
             Environment (a .env file in the working directory is read too):\n",
        );
        for setting in SETTINGS {
            out.push_str(&format!(
                "  {:<22} {}\n  {:<22} default: {}\n",
                setting.name,
                setting.help,
                "",
                setting.default.shown()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        match Config::from_vars(&vars(pairs)) {
            Ok(_) => panic!("{pairs:?} accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_invalid_value_names_the_variable() {
        let err = refused(&[("WORKERS", "zero")]);
        assert!(err.contains("WORKERS"), "{err}");
        let err = refused(&[("BCRYPT_COST", "3")]);
        assert!(err.contains("BCRYPT_COST"), "{err}");
    }

    #[test]
    fn a_database_url_without_a_long_secret_is_refused() {
        let err = refused(&[("DATABASE_URL", "postgres://x")]);
        assert!(err.contains("JWT_SECRET_KEY"), "{err}");
        let err = refused(&[
            ("DATABASE_URL", "postgres://x"),
            ("JWT_SECRET_KEY", "short"),
        ]);
        assert!(err.contains("32"), "{err}");
    }

    #[test]
    fn a_platform_port_listens_on_all_interfaces() {
        let c = Config::from_vars(&vars(&[("PORT", "5000")])).unwrap();
        assert_eq!(c.port, 5000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
    }

    #[test]
    fn every_default_parses_and_computed_ones_follow_the_machine_and_workers() {
        let c = Config::default();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.workers, (16 * cores()).max(16));
        assert_eq!(c.db_pool_size, c.workers);
        assert_eq!(c.hash_concurrency, cores().saturating_sub(1).max(1));
        assert_eq!(c.max_body_bytes, 64 * 1024);
        assert_eq!(c.cors_origins.len(), 2);
        let c = Config::from_vars(&vars(&[("WORKERS", "3")])).unwrap();
        assert_eq!(c.db_pool_size, 3);
    }

    #[test]
    fn the_workers_help_names_the_serving_workers_per_core_the_server_uses() {
        let workers = SETTINGS.iter().find(|s| s.name == "WORKERS");
        let help = workers.map_or("", |s| s.help);
        assert!(
            help.contains(&format!("; {SERVING_PER_CORE} per core take requests")),
            "{help}"
        );
        assert_eq!(serving_workers(10_000), SERVING_PER_CORE * cores());
        assert_eq!(serving_workers(1), 1);
    }

    #[test]
    fn debug_output_hides_the_jwt_secret_and_the_database_password() {
        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://app:hunter2-db@db.internal/app"),
            ("JWT_SECRET_KEY", "jwt-secret-jwt-secret-jwt-secret-0123"),
        ]))
        .unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2-db"), "{shown}");
        assert!(!shown.contains("jwt-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
