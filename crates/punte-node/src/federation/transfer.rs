//! The transfer loop as the web interface shows it: every adaptation of a practice, this
//! node's own and partners', with its countersignature (or this organisation's decline),
//! whether it counts as a replication (the analysis' rule,
//! [`AdaptationInput::replication_status`]) and how many evaluations of it this node can read.
//!
//! - On the **origin** side ([`Federation::practice_transfer`]): the adaptations of one of
//!   this node's practices — its own, those received from adopters (`incoming_adaptations`,
//!   which the organisation countersigns or declines, [`Federation::decline`]), and those read
//!   from the replicas of adopters it follows.
//! - On the **adopter** side ([`Federation::adaptation_transfer`]): one of this node's own
//!   adaptations, countersigned when the origin's attestation is in a verified replica.
//!
//! A decline is this node's own record, with its reason: it is not published (the adopter
//! sees only that no countersignature came), and a countersignature given later supersedes it.

use std::collections::HashSet;

use punte_model::analysis::{AdaptationInput, ReplicationStatus, SourceRef};
use punte_model::{Adaptation, Practice, ValidationErrors};
use punte_protocol::objects;
use punte_protocol::urls::{Collection, NodeUrls, origin_of};
use punte_store::StoreError;
use punte_store::adaptations::{self as store, Decline, IncomingAdaptation};
use punte_store::federation as fed_store;

use super::Federation;
use super::adaptations::{Countersignatures, log_origin};
use crate::error::{NodeError, Result};

/// Most characters of a decline's reason.
pub const MAX_DECLINE_REASON_CHARS: usize = 4000;

/// Where an adaptation shown on a page comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferSource {
    /// This node's own adaptation.
    Own,
    /// Received from its adopter (this node is the origin): it can be countersigned here.
    Received,
    /// Read from the verified replica of an adopter this node follows.
    Replica,
}

/// One adaptation with where it stands in the transfer loop.
#[derive(Debug, Clone)]
pub struct TransferRow {
    /// The adaptation's URL.
    pub url: String,
    /// Its latest version (for a partner's, the id is its id on the adopter's node).
    pub adaptation: Adaptation,
    /// The adopting organisation's actor.
    pub adopter: String,
    pub source: TransferSource,
    /// The origin organisation's attestation, when this node knows it.
    pub countersignature: Option<SourceRef>,
    /// This organisation declined to countersign it (origin side only).
    pub decline: Option<Decline>,
    /// Whether it counts as a replication, with the reasons when it does not.
    pub replication: ReplicationStatus,
    /// Evaluations of this adaptation this node can read (its own, or replicated).
    pub evaluations: u64,
}

impl TransferRow {
    /// Whether the origin organisation (this node) can countersign or decline it here.
    pub fn can_countersign(&self) -> bool {
        self.source == TransferSource::Received && self.countersignature.is_none()
    }
}

/// The replication rule applied to `adaptation` (adopted by `adopter`) of an origin practice
/// that declares `origin_core` core components (`None`: not readable here).
fn status(
    adaptation: &Adaptation,
    adopter: &str,
    origin_organisation: Option<String>,
    origin_core: Option<usize>,
    countersignature: Option<SourceRef>,
) -> ReplicationStatus {
    let placeholder = SourceRef {
        origin: String::new(),
        log_index: 0,
        activity_id: String::new(),
    };
    let mut input = AdaptationInput::from_adaptation(
        adaptation,
        adopter.to_owned(),
        placeholder,
        countersignature,
    );
    if input.origin_organisation.is_none() {
        input.origin_organisation = origin_organisation;
    }
    input.origin_core_components = origin_core.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    input.replication_status()
}

impl Federation {
    /// Declines to countersign the received adaptation `adaptation_url`, for `reason`: the
    /// node's own record (nothing is published or sent). A second decline replaces the first;
    /// a countersigned adaptation cannot be declined (`Conflict`), a deleted one is `Gone`.
    pub fn decline(&self, adaptation_url: &str, reason: &str) -> Result<IncomingAdaptation> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(
                ValidationErrors::single("reason", "say why the adaptation is declined").into(),
            );
        }
        if reason.chars().count() > MAX_DECLINE_REASON_CHARS {
            return Err(ValidationErrors::single(
                "reason",
                format!("at most {MAX_DECLINE_REASON_CHARS} characters"),
            )
            .into());
        }
        if reason
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(
                ValidationErrors::single("reason", "control characters are not allowed").into(),
            );
        }
        let now = self.now_ms();
        let not_found = || {
            NodeError::Store(StoreError::not_found(format!(
                "adaptation {adaptation_url} received by this node"
            )))
        };
        self.node.store().write(|tx| {
            let row = store::incoming(tx, adaptation_url)?.ok_or_else(not_found)?;
            if row.deleted {
                return Err(StoreError::Gone {
                    what: format!("adaptation {adaptation_url}"),
                }
                .into());
            }
            if row.countersignature.is_some() {
                return Err(StoreError::Conflict(format!(
                    "adaptation {adaptation_url} is countersigned already"
                ))
                .into());
            }
            store::set_declined(
                tx,
                adaptation_url,
                &Decline {
                    declined_ms: now,
                    version: row.adaptation_version,
                    reason: reason.to_owned(),
                },
            )?;
            store::incoming(tx, adaptation_url)?.ok_or_else(not_found)
        })
    }

    /// Every adaptation of this node's practice `practice_id`: its own first (oldest first),
    /// then those received from adopters and those read from followed adopters' replicas
    /// (newest change first; one row per adaptation URL).
    pub fn practice_transfer(&self, practice_id: &str) -> Result<Vec<TransferRow>> {
        let own = self.node.adaptations_of_practice(practice_id)?;
        let base = self.node.settings().base_url.clone();
        let urls = NodeUrls::new(&base)?;
        let practice_url = urls.practice(practice_id);
        let actor = urls.actor();
        self.node.store().read(|conn| {
            let practice: Practice = crate::documents::decode(
                punte_store::documents::DocKind::Practice,
                &punte_store::documents::get_current(
                    conn,
                    punte_store::documents::DocKind::Practice,
                    practice_id,
                )?,
            )?;
            let core = practice.content.core_components.len();
            let own_origin = log_origin(conn, &base)?;
            let countersignatures = Countersignatures::load(conn, &urls, &own_origin)?;
            let mut rows = Vec::new();
            for a in own {
                let url = urls.adaptation(&a.id);
                let countersignature = countersignatures.of(&url, &practice_url);
                rows.push(TransferRow {
                    replication: status(
                        &a,
                        &actor,
                        Some(actor.clone()),
                        Some(core),
                        countersignature.clone(),
                    ),
                    evaluations: count(store::evaluation_ids_of_adaptation(conn, &a.id)?.len()),
                    url,
                    adaptation: a,
                    adopter: actor.clone(),
                    source: TransferSource::Own,
                    countersignature,
                    decline: None,
                });
            }
            let mut seen: HashSet<String> = HashSet::new();
            for row in store::incoming_list(conn, false)? {
                if row.practice_id != practice_id {
                    continue;
                }
                let Some(adaptation) = parse_partner_adaptation(&row.object, &row.adopter) else {
                    tracing::debug!(
                        adaptation = row.object_id,
                        "received adaptation does not read"
                    );
                    continue;
                };
                let countersignature = row.countersignature.as_ref().map(|c| SourceRef {
                    origin: own_origin.clone(),
                    log_index: c.log_index,
                    activity_id: c.activity_id.clone(),
                });
                seen.insert(row.object_id.clone());
                rows.push(TransferRow {
                    replication: status(
                        &adaptation,
                        &row.adopter,
                        Some(actor.clone()),
                        Some(core),
                        countersignature.clone(),
                    ),
                    evaluations: store::replicated_evaluations_of_adaptation(conn, &row.object_id)?,
                    url: row.object_id,
                    adaptation,
                    adopter: row.adopter,
                    source: TransferSource::Received,
                    countersignature,
                    decline: row.decline,
                });
            }
            for o in fed_store::replica_objects(conn, None, Some("adaptation"), false)? {
                if seen.contains(&o.object_id) {
                    continue;
                }
                let Some(adaptation) = parse_partner_adaptation(&o.object, &o.actor) else {
                    continue;
                };
                if adaptation.content.origin.practice != practice_url {
                    continue;
                }
                let countersignature = countersignatures.of(&o.object_id, &practice_url);
                rows.push(TransferRow {
                    replication: status(
                        &adaptation,
                        &o.actor,
                        Some(actor.clone()),
                        Some(core),
                        countersignature.clone(),
                    ),
                    evaluations: store::replicated_evaluations_of_adaptation(conn, &o.object_id)?,
                    url: o.object_id,
                    adaptation,
                    adopter: o.actor,
                    source: TransferSource::Replica,
                    countersignature,
                    decline: None,
                });
            }
            Ok(rows)
        })
    }

    /// This node's adaptation `id` with where it stands: countersigned when the origin
    /// organisation's attestation is in this node's log or a verified replica; the origin's
    /// core components read from the local practice or the replicated one.
    pub fn adaptation_transfer(&self, id: &str) -> Result<TransferRow> {
        let adaptation: Adaptation = self.node.get(id, None)?;
        let base = self.node.settings().base_url.clone();
        let urls = NodeUrls::new(&base)?;
        let actor = urls.actor();
        let url = urls.adaptation(id);
        let origin = &adaptation.content.origin;
        let (practice_url, origin_core, origin_organisation) =
            match urls.local_id(Collection::Practices, &origin.practice) {
                Some(local) => (
                    urls.practice(local),
                    self.local_core_components(local)?,
                    Some(actor.clone()),
                ),
                None if !origin.practice.contains("://") => (
                    urls.practice(&origin.practice),
                    self.local_core_components(&origin.practice)?,
                    Some(actor.clone()),
                ),
                None => {
                    let partner = self.partner_practice(&origin.practice)?;
                    (
                        origin.practice.clone(),
                        partner
                            .as_ref()
                            .map(|p| p.practice.content.core_components.len()),
                        partner.map(|p| p.actor),
                    )
                }
            };
        self.node.store().read(|conn| {
            let countersignatures =
                Countersignatures::load(conn, &urls, &log_origin(conn, &base)?)?;
            let countersignature = countersignatures.of(&url, &practice_url);
            Ok(TransferRow {
                replication: status(
                    &adaptation,
                    &actor,
                    origin_organisation,
                    origin_core,
                    countersignature.clone(),
                ),
                evaluations: count(store::evaluation_ids_of_adaptation(conn, id)?.len()),
                url,
                adopter: actor.clone(),
                source: TransferSource::Own,
                countersignature,
                decline: None,
                adaptation,
            })
        })
    }

    /// This node's log origin (`HOST/punte-log`).
    pub fn log_origin(&self) -> Result<String> {
        let base = self.node.settings().base_url.clone();
        self.node.store().read(|conn| log_origin(conn, &base))
    }

    /// How many core components this node's practice `id` declares; `None` when it is gone.
    fn local_core_components(&self, id: &str) -> Result<Option<usize>> {
        match self.node.get::<Practice>(id, None) {
            Ok(p) => Ok(Some(p.content.core_components.len())),
            Err(NodeError::Store(StoreError::NotFound { .. } | StoreError::Gone { .. })) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A partner's adaptation object (JSON as stored) by `adopter`, checked as the inbox and the
/// replica check it; `None` when it does not read.
fn parse_partner_adaptation(object: &str, adopter: &str) -> Option<Adaptation> {
    let origin = origin_of(adopter).ok()?;
    let value: serde_json::Value = serde_json::from_str(object).ok()?;
    objects::parse_adaptation(&value, &origin).ok()
}
