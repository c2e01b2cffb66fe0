//! Where and how to connect to PostgreSQL: the parsed configuration, TLS that follows `sslmode`,
//! and the pool built on them.

use super::pool::{Manager, Pool};
use crate::config::DbStatements;
use crate::StartError;
use postgres_native_tls::MakeTlsConnector;
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct PoolLimits {
    pub statements: DbStatements,
    pub statement_timeout: Duration,
    /// The tables are distributed by Citus.
    pub distributed: bool,
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

    /// Connections are opened in the background; a checkout waits at most `timeout`. Every
    /// statement on them runs under `statement_timeout`, sent as a start-up option; PgBouncer
    /// (`DB_STATEMENTS=unnamed`) refuses start-up options, so it sets the limit itself.
    pub fn pool(&self, size: usize, timeout: Duration, limits: PoolLimits) -> Pool {
        let mut config = self.config.clone();
        if limits.statements == DbStatements::Prepared {
            let ms = limits.statement_timeout.as_millis();
            let options = config
                .get_options()
                .map_or(String::new(), |o| format!("{o} "));
            config.options(&format!("{options}-c statement_timeout={ms}"));
        }
        let manager = Manager::new(
            PostgresConnectionManager::new(config, self.tls.clone()),
            limits.statements,
            limits.distributed,
        );
        r2d2::Pool::builder()
            .max_size(size as u32)
            .min_idle(Some(size as u32))
            .connection_timeout(timeout)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager)
    }
}
