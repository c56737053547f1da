//! NodeInfo 2.1 (<https://nodeinfo.diaspora.software/schema.html>): the discovery document at
//! `/.well-known/nodeinfo` and the NodeInfo document itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema `rel` of NodeInfo 2.1.
pub const NODEINFO_21_REL: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";
/// The media type of a NodeInfo 2.1 document.
pub const NODEINFO_21_CONTENT_TYPE: &str =
    "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"";

/// `/.well-known/nodeinfo`: links to NodeInfo documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfoDiscovery {
    /// Links, one per schema version.
    pub links: Vec<NodeInfoLink>,
}

/// One discovery link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfoLink {
    /// Schema URI.
    pub rel: String,
    /// Document URL.
    pub href: String,
}

impl NodeInfoDiscovery {
    /// Discovery pointing at a NodeInfo 2.1 document at `href`.
    pub fn v2_1(href: impl Into<String>) -> Self {
        Self {
            links: vec![NodeInfoLink {
                rel: NODEINFO_21_REL.to_owned(),
                href: href.into(),
            }],
        }
    }
}

/// A NodeInfo 2.1 document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// Always `2.1`.
    pub version: String,
    /// The server software.
    pub software: Software,
    /// Protocols supported, e.g. `activitypub`.
    pub protocols: Vec<String>,
    /// Third-party services.
    pub services: Services,
    /// Whether anyone may register.
    pub open_registrations: bool,
    /// Usage statistics.
    pub usage: Usage,
    /// Free-form metadata.
    pub metadata: Value,
}

/// `software` of NodeInfo 2.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// Name, `^[a-z0-9-]+$`.
    pub name: String,
    /// Version.
    pub version: String,
    /// Source repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Homepage URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// `services` of NodeInfo 2.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    /// Services the node can read from.
    pub inbound: Vec<String>,
    /// Services the node can publish to.
    pub outbound: Vec<String>,
}

/// `usage` of NodeInfo 2.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// User counts.
    pub users: UsageUsers,
    /// Number of local posts (for Punte: published practices and evaluations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_posts: Option<u64>,
}

/// `usage.users` of NodeInfo 2.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageUsers {
    /// Total users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Active in the last 180 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_halfyear: Option<u64>,
    /// Active in the last 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_month: Option<u64>,
}

impl NodeInfo {
    /// A NodeInfo 2.1 document for software `name`/`version` speaking ActivityPub, with
    /// closed registrations, no services, the given usage and empty metadata.
    pub fn v2_1(name: impl Into<String>, version: impl Into<String>, usage: Usage) -> Self {
        Self {
            version: "2.1".to_owned(),
            software: Software {
                name: name.into(),
                version: version.into(),
                repository: None,
                homepage: None,
            },
            protocols: vec!["activitypub".to_owned()],
            services: Services::default(),
            open_registrations: false,
            usage,
            metadata: Value::Object(serde_json::Map::new()),
        }
    }
}
