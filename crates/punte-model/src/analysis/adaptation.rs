//! Which adaptations are replications that happened ([`AdaptationInput::replication_status`]):
//! countersigned by the origin organisation, `implemented` or `scaled`, and faithful to the
//! core components the origin practice declared; the reasons when one does not count.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SourceRef;
use crate::adaptation::{Adaptation, AdaptationState};
use crate::common::CountryCode;

/// One adaptation as the analysis takes it: pass one per adaptation, its latest version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdaptationInput {
    /// The adaptation's id.
    pub adaptation: String,
    /// The origin practice, as the effect rows name it.
    pub practice: String,
    /// The origin organisation (actor id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_organisation: Option<String>,
    /// The adopting organisation (actor id).
    pub organisation: String,
    pub country: CountryCode,
    pub state: AdaptationState,
    /// The log entry that records the adaptation.
    pub source: SourceRef,
    /// The origin organisation's attestation in its own log; none until it countersigns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countersignature: Option<SourceRef>,
    /// How many core components the origin practice declares (its `coreComponents`, at
    /// positions `0..n`), as this node holds the practice (its current version); `None` when
    /// this node cannot read the origin practice (not replicated here, or deleted), so that
    /// fidelity cannot be judged. `Some(0)`: the origin declared none, and fidelity is
    /// trivially kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_core_components: Option<u32>,
    /// The adaptation's `fidelity.coreComponentsKept`: 0-based positions in the origin's
    /// `coreComponents`. Positions the origin does not have are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub core_components_kept: Vec<u32>,
    /// 0-based positions, in the adaptation's `modifications`, of the FRAME modifications
    /// recorded as not `fidelityConsistent`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconsistent_modifications: Vec<u32>,
}

/// Why an adaptation does not count as a replication. Several may apply at once; a
/// [`ReplicationStatus::NotCounted`] lists every one that does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum NotCountedReason {
    /// The origin organisation has not countersigned the adaptation (no `Attestation` in its
    /// signed log).
    NotCountersigned,
    /// The adaptation is not (or no longer) carried out: `intended`, `piloting` or
    /// `discontinued`. Only `implemented` and `scaled` adaptations are replications.
    State { state: AdaptationState },
    /// Core components the origin declared that the adaptation does not keep (0-based
    /// positions in the origin practice's `coreComponents`).
    CoreComponentsDropped { missing: Vec<u32> },
    /// FRAME modifications recorded as not fidelity-consistent (0-based positions in the
    /// adaptation's `modifications`): such a modification alters a core element of the
    /// practice, so the adaptation is no longer the same practice.
    InconsistentModification { modifications: Vec<u32> },
    /// This node cannot read the origin practice (not replicated here, or deleted), so it
    /// cannot tell whether the core components were kept.
    OriginCoreComponentsUnknown,
    /// The adopter is the origin organisation itself: not an independent replication.
    SameOrganisation,
}

impl NotCountedReason {
    /// The reason's `kind`, as in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotCountersigned => "notCountersigned",
            Self::State { .. } => "state",
            Self::CoreComponentsDropped { .. } => "coreComponentsDropped",
            Self::InconsistentModification { .. } => "inconsistentModification",
            Self::OriginCoreComponentsUnknown => "originCoreComponentsUnknown",
            Self::SameOrganisation => "sameOrganisation",
        }
    }
}

/// Positions as people count them (1-based), joined with commas.
fn ordinals(positions: &[u32]) -> String {
    positions
        .iter()
        .map(|p| (u64::from(*p) + 1).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for NotCountedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotCountersigned => {
                f.write_str("not countersigned by the origin organisation")
            }
            Self::State { state } => write!(
                f,
                "{}: only implemented or scaled adaptations count",
                state_str(*state)
            ),
            Self::CoreComponentsDropped { missing } => write!(
                f,
                "does not keep core component{} {} of the origin practice",
                if missing.len() == 1 { "" } else { "s" },
                ordinals(missing)
            ),
            Self::InconsistentModification { modifications } => write!(
                f,
                "modification{} {} {} not fidelity-consistent (a core element was changed)",
                if modifications.len() == 1 { "" } else { "s" },
                ordinals(modifications),
                if modifications.len() == 1 { "is" } else { "are" },
            ),
            Self::OriginCoreComponentsUnknown => f.write_str(
                "the origin practice is not known to this node, so fidelity to its core components cannot be judged",
            ),
            Self::SameOrganisation => {
                f.write_str("adapted by the origin organisation itself, not an independent replication")
            }
        }
    }
}

/// Whether an adaptation counts as a replication, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ReplicationStatus {
    /// A replication that happened: countersigned, `implemented` or `scaled`, every core
    /// component kept, no fidelity-inconsistent modification, by another organisation.
    Counts,
    /// Shown on the map, not counted; never empty.
    NotCounted { reasons: Vec<NotCountedReason> },
}

impl ReplicationStatus {
    pub fn counts(&self) -> bool {
        matches!(self, Self::Counts)
    }

    /// Why it does not count; empty when it counts.
    pub fn reasons(&self) -> &[NotCountedReason] {
        match self {
            Self::Counts => &[],
            Self::NotCounted { reasons } => reasons,
        }
    }
}

impl AdaptationInput {
    /// The input for a stored adaptation. The adopting organisation is the author of the log
    /// the adaptation was read from; the model does not carry it. The origin's core
    /// components are not known from the adaptation: set [`Self::origin_core_components`]
    /// from the origin practice (until then fidelity cannot be judged and the adaptation
    /// does not count).
    pub fn from_adaptation(
        adaptation: &Adaptation,
        organisation: String,
        source: SourceRef,
        countersignature: Option<SourceRef>,
    ) -> Self {
        let c = &adaptation.content;
        Self {
            adaptation: adaptation.id.clone(),
            practice: c.origin.practice.clone(),
            origin_organisation: c.origin.organisation.clone(),
            organisation,
            country: c.country.clone(),
            state: c.state,
            source,
            countersignature,
            origin_core_components: None,
            core_components_kept: c.fidelity.core_components_kept.clone(),
            inconsistent_modifications: c
                .modifications
                .iter()
                .zip(0u32..)
                .filter(|(m, _)| !m.fidelity_consistent)
                .map(|(_, i)| i)
                .collect(),
        }
    }

    /// Whether the origin organisation countersigned the adaptation.
    pub fn countersigned(&self) -> bool {
        self.countersignature.is_some()
    }

    /// Whether the adopter is the origin organisation itself.
    pub fn by_origin_organisation(&self) -> bool {
        self.origin_organisation.as_deref() == Some(self.organisation.as_str())
    }

    /// Whether this adaptation is a replication that happened, with every reason it is not,
    /// in this order:
    /// - [`NotCountedReason::NotCountersigned`]: the origin organisation has not attested it;
    /// - [`NotCountedReason::State`]: `intended` and `piloting` have not happened yet,
    ///   `discontinued` no longer happens; only `implemented` and `scaled` count;
    /// - fidelity: [`NotCountedReason::OriginCoreComponentsUnknown`] when the origin practice
    ///   cannot be read here, else [`NotCountedReason::CoreComponentsDropped`] for each declared
    ///   core component (position `0..n`) not in `coreComponentsKept`; an origin that declared
    ///   none is trivially kept;
    /// - [`NotCountedReason::InconsistentModification`]: in FRAME, a modification that is not
    ///   fidelity-consistent alters a core element of the practice, whatever the list of kept
    ///   components says, so one such modification disqualifies the adaptation;
    /// - [`NotCountedReason::SameOrganisation`]: the origin adapting its own practice is not an
    ///   independent replication (an unknown origin organisation is taken as another one).
    pub fn replication_status(&self) -> ReplicationStatus {
        let mut reasons = Vec::new();
        if !self.countersigned() {
            reasons.push(NotCountedReason::NotCountersigned);
        }
        if !matches!(
            self.state,
            AdaptationState::Implemented | AdaptationState::Scaled
        ) {
            reasons.push(NotCountedReason::State { state: self.state });
        }
        match self.origin_core_components {
            None => reasons.push(NotCountedReason::OriginCoreComponentsUnknown),
            Some(declared) => {
                let missing: Vec<u32> = (0..declared)
                    .filter(|p| !self.core_components_kept.contains(p))
                    .collect();
                if !missing.is_empty() {
                    reasons.push(NotCountedReason::CoreComponentsDropped { missing });
                }
            }
        }
        if !self.inconsistent_modifications.is_empty() {
            reasons.push(NotCountedReason::InconsistentModification {
                modifications: self.inconsistent_modifications.clone(),
            });
        }
        if self.by_origin_organisation() {
            reasons.push(NotCountedReason::SameOrganisation);
        }
        if reasons.is_empty() {
            ReplicationStatus::Counts
        } else {
            ReplicationStatus::NotCounted { reasons }
        }
    }

    /// `replication_status().counts()`.
    pub fn counts_as_replication(&self) -> bool {
        self.replication_status().counts()
    }
}

pub(super) fn state_str(state: AdaptationState) -> &'static str {
    match state {
        AdaptationState::Intended => "intended",
        AdaptationState::Piloting => "piloting",
        AdaptationState::Implemented => "implemented",
        AdaptationState::Scaled => "scaled",
        AdaptationState::Discontinued => "discontinued",
    }
}
