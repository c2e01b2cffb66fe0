//! The application: routes requests to handlers, and owns what handlers share.

pub mod access;
pub mod account;
pub mod auth;
mod body;
pub(crate) mod cursor;
mod idempotent;
pub mod input;
mod list_cache;
mod list_input;
mod list_query;
pub mod lists;
pub mod live;
pub mod path;
mod schedule;
pub mod service;
pub mod sync;
pub mod task_writes;
pub mod tasks;
pub mod tokens;

use crate::auth::address::{self, ClientKey};
use crate::auth::password::{self, Hasher};
use crate::auth::seen::Seen;
use crate::auth::token::Keys;
use crate::config::Config;
use crate::cors::Cors;
use crate::db::{self, Pool};
use crate::error::{ApiError, ApiResult};
use crate::http::Method;
use crate::http::{Request, Response, Service};
use crate::log;
use crate::routes::{self, Matched};
use live::{hub, notifier};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct App {
    pub config: Config,
    pub pool: Pool,
    pub hasher: Hasher,
    pub keys: Keys,
    pub cursors: cursor::Cursors,
    pub cors: Cors,
    pub docs: service::Docs,
    /// Set on SIGTERM: `/health/ready` answers 503 while everything else is served as before.
    pub draining: Arc<AtomicBool>,
    pub hub: Arc<hub::Hub>,
    lists: list_cache::ListCache,
    notifier: notifier::Notifier,
    seen: Seen,
    /// Unix seconds of the last purge of expired sessions and throttle counts by this instance.
    purged_at: AtomicU64,
}

impl App {
    pub fn new(config: Config, pool: Pool, secret: &str) -> App {
        App {
            hasher: Hasher::new(password::Limits {
                cost: config.bcrypt_cost,
                threads: config.hash_concurrency,
                wait: config.hash_wait,
                priority: config.hash_priority,
            }),
            lists: list_cache::ListCache::default(),
            notifier: notifier::Notifier::start(pool.clone()),
            seen: Seen::default(),
            purged_at: AtomicU64::new(0),
            keys: Keys::new(secret.as_bytes(), config.token_ttl_days),
            cursors: cursor::Cursors::new(secret.as_bytes()),
            cors: Cors::new(&config.cors_origins),
            docs: service::Docs::new(&config.docs_assets_url),
            draining: Arc::new(AtomicBool::new(false)),
            hub: Arc::new(hub::Hub::new(config.max_streams_per_user)),
            pool,
            config,
        }
    }

    /// Every member's streams, on every instance, are told to look.
    pub fn tell(&self, members: &[uuid::Uuid]) {
        for member in members {
            self.notifier.changed(*member);
        }
    }

    /// Event streams open on this instance.
    pub fn open_streams(&self) -> usize {
        self.hub.count()
    }

    pub fn db(&self) -> ApiResult<db::pool::Pooled> {
        Ok(self.pool.get()?)
    }

    /// Who the request counts against, for throttling and the hashing line (see `auth::address`).
    pub fn client(&self, req: &Request) -> ClientKey {
        address::client(
            req.peer,
            req.header_values("x-forwarded-for"),
            &self.config.trusted_proxies,
        )
    }

    /// Expired sessions and throttle counts are purged by whichever instance comes by first each
    /// minute, so neither table grows without bound.
    pub fn housekeeping(&self, conn: &mut db::Conn) -> ApiResult<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.purged_at.load(Ordering::Relaxed);
        if now < last + 60
            || self
                .purged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        db::throttle::purge_expired(conn)?;
        db::sessions::purge_expired(conn)?;
        db::changes::purge(conn, self.config.tombstone_days)?;
        db::dav::purge(conn, self.config.tombstone_days)?;
        db::idempotency::purge_expired(conn)?;
        db::events::purge_expired(conn)?;
        Ok(())
    }

    fn dispatch(&self, req: &Request) -> ApiResult<Response> {
        match routes::route(Method::parse(&req.method), &req.path) {
            Matched::Found(route, path) => {
                let answer = access::serve(self, req, &path, route.access);
                if let Err(ApiError::TimedOut) = answer {
                    let route = format!("{} {}", route.method.as_str(), route.template);
                    log::warn("statement timeout", &[("route", &route)]);
                }
                answer
            }
            Matched::NotFound => Err(ApiError::NotFound("Not Found")),
            Matched::MethodNotAllowed(allow) => Err(ApiError::MethodNotAllowed(allow)),
            Matched::Options(allow) => Ok(Response::empty(204).with_header("Allow", allow)),
        }
    }
}

impl Service for App {
    fn handle(&self, req: &Request) -> Response {
        let started = Instant::now();
        let resp = if crate::dav::owns(&req.method, &req.path) {
            Ok(crate::dav::handle(self, req))
        } else if req.method == "OPTIONS" {
            self.cors
                .preflight(req)
                .map_or_else(|| self.dispatch(req), Ok)
        } else {
            self.dispatch(req)
        };
        let resp = resp.unwrap_or_else(ApiError::into_response);
        if log::enabled(crate::config::LogLevel::Info) {
            let micros = started.elapsed().as_micros();
            log::info(
                "request",
                &[
                    ("method", &req.method),
                    ("path", &req.path),
                    ("status", &resp.status),
                    ("us", &micros),
                ],
            );
        }
        resp
    }

    fn finish(&self, origin: Option<&str>, resp: &mut Response) {
        self.cors.decorate(origin, resp);
    }

    fn attach(&self, outlet: crate::http::Outlet) {
        self.hub.attach(outlet);
    }
}
