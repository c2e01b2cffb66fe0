use crate::support::*;

#[test]
fn health_reports_the_database_as_ok() {
    let app = TestApp::spawn();
    let resp = app.get("/health", None);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        serde_json::json!({"status": "ok", "message": "Todo API is running", "database": "ok"})
    );
}

#[test]
fn root_names_the_version_docs_and_health() {
    let app = TestApp::spawn();
    let resp = app.get("/", None);
    assert_eq!(resp.status, 200);
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        resp.json(),
        serde_json::json!({"message": format!("Todo API v{v}"), "version": v, "docs": "/docs", "health": "/health"})
    );
}

#[test]
fn every_response_carries_the_standard_headers() {
    let app = TestApp::spawn();
    for path in ["/", "/health", "/nope"] {
        let resp = app.get(path, None);
        assert_eq!(
            resp.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{path}"
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            resp.header("content-length")
                .map(|l| l.parse::<usize>().unwrap()),
            Some(resp.body.len())
        );
    }
}

#[test]
fn an_unknown_path_is_404_not_found() {
    let app = TestApp::spawn();
    let resp = app.get("/api/nothing/here/at/all", None);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json(), serde_json::json!({"detail": "Not Found"}));
}

#[test]
fn a_known_path_with_the_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn();
    let resp = app.send("DELETE", "/health", None, None);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, OPTIONS"));
    let resp = app.send("TRACE", "/", None, None);
    assert_eq!(resp.status, 405);
}

#[test]
fn head_answers_like_get_without_a_body() {
    let app = TestApp::spawn();
    let raw = app.raw(
        b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(5),
    );
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-length: 6"),
        "{head}"
    );
    assert_eq!(body, "");
}

/// The tags of `/docs` that load a file: `(url, integrity, crossorigin)` of each.
fn docs_assets(page: &str) -> Vec<(String, String, String)> {
    let attribute = |tag: &str, name: &str| {
        tag.split_once(&format!(" {name}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.to_string())
            .unwrap_or_default()
    };
    page.split('<')
        .filter(|tag| tag.starts_with("script src=") || tag.starts_with("link rel=\"stylesheet\""))
        .map(|tag| {
            let url = attribute(
                tag,
                if tag.starts_with("script") {
                    "src"
                } else {
                    "href"
                },
            );
            (
                url,
                attribute(tag, "integrity"),
                attribute(tag, "crossorigin"),
            )
        })
        .collect()
}

#[test]
fn docs_is_a_swagger_ui_page_with_a_strict_content_security_policy() {
    let app = TestApp::with(|c| c.docs_assets_url = "https://assets.example/swagger".into());
    let resp = app.get("/docs", None);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(resp
        .body
        .contains("https://assets.example/swagger/swagger-ui-bundle.js"));
    assert!(resp.body.contains("/openapi.json"));
    let csp = resp.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains("script-src https://assets.example/swagger/ 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'unsafe-inline'"), "{csp}");
}

#[test]
fn docs_loads_an_exact_swagger_ui_release_and_has_the_browser_check_every_file_by_hash() {
    let pinned = TestApp::spawn().get("/docs", None);
    let assets = docs_assets(&pinned.body);
    assert_eq!(assets.len(), 2, "a stylesheet and a script: {assets:?}");
    let prefix = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@";
    let mut versions = Vec::new();
    for (url, integrity, crossorigin) in &assets {
        let (version, file) = url
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or_else(|| panic!("{url} is not a file of swagger-ui-dist on jsDelivr"));
        let parts: Vec<&str> = version.split('.').collect();
        assert!(
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
            "{url} does not name an exact release"
        );
        assert!(
            ["swagger-ui.css", "swagger-ui-bundle.js"].contains(&file),
            "{url}"
        );
        // SHA-384 in base64: 64 characters.
        let hash = integrity.strip_prefix("sha384-").unwrap_or_default();
        assert_eq!(hash.len(), 64, "{url}: integrity {integrity:?}");
        assert_eq!(crossorigin, "anonymous", "{url}");
        versions.push(version.to_string());
    }
    assert_eq!(versions[0], versions[1]);
    let version = &versions[0];
    assert!(
        pinned
            .body
            .contains(&format!("swagger-ui-dist@{version} -->")),
        "the page names its release in a comment"
    );

    // Elsewhere, the same files with the same hashes.
    let moved = TestApp::with(|c| c.docs_assets_url = "http://127.0.0.1:8080".into());
    let moved = docs_assets(&moved.get("/docs", None).body);
    for ((url, integrity, crossorigin), pinned) in moved.iter().zip(&assets) {
        assert_eq!(
            url.strip_prefix("http://127.0.0.1:8080"),
            pinned.0.strip_prefix(&format!("{prefix}{version}"))
        );
        assert_eq!((integrity, crossorigin), (&pinned.1, &pinned.2));
    }

    // The README's offline recipe and the browser tests (which check the hashes against the
    // files) install this very release.
    let readme = include_str!("../../README.md");
    assert!(readme.contains(&format!("`npm install swagger-ui-dist@{version}`")));
    let browser: serde_json::Value =
        serde_json::from_str(include_str!("../browser/package.json")).unwrap();
    assert_eq!(
        browser["devDependencies"]["swagger-ui-dist"],
        version.as_str()
    );
}

#[test]
fn openapi_json_is_served_with_the_crate_version() {
    let app = TestApp::spawn();
    let resp = app.get("/openapi.json", None);
    assert_eq!(resp.status, 200);
    let doc = resp.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_openapi_document_and_the_router_describe_the_same_routes() {
    let app = TestApp::spawn();
    let doc = app.get("/openapi.json", None).json();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.push((path.clone(), method.to_uppercase()));
            }
        }
    }
    let mut served: Vec<(String, String)> = todo_api::routes::ROUTES
        .iter()
        .map(|r| (r.template.to_string(), r.method.as_str().to_string()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served, "undocumented or phantom routes");

    // Every documented route answers (a 401 or 400 is an answer; 404 "Not Found" and 405 are not).
    for (path, method) in &documented {
        let concrete = path
            .replace("{user_id}", "00000000-0000-0000-0000-000000000000")
            .replace("{task_id}", "1");
        let resp = app.send(method, &concrete, None, None);
        assert_ne!(resp.status, 405, "{method} {path}");
        assert!(
            !(resp.status == 404 && resp.detail() == "Not Found"),
            "{method} {path}"
        );
    }
}

#[test]
fn the_openapi_document_states_the_same_limits_as_the_code() {
    use todo_api::api::input::LIST_LIMIT_MAX;
    use todo_api::domain::password::{PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};
    use todo_api::domain::text::{DESCRIPTION_MAX_CHARS, NAME_MIN_CHARS, TITLE_MAX_CHARS};
    let app = TestApp::spawn();
    let doc = app.get("/openapi.json", None).json();
    let schema =
        |name: &str, field: &str| doc["components"]["schemas"][name]["properties"][field].clone();
    assert_eq!(schema("SignupRequest", "name")["minLength"], NAME_MIN_CHARS);
    assert_eq!(
        schema("SignupRequest", "password")["minLength"],
        PASSWORD_MIN_CHARS
    );
    assert_eq!(
        schema("SignupRequest", "password")["maxLength"],
        PASSWORD_MAX_BYTES
    );
    for name in ["Task", "TaskCreate", "TaskUpdate"] {
        assert_eq!(schema(name, "title")["minLength"], 1, "{name}");
        assert_eq!(
            schema(name, "description")["maxLength"],
            DESCRIPTION_MAX_CHARS,
            "{name}"
        );
    }
    assert_eq!(schema("Task", "title")["maxLength"], TITLE_MAX_CHARS);
    let limit = &doc["paths"]["/api/{user_id}/tasks"]["get"]["parameters"]
        .as_array()
        .expect("list parameters")
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("a limit parameter")["schema"];
    assert_eq!(limit["maximum"], LIST_LIMIT_MAX);
}
