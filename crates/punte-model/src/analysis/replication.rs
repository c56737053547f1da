//! The replication map: each origin practice with its adopters by country, the effect each
//! measured, and "replicated in N countries by M organisations" counting only adaptations the
//! origin organisation countersigned.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::effect::{EffectMetric, EffectTable};
use super::pool::RandomEffects;
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
}

impl AdaptationInput {
    /// The input for a stored adaptation. The adopting organisation is the author of the log
    /// the adaptation was read from; the model does not carry it.
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
        }
    }

    /// Countersigned by the origin, and adopted by an organisation other than the origin.
    pub fn counts_as_replication(&self) -> bool {
        self.countersignature.is_some()
            && self.origin_organisation.as_deref() != Some(self.organisation.as_str())
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
    pub counts_as_replication: bool,
    /// Pooled (DerSimonian–Laird) over the usable evaluations of this adaptation.
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
    pub replications: ReplicationCount,
    /// "replicated in N countries by M organisations".
    pub summary: String,
    /// Every adopter, countersigned or not, by country.
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
/// countries by code and adopters by organisation.
pub fn replication_map(table: &EffectTable, adaptations: &[AdaptationInput]) -> ReplicationMap {
    let practices: BTreeSet<&str> = adaptations.iter().map(|a| a.practice.as_str()).collect();
    let origins = practices
        .into_iter()
        .map(|practice| origin(table, adaptations, practice))
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
) -> OriginReplications {
    let own_rows = table
        .rows
        .iter()
        .filter(|r| r.origin.practice == practice && r.origin.adaptation.is_none());
    let own = pool_rows(own_rows, table.direction);
    let mut by_country: BTreeMap<CountryCode, Vec<Adopter>> = BTreeMap::new();
    for a in adaptations.iter().filter(|a| a.practice == practice) {
        let rows = table
            .rows
            .iter()
            .filter(|r| r.origin.adaptation.as_deref() == Some(a.adaptation.as_str()));
        let pooled = pool_rows(rows, table.direction);
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
                countersigned: a.countersignature.is_some(),
                counts_as_replication: a.counts_as_replication(),
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
                    ]);
                }
            }
        }
        out
    }
}
