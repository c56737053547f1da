//! Ranking practices for replication: by the lower 95% bound of the pooled effect, then the
//! evidence grade, then the number of independent replications that happened
//! ([`super::AdaptationInput::replication_status`]).
//!
//! Every practice with at least one row in the effect table is ranked, whatever its verdict:
//! practices that worsen the indicator or show no clear effect stay in the list, flagged by
//! their [`Verdict`]; practices with no usable row come last as `insufficient`.
//!
//! A practice's pooled effect takes its own evaluations and those of its countersigned
//! adaptations. Evaluations of an adaptation the origin organisation has not countersigned are
//! listed apart (`uncountersigned`) and left out of the pool unless
//! [`RankOptions::include_uncountersigned`] asks for them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::adaptation::AdaptationInput;
use super::effect::{EffectMetric, EffectTable, EvaluationEffect};
use super::pool::{CiMethod, PoolOptions, RandomEffects, TauEstimator, pool_random_effects};
use super::{AnalysisError, SourceRef, Verdict, cell, header, sources_cell};
use crate::evaluation::EvidenceLevel;
use crate::indicator::{Direction, IndicatorRef};

/// How much evidence stands behind a pooled effect, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvidenceGrade {
    /// No evaluation could be used.
    None,
    /// One usable evaluation.
    Single,
    /// Two or more usable evaluations.
    Multiple,
    /// Two or more usable evaluations, at least two of which report results that follow an
    /// evaluation plan registered before the results existed.
    MultiplePreregistered,
}

impl EvidenceGrade {
    /// The grade of `k` usable evaluations of which `followed_plans` followed a registered plan.
    pub fn of(k: usize, followed_plans: usize) -> Self {
        match k {
            0 => Self::None,
            1 => Self::Single,
            _ if followed_plans >= 2 => Self::MultiplePreregistered,
            _ => Self::Multiple,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Single => "single",
            Self::Multiple => "multiple",
            Self::MultiplePreregistered => "multiplePreregistered",
        }
    }
}

/// Replications that happened of one practice: countersigned, implemented or scaled, faithful
/// to the core components, by organisations other than its origin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationCount {
    /// Distinct adopting organisations (M in "replicated in N countries by M organisations").
    pub organisations: usize,
    /// Distinct countries (N).
    pub countries: usize,
    /// Distinct (organisation, country) pairs: the ranking's count of independent replications.
    pub independent: usize,
    /// The adaptation entries and their countersignatures.
    pub sources: Vec<SourceRef>,
}

impl ReplicationCount {
    /// "replicated in N countries by M organisations".
    pub fn summary(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "replicated in {} by {}",
            plural(self.countries, "country", "countries"),
            plural(self.organisations, "organisation", "organisations")
        )
    }
}

/// Counts the adaptations of `practice` that count as replications
/// ([`AdaptationInput::replication_status`]: countersigned by the origin organisation,
/// `implemented` or `scaled`, every declared core component kept, no fidelity-inconsistent
/// modification, adopted by another organisation).
pub fn count_replications(practice: &str, adaptations: &[AdaptationInput]) -> ReplicationCount {
    let counted: Vec<&AdaptationInput> = adaptations
        .iter()
        .filter(|a| a.practice == practice && a.counts_as_replication())
        .collect();
    let organisations: BTreeSet<&str> = counted.iter().map(|a| a.organisation.as_str()).collect();
    let countries: BTreeSet<&str> = counted.iter().map(|a| a.country.as_str()).collect();
    let pairs: BTreeSet<(&str, &str)> = counted
        .iter()
        .map(|a| (a.organisation.as_str(), a.country.as_str()))
        .collect();
    let mut sources = Vec::new();
    for a in &counted {
        sources.push(a.source.clone());
        sources.extend(a.countersignature.iter().cloned());
    }
    ReplicationCount {
        organisations: organisations.len(),
        countries: countries.len(),
        independent: pairs.len(),
        sources,
    }
}

/// How the network pools a practice's evaluations: REML for τ² (metafor's default) and the
/// Hartung–Knapp–Sidik–Jonkman interval, recommended when few studies are pooled, as is the
/// rule here. With a single evaluation the interval is the normal one (`ciMethod` says so).
pub const NETWORK_POOLING: PoolOptions = PoolOptions {
    tau: TauEstimator::Reml,
    ci: CiMethod::HartungKnapp,
};

/// One practice in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedPractice {
    /// 1 for the best; ties are broken by practice id so the order is stable.
    pub rank: usize,
    pub practice: String,
    pub verdict: Verdict,
    /// The random-effects estimate ([`NETWORK_POOLING`]) over every usable evaluation of the practice (its own and
    /// its adaptations'); none when there is none.
    pub pooled: Option<RandomEffects>,
    /// The lower 95% bound of `pooled`: the first ranking key.
    pub lower_bound: Option<f64>,
    pub evidence_grade: EvidenceGrade,
    /// The highest evidence level (1–5) an evaluator claimed among the usable evaluations.
    pub highest_evidence_level: Option<EvidenceLevel>,
    /// Usable evaluations (k) and excluded rows.
    pub evaluations: usize,
    pub excluded: usize,
    pub replications: ReplicationCount,
    /// The log entries of the pooled evaluations.
    pub sources: Vec<SourceRef>,
    /// The log entries of the rows left out, whose reasons the effect table gives.
    pub excluded_sources: Vec<SourceRef>,
    /// The log entries of the rows evaluating an adaptation the origin organisation has not
    /// countersigned: kept apart from `pooled` (and from `evaluations`, `excluded` and
    /// `sources`) unless [`Ranking::include_uncountersigned`], listed here either way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncountersigned: Vec<SourceRef>,
}

/// Practices ranked for replication on one indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranking {
    pub indicator: IndicatorRef,
    pub metric: EffectMetric,
    pub direction: Direction,
    /// Whether evaluations of adaptations not countersigned were pooled
    /// ([`RankOptions::include_uncountersigned`]).
    #[serde(default)]
    pub include_uncountersigned: bool,
    pub practices: Vec<RankedPractice>,
}

/// How [`rank_for_replication_with`] pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RankOptions {
    /// Pool the evaluations of adaptations the origin organisation has not countersigned with
    /// the practice's own (the coordinator's choice; default off: they are listed apart).
    #[serde(default)]
    pub include_uncountersigned: bool,
    /// The estimator of τ² and the interval ([`NETWORK_POOLING`] unless the reader asks for
    /// another, e.g. DerSimonian–Laird to compare with an older analysis).
    #[serde(default = "network_pooling")]
    pub pooling: PoolOptions,
}

fn network_pooling() -> PoolOptions {
    NETWORK_POOLING
}

impl Default for RankOptions {
    fn default() -> Self {
        Self {
            include_uncountersigned: false,
            pooling: NETWORK_POOLING,
        }
    }
}

/// A practice's rows pooled: the estimate (none without a usable row) and the sources.
pub(super) struct PooledRows {
    pub pooled: Option<RandomEffects>,
    pub verdict: Verdict,
    pub k: usize,
    pub followed_plans: usize,
    pub highest_level: Option<EvidenceLevel>,
    pub sources: Vec<SourceRef>,
    pub excluded_sources: Vec<SourceRef>,
}

pub(super) fn pool_rows<'a>(
    rows: impl IntoIterator<Item = &'a EvaluationEffect>,
    direction: Direction,
    pooling: PoolOptions,
) -> PooledRows {
    let mut effects = Vec::new();
    let mut out = PooledRows {
        pooled: None,
        verdict: Verdict::Insufficient,
        k: 0,
        followed_plans: 0,
        highest_level: None,
        sources: Vec::new(),
        excluded_sources: Vec::new(),
    };
    for row in rows {
        match row.effect_size() {
            Some(e) => {
                effects.push(e);
                out.sources.push(row.origin.source.clone());
                if row.followed_plan == Some(true) {
                    out.followed_plans += 1;
                }
                out.highest_level = out.highest_level.max(row.evidence_level);
            }
            None => out.excluded_sources.push(row.origin.source.clone()),
        }
    }
    out.k = effects.len();
    // rows in the table are finite with positive variance; pooling can only fail on overflow,
    // which leaves the practice visible as insufficient.
    out.pooled = pool_random_effects(&effects, pooling).ok();
    if let Some(p) = &out.pooled {
        out.verdict = Verdict::from_interval(p.ci_lower, p.ci_upper, direction);
    }
    out
}

/// Ranks every practice in the table for replication with the default options: evaluations
/// of adaptations not countersigned are listed apart, not pooled
/// ([`rank_for_replication_with`]).
pub fn rank_for_replication(
    table: &EffectTable,
    adaptations: &[AdaptationInput],
) -> Result<Ranking, AnalysisError> {
    rank_for_replication_with(table, adaptations, RankOptions::default())
}

/// Ranks every practice in the table for replication. Refuses an indicator without a better
/// direction, where "improvement" has no meaning.
///
/// `adaptations` says which adaptations are countersigned: a row whose subject is an
/// adaptation pools with its practice's own rows when the adaptation is in the list and
/// countersigned (or adopted by the origin organisation itself); otherwise it is listed in
/// [`RankedPractice::uncountersigned`], pooled only with `options.include_uncountersigned`.
pub fn rank_for_replication_with(
    table: &EffectTable,
    adaptations: &[AdaptationInput],
    options: RankOptions,
) -> Result<Ranking, AnalysisError> {
    if table.direction == Direction::Neutral {
        return Err(AnalysisError::UndirectedIndicator {
            indicator: table.indicator.clone(),
        });
    }
    // Whether the rows of an adaptation may pool with the origin practice's own: the origin
    // organisation countersigned it, or is its adopter (its own signed log vouches for it, and
    // nobody else could countersign it). An adaptation not in the list cannot be vouched for.
    let mut vouched_for: HashMap<&str, bool> = HashMap::new();
    for a in adaptations {
        let ok = a.countersigned() || a.by_origin_organisation();
        let entry = vouched_for.entry(a.adaptation.as_str()).or_insert(false);
        *entry = *entry || ok;
    }
    let mut by_practice: BTreeMap<&str, (Vec<&EvaluationEffect>, Vec<SourceRef>)> = BTreeMap::new();
    for row in &table.rows {
        let (pooled, apart) = by_practice.entry(row.origin.practice.as_str()).or_default();
        let uncountersigned = row
            .origin
            .adaptation
            .as_deref()
            .is_some_and(|id| !vouched_for.get(id).copied().unwrap_or(false));
        if uncountersigned {
            apart.push(row.origin.source.clone());
        }
        if !uncountersigned || options.include_uncountersigned {
            pooled.push(row);
        }
    }
    let mut practices: Vec<RankedPractice> = by_practice
        .into_iter()
        .map(|(practice, (rows, uncountersigned))| {
            let excluded = rows.iter().filter(|r| r.effect().is_none()).count();
            let p = pool_rows(rows, table.direction, options.pooling);
            RankedPractice {
                rank: 0,
                practice: practice.to_string(),
                verdict: p.verdict,
                lower_bound: p.pooled.as_ref().map(|p| p.ci_lower),
                pooled: p.pooled,
                evidence_grade: EvidenceGrade::of(p.k, p.followed_plans),
                highest_evidence_level: p.highest_level,
                evaluations: p.k,
                excluded,
                replications: count_replications(practice, adaptations),
                sources: p.sources,
                excluded_sources: p.excluded_sources,
                uncountersigned,
            }
        })
        .collect();
    practices.sort_by(compare);
    for (i, p) in practices.iter_mut().enumerate() {
        p.rank = i + 1;
    }
    Ok(Ranking {
        indicator: table.indicator.clone(),
        metric: table.metric,
        direction: table.direction,
        include_uncountersigned: options.include_uncountersigned,
        practices,
    })
}

/// Best first: higher lower bound (none last), then higher grade, then more independent
/// replications, then practice id.
fn compare(a: &RankedPractice, b: &RankedPractice) -> Ordering {
    let by_bound = match (a.lower_bound, b.lower_bound) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_bound
        .then(b.evidence_grade.cmp(&a.evidence_grade))
        .then(b.replications.independent.cmp(&a.replications.independent))
        .then(a.practice.cmp(&b.practice))
}

impl Ranking {
    /// The ranking as CSV records, header first.
    pub fn to_csv_rows(&self) -> Vec<Vec<String>> {
        let mut out = vec![header(&[
            "rank",
            "indicator",
            "metric",
            "practice",
            "verdict",
            "estimate",
            "se",
            "ciLower",
            "ciUpper",
            "estimator",
            "ciMethod",
            "statistic",
            "pValue",
            "k",
            "excluded",
            "q",
            "df",
            "qPValue",
            "tau2",
            "i2",
            "piLower",
            "piUpper",
            "evidenceGrade",
            "highestEvidenceLevel",
            "replicatedCountries",
            "replicatingOrganisations",
            "independentReplications",
            "sources",
            "replicationSources",
            "excludedSources",
            "uncountersignedSources",
            "uncountersignedPooled",
        ])];
        for r in &self.practices {
            let p = r.pooled.as_ref();
            out.push(vec![
                r.rank.to_string(),
                self.indicator.to_string(),
                self.metric.as_str().to_string(),
                r.practice.clone(),
                r.verdict.as_str().to_string(),
                cell(p.map(|p| p.estimate)),
                cell(p.map(|p| p.se)),
                cell(p.map(|p| p.ci_lower)),
                cell(p.map(|p| p.ci_upper)),
                p.map(|p| p.estimator.as_str().to_string())
                    .unwrap_or_default(),
                p.map(|p| p.ci_method.as_str().to_string())
                    .unwrap_or_default(),
                cell(p.map(|p| p.statistic)),
                cell(p.map(|p| p.p_value)),
                r.evaluations.to_string(),
                r.excluded.to_string(),
                cell(p.map(|p| p.q)),
                p.map(|p| p.df.to_string()).unwrap_or_default(),
                cell(p.and_then(|p| p.q_p_value)),
                cell(p.map(|p| p.tau2)),
                cell(p.and_then(|p| p.i2)),
                cell(p.map(|p| p.pi_lower)),
                cell(p.map(|p| p.pi_upper)),
                r.evidence_grade.as_str().to_string(),
                r.highest_evidence_level
                    .map(|l| l.get().to_string())
                    .unwrap_or_default(),
                r.replications.countries.to_string(),
                r.replications.organisations.to_string(),
                r.replications.independent.to_string(),
                sources_cell(&r.sources),
                sources_cell(&r.replications.sources),
                sources_cell(&r.excluded_sources),
                sources_cell(&r.uncountersigned),
                self.include_uncountersigned.to_string(),
            ]);
        }
        out
    }
}
