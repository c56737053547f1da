//! Outgoing HTTP for federation: the fetcher every remote request goes through.
//!
//! Rules (docs/protocol.md §5.6): only `http`/`https`; no private, loopback, link-local, multicast
//! or otherwise non-public addresses unless `allow_private_addresses` (checked on the URL's
//! literal address and on every address DNS returns, so a name cannot rebind to one);
//! connect and total timeouts; answers larger than the cap are cut off with an error;
//! redirects only to the same origin, at most three; requests signed by the node.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};

/// Largest answer body read (docs/protocol.md §5.6).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a fetch may do.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub allow_private_addresses: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub user_agent: String,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: MAX_BODY_BYTES,
            user_agent: concat!("punte/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why a remote request failed before an HTTP answer was read completely.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{url} is on a private, loopback or link-local address; refused")]
    PrivateAddress { url: String },
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("request to {url} timed out")]
    Timeout { url: String },
    #[error("answer from {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url} redirected to another origin ({to}); refused")]
    CrossOriginRedirect { url: String, to: String },
    #[error("cannot sign the request to {url}: {reason}")]
    Signing { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
}

impl FetchError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }
}

/// An HTTP answer read in full (within the cap).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The URL the answer came from (after same-origin redirects).
    pub url: String,
}

impl Fetched {
    /// `Retry-After` in seconds, when given as a number.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }
}

/// How to sign a request.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// RFC 9421 with the node's Ed25519 identity key (Punte peers).
    Rfc9421 {
        key_id: &'a str,
        key: &'a ed25519_dalek::SigningKey,
    },
    /// draft-cavage `rsa-sha256` with the node's RSA key (Mastodon-family and Fedify).
    Cavage {
        key_id: &'a str,
        key: &'a rsa::RsaPrivateKey,
    },
}

pub use super::addresses::is_public_address;

/// DNS that drops non-public addresses (unless allowed) so a name cannot point the node at
/// its own network.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public_address(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} has no public address"),
                ))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The node's HTTP client for federation.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
}

fn origin_of(url: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Same-origin redirects followed (docs/protocol.md §5.6).
const MAX_REDIRECTS: usize = 3;

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            // `previous` holds the first URL and each redirect before this one
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| origin_of(first) == origin_of(attempt.url()));
            if same {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private_addresses,
            }))
            .redirect(policy)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(settings.user_agent.clone())
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                reason: describe(&e),
            })?;
        Ok(Self { client, settings })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// Parses `url` and applies the address rules to a literal host.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, FetchError> {
        let invalid = |reason: &str| FetchError::InvalidUrl {
            url: url.chars().take(300).collect(),
            reason: reason.to_owned(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("only http and https are fetched"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("credentials in urls are refused"));
        }
        let host = parsed.host_str().ok_or_else(|| invalid("no host"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let private = match bare.parse::<IpAddr>() {
            Ok(ip) => !is_public_address(ip),
            Err(_) => {
                let d = bare.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
        };
        if private && !self.settings.allow_private_addresses {
            return Err(FetchError::PrivateAddress {
                url: url.chars().take(300).collect(),
            });
        }
        Ok(parsed)
    }

    /// `GET url` with `Accept: accept`, signed when `signer` is given.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        signer: Option<Signer<'_>>,
        now: i64,
    ) -> Result<Fetched, FetchError> {
        self.get_large(url, accept, signer, now, self.settings.max_body_bytes)
            .await
    }

    /// `GET url` allowing an answer of up to `limit` bytes (pages of a partner's log, whose
    /// entries are verified one by one, may exceed the usual 1 MiB).
    pub async fn get_large(
        &self,
        url: &str,
        accept: &str,
        signer: Option<Signer<'_>>,
        now: i64,
        limit: usize,
    ) -> Result<Fetched, FetchError> {
        let signed = signer.map(|s| (s, now));
        self.send("GET", url, &[("Accept", accept)], Vec::new(), signed, limit)
            .await
    }

    /// `GET url` expecting a 2xx JSON answer.
    pub async fn get_json(
        &self,
        url: &str,
        signer: Option<Signer<'_>>,
        now: i64,
    ) -> Result<Fetched, FetchError> {
        let accept = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\", application/json;q=0.9";
        let fetched = self.get(url, accept, signer, now).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(FetchError::Status {
                url: url.chars().take(300).collect(),
                status: fetched.status,
            });
        }
        Ok(fetched)
    }

    /// `POST url` with `body`, extra headers, signed by `signer`.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        extra_headers: &[(&str, &str)],
        body: Vec<u8>,
        signer: Signer<'_>,
        now: i64,
    ) -> Result<Fetched, FetchError> {
        let mut headers = vec![("Content-Type", content_type)];
        headers.extend_from_slice(extra_headers);
        let limit = self.settings.max_body_bytes;
        self.send("POST", url, &headers, body, Some((signer, now)), limit)
            .await
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        signed: Option<(Signer<'_>, i64)>,
        limit: usize,
    ) -> Result<Fetched, FetchError> {
        let parsed = self.check_url(url)?;
        let short: String = url.chars().take(300).collect();
        let mut request = HttpRequest::new(method, parsed.as_str()).with_body(body);
        for (name, value) in headers {
            request = request.with_header(*name, *value);
        }
        if let Some((signer, now)) = signed {
            let result = match signer {
                Signer::Rfc9421 { key_id, key } => httpsig::rfc9421::sign_request(
                    &mut request,
                    key_id,
                    SigningKeyRef::Ed25519(key),
                    now,
                ),
                Signer::Cavage { key_id, key } => httpsig::cavage::sign_request(
                    &mut request,
                    key_id,
                    SigningKeyRef::Rsa(key),
                    now,
                ),
            };
            result.map_err(|e| FetchError::Signing {
                url: short.clone(),
                reason: e.to_string(),
            })?;
        }
        let mut header_map = HeaderMap::new();
        for (name, value) in &request.headers {
            // `Host` is set by the client from the URL; a signed one must equal it.
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| FetchError::Signing {
                    url: short.clone(),
                    reason: e.to_string(),
                })?;
            let value = HeaderValue::from_str(value).map_err(|e| FetchError::Signing {
                url: short.clone(),
                reason: e.to_string(),
            })?;
            header_map.append(name, value);
        }
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| FetchError::InvalidUrl {
                url: short.clone(),
                reason: e.to_string(),
            })?;
        let response = self
            .client
            .request(method, parsed)
            .headers(header_map)
            .body(request.body)
            .send()
            .await
            .map_err(|e| self.transport_error(&short, &e))?;
        let status = response.status().as_u16();
        let final_url = response.url().to_string();
        if (300..400).contains(&status) {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            return Err(FetchError::CrossOriginRedirect { url: short, to });
        }
        let headers = response.headers().clone();
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge { url: short, limit });
        }
        let mut body = Vec::new();
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(FetchError::TooLarge { url: short, limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(&short, &e)),
            }
        }
        Ok(Fetched {
            status,
            headers,
            body,
            url: final_url,
        })
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout {
                url: url.to_owned(),
            };
        }
        let reason = describe(e);
        if reason.contains("has no public address") {
            return FetchError::PrivateAddress {
                url: url.to_owned(),
            };
        }
        FetchError::Transport {
            url: url.to_owned(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public_address(ip), "{ip} must not be public");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public_address(ip), "{ip} is public");
        }
    }

    /// A server on loopback whose `/r/N` redirects to `/r/N-1` and `/r/0` answers JSON.
    fn redirecting_server() -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0_u8; 2048];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request =
                    String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let left: u32 = path.trim_start_matches("/r/").parse().unwrap_or(0);
                let answer = if left == 0 {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_owned()
                } else {
                    format!(
                        "HTTP/1.1 302 Found\r\nlocation: /r/{}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        left - 1
                    )
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        base
    }

    #[tokio::test]
    async fn three_same_origin_redirects_are_followed_and_a_fourth_is_refused() {
        let base = redirecting_server();
        let fetcher = Fetcher::new(FetchSettings {
            allow_private_addresses: true,
            ..FetchSettings::default()
        })
        .unwrap();
        for n in 0..=3 {
            let got = fetcher.get_json(&format!("{base}/r/{n}"), None, 0).await;
            assert!(got.is_ok(), "{n} redirects: {got:?}");
        }
        let got = fetcher.get_json(&format!("{base}/r/4"), None, 0).await;
        assert!(got.is_err(), "four redirects were followed");
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        for url in [
            "http://127.0.0.1:8080/actor",
            "http://[::1]/actor",
            "http://localhost/actor",
            "http://app.localhost/actor",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/inbox",
        ] {
            assert!(
                matches!(
                    fetcher.check_url(url),
                    Err(FetchError::PrivateAddress { .. })
                ),
                "{url}"
            );
        }
        for url in [
            "ftp://example.org/x",
            "file:///etc/passwd",
            "http://u:p@example.org/",
        ] {
            assert!(
                matches!(fetcher.check_url(url), Err(FetchError::InvalidUrl { .. })),
                "{url}"
            );
        }
        assert!(fetcher.check_url("https://example.org/actor").is_ok());
        let open = Fetcher::new(FetchSettings {
            allow_private_addresses: true,
            ..FetchSettings::default()
        })
        .unwrap();
        assert!(open.check_url("http://127.0.0.1:8080/actor").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        // A name (not a literal) that the system resolves to loopback.
        let name = "ip6-localhost";
        let resolves = tokio::net::lookup_host((name, 0)).await.is_ok();
        let err = fetcher
            .get(&format!("http://{name}:9/"), "*/*", None, 0)
            .await
            .unwrap_err();
        if resolves {
            assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err}");
        }
    }
}
