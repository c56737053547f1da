//! The replication map: each origin practice with its adopters by country, the effect each
//! measured, and "replicated in N countries by M organisations" counting only the adaptations
//! that are replications that happened ([`AdaptationInput::replication_status`]): countersigned
//! by the origin organisation, `implemented` or `scaled`, and faithful to the core components
//! the origin practice declared. Every adopter stays on the map, with the reasons when it does
//! not count.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::effect::{EffectMetric, EffectTable};
use super::pool::{PoolOptions, RandomEffects};
use super::rank::{ReplicationCount, count_replications, pool_rows};
use super::{SourceRef, Verdict, cell, header, sources_cell};
use crate::adaptation::{Adaptation, AdaptationState};
use crate::common::CountryCode;
use crate::indicator::{Direction, IndicatorRef};

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

/// One adopter of a practice with the effect its own evaluations measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adopter {
    pub organisation: String,
    pub adaptation: String,
    pub state: AdaptationState,
    pub countersigned: bool,
    /// `replication.status == counts`.
    pub counts_as_replication: bool,
    /// Whether the adaptation counts as a replication, with the reasons when it does not.
    pub replication: ReplicationStatus,
    /// Pooled ([`super::NETWORK_POOLING`]: REML, Hartung–Knapp) over the usable evaluations of this
    /// adaptation.
    pub effect: Option<RandomEffects>,
    pub verdict: Verdict,
    pub evaluations: usize,
    /// The adaptation entry, its countersignature, then the pooled evaluations.
    pub sources: Vec<SourceRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountryAdopters {
    pub country: CountryCode,
    pub adopters: Vec<Adopter>,
}

/// One origin practice and everyone who adapted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginReplications {
    pub practice: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_organisation: Option<String>,
    /// Pooled over the evaluations of the practice itself (not of its adaptations).
    pub origin_effect: Option<RandomEffects>,
    pub origin_verdict: Verdict,
    pub origin_sources: Vec<SourceRef>,
    /// The adaptations that count ([`AdaptationInput::replication_status`]).
    pub replications: ReplicationCount,
    /// "replicated in N countries by M organisations".
    pub summary: String,
    /// Every adopter, counted or not (with its reasons), by country.
    pub countries: Vec<CountryAdopters>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationMap {
    pub indicator: IndicatorRef,
    pub metric: EffectMetric,
    pub direction: Direction,
    pub origins: Vec<OriginReplications>,
}

/// Builds the map for every practice that has at least one adaptation, sorted by practice id,
/// countries by code and adopters by organisation. Every adopter is listed with its
/// [`ReplicationStatus`]; the count and summary take only those that count.
pub fn replication_map(table: &EffectTable, adaptations: &[AdaptationInput]) -> ReplicationMap {
    replication_map_with(table, adaptations, super::NETWORK_POOLING)
}

/// [`replication_map`] pooled with `pooling` instead of [`super::NETWORK_POOLING`].
pub fn replication_map_with(
    table: &EffectTable,
    adaptations: &[AdaptationInput],
    pooling: PoolOptions,
) -> ReplicationMap {
    let practices: BTreeSet<&str> = adaptations.iter().map(|a| a.practice.as_str()).collect();
    let origins = practices
        .into_iter()
        .map(|practice| origin(table, adaptations, practice, pooling))
        .collect();
    ReplicationMap {
        indicator: table.indicator.clone(),
        metric: table.metric,
        direction: table.direction,
        origins,
    }
}

fn origin(
    table: &EffectTable,
    adaptations: &[AdaptationInput],
    practice: &str,
    pooling: PoolOptions,
) -> OriginReplications {
    let own_rows = table
        .rows
        .iter()
        .filter(|r| r.origin.practice == practice && r.origin.adaptation.is_none());
    let own = pool_rows(own_rows, table.direction, pooling);
    let mut by_country: BTreeMap<CountryCode, Vec<Adopter>> = BTreeMap::new();
    for a in adaptations.iter().filter(|a| a.practice == practice) {
        let rows = table
            .rows
            .iter()
            .filter(|r| r.origin.adaptation.as_deref() == Some(a.adaptation.as_str()));
        let pooled = pool_rows(rows, table.direction, pooling);
        let replication = a.replication_status();
        let mut sources = vec![a.source.clone()];
        sources.extend(a.countersignature.iter().cloned());
        sources.extend(pooled.sources);
        by_country
            .entry(a.country.clone())
            .or_default()
            .push(Adopter {
                organisation: a.organisation.clone(),
                adaptation: a.adaptation.clone(),
                state: a.state,
                countersigned: a.countersigned(),
                counts_as_replication: replication.counts(),
                replication,
                effect: pooled.pooled,
                verdict: pooled.verdict,
                evaluations: pooled.k,
                sources,
            });
    }
    let countries = by_country
        .into_iter()
        .map(|(country, mut adopters)| {
            adopters.sort_by(|x, y| {
                (x.organisation.as_str(), x.adaptation.as_str())
                    .cmp(&(y.organisation.as_str(), y.adaptation.as_str()))
            });
            CountryAdopters { country, adopters }
        })
        .collect();
    let origin_organisation = adaptations
        .iter()
        .filter(|a| a.practice == practice)
        .find_map(|a| a.origin_organisation.clone())
        .or_else(|| {
            table
                .rows
                .iter()
                .find(|r| r.origin.practice == practice && r.origin.adaptation.is_none())
                .map(|r| r.origin.organisation.clone())
        });
    let replications = count_replications(practice, adaptations);
    OriginReplications {
        practice: practice.to_string(),
        origin_organisation,
        origin_effect: own.pooled,
        origin_verdict: own.verdict,
        origin_sources: own.sources,
        summary: replications.summary(),
        replications,
        countries,
    }
}

fn state_str(state: AdaptationState) -> &'static str {
    match state {
        AdaptationState::Intended => "intended",
        AdaptationState::Piloting => "piloting",
        AdaptationState::Implemented => "implemented",
        AdaptationState::Scaled => "scaled",
        AdaptationState::Discontinued => "discontinued",
    }
}

impl ReplicationMap {
    /// The map as CSV records, header first: one record per adopter.
    pub fn to_csv_rows(&self) -> Vec<Vec<String>> {
        let mut out = vec![header(&[
            "indicator",
            "metric",
            "practice",
            "originOrganisation",
            "originEstimate",
            "originCiLower",
            "originCiUpper",
            "originVerdict",
            "replicatedCountries",
            "replicatingOrganisations",
            "country",
            "organisation",
            "adaptation",
            "state",
            "countersigned",
            "countsAsReplication",
            "estimate",
            "ciLower",
            "ciUpper",
            "verdict",
            "k",
            "sources",
            "notCountedReasons",
        ])];
        for o in &self.origins {
            let oe = o.origin_effect.as_ref();
            for c in &o.countries {
                for a in &c.adopters {
                    let e = a.effect.as_ref();
                    out.push(vec![
                        self.indicator.to_string(),
                        self.metric.as_str().to_string(),
                        o.practice.clone(),
                        o.origin_organisation.clone().unwrap_or_default(),
                        cell(oe.map(|e| e.estimate)),
                        cell(oe.map(|e| e.ci_lower)),
                        cell(oe.map(|e| e.ci_upper)),
                        o.origin_verdict.as_str().to_string(),
                        o.replications.countries.to_string(),
                        o.replications.organisations.to_string(),
                        c.country.to_string(),
                        a.organisation.clone(),
                        a.adaptation.clone(),
                        state_str(a.state).to_string(),
                        a.countersigned.to_string(),
                        a.counts_as_replication.to_string(),
                        cell(e.map(|e| e.estimate)),
                        cell(e.map(|e| e.ci_lower)),
                        cell(e.map(|e| e.ci_upper)),
                        a.verdict.as_str().to_string(),
                        a.evaluations.to_string(),
                        sources_cell(&a.sources),
                        a.replication
                            .reasons()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]);
                }
            }
        }
        out
    }
}
