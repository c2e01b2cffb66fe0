//! The application: routes requests to handlers, and owns what handlers share.

pub mod auth;
mod body;
mod cursor;
pub mod input;
mod list_query;
pub mod service;
pub mod tasks;

use crate::auth::password::Hasher;
use crate::auth::token::{self, Keys};
use crate::config::Config;
use crate::cors::Cors;
use crate::db::{self, Pool};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response, Service};
use crate::log;
use crate::routes::{self, Matched, Method};
use std::time::Instant;

pub struct App {
    pub config: Config,
    pub pool: Pool,
    pub hasher: Hasher,
    pub keys: Keys,
    pub cursors: cursor::Cursors,
    pub cors: Cors,
    pub docs: service::Docs,
}

impl App {
    pub fn new(config: Config, pool: Pool, secret: &str) -> App {
        App {
            hasher: Hasher::new(
                config.bcrypt_cost,
                config.hash_concurrency,
                config.hash_wait,
            ),
            keys: Keys::new(secret.as_bytes(), config.token_ttl_days),
            cursors: cursor::Cursors::new(secret.as_bytes()),
            cors: Cors::new(&config.cors_origins),
            docs: service::Docs::new(&config.docs_assets_url),
            pool,
            config,
        }
    }

    pub fn db(&self) -> ApiResult<db::pool::Pooled> {
        Ok(self.pool.get()?)
    }

    /// The signed-in user: a valid token naming a user who still exists.
    pub fn authenticate(&self, req: &Request, conn: &mut db::Conn) -> ApiResult<db::users::User> {
        let token = token::bearer(req.header("authorization")).ok_or(ApiError::InvalidToken)?;
        let id = self.keys.verify(token).ok_or(ApiError::InvalidToken)?;
        db::users::find(conn, id)?.ok_or(ApiError::InvalidToken)
    }

    fn dispatch(&self, req: &Request) -> ApiResult<Response> {
        match routes::route(Method::parse(&req.method), &req.path) {
            Matched::Found(route, path) => (route.handler)(self, req, &path),
            Matched::NotFound => Err(ApiError::NotFound("Not Found")),
            Matched::MethodNotAllowed(allow) => Err(ApiError::MethodNotAllowed(allow)),
            Matched::Options(allow) => Ok(Response::empty(204).with_header("Allow", allow)),
        }
    }
}

impl Service for App {
    fn handle(&self, req: &Request) -> Response {
        let started = Instant::now();
        let resp = if req.method == "OPTIONS" {
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
}
