//! Strict request-head parsing on httparse. Anything ambiguous is refused, and the connection closed,
//! so that no two parsers can disagree about where one request ends (request smuggling).

pub const MAX_HEADERS: usize = 100;

/// A parsed request, body included, as handed to a worker.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The socket peer's address, where the front knows it.
    pub peer: Option<std::net::IpAddr>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every line of a header sent more than once, in arrival order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// First value of a query parameter, percent-decoded; `None` when absent.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_values(name).next()
    }

    /// Every value of a repeated query parameter (`tag=a&tag=b`), percent-decoded, in order.
    pub fn query_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.query.split('&').filter_map(move |pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Head {
    pub method: String,
    pub target: String,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
    pub len: usize,
    pub content_length: usize,
    pub keep_alive: bool,
    pub expect_continue: bool,
}

/// A refusal of the request; the connection is closed after it is sent.
pub struct Reject {
    pub status: u16,
    pub detail: &'static str,
}

fn reject(status: u16, detail: &'static str) -> Reject {
    Reject { status, detail }
}

/// How far a head goes, as far as the bytes received show.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadEnd {
    /// Index just past the `\r\n\r\n` ending the head.
    At(usize),
    Incomplete,
    /// A `\n` without its `\r`: parsers differ on whether that ends a line (request smuggling), so
    /// the head is refused as soon as one is seen rather than when it ends (or times out).
    BareLf,
}

/// Scans for the end of the head from `from` (where the last scan stopped).
pub fn scan_head(buf: &[u8], from: usize) -> HeadEnd {
    let mut i = from.saturating_sub(3);
    while i < buf.len() {
        if buf[i] == b'\n' {
            if i == 0 || buf[i - 1] != b'\r' {
                return HeadEnd::BareLf;
            }
            if buf.get(i + 1..i + 3) == Some(b"\r\n") {
                return HeadEnd::At(i + 3);
            }
        }
        i += 1;
    }
    HeadEnd::Incomplete
}

/// Index just past the blank line ending the head, searching from `from`.
pub fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    match scan_head(buf, from) {
        HeadEnd::At(end) => Some(end),
        HeadEnd::Incomplete | HeadEnd::BareLf => None,
    }
}

/// Parses a complete head (`buf` ends with the blank line) and checks its framing.
pub fn parse_head(buf: &[u8], max_body: usize) -> Result<Head, Reject> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Err(reject(400, "Malformed request")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(reject(431, "Too many request headers"))
        }
        Err(httparse::Error::Version) => return Err(reject(505, "HTTP version not supported")),
        Err(_) => return Err(reject(400, "Malformed request")),
    };
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let http10 = req.version == Some(0);
    let mut headers = Vec::with_capacity(req.headers.len());
    let mut content_length: Option<usize> = None;
    let mut transfer_encoding: Option<String> = None;
    let mut hosts = 0;
    let mut keep_alive = !http10;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = match std::str::from_utf8(h.value) {
            Ok(v) => v.trim().to_string(),
            Err(_) => String::from_utf8_lossy(h.value).trim().to_string(),
        };
        match name.as_str() {
            "content-length" => {
                if content_length.is_some() {
                    return Err(reject(400, "Multiple Content-Length headers"));
                }
                if value.is_empty()
                    || value.len() > 18
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(reject(400, "Invalid Content-Length header"));
                }
                content_length = value.parse().ok();
                if content_length.is_none() {
                    return Err(reject(400, "Invalid Content-Length header"));
                }
            }
            "transfer-encoding" => {
                if transfer_encoding.is_some() {
                    return Err(reject(400, "Multiple Transfer-Encoding headers"));
                }
                transfer_encoding = Some(value.clone());
            }
            "host" => hosts += 1,
            "connection" => {
                for token in value.split(',').map(|t| t.trim()) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                        keep_alive = true;
                    }
                }
            }
            "expect" => {
                if value.eq_ignore_ascii_case("100-continue") {
                    expect_continue = true;
                } else {
                    return Err(reject(417, "Unsupported Expect header"));
                }
            }
            _ => {}
        }
        headers.push((name, value));
    }
    if let Some(te) = transfer_encoding {
        if content_length.is_some() {
            return Err(reject(400, "Content-Length and Transfer-Encoding together"));
        }
        // Chunked uploads are refused rather than decoded: every client we serve sends a length.
        if te.eq_ignore_ascii_case("chunked") {
            return Err(reject(
                411,
                "Send a Content-Length; chunked request bodies are not accepted",
            ));
        }
        return Err(reject(501, "Unsupported Transfer-Encoding"));
    }
    if hosts > 1 || (hosts == 0 && !http10) {
        return Err(reject(400, "Exactly one Host header is required"));
    }
    if !target.starts_with('/') {
        return Err(reject(400, "Request target must be a path"));
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > max_body {
        return Err(reject(413, "Request body too large"));
    }
    Ok(Head {
        method,
        target,
        http10,
        headers,
        len,
        content_length,
        keep_alive,
        expect_continue,
    })
}

impl Head {
    pub fn into_request(self, body: Vec<u8>, peer: Option<std::net::IpAddr>) -> Request {
        let (path, query) = match self.target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (self.target, String::new()),
        };
        Request {
            method: self.method,
            path,
            query,
            headers: self.headers,
            body,
            peer,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Head, Reject> {
        parse_head(raw.as_bytes(), 1024)
    }

    #[test]
    fn a_plain_request_parses_with_keep_alive() {
        let head = parse("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()
            .unwrap();
        assert!(head.keep_alive);
        assert_eq!(head.target, "/a?b=1");
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        for raw in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
        ] {
            assert_eq!(parse(raw).err().map(|r| r.status), Some(400), "{raw:?}");
        }
    }

    #[test]
    fn other_versions_are_505() {
        assert_eq!(
            parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n")
                .err()
                .map(|r| r.status),
            Some(505)
        );
    }

    #[test]
    fn head_end_finds_the_blank_line_across_reads() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
        assert_eq!(head_end(raw, 0), Some(27));
        assert_eq!(head_end(raw, 26), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n", 0), None);
    }

    #[test]
    fn a_bare_lf_anywhere_in_the_head_is_refused_before_the_head_ends() {
        for raw in [
            &b"GET / HTTP/1.1\nHost: x\n\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\n",
            b"\nGET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost: x\n",
        ] {
            assert_eq!(scan_head(raw, 0), HeadEnd::BareLf, "{raw:?}");
        }
        // Seen when it arrives in a later read, which resumes the scan where the last one stopped.
        let raw = b"GET / HTTP/1.1\r\nHost: x\nX-A: 1";
        assert_eq!(scan_head(&raw[..23], 0), HeadEnd::Incomplete);
        assert_eq!(scan_head(raw, 23), HeadEnd::BareLf);
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(scan_head(&raw[..15], 0), HeadEnd::Incomplete);
        assert_eq!(scan_head(raw, 15), HeadEnd::At(27));
    }

    #[test]
    fn a_head_ends_only_at_crlf_crlf() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
        assert_eq!(scan_head(raw, 0), HeadEnd::At(27));
        assert_eq!(
            scan_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r", 0),
            HeadEnd::Incomplete
        );
        // A bare LF in the body that follows is not the head's business.
        assert_eq!(
            scan_head(b"POST / HTTP/1.1\r\nHost: x\r\n\r\na\nb", 0),
            HeadEnd::At(28)
        );
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        let head = parse("GET /t?status=all&cursor=a%2Bb HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()
            .unwrap();
        let req = head.into_request(Vec::new(), None);
        assert_eq!(req.query_param("cursor").as_deref(), Some("a+b"));
        assert_eq!(req.query_param("status").as_deref(), Some("all"));
        assert_eq!(req.query_param("limit"), None);
        let req = Request {
            query: "tag=a&x=1&tag=b%20c&tag".into(),
            ..req
        };
        let tags: Vec<String> = req.query_values("tag").collect();
        assert_eq!(tags, ["a", "b c", ""]);
    }
}
