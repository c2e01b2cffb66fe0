//! Every setting once: its variable, its default, its `--help` line and how a value is read.
//! `Config::default`, `Config::from_vars` and `--help` are driven by this table, and a test holds
//! the README's configuration table to it.

use super::{cores, Config, DbStatements, HashPriority, LogFormat, LogLevel, Secret};
use crate::auth::address::Cidr;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub struct Setting {
    pub name: &'static str,
    pub default: Fallback,
    pub help: &'static str,
    /// Stores a trimmed, non-empty value; `Err` says what the value must be.
    pub(super) apply: fn(&mut Config, &str) -> Result<(), &'static str>,
}

/// What a setting is when its variable is not set.
pub enum Fallback {
    /// Nothing: the text says what happens then.
    Unset(&'static str),
    /// This value, read by `apply` like one from the environment, so it cannot drift from parsing.
    Value(&'static str),
    /// Worked out at start-up from the machine or the settings above it, then read by `apply`;
    /// the text is how `--help` and the README put it.
    Computed(&'static str, fn(&Config, &super::Vars) -> String),
}

impl Fallback {
    /// As `--help` and the README show it.
    pub fn shown(&self) -> String {
        match self {
            Fallback::Unset(what) => format!("unset: {what}"),
            Fallback::Value(text) | Fallback::Computed(text, _) => text.to_string(),
        }
    }
}

pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "DATABASE_URL",
        default: Fallback::Unset("embedded PostgreSQL"),
        help: "postgres://user:pass@host:5432/db; ?sslmode=require encrypts (as libpq: without checking the certificate), verify-full checks it against the system roots or sslrootcert",
        apply: |c, v| {
            c.database_url = Some(Secret::from(v));
            Ok(())
        },
    },
    Setting {
        name: "LISTEN_DATABASE_URL",
        default: Fallback::Unset("DATABASE_URL"),
        help: "direct PostgreSQL URL for live events' LISTEN, when DATABASE_URL is a transaction-pooling PgBouncer",
        apply: |c, v| {
            c.listen_database_url = Some(Secret::from(v));
            Ok(())
        },
    },
    Setting {
        name: "JWT_SECRET_KEY",
        default: Fallback::Unset("generated into DATA_DIR"),
        help: "HS256 secret, at least 32 bytes; required when DATABASE_URL is set",
        apply: |c, v| {
            c.jwt_secret = Some(Secret::from(v));
            Ok(())
        },
    },
    Setting {
        name: "HOST",
        default: Fallback::Computed("127.0.0.1 (0.0.0.0 when PORT is set)", |_, vars| match vars
            .get("PORT")
        {
            Some(_) => "0.0.0.0".into(),
            None => "127.0.0.1".into(),
        }),
        help: "listen address",
        apply: |c, v| {
            c.host = v.parse::<IpAddr>().map_err(|_| "an IP address")?;
            Ok(())
        },
    },
    Setting {
        name: "PORT",
        default: Fallback::Value("8000"),
        help: "listen port",
        apply: |c, v| {
            c.port = v.parse().map_err(|_| "a port number from 0 to 65535")?;
            Ok(())
        },
    },
    Setting {
        name: "WORKERS",
        default: Fallback::Computed("16 x cores (min 16)", |_, _| {
            (16 * cores()).max(16).to_string()
        }),
        help: concat!(
            "worker threads; ",
            serving_per_core!(),
            " per core take requests at once, the others stand in for those waiting on a password hash"
        ),
        apply: |c, v| positive(v).map(|n| c.workers = n),
    },
    Setting {
        name: "DB_POOL_SIZE",
        default: Fallback::Computed("WORKERS", |c, _| c.workers.to_string()),
        help: "PostgreSQL connections",
        apply: |c, v| positive(v).map(|n| c.db_pool_size = n),
    },
    Setting {
        name: "DB_TIMEOUT_MS",
        default: Fallback::Value("2000"),
        help: "wait for a connection before answering 503",
        apply: |c, v| millis(v).map(|d| c.db_timeout = d),
    },
    Setting {
        name: "DB_STATEMENTS",
        default: Fallback::Value("prepared"),
        help: "prepared: each statement is prepared once per connection and reused; unnamed: sent unnamed with its parameter types, one round trip each, as PgBouncer's transaction pooling needs",
        apply: |c, v| {
            c.db_statements = match v {
                "prepared" => DbStatements::Prepared,
                "unnamed" => DbStatements::Unnamed,
                _ => return Err("prepared or unnamed"),
            };
            Ok(())
        },
    },
    Setting {
        name: "STATEMENT_TIMEOUT_MS",
        default: Fallback::Value("5000"),
        help: "longest a request's SQL statement may run before it is cancelled and the request answered 503 (DB_STATEMENTS=unnamed: set statement_timeout in PgBouncer instead)",
        apply: |c, v| millis(v).map(|d| c.statement_timeout = d),
    },
    Setting {
        name: "QUEUE_WAIT_MS",
        default: Fallback::Value("500"),
        help: "longest a ready request waits for a worker; past it, requests are answered 503",
        apply: |c, v| millis(v).map(|d| c.queue_wait = d),
    },
    Setting {
        name: "MAX_CONNECTIONS",
        default: Fallback::Computed("descriptor limit - 256 (at most 65536)", |_, _| {
            crate::http::default_max_connections().to_string()
        }),
        help: "open client connections before 503",
        apply: |c, v| positive(v).map(|n| c.max_connections = n),
    },
    Setting {
        name: "CORS_ORIGINS",
        default: Fallback::Value("http://localhost:3000,http://localhost:3001"),
        help: "allowed origins; https://*.vercel.app matches one subdomain level",
        apply: |c, v| {
            c.cors_origins = v
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect();
            Ok(())
        },
    },
    Setting {
        name: "BCRYPT_COST",
        default: Fallback::Value("10"),
        help: "bcrypt cost of new hashes (4 to 31)",
        apply: |c, v| match v.parse() {
            Ok(cost @ 4..=31) => {
                c.bcrypt_cost = cost;
                Ok(())
            }
            _ => Err("a number between 4 and 31"),
        },
    },
    Setting {
        name: "HASH_CONCURRENCY",
        default: Fallback::Computed("cores - 1 (min 1)", |_, _| {
            cores().saturating_sub(1).max(1).to_string()
        }),
        help: "bcrypt computations at once; one core is left to the other requests",
        apply: |c, v| positive(v).map(|n| c.hash_concurrency = n),
    },
    Setting {
        name: "HASH_WAIT_MS",
        default: Fallback::Value("4000"),
        help: "longest wait for a hash: the line admits what it can serve in this time at the measured hash time, 503 beyond",
        apply: |c, v| millis(v).map(|d| c.hash_wait = d),
    },
    Setting {
        name: "HASH_PRIORITY",
        default: Fallback::Value("normal"),
        help: "scheduling of the hashing threads: idle (only CPU time nothing else wants), low (nice 10) or normal",
        apply: |c, v| {
            c.hash_priority = match v {
                "idle" => HashPriority::Idle,
                "low" => HashPriority::Low,
                "normal" => HashPriority::Normal,
                _ => return Err("idle, low or normal"),
            };
            Ok(())
        },
    },
    Setting {
        name: "TOKEN_TTL_DAYS",
        default: Fallback::Value("7"),
        help: "token lifetime",
        apply: |c, v| {
            c.token_ttl_days = positive(v)?.try_into().map_err(|_| "a positive integer")?;
            Ok(())
        },
    },
    Setting {
        name: "MAX_BODY_BYTES",
        default: Fallback::Value("65536"),
        help: "largest request body (413 above)",
        apply: |c, v| positive(v).map(|n| c.max_body_bytes = n),
    },
    Setting {
        name: "DATA_DIR",
        default: Fallback::Value("./data"),
        help: "embedded cluster and generated secret (jwt_secret, which only its owner may read)",
        apply: |c, v| {
            c.data_dir = PathBuf::from(v);
            Ok(())
        },
    },
    Setting {
        name: "LOG_FORMAT",
        default: Fallback::Value("text"),
        help: "text or json",
        apply: |c, v| {
            c.log_format = match v {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("text or json"),
            };
            Ok(())
        },
    },
    Setting {
        name: "LOG_LEVEL",
        default: Fallback::Value("info"),
        help: "debug, info, warn, error or off",
        apply: |c, v| {
            c.log_level = match v {
                "debug" => LogLevel::Debug,
                "info" => LogLevel::Info,
                "warn" => LogLevel::Warn,
                "error" => LogLevel::Error,
                "off" => LogLevel::Off,
                _ => return Err("debug, info, warn, error or off"),
            };
            Ok(())
        },
    },
    Setting {
        name: "HEADER_TIMEOUT_MS",
        default: Fallback::Value("10000"),
        help: "time to send a request head",
        apply: |c, v| millis(v).map(|d| c.header_timeout = d),
    },
    Setting {
        name: "BODY_TIMEOUT_MS",
        default: Fallback::Value("30000"),
        help: "time to send a request body",
        apply: |c, v| millis(v).map(|d| c.body_timeout = d),
    },
    Setting {
        name: "KEEP_ALIVE_TIMEOUT_MS",
        default: Fallback::Value("60000"),
        help: "idle time before a keep-alive connection is closed",
        apply: |c, v| millis(v).map(|d| c.keep_alive_timeout = d),
    },
    Setting {
        name: "WRITE_TIMEOUT_MS",
        default: Fallback::Value("30000"),
        help: "time to write a response",
        apply: |c, v| millis(v).map(|d| c.write_timeout = d),
    },
    Setting {
        name: "SHUTDOWN_TIMEOUT_MS",
        default: Fallback::Value("25000"),
        help: "time in-flight requests get after SIGTERM",
        apply: |c, v| millis(v).map(|d| c.shutdown_timeout = d),
    },
    Setting {
        name: "DRAIN_MS",
        default: Fallback::Value("0"),
        help: "on SIGTERM, how long /health/ready answers 503 while requests are still accepted and served, before the server stops accepting; set it above the load balancer's check interval × fall count",
        apply: |c, v| {
            let ms = v.parse::<u64>().map_err(|_| "a whole number of milliseconds")?;
            c.drain = Duration::from_millis(ms);
            Ok(())
        },
    },
    Setting {
        name: "TRUSTED_PROXIES",
        default: Fallback::Unset("X-Forwarded-For is ignored"),
        help: "proxies (addresses or CIDRs) whose X-Forwarded-For is believed; its lines are read as one list in arrival order, and the right-most address not in the list is the client",
        apply: |c, v| {
            c.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Cidr::parse(s).ok_or("comma-separated addresses or CIDRs"))
                .collect::<Result<_, _>>()?;
            Ok(())
        },
    },
    Setting {
        name: "SIGNIN_LIMIT_PER_EMAIL",
        default: Fallback::Value("5"),
        help: "failed sign-ins per client address and e-mail in a window before 429",
        apply: |c, v| count(v).map(|n| c.signin_limit_per_email = n),
    },
    Setting {
        name: "SIGNIN_LIMIT_PER_ADDRESS",
        default: Fallback::Value("50"),
        help: "failed sign-ins per client address in a window before 429",
        apply: |c, v| count(v).map(|n| c.signin_limit_per_address = n),
    },
    Setting {
        name: "SIGNIN_WINDOW_SECONDS",
        default: Fallback::Value("900"),
        help: "how long failed sign-ins are counted",
        apply: |c, v| count(v).map(|n| c.signin_window_seconds = n.into()),
    },
    Setting {
        name: "SIGNUP_LIMIT_PER_ADDRESS",
        default: Fallback::Value("20"),
        help: "sign-ups per client address in a window before 429",
        apply: |c, v| count(v).map(|n| c.signup_limit_per_address = n),
    },
    Setting {
        name: "SIGNUP_WINDOW_SECONDS",
        default: Fallback::Value("3600"),
        help: "how long sign-ups are counted",
        apply: |c, v| count(v).map(|n| c.signup_window_seconds = n.into()),
    },
    Setting {
        name: "TOMBSTONE_DAYS",
        default: Fallback::Value("30"),
        help: "how long deletions are remembered for the changes feed; older sync cursors are 410",
        apply: |c, v| count(v).map(|n| c.tombstone_days = n.into()),
    },
    Setting {
        name: "MAX_STREAMS_PER_USER",
        default: Fallback::Value("10"),
        help: "open event streams per user on one instance before 429",
        apply: |c, v| positive(v).map(|n| c.max_streams_per_user = n),
    },
    Setting {
        name: "DOCS_ASSETS_URL",
        default: Fallback::Value(crate::api::service::DEFAULT_DOCS_ASSETS),
        help: "where /docs loads Swagger UI: the files of the swagger-ui-dist release it pins, checked by their hashes",
        apply: |c, v| {
            if v.contains(['"', '\'', '<', '>', ' ', ';']) {
                return Err("a plain URL");
            }
            c.docs_assets_url = v.trim_end_matches('/').to_string();
            Ok(())
        },
    },
];

fn positive(value: &str) -> Result<usize, &'static str> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("a positive integer"),
    }
}

fn count(value: &str) -> Result<i32, &'static str> {
    positive(value)?
        .try_into()
        .map_err(|_| "a positive integer below 2^31")
}

fn millis(value: &str) -> Result<Duration, &'static str> {
    positive(value).map(|n| Duration::from_millis(n as u64))
}
