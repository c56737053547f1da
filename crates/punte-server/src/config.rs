//! The node's configuration: one struct with sections, from defaults, a TOML file and
//! `PUNTE_SECTION__KEY` environment variables, in that order. Unknown keys are errors.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything a node can be configured with. `config/punte.example.toml` documents each key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub federation: FederationConfig,
    pub disclosure: DisclosureConfig,
    pub witness: WitnessConfig,
    pub membership: MembershipConfig,
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Public URL the node's ids are built on; `http://` + `listen` when absent.
    pub base_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds a client gets to send a whole request body; slower ones get 408.
    pub body_read_timeout_secs: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Where the database and keys live.
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Allow fetching from and delivering to private, loopback and link-local addresses.
    /// Only for tests and closed networks.
    pub allow_private_addresses: bool,
    /// `NAME` of the node's handle `@NAME@HOST`.
    pub username: String,
    /// Accept follow requests at once instead of waiting for an admin's approval.
    pub auto_approve_follows: bool,
    /// Require signed GETs for the outbox and the followers/following collections.
    pub authorized_fetch: bool,
    /// Largest accepted difference between a signature's time and the node's clock.
    pub signature_window_secs: u64,
    /// Delay before the first retry of a failed delivery (doubles each time, with jitter).
    pub retry_base_ms: u64,
    /// Longest delay between two delivery attempts.
    pub retry_max_delay_secs: u64,
    /// Give up on a delivery this many hours after it was queued.
    pub give_up_after_hours: u64,
    /// Consecutive failures after which a host is paused (circuit breaker).
    pub breaker_threshold: u32,
    /// Longest pause of a failing host.
    pub breaker_max_pause_secs: u64,
    /// Deliveries in flight at once.
    pub delivery_concurrency: usize,
    /// How often replicas ask partners for new entries when no delivery arrives.
    pub replica_poll_interval_secs: u64,
    /// Apply a partner's entries only up to a checkpoint cosigned by at least this many of
    /// its witnesses (0, with `require_partner_countries` 0, = no requirement).
    pub require_partner_witnesses: u32,
    /// Distinct countries those witnesses must come from.
    pub require_partner_countries: u32,
    /// Most activities kept from actors that are neither followed nor followers.
    pub stranger_activities_max: u64,
    /// Days such activities are kept.
    pub stranger_activities_days: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        let d = punte_node::federation::FederationSettings::default();
        Self {
            allow_private_addresses: d.allow_private_addresses,
            username: d.username,
            auto_approve_follows: d.auto_approve_follows,
            authorized_fetch: d.authorized_fetch,
            signature_window_secs: d.signature_window.as_secs(),
            retry_base_ms: u64::try_from(d.retry_base.as_millis()).unwrap_or(u64::MAX),
            retry_max_delay_secs: d.retry_max_delay.as_secs(),
            give_up_after_hours: d.give_up_after.as_secs() / 3600,
            breaker_threshold: d.breaker_threshold,
            breaker_max_pause_secs: d.breaker_max_pause.as_secs(),
            delivery_concurrency: d.delivery_concurrency,
            replica_poll_interval_secs: d.replica_poll_interval.as_secs(),
            require_partner_witnesses: 0,
            require_partner_countries: 0,
            stranger_activities_max: d.stranger_activities_max,
            stranger_activities_days: d.stranger_activities_max_age.as_secs() / 86_400,
        }
    }
}

impl FederationConfig {
    /// The node-side settings.
    pub fn settings(&self) -> punte_node::federation::FederationSettings {
        use std::time::Duration;
        punte_node::federation::FederationSettings {
            allow_private_addresses: self.allow_private_addresses,
            auto_approve_follows: self.auto_approve_follows,
            username: self.username.clone(),
            signature_window: Duration::from_secs(self.signature_window_secs),
            retry_base: Duration::from_millis(self.retry_base_ms.max(1)),
            retry_max_delay: Duration::from_secs(self.retry_max_delay_secs.max(1)),
            give_up_after: Duration::from_secs(self.give_up_after_hours.saturating_mul(3600)),
            breaker_threshold: self.breaker_threshold.max(1),
            breaker_max_pause: Duration::from_secs(self.breaker_max_pause_secs),
            delivery_concurrency: self.delivery_concurrency.max(1),
            replica_poll_interval: Duration::from_secs(self.replica_poll_interval_secs.max(1)),
            actor_ttl: Duration::from_secs(24 * 3600),
            authorized_fetch: self.authorized_fetch,
            stranger_activities_max: self.stranger_activities_max,
            stranger_activities_max_age: Duration::from_secs(
                self.stranger_activities_days.saturating_mul(86_400),
            ),
            membership: punte_node::membership::MembershipSettings::default(),
            partner_witness_policy: (self.require_partner_witnesses > 0
                || self.require_partner_countries > 0)
                .then_some(punte_node::witness::WitnessPolicy {
                    min_cosignatures: self.require_partner_witnesses,
                    distinct_countries: self.require_partner_countries,
                }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisclosureConfig {
    /// Cells computed from fewer than `k` people never leave the node.
    pub k: u64,
}

/// The witness policy the node's latest checkpoint is measured against
/// (`GET /api/v1/witness/status`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessConfig {
    /// Cosignatures the latest checkpoint needs.
    pub min_cosignatures: u32,
    /// Distinct countries its cosigning witnesses must come from.
    pub distinct_countries: u32,
}

impl Default for WitnessConfig {
    fn default() -> Self {
        let d = punte_node::witness::WitnessPolicy::default();
        Self {
            min_cosignatures: d.min_cosignatures,
            distinct_countries: d.distinct_countries,
        }
    }
}

impl WitnessConfig {
    /// The node-side policy.
    pub fn policy(&self) -> punte_node::witness::WitnessPolicy {
        punte_node::witness::WitnessPolicy {
            min_cosignatures: self.min_cosignatures,
            distinct_countries: self.distinct_countries,
        }
    }
}

/// Network membership (docs/protocol.md §1.10): the coordinator whose signed membership list
/// the node goes by, and whether it accepts only listed members.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MembershipConfig {
    /// The coordinator's actor URL (`https://coord.example/actor`); the node must follow it.
    pub coordinator: Option<String>,
    /// Accept follows, deliveries and witness requests only from current members whose keys
    /// match the list (and from the coordinator).
    pub members_only: bool,
}

impl MembershipConfig {
    /// The node-side settings.
    pub fn settings(&self) -> punte_node::membership::MembershipSettings {
        punte_node::membership::MembershipSettings {
            coordinator: self.coordinator.clone(),
            members_only: self.members_only,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A tracing filter: `info`, `punte=debug,actix_web=info`, …
    pub level: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: None,
            max_body_bytes: 1024 * 1024,
            body_read_timeout_secs: 20,
            shutdown_timeout_secs: 30,
            workers: 0,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("punte-data"),
        }
    }
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self {
            k: punte_model::disclosure::DEFAULT_K,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Prefix of environment variables that set config keys: `PUNTE_SERVER__LISTEN=0.0.0.0:8080`.
pub const ENV_PREFIX: &str = "PUNTE_";

impl Config {
    /// Builds the config from an optional TOML file (`origin` names it in errors) and the
    /// environment. Only variables of the form `PUNTE_SECTION__KEY` are read here.
    pub fn load(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some((origin, text)) => {
                toml::from_str::<toml::Table>(text).map_err(|e| ConfigError::Invalid {
                    origin: origin.to_string(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let Some((section, key)) = rest.split_once("__") else {
                continue;
            };
            let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(raw.clone()));
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => {
                    t.insert(key, value);
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        origin: name,
                        message: format!("'{section}' is not a section"),
                    });
                }
            }
        }
        let origin = file
            .map(|(o, _)| o.to_string())
            .unwrap_or_else(|| "environment".into());
        let config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid {
                origin,
                message: e.to_string().trim().to_string(),
            })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                origin: key.to_string(),
                message,
            })
        };
        if let Some(url) = &self.server.base_url
            && let Err(e) = normalise_base_url(url)
        {
            return bad("server.base_url", e);
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes", "must be at least 1024".into());
        }
        if self.server.body_read_timeout_secs == 0 {
            return bad("server.body_read_timeout_secs", "must be at least 1".into());
        }
        if let Some(c) = &self.membership.coordinator
            && (punte_protocol::urls::origin_of(c).is_err() || !c.ends_with("/actor"))
        {
            return bad(
                "membership.coordinator",
                format!("{c:?} is not the actor URL of a Punte node (https://HOST/actor)"),
            );
        }
        if self.membership.members_only && self.membership.coordinator.is_none() {
            return bad(
                "membership.members_only",
                "needs membership.coordinator: whose list would say who the members are?".into(),
            );
        }
        if self.disclosure.k < 1 {
            return bad("disclosure.k", "must be at least 1".into());
        }
        Ok(())
    }
}

/// Checks a public base URL and returns it without a trailing slash.
pub fn normalise_base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| format!("'{url}' must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '@']) {
        return Err(format!(
            "'{url}' must be a scheme and host (and port) only, e.g. https://ngo.example.org"
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_file_and_environment_layer_in_order() {
        let c = Config::load(None, []).unwrap();
        assert_eq!(c, Config::default());
        let file = "[server]\nlisten = \"0.0.0.0:9000\"\nbase_url = \"https://ngo.example.org/\"\n[disclosure]\nk = 10\n";
        let env = [
            ("PUNTE_DISCLOSURE__K".to_string(), "7".to_string()),
            ("PUNTE_LISTEN".into(), "ignored".into()),
        ];
        let c = Config::load(Some(("punte.toml", file)), env).unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.disclosure.k, 7);
        let env = [(
            "PUNTE_STORAGE__DATA_DIR".to_string(),
            "/var/lib/punte".to_string(),
        )];
        assert_eq!(
            Config::load(None, env).unwrap().storage.data_dir,
            PathBuf::from("/var/lib/punte")
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let e = Config::load(Some(("f.toml", "[server]\nlisen = \"x\"\n")), [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
        let e = Config::load(None, [("PUNTE_SERVER__PORTT".to_string(), "1".to_string())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("portt"), "{e}");
        let e = Config::load(Some(("f.toml", "[sever]\n")), [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("sever"), "{e}");
        assert!(Config::load(Some(("f.toml", "[server]\nbase_url = \"ftp://x\"\n")), []).is_err());
    }

    #[test]
    fn membership_is_read_from_file_and_environment_and_checked() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let c = Config::load(
            None,
            env(&[
                (
                    "PUNTE_MEMBERSHIP__COORDINATOR",
                    "https://coord.example/actor",
                ),
                ("PUNTE_MEMBERSHIP__MEMBERS_ONLY", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.membership.settings(),
            punte_node::membership::MembershipSettings {
                coordinator: Some("https://coord.example/actor".to_string()),
                members_only: true,
            }
        );
        let file = "[membership]\ncoordinator = \"https://coord.example/actor\"\n";
        let c = Config::load(Some(("f.toml", file)), []).unwrap();
        assert!(!c.membership.members_only);
        // members-only needs a coordinator; the coordinator must be a Punte actor URL
        let e = Config::load(None, env(&[("PUNTE_MEMBERSHIP__MEMBERS_ONLY", "true")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("membership.members_only"), "{e}");
        let e = Config::load(
            None,
            env(&[("PUNTE_MEMBERSHIP__COORDINATOR", "coord.example")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("membership.coordinator"), "{e}");
    }
}
