//! WebFinger (RFC 7033) for ActivityPub actors: `acct:` URIs and the JRD document.

use serde::{Deserialize, Serialize};

/// The `rel` of the link to the actor document.
pub const REL_SELF: &str = "self";
/// The `rel` of the link to an HTML profile.
pub const REL_PROFILE_PAGE: &str = "http://webfinger.net/rel/profile-page";
/// The media type of the actor document link.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// The media type of a JRD response.
pub const JRD_CONTENT_TYPE: &str = "application/jrd+json";

/// Why an account string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcctError {
    /// Not `acct:user@host` (or `@user@host` / `user@host` for handles).
    #[error("not an account of the form user@host: {0:?}")]
    Malformed(String),
}

/// An account `user@host` (RFC 7565 `acct:` URI).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acct {
    /// Local part, as given (case preserved).
    pub user: String,
    /// Host, lower-cased, with an optional port.
    pub host: String,
}

impl Acct {
    /// Parses an `acct:user@host` URI (the WebFinger `resource` form). The scheme is
    /// case-insensitive; percent-encoding is not decoded.
    pub fn parse_uri(uri: &str) -> Result<Self, AcctError> {
        let rest = uri
            .get(..5)
            .filter(|s| s.eq_ignore_ascii_case("acct:"))
            .and_then(|_| uri.get(5..))
            .ok_or_else(|| AcctError::Malformed(uri.to_owned()))?;
        Self::parse_bare(rest, uri)
    }

    /// Parses a handle `@user@host` or `user@host` as people type it.
    pub fn parse_handle(handle: &str) -> Result<Self, AcctError> {
        let bare = handle.strip_prefix('@').unwrap_or(handle);
        Self::parse_bare(bare, handle)
    }

    fn parse_bare(bare: &str, original: &str) -> Result<Self, AcctError> {
        let bad = || AcctError::Malformed(original.to_owned());
        let (user, host) = bare.rsplit_once('@').ok_or_else(bad)?;
        let user_ok = !user.is_empty()
            && user
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@/?#".contains(c));
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
            && !host.starts_with(['.', '-', ':']);
        if !user_ok || !host_ok {
            return Err(bad());
        }
        Ok(Self {
            user: user.to_owned(),
            host: host.to_ascii_lowercase(),
        })
    }

    /// `acct:user@host`.
    pub fn to_uri(&self) -> String {
        format!("acct:{}@{}", self.user, self.host)
    }
}

impl std::fmt::Display for Acct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.user, self.host)
    }
}

/// A JRD (JSON Resource Descriptor, RFC 7033 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jrd {
    /// The queried resource.
    pub subject: String,
    /// Other URIs for the same resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<JrdLink>,
}

/// One JRD link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JrdLink {
    /// Relation.
    pub rel: String,
    /// Media type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// URI template (e.g. OStatus subscribe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl Jrd {
    /// The JRD for an actor: subject `acct:…`, the actor URL as alias, a `self` link of type
    /// `application/activity+json`, and a profile-page link when given.
    pub fn for_actor(acct: &Acct, actor_url: &str, profile_url: Option<&str>) -> Self {
        let mut links = vec![JrdLink {
            rel: REL_SELF.to_owned(),
            media_type: Some(ACTIVITY_JSON.to_owned()),
            href: Some(actor_url.to_owned()),
            template: None,
        }];
        if let Some(url) = profile_url {
            links.push(JrdLink {
                rel: REL_PROFILE_PAGE.to_owned(),
                media_type: Some("text/html".to_owned()),
                href: Some(url.to_owned()),
                template: None,
            });
        }
        Self {
            subject: acct.to_uri(),
            aliases: vec![actor_url.to_owned()],
            links,
        }
    }

    /// The actor URL: `href` of the first `self` link of an ActivityPub media type.
    pub fn actor_url(&self) -> Option<&str> {
        self.links
            .iter()
            .filter(|l| l.rel == REL_SELF)
            .find(|l| {
                l.media_type
                    .as_deref()
                    .is_some_and(|t| t == ACTIVITY_JSON || t.starts_with("application/ld+json"))
            })
            .and_then(|l| l.href.as_deref())
    }
}
