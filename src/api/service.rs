//! Service endpoints: `/`, `/health`, `/health/ready`, `/openapi.json`, `/docs`.

use super::App;
use crate::http::Response;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn root() -> Response {
    Response::json(
        200,
        &json!({ "message": format!("Todo API v{VERSION}"), "version": VERSION, "docs": "/docs", "health": "/health" }),
    )
}

fn database_answers(app: &App) -> bool {
    let wait = app.config.db_timeout.min(Duration::from_secs(1));
    matches!(
        app.pool.get_timeout(wait).map(|mut conn| conn.ping()),
        Ok(Ok(()))
    )
}

/// 200 while the process serves; `database` says whether PostgreSQL answers.
pub fn health(app: &App) -> Response {
    let database = if database_answers(app) {
        "ok"
    } else {
        "unavailable"
    };
    Response::json(
        200,
        &json!({ "status": "ok", "message": "Todo API is running", "database": database }),
    )
}

/// For a load balancer: 200 while this instance should get requests, 503 once it is draining for
/// shutdown or cannot reach PostgreSQL.
pub fn ready(app: &App) -> Response {
    let status = if app.draining.load(Ordering::SeqCst) {
        "draining"
    } else if !database_answers(app) {
        "database unavailable"
    } else {
        return Response::json(200, &json!({ "status": "ready" }));
    };
    Response::json(503, &json!({ "status": status }))
}

pub fn openapi() -> Response {
    Response::json_bytes(200, OPENAPI.as_bytes().to_vec())
}

/// The Swagger UI page. Its assets come from `DOCS_ASSETS_URL`; the one inline script is allowed by
/// its hash, so the Content-Security-Policy needs no `unsafe-inline` for scripts.
pub struct Docs {
    html: String,
    csp: String,
}

/// The swagger-ui-dist release `/docs` loads. The browser checks each file against its hash
/// (Subresource Integrity), so the default CDN and any `DOCS_ASSETS_URL` must serve this very
/// release; a new one means new hashes (`openssl dgst -sha384 -binary FILE | openssl base64 -A`).
const SWAGGER_UI_VERSION: &str = "5.36.0";
pub const DEFAULT_DOCS_ASSETS: &str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.36.0";
/// `(file, integrity)` of the files the page loads.
const SWAGGER_UI_FILES: [(&str, &str); 2] = [
    (
        "swagger-ui.css",
        "sha384-z/AtSaOHGn5MJ5auAHXUypohywlIWLBZo1jeGmhdpVIbCnFhxAH92cwdV41oyINc",
    ),
    (
        "swagger-ui-bundle.js",
        "sha384-fUpRgC19yPykTqzdrUbdAg8NTiu16NEKf9U12J+IJWCg8/1mEI8f2+PEIz60Wyd+",
    ),
];

const INIT: &str = r##"window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });"##;

impl Docs {
    pub fn new(assets: &str) -> Docs {
        let [(css, css_hash), (bundle, bundle_hash)] = SWAGGER_UI_FILES;
        let html = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>todo-api: API reference</title>\n\
             <!-- Swagger UI: swagger-ui-dist@{SWAGGER_UI_VERSION} -->\n\
             <link rel=\"stylesheet\" href=\"{assets}/{css}\" integrity=\"{css_hash}\" crossorigin=\"anonymous\">\n\
             </head>\n<body>\n<div id=\"swagger-ui\"></div>\n\
             <script src=\"{assets}/{bundle}\" integrity=\"{bundle_hash}\" crossorigin=\"anonymous\"></script>\n\
             <script>{INIT}</script>\n</body>\n</html>\n"
        );
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(INIT.as_bytes()));
        let source = if assets.starts_with("http://") || assets.starts_with("https://") {
            format!("{assets}/")
        } else {
            "'self'".to_string()
        };
        let csp = format!(
            "default-src 'none'; script-src {source} 'sha256-{hash}'; style-src {source} 'unsafe-inline'; \
             img-src {source} data:; font-src {source}; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        Docs { html, csp }
    }

    pub fn page(&self) -> Response {
        Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: vec![("Content-Security-Policy", self.csp.clone())],
            body: self.html.clone().into_bytes(),
            stream: None,
        }
    }
}
