//! The URLs of a node and its objects (`BASE/actor`, `BASE/practices/{id}`, …), built from one
//! validated base, and the origin checks that decide whether a URL belongs to a node.
//!
//! A node's base is an origin: `https://host[:port]` (or `http://` for tests on loopback), with
//! no path and no trailing slash; every URL of the node is the base followed by a path.

use std::fmt;

/// Longest URL accepted anywhere on the wire, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest local object id (the last path segment of an object URL), in bytes.
pub const MAX_LOCAL_ID_LEN: usize = 200;

/// Characters a query value keeps as they are: the RFC 3986 unreserved set.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (RFC 3986 unreserved characters kept, UTF-8 otherwise).
pub fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// `host[:port]` of an http(s) URL, lower-cased.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains('@')).then(|| host.to_ascii_lowercase())
}

/// A node's base URL from its actor id (`BASE/actor`).
pub fn base_of_actor(actor_id: &str) -> Option<&str> {
    actor_id.strip_suffix("/actor")
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not an absolute `http`/`https` URL with a host, or too long.
    #[error("not an absolute http(s) url: {0:?}")]
    NotHttpUrl(String),
    /// A base must be an origin, without path, query, fragment or user information.
    #[error("a node base must be scheme://host[:port] without a path: {0:?}")]
    NotAnOrigin(String),
}

/// The origin (`scheme://host[:port]`, scheme and host lower-cased) of an absolute http(s) URL.
///
/// Refuses URLs with user information (`user@host`), an empty host, control characters or
/// whitespace, and URLs longer than [`MAX_URL_LEN`].
pub fn origin_of(url: &str) -> Result<String, UrlError> {
    let bad = || UrlError::NotHttpUrl(url.chars().take(200).collect());
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(bad());
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).ok_or_else(bad)?;
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or_else(bad)?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !host.starts_with(['.', '-'])
    };
    if !host_ok {
        return Err(bad());
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Whether two URLs have the same origin (both must be absolute http(s) URLs).
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin_of(a), origin_of(b)), (Ok(x), Ok(y)) if x == y)
}

/// Whether `id` is usable as the last path segment of an object URL: 1 to
/// [`MAX_LOCAL_ID_LEN`] bytes of RFC 3986 unreserved characters or `@` (as in
/// `code@version`), not `.` or `..`.
pub fn is_local_id(id: &str) -> bool {
    (1..=MAX_LOCAL_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '@'))
        && id != "."
        && id != ".."
}

/// The collections under which a node publishes its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `BASE/practices/{id}`.
    Practices,
    /// `BASE/evaluations/{id}`.
    Evaluations,
    /// `BASE/adaptations/{id}`.
    Adaptations,
    /// `BASE/indicators/{code}@{version}`.
    Indicators,
    /// `BASE/activities/{uuid}`.
    Activities,
    /// `BASE/attestations/{uuid}`.
    Attestations,
}

impl Collection {
    /// The path segment, `practices`, `evaluations`, ….
    pub fn segment(self) -> &'static str {
        match self {
            Self::Practices => "practices",
            Self::Evaluations => "evaluations",
            Self::Adaptations => "adaptations",
            Self::Indicators => "indicators",
            Self::Activities => "activities",
            Self::Attestations => "attestations",
        }
    }
}

/// A node's validated base URL and the URLs derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeUrls {
    base: String,
}

impl NodeUrls {
    /// Validates `base`: an absolute http(s) origin. A single trailing `/` is removed; scheme
    /// and host are lower-cased.
    pub fn new(base: &str) -> Result<Self, UrlError> {
        let trimmed = base.strip_suffix('/').unwrap_or(base);
        let origin = origin_of(trimmed)?;
        if !origin.eq_ignore_ascii_case(trimmed) {
            return Err(UrlError::NotAnOrigin(base.chars().take(200).collect()));
        }
        Ok(Self { base: origin })
    }

    /// The base itself, `https://host`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `BASE/actor`.
    pub fn actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    /// `BASE/inbox` (the node has one actor, so this is also its shared inbox).
    pub fn inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// `BASE/outbox`.
    pub fn outbox(&self) -> String {
        format!("{}/outbox", self.base)
    }

    /// `BASE/followers`.
    pub fn followers(&self) -> String {
        format!("{}/followers", self.base)
    }

    /// `BASE/following`.
    pub fn following(&self) -> String {
        format!("{}/following", self.base)
    }

    /// `BASE/ns/v1`, where the node serves the Punte JSON-LD context document.
    pub fn context_document(&self) -> String {
        format!("{}/ns/v1", self.base)
    }

    /// `BASE/{collection}/{local_id}`. `local_id` should satisfy [`is_local_id`]; it is not
    /// escaped.
    pub fn object(&self, collection: Collection, local_id: &str) -> String {
        format!("{}/{}/{local_id}", self.base, collection.segment())
    }

    /// `BASE/practices/{id}`.
    pub fn practice(&self, id: &str) -> String {
        self.object(Collection::Practices, id)
    }

    /// `BASE/evaluations/{id}`.
    pub fn evaluation(&self, id: &str) -> String {
        self.object(Collection::Evaluations, id)
    }

    /// `BASE/adaptations/{id}`.
    pub fn adaptation(&self, id: &str) -> String {
        self.object(Collection::Adaptations, id)
    }

    /// `BASE/indicators/{code}@{version}`.
    pub fn indicator(&self, reference: &punte_model::IndicatorRef) -> String {
        self.object(Collection::Indicators, &reference.to_string())
    }

    /// `BASE/attestations/{uuid}`.
    pub fn attestation(&self, uuid: &str) -> String {
        self.object(Collection::Attestations, uuid)
    }

    /// `BASE/activities/{uuid}`.
    pub fn activity(&self, uuid: &str) -> String {
        self.object(Collection::Activities, uuid)
    }

    /// The local id of `url` when it is `BASE/{collection}/{id}` with a valid id.
    pub fn local_id<'a>(&self, collection: Collection, url: &'a str) -> Option<&'a str> {
        let rest = url.get(self.base.len()..)?;
        let head = url.get(..self.base.len())?;
        if !head.eq_ignore_ascii_case(&self.base) {
            return None;
        }
        let id = rest
            .strip_prefix('/')?
            .strip_prefix(collection.segment())?
            .strip_prefix('/')?;
        is_local_id(id).then_some(id)
    }

    /// Whether `url` is on this node's origin.
    pub fn owns(&self, url: &str) -> bool {
        origin_of(url).is_ok_and(|o| o == self.base)
    }
}

impl fmt::Display for NodeUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}
