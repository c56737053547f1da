//! The follower side of the witness policy (docs/protocol.md §5.5 "Witness requirement"):
//! with `[federation] require_partner_witnesses` / `require_partner_countries`, a partner's
//! entries are applied to its replica only up to a checkpoint whose stapled cosignatures
//! meet that policy.
//!
//! A cosignature counts when its key name is `HOST[:PORT]/punte-witness` (§6) of a host other
//! than the partner's own, the key it verifies with is the one that host serves at
//! `/witness/key`, and no other cosignature of that witness was counted. The witness's
//! country is the `country` member of its actor document (`/actor` on the same host). Keys
//! are discovered through the guarded [`Fetcher`](super::Fetcher) and cached (found ones for
//! `actor_ttl`, failures for [`FAILURE_TTL`]); nothing the partner itself says about its
//! witnesses is trusted. When the node has a network membership list in force, a listed
//! member's witness counts with the witness key and country the coordinator pinned (not
//! discovered), and in members-only mode only members' witnesses count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use punte_log::checkpoint::open_checkpoint;
use punte_log::note::{KeyType, Note, NoteVerifier};

use super::{Federation, SignatureKind, host_of};
use crate::federation::witness::{WITNESS_PREFIX, WitnessPolicy};

/// How long a witness that could not be discovered is not asked again.
pub const FAILURE_TTL: Duration = Duration::from_secs(300);
/// Most cosigners of one checkpoint considered (each may cost a discovery).
const MAX_COSIGNERS: usize = 32;
/// Most witnesses cached.
const CACHE_MAX: usize = 4096;
/// Suffix of a witness key name.
const WITNESS_SUFFIX: &str = "/punte-witness";

/// A witness discovered from its own host.
#[derive(Debug, Clone)]
struct Discovered {
    verifier: NoteVerifier,
    country: Option<String>,
}

/// A discovery's result (a failure says why) and when it was made.
type Lookup = (Result<Discovered, String>, Instant);

/// Discovered witnesses by key name.
#[derive(Debug, Default)]
pub(crate) struct WitnessCache {
    entries: Mutex<HashMap<String, Lookup>>,
}

/// Whether a partner's checkpoint meets the required witness policy, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCheck {
    pub met: bool,
    /// Names of the witnesses whose cosignatures counted.
    pub cosigners: Vec<String>,
    /// Their distinct countries.
    pub countries: Vec<String>,
    /// For a checkpoint that does not meet the policy: what the replica waits for.
    pub reason: String,
}

/// `HOST[:PORT]` of a witness key name, when it is one.
fn witness_host(name: &str) -> Option<&str> {
    let host = name.strip_suffix(WITNESS_SUFFIX)?;
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    valid.then_some(host)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl WitnessCache {
    fn get(&self, name: &str, ttl: Duration) -> Option<Result<Discovered, String>> {
        let entries = self.entries.lock().ok()?;
        let (found, at) = entries.get(name)?;
        let ttl = if found.is_ok() { ttl } else { FAILURE_TTL };
        (at.elapsed() < ttl).then(|| found.clone())
    }

    fn put(&self, name: &str, found: Result<Discovered, String>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
            entries.insert(name.to_owned(), (found, Instant::now()));
        }
    }
}

impl Federation {
    /// Checks the cosignatures stapled to `note` (a checkpoint of the partner at
    /// `partner_base`, already verified with `log_keys`) against `policy`.
    pub async fn check_partner_witnesses(
        &self,
        policy: WitnessPolicy,
        partner_base: &str,
        note: &[u8],
        log_keys: &[NoteVerifier],
    ) -> PolicyCheck {
        let partner_host = host_of(partner_base).unwrap_or_default();
        let scheme = if partner_base.starts_with("https://") {
            "https"
        } else {
            "http"
        };
        let mut names: Vec<String> = Vec::new();
        let mut size = None;
        if let Ok(parsed) = Note::parse(note) {
            size = punte_log::Checkpoint::parse(&parsed.text)
                .ok()
                .map(|c| c.size);
            for s in parsed.signatures {
                let Some(host) = witness_host(&s.name) else {
                    continue;
                };
                if host.eq_ignore_ascii_case(&partner_host) || names.contains(&s.name) {
                    continue;
                }
                if names.len() >= MAX_COSIGNERS {
                    break;
                }
                names.push(s.name);
            }
        }
        let mut cosigners = Vec::new();
        let mut countries: Vec<String> = Vec::new();
        let mut problems = Vec::new();
        for name in names {
            let pinned = self.pinned_witness(&name);
            let found = match (
                pinned,
                self.partner_witnesses.get(&name, self.settings.actor_ttl),
            ) {
                (Some(judged), _) => judged,
                (None, Some(found)) => found,
                (None, None) => {
                    let found = self.discover_witness(scheme, &name).await;
                    if let Err(e) = &found {
                        tracing::debug!(witness = %name, error = %e, "cannot discover a partner's witness");
                    }
                    self.partner_witnesses.put(&name, found.clone());
                    found
                }
            };
            let witness = match found {
                Ok(w) => w,
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let counted = open_checkpoint(note, log_keys, std::slice::from_ref(&witness.verifier))
                .is_ok_and(|o| o.cosigners.iter().any(|(n, _)| *n == name));
            if !counted {
                problems.push(format!("{name}: the cosignature does not verify"));
                continue;
            }
            if let Some(c) = witness.country
                && !countries.contains(&c)
            {
                countries.push(c);
            }
            cosigners.push(name);
        }
        countries.sort();
        let met = cosigners.len() >= policy.min_cosignatures as usize
            && countries.len() >= policy.distinct_countries as usize;
        let reason = if met {
            String::new()
        } else {
            format!(
                "awaiting witness policy: the partner's checkpoint{} has {} from {}; {} from {} are required{}",
                size.map(|s| format!(" of size {s}")).unwrap_or_default(),
                plural(
                    cosigners.len(),
                    "verified cosignature",
                    "verified cosignatures"
                ),
                plural(countries.len(), "country", "countries"),
                policy.min_cosignatures,
                plural(policy.distinct_countries as usize, "country", "countries"),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", problems.join("; "))
                }
            )
        };
        PolicyCheck {
            met,
            cosigners,
            countries,
            reason,
        }
    }

    /// A witness as the network's membership list pins it: with a list in force, a current
    /// member whose pinned witness key is named `name` counts with that key and the country
    /// the coordinator signed, whatever its host serves now; in members-only mode a witness
    /// that is no current member's does not count. `None`: no list, or not members-only and
    /// not listed (then the witness is discovered from its host).
    fn pinned_witness(&self, name: &str) -> Option<Result<Discovered, String>> {
        let in_force = match self.membership_in_force() {
            Ok(Some(f)) => f,
            Ok(None) => return None,
            Err(e) => return Some(Err(format!("membership list unreadable: {e}"))),
        };
        let listed = in_force
            .list
            .members
            .iter()
            .filter(|m| m.is_current())
            .find_map(|m| {
                NoteVerifier::parse(&m.witness_key)
                    .ok()
                    .filter(|v| v.name() == name)
                    .map(|verifier| Discovered {
                        verifier,
                        country: Some(m.country.as_str().to_owned()),
                    })
            });
        match listed {
            Some(d) => Some(Ok(d)),
            None if self.membership_settings().members_only => Some(Err(
                "not the witness key of a current network member".to_owned(),
            )),
            None => None,
        }
    }

    /// Reads the witness key named `name` from its host's `/witness/key`, and the country
    /// of the actor on that host.
    async fn discover_witness(&self, scheme: &str, name: &str) -> Result<Discovered, String> {
        let host = witness_host(name).ok_or_else(|| "not a witness key name".to_owned())?;
        // This node witnesses the partner too: its own key and profile need no fetch.
        let own = self.node.witness_signer().map_err(|e| e.to_string())?;
        if own.verifier().name() == name {
            let country = self
                .node
                .organisation()
                .map_err(|e| e.to_string())?
                .map(|p| p.country.to_string());
            return Ok(Discovered {
                verifier: own.verifier().clone(),
                country,
            });
        }
        let base = format!("{scheme}://{host}");
        let url = format!("{base}{WITNESS_PREFIX}/key");
        let signer = self.owned_signer(SignatureKind::Rfc9421);
        let got = self
            .fetcher
            .get(
                &url,
                "text/plain",
                Some(signer.as_signer()),
                self.now_secs(),
            )
            .await
            .map_err(|e| e.to_string())?;
        if !(200..300).contains(&got.status) {
            return Err(format!("{url} answered {}", got.status));
        }
        let text = String::from_utf8(got.body).map_err(|_| "the key is not UTF-8".to_owned())?;
        let verifier = NoteVerifier::parse(text.trim()).map_err(|e| format!("witness key: {e}"))?;
        if verifier.key_type() != KeyType::CosignatureV1 || verifier.name() != name {
            return Err(format!("{url} serves no cosignature/v1 key named {name}"));
        }
        let actor = self
            .actor(&format!("{base}/actor"), false)
            .await
            .map_err(|e| format!("cannot read its actor: {e}"))?;
        let country = actor
            .document
            .get("country")
            .and_then(|c| c.as_str())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .map(str::to_owned);
        Ok(Discovered { verifier, country })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_witness_key_names_name_a_host() {
        assert_eq!(
            witness_host("ngo.example.org/punte-witness"),
            Some("ngo.example.org")
        );
        assert_eq!(
            witness_host("127.0.0.1:8080/punte-witness"),
            Some("127.0.0.1:8080")
        );
        for bad in [
            "ngo.example.org/punte-log",
            "/punte-witness",
            "evil.example/x/punte-witness",
            "user@evil.example/punte-witness",
            "evil.example?x/punte-witness",
        ] {
            assert_eq!(witness_host(bad), None, "{bad}");
        }
    }
}
