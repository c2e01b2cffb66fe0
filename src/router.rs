//! Method + path to a route. Path templates are the ones the OpenAPI document lists.

/// Every route: template and methods. `HEAD` is served wherever `GET` is, `OPTIONS` everywhere.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/health", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/docs", &["GET"]),
    ("/api/auth/signup", &["POST"]),
    ("/api/auth/signin", &["POST"]),
    ("/api/auth/me", &["GET"]),
    ("/api/{user_id}/tasks", &["GET", "POST"]),
    ("/api/{user_id}/tasks/{task_id}", &["GET", "PUT", "DELETE"]),
    ("/api/{user_id}/tasks/{task_id}/complete", &["PATCH"]),
];

pub struct Route<'a> {
    pub template: &'static str,
    /// `GET` for a `HEAD` request.
    pub method: &'static str,
    /// Values of the `{...}` segments, in order.
    pub params: Vec<&'a str>,
}

pub enum Matched<'a> {
    Found(Route<'a>),
    NotFound,
    MethodNotAllowed(&'static str),
    /// `OPTIONS` on a known path.
    Options(&'static str),
}

pub fn route<'a>(method: &str, path: &'a str) -> Matched<'a> {
    for (index, (template, methods)) in ROUTES.iter().enumerate() {
        let Some(params) = match_template(template, path) else {
            continue;
        };
        let method = if method == "HEAD" { "GET" } else { method };
        if method == "OPTIONS" {
            return Matched::Options(ALLOW[index]);
        }
        return match methods.iter().find(|m| **m == method) {
            Some(m) => Matched::Found(Route {
                template,
                method: m,
                params,
            }),
            None => Matched::MethodNotAllowed(ALLOW[index]),
        };
    }
    Matched::NotFound
}

/// `Allow` header values, in `ROUTES` order.
const ALLOW: &[&str] = &[
    "GET, HEAD, OPTIONS",
    "GET, HEAD, OPTIONS",
    "GET, HEAD, OPTIONS",
    "GET, HEAD, OPTIONS",
    "POST, OPTIONS",
    "POST, OPTIONS",
    "GET, HEAD, OPTIONS",
    "GET, HEAD, POST, OPTIONS",
    "GET, HEAD, PUT, DELETE, OPTIONS",
    "PATCH, OPTIONS",
];

fn match_template<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') => {
                if h.is_empty() {
                    return None;
                }
                params.push(h);
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_match_the_route_table() {
        assert_eq!(ALLOW.len(), ROUTES.len());
        for ((_, methods), allow) in ROUTES.iter().zip(ALLOW) {
            for m in *methods {
                assert!(allow.contains(m));
            }
            assert_eq!(allow.contains("HEAD"), methods.contains(&"GET"));
        }
    }

    #[test]
    fn paths_match_templates_with_parameters() {
        match route("PATCH", "/api/u1/tasks/7/complete") {
            Matched::Found(r) => assert_eq!(r.params, ["u1", "7"]),
            _ => panic!("no match"),
        }
        assert!(matches!(route("GET", "/api/u1/tasks/"), Matched::NotFound));
        assert!(matches!(route("TRACE", "/"), Matched::MethodNotAllowed(_)));
        assert!(matches!(route("HEAD", "/health"), Matched::Found(_)));
    }
}
