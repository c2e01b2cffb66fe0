//! The application: routes requests to handlers, and owns what handlers share.

mod auth;
mod body;
mod cursor;
mod email;
mod service;
mod tasks;

use crate::auth::password::Hasher;
use crate::auth::token::{self, Keys};
use crate::config::Config;
use crate::cors::Cors;
use crate::db::{self, Pool};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response, Service};
use crate::log;
use crate::router::{self, Matched};
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
        let route = match router::route(&req.method, &req.path) {
            Matched::Found(route) => route,
            Matched::NotFound => return Err(ApiError::NotFound("Not Found")),
            Matched::MethodNotAllowed(allow) => return Err(ApiError::MethodNotAllowed(allow)),
            Matched::Options(allow) => return Ok(Response::empty(204).with_header("Allow", allow)),
        };
        let p = &route.params;
        match (route.template, route.method) {
            ("/", _) => Ok(service::root()),
            ("/health", _) => Ok(service::health(self)),
            ("/openapi.json", _) => Ok(service::openapi()),
            ("/docs", _) => Ok(self.docs.page()),
            ("/api/auth/signup", _) => auth::signup(self, req),
            ("/api/auth/signin", _) => auth::signin(self, req),
            ("/api/auth/me", _) => auth::me(self, req),
            ("/api/{user_id}/tasks", "GET") => tasks::list(self, req, p[0]),
            ("/api/{user_id}/tasks", _) => tasks::create(self, req, p[0]),
            ("/api/{user_id}/tasks/{task_id}", "GET") => tasks::get(self, req, p[0], p[1]),
            ("/api/{user_id}/tasks/{task_id}", "PUT") => tasks::update(self, req, p[0], p[1]),
            ("/api/{user_id}/tasks/{task_id}", _) => tasks::delete(self, req, p[0], p[1]),
            (_, _) => tasks::toggle(self, req, p[0], p[1]),
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
