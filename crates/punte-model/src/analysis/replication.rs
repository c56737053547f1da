//! The replication map: each origin practice with its adopters by country, the effect each
//! measured, and "replicated in N countries by M organisations" counting only the adaptations
//! that are replications that happened ([`AdaptationInput::replication_status`]): countersigned
//! by the origin organisation, `implemented` or `scaled`, and faithful to the core components
//! the origin practice declared. Every adopter stays on the map, with the reasons when it does
//! not count.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::adaptation::{AdaptationInput, ReplicationStatus, state_str};
use super::effect::{EffectMetric, EffectTable};
use super::pool::{PoolOptions, RandomEffects};
use super::rank::{ReplicationCount, count_replications, pool_rows};
use super::{SourceRef, Verdict, cell, header, sources_cell};
use crate::adaptation::AdaptationState;
use crate::common::CountryCode;
use crate::indicator::{Direction, IndicatorRef};

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
