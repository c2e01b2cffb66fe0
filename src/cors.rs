//! CORS for the browser client: allow-listed origins are echoed (never `*`) with credentials.

use crate::http::{Request, Response};
use crate::routes;

pub struct Cors {
    exact: Vec<String>,
    /// `https://*.vercel.app` as (`https://`, `.vercel.app`): one subdomain label in between.
    wildcard: Vec<(String, String)>,
}

const EXPOSED: &str = "Link, Retry-After, WWW-Authenticate";

impl Cors {
    pub fn new(origins: &[String]) -> Cors {
        let mut exact = Vec::new();
        let mut wildcard = Vec::new();
        for origin in origins {
            match origin.split_once("://*.") {
                Some((scheme, rest)) => wildcard.push((format!("{scheme}://"), format!(".{rest}"))),
                None => exact.push(origin.clone()),
            }
        }
        Cors { exact, wildcard }
    }

    pub fn allows(&self, origin: &str) -> bool {
        if self.exact.iter().any(|o| o == origin) {
            return true;
        }
        self.wildcard.iter().any(|(scheme, suffix)| {
            origin
                .strip_prefix(scheme.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .is_some_and(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        })
    }

    /// Adds the CORS headers to a response for an allowed origin; nothing otherwise.
    pub fn decorate(&self, origin: Option<&str>, resp: &mut Response) {
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return;
        };
        if resp.header("Access-Control-Allow-Origin").is_some() {
            return;
        }
        grant(origin, resp);
        resp.headers
            .push(("Access-Control-Expose-Headers", EXPOSED.into()));
        resp.headers.push(("Vary", "Origin".into()));
    }

    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method`: 204, with the grant when allowed.
    pub fn preflight(&self, req: &Request) -> Option<Response> {
        let origin = req.header("origin")?;
        req.header("access-control-request-method")?;
        let mut resp = Response::empty(204);
        if self.allows(origin) {
            grant(origin, &mut resp);
            resp.headers
                .push(("Access-Control-Allow-Methods", routes::CORS_METHODS.clone()));
            if let Some(requested) = req.header("access-control-request-headers") {
                let safe = requested
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(&b));
                if safe && !requested.is_empty() {
                    resp.headers
                        .push(("Access-Control-Allow-Headers", requested.to_string()));
                }
            }
            resp.headers.push(("Access-Control-Max-Age", "600".into()));
            resp.headers.push((
                "Vary",
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into(),
            ));
        }
        Some(resp)
    }
}

/// The echo of an allowed origin, with credentials (the web client sends them, so never `*`).
fn grant(origin: &str, resp: &mut Response) {
    resp.headers
        .push(("Access-Control-Allow-Origin", origin.to_string()));
    resp.headers
        .push(("Access-Control-Allow-Credentials", "true".into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_exactly_one_subdomain_level() {
        let cors = Cors::new(&[
            "http://localhost:3000".into(),
            "https://*.vercel.app".into(),
        ]);
        assert!(cors.allows("http://localhost:3000"));
        assert!(cors.allows("https://my-app.vercel.app"));
        assert!(!cors.allows("https://a.b.vercel.app"));
        assert!(!cors.allows("https://.vercel.app"));
        assert!(!cors.allows("https://evil.com/.vercel.app"));
        assert!(!cors.allows("http://my-app.vercel.app"));
        assert!(!cors.allows("http://localhost:3001"));
    }
}
