//! todo-api: a multi-user todo REST API on a small synchronous thread-pool HTTP server.
//!
//! `start` runs the real server in-process (the binary and the tests both use it).

pub mod api;
pub mod auth;
pub mod config;
pub mod cors;
pub mod dav;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod log;
pub mod routes;
mod start_error;

pub use start_error::StartError;

use config::{Config, ConfigError};
use db::embedded::Cluster;
use db::Target;
use http::{HttpServer, Limits};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Server {
    http: HttpServer,
    draining: Arc<AtomicBool>,
    /// Feeds the event streams; stopped after the HTTP front.
    listener: Option<api::live::listener::Listener>,
    /// Stopped after the HTTP front, when the server is dropped.
    cluster: Option<Cluster>,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// From now on `/health/ready` answers 503 "draining", so a load balancer stops sending new
    /// requests here; everything else is served, and connections accepted, as before.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Graceful: in-flight requests finish, then the workers and any embedded PostgreSQL stop.
    pub fn shutdown(mut self) {
        self.http.shutdown();
        if let Some(mut listener) = self.listener.take() {
            listener.stop();
        }
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop();
        }
    }
}

/// Where the data lives: `DATABASE_URL`, or the embedded cluster under `DATA_DIR`.
pub fn database(config: &Config) -> Result<(Target, Option<Cluster>), StartError> {
    match &config.database_url {
        Some(url) => Ok((Target::from_url(url.expose(), config.db_timeout)?, None)),
        None => {
            let cluster = Cluster::start(&config.data_dir.join("postgres"), 5432, &[])?;
            Ok((Target::unix(cluster.config())?, Some(cluster)))
        }
    }
}

pub fn migrate(target: &Target) -> Result<Vec<&'static str>, StartError> {
    migrated(target).map(|(applied, _)| applied)
}

/// The migrations applied now, and whether the tables are distributed by Citus.
fn migrated(target: &Target) -> Result<(Vec<&'static str>, bool), StartError> {
    let mut client = target
        .connect()
        .map_err(|e| StartError::caused("cannot connect to PostgreSQL", e))?;
    let applied =
        db::migrate::run(&mut client).map_err(|e| StartError::caused("migration failed", e))?;
    let distributed = db::migrate::distributed(&mut client)
        .map_err(|e| StartError::caused("cannot read Citus's metadata", e))?;
    Ok((applied, distributed))
}

pub fn start(config: Config) -> Result<Server, StartError> {
    // The secret first: a refused secret file stops start-up before PostgreSQL starts.
    let secret = match (&config.jwt_secret, &config.database_url) {
        (Some(secret), _) => secret.expose().to_string(),
        (None, None) => auth::secret::persistent(&config.data_dir)?,
        (None, Some(_)) => return Err(StartError::new(ConfigError::SecretRequired.to_string())),
    };
    let (target, cluster) = database(&config)?;
    let (applied, distributed) = migrated(&target)?;
    for version in applied {
        log::info("migration applied", &[("version", &version)]);
    }
    let limits = db::PoolLimits {
        statements: config.db_statements,
        statement_timeout: config.statement_timeout,
        distributed,
    };
    let pool = target.pool(config.db_pool_size, config.db_timeout, limits);
    // LISTEN holds a server connection: through a transaction-pooling PgBouncer it needs its own URL.
    let listen = match &config.listen_database_url {
        Some(url) => Target::from_url(url.expose(), config.db_timeout)?,
        None => target,
    };
    let listener = TcpListener::bind((config.host, config.port)).map_err(|e| {
        StartError::caused(
            format!("cannot listen on {}:{}", config.host, config.port),
            e,
        )
    })?;
    let limits = Limits {
        max_head_bytes: 16 * 1024,
        max_body_bytes: config.max_body_bytes,
        max_connections: config.max_connections,
        queue_wait: config.queue_wait,
        workers: config.workers,
        header_timeout: config.header_timeout,
        body_timeout: config.body_timeout,
        keep_alive_timeout: config.keep_alive_timeout,
        write_timeout: config.write_timeout,
        shutdown_timeout: config.shutdown_timeout,
    };
    let app = Arc::new(api::App::new(config, pool, &secret));
    let draining = Arc::clone(&app.draining);
    let http = HttpServer::start(listener, limits, Arc::clone(&app) as Arc<dyn http::Service>)
        .map_err(|e| StartError::caused("cannot start threads", e))?;
    let listener = api::live::listener::Listener::start(listen, distributed, app)
        .map_err(|e| StartError::caused("cannot start threads", e))?;
    Ok(Server {
        http,
        draining,
        listener: Some(listener),
        cluster,
    })
}
