//! The small HTTP request model signatures operate on: method, absolute target URI, header
//! list in received order (names case-insensitive, repeated names allowed) and body bytes.

use super::HttpSigError;

/// An HTTP request as seen by a signer or verifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Absolute target URI, e.g. `https://example.com/inbox?x=1`.
    pub target_uri: String,
    /// Header fields in order; names in any case.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: impl Into<String>, target_uri: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            target_uri: target_uri.into(),
            ..Self::default()
        }
    }

    /// Appends a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The field value of `name` per RFC 9421 §2.1: each value trimmed of surrounding
    /// whitespace, repeated fields joined by `", "`; `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self.header_values(name).map(str::trim).peekable();
        values.peek()?;
        Some(values.collect::<Vec<_>>().join(", "))
    }

    /// Replaces every `name` header with one `name: value`.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
    }

    /// The parsed target URI.
    pub fn target(&self) -> Result<TargetUri, HttpSigError> {
        TargetUri::parse(&self.target_uri)
    }
}

/// The parts of an absolute `http`/`https` target URI that signatures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUri {
    /// Lower-case scheme.
    pub scheme: String,
    /// Authority as written (userinfo refused).
    pub authority: String,
    /// Path; `/` when empty.
    pub path: String,
    /// Query without `?`, if any.
    pub query: Option<String>,
}

impl TargetUri {
    /// Parses `scheme://authority[/path][?query][#fragment]`; the fragment is dropped.
    pub fn parse(uri: &str) -> Result<Self, HttpSigError> {
        let bad = || HttpSigError::InvalidTargetUri(uri.to_owned());
        let (scheme, rest) = uri.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(bad());
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (rest, None),
        };
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            path,
            query,
        })
    }

    /// RFC 9421 `@authority`: lower-case host, default port (80/443) removed.
    pub fn normalized_authority(&self) -> String {
        let lower = self.authority.to_ascii_lowercase();
        let default_port = if self.scheme == "https" {
            ":443"
        } else {
            ":80"
        };
        match lower.strip_suffix(default_port) {
            Some(host) if !host.ends_with(':') => host.to_owned(),
            _ => lower,
        }
    }

    /// The origin-form request target: path plus `?query` when there is one.
    pub fn request_target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}
