//! Configuration from the environment, with an optional `.env` file in the working directory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub host: IpAddr,
    pub port: u16,
    pub workers: usize,
    pub db_pool_size: usize,
    pub db_timeout: Duration,
    pub queue_wait: Duration,
    pub max_connections: usize,
    pub cors_origins: Vec<String>,
    pub bcrypt_cost: u32,
    pub hash_concurrency: usize,
    pub hash_wait: Duration,
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
    pub docs_assets_url: String,
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

/// Every variable: name, default shown in `--help`, and what it does.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "(unset: embedded PostgreSQL)",
        "postgres://user:pass@host:5432/db[?sslmode=require]",
    ),
    (
        "JWT_SECRET_KEY",
        "(unset: generated into DATA_DIR)",
        "HS256 signing secret, at least 32 bytes; required with DATABASE_URL",
    ),
    (
        "HOST",
        "127.0.0.1 (0.0.0.0 when PORT is set)",
        "address to listen on",
    ),
    ("PORT", "8000", "port to listen on"),
    (
        "WORKERS",
        "4 x cores (min 4)",
        "worker threads: they wait on the sockets and run handlers",
    ),
    (
        "DB_POOL_SIZE",
        "WORKERS",
        "PostgreSQL connections in the pool",
    ),
    (
        "DB_TIMEOUT_MS",
        "2000",
        "wait for a pooled connection before answering 503",
    ),
    (
        "QUEUE_WAIT_MS",
        "500",
        "longest a ready request waits for a worker; past it, requests are answered 503",
    ),
    (
        "MAX_CONNECTIONS",
        "descriptor limit - 256 (at most 65536)",
        "open client connections before answering 503",
    ),
    (
        "CORS_ORIGINS",
        "http://localhost:3000,http://localhost:3001",
        "allowed browser origins; https://*.example.com matches one subdomain level",
    ),
    (
        "BCRYPT_COST",
        "10",
        "bcrypt cost for new password hashes (4..=31)",
    ),
    (
        "HASH_CONCURRENCY",
        "cores",
        "password hashes computed at once",
    ),
    (
        "HASH_WAIT_MS",
        "500",
        "longest wait for a hashing slot before answering 503",
    ),
    ("TOKEN_TTL_DAYS", "7", "access token lifetime"),
    (
        "MAX_BODY_BYTES",
        "65536",
        "largest request body accepted (413 above)",
    ),
    (
        "DATA_DIR",
        "./data",
        "embedded PostgreSQL cluster and generated secret",
    ),
    ("LOG_FORMAT", "text", "text or json"),
    ("LOG_LEVEL", "info", "debug, info, warn, error or off"),
    (
        "HEADER_TIMEOUT_MS",
        "10000",
        "time allowed to send a request head",
    ),
    (
        "BODY_TIMEOUT_MS",
        "30000",
        "time allowed to send a request body",
    ),
    (
        "KEEP_ALIVE_TIMEOUT_MS",
        "60000",
        "idle time before a keep-alive connection is closed",
    ),
    (
        "WRITE_TIMEOUT_MS",
        "30000",
        "time allowed to write a response",
    ),
    (
        "SHUTDOWN_TIMEOUT_MS",
        "25000",
        "time in-flight requests get to finish on SIGTERM",
    ),
    (
        "DOCS_ASSETS_URL",
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5",
        "where /docs loads Swagger UI from",
    ),
];

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for Config {
    fn default() -> Self {
        let workers = (4 * cores()).max(4);
        Config {
            database_url: None,
            jwt_secret: None,
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8000,
            workers,
            db_pool_size: workers,
            db_timeout: Duration::from_millis(2000),
            queue_wait: Duration::from_millis(500),
            max_connections: crate::http::default_max_connections(),
            cors_origins: vec![
                "http://localhost:3000".into(),
                "http://localhost:3001".into(),
            ],
            bcrypt_cost: 10,
            hash_concurrency: cores(),
            hash_wait: Duration::from_millis(500),
            token_ttl_days: 7,
            max_body_bytes: 64 * 1024,
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            log_level: LogLevel::Info,
            header_timeout: Duration::from_millis(10_000),
            body_timeout: Duration::from_millis(30_000),
            keep_alive_timeout: Duration::from_millis(60_000),
            write_timeout: Duration::from_millis(30_000),
            shutdown_timeout: Duration::from_millis(25_000),
            docs_assets_url: "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5".into(),
        }
    }
}

impl Config {
    /// Reads the process environment, falling back to `./.env` for variables it does not set.
    pub fn from_env() -> Result<Config, String> {
        let mut vars: HashMap<String, String> = match std::fs::read_to_string(".env") {
            Ok(text) => parse_dotenv(&text),
            Err(_) => HashMap::new(),
        };
        for (key, value) in std::env::vars() {
            vars.insert(key, value);
        }
        Config::from_vars(&vars)
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, String> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut c = Config {
            database_url: get("DATABASE_URL").map(str::to_string),
            jwt_secret: get("JWT_SECRET_KEY").map(str::to_string),
            ..Config::default()
        };
        if let Some(port) = get("PORT") {
            c.port = parse(port, "PORT")?;
            c.host = IpAddr::from([0, 0, 0, 0]);
        }
        if let Some(host) = get("HOST") {
            c.host = host
                .parse()
                .map_err(|_| format!("HOST must be an IP address, got {host:?}"))?;
        }
        if let Some(v) = get("WORKERS") {
            c.workers = positive(v, "WORKERS")?;
            c.db_pool_size = c.workers;
        }
        if let Some(v) = get("DB_POOL_SIZE") {
            c.db_pool_size = positive(v, "DB_POOL_SIZE")?;
        }
        if let Some(v) = get("DB_TIMEOUT_MS") {
            c.db_timeout = millis(v, "DB_TIMEOUT_MS")?;
        }
        if let Some(v) = get("QUEUE_WAIT_MS") {
            c.queue_wait = millis(v, "QUEUE_WAIT_MS")?;
        }
        if let Some(v) = get("MAX_CONNECTIONS") {
            c.max_connections = positive(v, "MAX_CONNECTIONS")?;
        }
        if let Some(v) = get("CORS_ORIGINS") {
            c.cors_origins = v
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect();
        }
        if let Some(v) = get("BCRYPT_COST") {
            c.bcrypt_cost = parse(v, "BCRYPT_COST")?;
            if !(4..=31).contains(&c.bcrypt_cost) {
                return Err(format!("BCRYPT_COST must be between 4 and 31, got {v}"));
            }
        }
        if let Some(v) = get("HASH_CONCURRENCY") {
            c.hash_concurrency = positive(v, "HASH_CONCURRENCY")?;
        }
        if let Some(v) = get("HASH_WAIT_MS") {
            c.hash_wait = millis(v, "HASH_WAIT_MS")?;
        }
        if let Some(v) = get("TOKEN_TTL_DAYS") {
            c.token_ttl_days = positive(v, "TOKEN_TTL_DAYS")? as i64;
        }
        if let Some(v) = get("MAX_BODY_BYTES") {
            c.max_body_bytes = positive(v, "MAX_BODY_BYTES")?;
        }
        if let Some(v) = get("DATA_DIR") {
            c.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("LOG_FORMAT") {
            c.log_format = match v {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(format!("LOG_FORMAT must be text or json, got {v:?}")),
            };
        }
        if let Some(v) = get("LOG_LEVEL") {
            c.log_level = match v {
                "debug" => LogLevel::Debug,
                "info" => LogLevel::Info,
                "warn" => LogLevel::Warn,
                "error" => LogLevel::Error,
                "off" => LogLevel::Off,
                _ => {
                    return Err(format!(
                        "LOG_LEVEL must be debug, info, warn, error or off, got {v:?}"
                    ))
                }
            };
        }
        if let Some(v) = get("HEADER_TIMEOUT_MS") {
            c.header_timeout = millis(v, "HEADER_TIMEOUT_MS")?;
        }
        if let Some(v) = get("BODY_TIMEOUT_MS") {
            c.body_timeout = millis(v, "BODY_TIMEOUT_MS")?;
        }
        if let Some(v) = get("KEEP_ALIVE_TIMEOUT_MS") {
            c.keep_alive_timeout = millis(v, "KEEP_ALIVE_TIMEOUT_MS")?;
        }
        if let Some(v) = get("WRITE_TIMEOUT_MS") {
            c.write_timeout = millis(v, "WRITE_TIMEOUT_MS")?;
        }
        if let Some(v) = get("SHUTDOWN_TIMEOUT_MS") {
            c.shutdown_timeout = millis(v, "SHUTDOWN_TIMEOUT_MS")?;
        }
        if let Some(v) = get("DOCS_ASSETS_URL") {
            if v.contains(['"', '\'', '<', '>', ' ', ';']) {
                return Err("DOCS_ASSETS_URL must be a plain URL".into());
            }
            c.docs_assets_url = v.trim_end_matches('/').to_string();
        }
        if c.database_url.is_some() {
            match &c.jwt_secret {
                None => return Err("JWT_SECRET_KEY must be set when DATABASE_URL is set (at least 32 bytes; e.g. `openssl rand -hex 32`)".into()),
                Some(s) if s.len() < 32 => return Err(format!("JWT_SECRET_KEY must be at least 32 bytes long, got {}", s.len())),
                Some(_) => {}
            }
        }
        Ok(c)
    }

    pub fn help() -> String {
        let mut out = String::from(
            "todo-api: a multi-user todo REST API\n\n\
             Usage:\n  todo-api            run the server\n  todo-api migrate    apply database migrations and exit\n  todo-api --help     show this text\n\n\
             Environment (a .env file in the working directory is read too):\n",
        );
        for (name, default, what) in VARIABLES {
            out.push_str(&format!(
                "  {name:<22} {what}\n  {:<22} default: {default}\n",
                ""
            ));
        }
        out
    }
}

fn parse<T: std::str::FromStr>(value: &str, name: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name} must be a number, got {value:?}"))
}

fn positive(value: &str, name: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} must be a positive integer, got {value:?}")),
    }
}

fn millis(value: &str, name: &str) -> Result<Duration, String> {
    positive(value, name).map(|n| Duration::from_millis(n as u64))
}

/// `KEY=VALUE` lines; `#` comments, optional `export `, optional matching quotes.
fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim();
            let unquoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(a, b)| value.strip_prefix(*a).and_then(|v| v.strip_suffix(*b)))
                .unwrap_or(value);
            vars.insert(key.trim().to_string(), unquoted.to_string());
        }
    }
    vars
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

    #[test]
    fn an_invalid_value_names_the_variable() {
        let err = Config::from_vars(&vars(&[("WORKERS", "zero")])).unwrap_err();
        assert!(err.contains("WORKERS"), "{err}");
        let err = Config::from_vars(&vars(&[("BCRYPT_COST", "3")])).unwrap_err();
        assert!(err.contains("BCRYPT_COST"), "{err}");
    }

    #[test]
    fn a_database_url_without_a_long_secret_is_refused() {
        let err = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://x")])).unwrap_err();
        assert!(err.contains("JWT_SECRET_KEY"), "{err}");
        let err = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://x"),
            ("JWT_SECRET_KEY", "short"),
        ]))
        .unwrap_err();
        assert!(err.contains("32"), "{err}");
    }

    #[test]
    fn a_platform_port_listens_on_all_interfaces() {
        let c = Config::from_vars(&vars(&[("PORT", "5000")])).unwrap();
        assert_eq!(c.port, 5000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
    }

    #[test]
    fn dotenv_lines_are_parsed_with_quotes_and_comments() {
        let v = parse_dotenv("# c\nexport A=1\nB=\"two words\"\nC='x'\n");
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "x");
    }
}
