//! CORS for the browser client.

use crate::support::*;

fn app() -> TestApp {
    TestApp::with(|c| {
        c.cors_origins = vec![
            "http://localhost:3000".into(),
            "https://*.vercel.app".into(),
        ]
    })
}

fn get_from(app: &TestApp, origin: &str) -> Resp {
    app.request("GET", "/health", &[("Origin", origin)], None)
}

#[test]
fn an_allowed_origin_is_echoed_with_credentials_and_vary() {
    let app = app();
    for origin in ["http://localhost:3000", "https://my-branch.vercel.app"] {
        let resp = get_from(&app, origin);
        assert_eq!(resp.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            resp.header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(resp.header("vary"), Some("Origin"));
    }
}

#[test]
fn an_unknown_origin_gets_no_cors_headers_at_all() {
    let app = app();
    for origin in [
        "http://evil.example",
        "https://a.b.vercel.app",
        "http://localhost:3001",
        "null",
    ] {
        let resp = get_from(&app, origin);
        assert_eq!(resp.status, 200);
        let cors: Vec<_> = resp
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{origin}: {cors:?}");
    }
    let resp = app.request(
        "OPTIONS",
        "/api/auth/signin",
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert!(
        !resp
            .headers
            .iter()
            .any(|(n, _)| n.starts_with("access-control-")),
        "{:?}",
        resp.headers
    );
}

#[test]
fn a_preflight_is_204_with_the_methods_and_the_requested_headers() {
    let app = app();
    let resp = app.request(
        "OPTIONS",
        "/api/00000000-0000-0000-0000-000000000000/tasks/1",
        &[
            ("Origin", "https://preview-7.vercel.app"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "authorization,content-type",
            ),
        ],
        None,
    );
    assert_eq!(resp.status, 204);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://preview-7.vercel.app")
    );
    assert_eq!(
        resp.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        resp.header("access-control-allow-headers"),
        Some("authorization,content-type")
    );
    let methods = resp.header("access-control-allow-methods").unwrap();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    assert!(resp.header("vary").unwrap().contains("Origin"));
}

#[test]
fn error_responses_carry_cors_headers_so_the_browser_can_read_them() {
    let app = app();
    let resp = app.request(
        "GET",
        "/api/auth/me",
        &[("Origin", "http://localhost:3000")],
        None,
    );
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let exposed = resp.header("access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("WWW-Authenticate") && exposed.contains("Link"),
        "{exposed}"
    );
}
