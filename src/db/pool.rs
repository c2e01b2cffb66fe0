//! The r2d2 pool of blocking PostgreSQL clients, each with its own prepared-statement cache, and TLS.

use crate::StartError;
use postgres::{Row, Statement};
use postgres_native_tls::MakeTlsConnector;
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub type Pool = r2d2::Pool<Manager>;
pub type Pooled = r2d2::PooledConnection<Manager>;
pub type Params<'a> = &'a [&'a (dyn postgres::types::ToSql + Sync)];

pub struct Manager(PostgresConnectionManager<MakeTlsConnector>);

/// A client whose statements are prepared once per connection, so a query costs one round trip.
pub struct Conn {
    pub client: postgres::Client,
    statements: HashMap<&'static str, Statement>,
    /// When a statement last succeeded on this connection.
    last_ok: Instant,
}

/// A connection that answered this recently is not pinged again at checkout.
const FRESH: Duration = Duration::from_secs(1);

impl Conn {
    pub fn new(client: postgres::Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
            last_ok: Instant::now(),
        }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn ran<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
        if result.is_ok() {
            self.last_ok = Instant::now();
        }
        result
    }

    /// One empty round trip: is the server there?
    pub fn ping(&mut self) -> Result<(), postgres::Error> {
        let result = self.client.simple_query("").map(|_| ());
        self.ran(result)
    }

    pub fn query(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        let result = self.client.query(&st, params);
        self.ran(result)
    }

    pub fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        let result = self.client.query_opt(&st, params);
        self.ran(result)
    }

    pub fn query_one(&mut self, sql: &'static str, params: Params) -> Result<Row, postgres::Error> {
        let st = self.statement(sql)?;
        let result = self.client.query_one(&st, params);
        self.ran(result)
    }

    pub fn execute(&mut self, sql: &'static str, params: Params) -> Result<u64, postgres::Error> {
        let st = self.statement(sql)?;
        let result = self.client.execute(&st, params);
        self.ran(result)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn::new(self.0.connect()?))
    }

    // A connection idle for a while is pinged at checkout, so one left dead by a PostgreSQL restart
    // is replaced instead of failing the request that drew it. One in steady use is not: the ping
    // would be a third of the round trips of a task request. If it died all the same, its request
    // gets a 503 and `has_broken` drops it.
    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        if conn.last_ok.elapsed() < FRESH {
            return Ok(());
        }
        conn.ping()
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// Where and how to connect: the parsed configuration and a TLS connector that follows `sslmode`.
pub struct Target {
    pub config: postgres::Config,
    pub tls: MakeTlsConnector,
}

impl Target {
    /// libpq semantics: `sslmode=require` encrypts without checking the certificate (what hosted
    /// providers' URLs expect); `verify-ca` / `verify-full` check it against the system roots, or
    /// `sslrootcert` when given.
    pub fn from_url(url: &str, connect_timeout: Duration) -> Result<Target, StartError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut verify = false;
        let mut root_cert = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value) {
                ("sslmode", "verify-ca" | "verify-full") => {
                    verify = true;
                    kept.push("sslmode=require".to_string());
                }
                ("sslrootcert", path) => root_cert = Some(path.to_string()),
                _ => kept.push(pair.to_string()),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StartError::caused("DATABASE_URL is not a valid PostgreSQL URL", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("todo-api");
        }
        let mut builder = native_tls::TlsConnector::builder();
        if verify {
            if let Some(path) = root_cert {
                let pem = std::fs::read(&path)
                    .map_err(|e| StartError::caused(format!("sslrootcert {path}"), e))?;
                let cert = native_tls::Certificate::from_pem(&pem)
                    .map_err(|e| StartError::caused(format!("sslrootcert {path}"), e))?;
                builder.add_root_certificate(cert);
            }
        } else {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        let connector = builder
            .build()
            .map_err(|e| StartError::caused("TLS set-up failed", e))?;
        Ok(Target {
            config,
            tls: MakeTlsConnector::new(connector),
        })
    }

    pub fn unix(config: postgres::Config) -> Result<Target, StartError> {
        let connector = native_tls::TlsConnector::new()
            .map_err(|e| StartError::caused("TLS set-up failed", e))?;
        Ok(Target {
            config,
            tls: MakeTlsConnector::new(connector),
        })
    }

    pub fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }

    /// Connections are opened in the background; a checkout waits at most `timeout`.
    pub fn pool(&self, size: usize, timeout: Duration) -> Pool {
        let manager = Manager(PostgresConnectionManager::new(
            self.config.clone(),
            self.tls.clone(),
        ));
        r2d2::Pool::builder()
            .max_size(size as u32)
            .min_idle(Some(size as u32))
            .connection_timeout(timeout)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager)
    }
}
