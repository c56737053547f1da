//! Comparative analysis of one indicator across the network: per-evaluation effects by design,
//! a random-effects pooled effect per practice (REML and Hartung–Knapp by default,
//! DerSimonian–Laird available), a ranking of practices for replication, and a replication map
//! from origin practices to their adopters by country.
//!
//! Pure functions over rows the caller has gathered from signed log entries. Every row names
//! the entry it came from ([`SourceRef`]) and every figure derived from rows keeps those
//! references, so a reader can go from a ranking back to the signed evidence.
//!
//! The flow is `EffectInput`s → [`evaluation_effects`] → [`EffectTable`], then
//! [`rank_for_replication`] and [`replication_map`] over that table and the adaptations.
//!
//! Replications: an adaptation counts only when it happened ([`ReplicationStatus`]:
//! countersigned by the origin, `implemented` or `scaled`, faithful to the origin's core
//! components); evaluations of adaptations not countersigned stay out of a practice's pooled
//! effect unless [`RankOptions::include_uncountersigned`].
//!
//! Sign convention: every *effect* is on an improvement scale. For a `decrease`-is-better
//! indicator the sign is flipped, so a positive effect always means things got better; the
//! *change* columns stay in the indicator's own units and sign. Rows that cannot be used
//! (suppressed by disclosure control, another indicator version, missing or impossible numbers)
//! stay in the table with their reason; negative and null results stay in every output.
//!
//! Architecture invariant: nothing here panics or does I/O; non-finite input is excluded with a
//! reason or refused with an [`AnalysisError`].

mod adaptation;
mod dist;
mod effect;
mod normal;
mod pool;
mod rank;
mod replication;

#[cfg(test)]
mod test_vectors;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_effect;
#[cfg(test)]
mod tests_pool;
#[cfg(test)]
mod tests_replication;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::indicator::{Direction, IndicatorRef, Measure};

pub use adaptation::{AdaptationInput, NotCountedReason, ReplicationStatus};
pub use dist::{chi_square_upper_tail, t_cdf, t_critical_value, t_two_sided_p};
pub use effect::{
    Assumption, CorrelationSensitivity, DEFAULT_CORRELATION, Design, EffectInput, EffectMetric,
    EffectOutcome, EffectTable, EvaluationEffect, ExclusionReason, Formula, IndicatorSpec,
    InputLayout, Observation, RowOrigin, SENSITIVITY_CORRELATIONS, StandardisedEffect,
    evaluation_effects,
};
pub use normal::{Z_95, critical_value, erfc, normal_cdf, two_sided_p};
pub use pool::{
    CiMethod, EffectSize, FixedEffect, PoolOptions, PooledEffect, RandomEffects, TauEstimator,
    pool_dersimonian_laird, pool_fixed_effect, pool_random_effects,
};
pub use rank::{
    EvidenceGrade, NETWORK_POOLING, RankOptions, RankedPractice, Ranking, ReplicationCount,
    count_replications, rank_for_replication, rank_for_replication_with,
};
pub use replication::{
    Adopter, CountryAdopters, OriginReplications, ReplicationMap, replication_map,
    replication_map_with,
};

/// Where a figure comes from: one entry of one organisation's signed log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    /// The node (or actor) whose log holds the entry.
    pub origin: String,
    /// The entry's position in that log.
    pub log_index: u64,
    /// The ActivityPub id of the signed activity.
    pub activity_id: String,
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{} {}", self.origin, self.log_index, self.activity_id)
    }
}

/// What a confidence interval says, on the improvement scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The whole interval is above zero.
    Improves,
    /// The interval contains zero (a null result).
    NoClearEffect,
    /// The whole interval is below zero (a negative result).
    Worsens,
    /// The indicator has no better direction (`neutral`) and the interval excludes zero; the
    /// sign of the effect says which way it moved.
    Changes,
    /// No effect could be estimated (every row excluded).
    Insufficient,
}

impl Verdict {
    /// The verdict of a confidence interval `[lower, upper]` for an indicator's direction.
    pub fn from_interval(lower: f64, upper: f64, direction: Direction) -> Self {
        if !(lower.is_finite() && upper.is_finite()) {
            return Self::Insufficient;
        }
        let excludes_zero = lower > 0.0 || upper < 0.0;
        match direction {
            Direction::Neutral if excludes_zero => Self::Changes,
            _ if lower > 0.0 => Self::Improves,
            _ if upper < 0.0 => Self::Worsens,
            _ => Self::NoClearEffect,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Improves => "improves",
            Self::NoClearEffect => "noClearEffect",
            Self::Worsens => "worsens",
            Self::Changes => "changes",
            Self::Insufficient => "insufficient",
        }
    }
}

/// Why an analysis could not be computed at all (single rows are excluded, not refused).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("there are no effects to pool")]
    Empty,
    #[error("effect {index} has estimate {estimate}; estimates must be finite")]
    InvalidEstimate { index: usize, estimate: f64 },
    #[error("effect {index} has variance {variance}; variances must be finite and above zero")]
    InvalidVariance { index: usize, variance: f64 },
    #[error("the pooled result is not finite (the effects are too large or too precise)")]
    NotFinite,
    #[error("the REML estimate of τ² did not converge in {iterations} iterations")]
    NotConverged { iterations: usize },
    #[error("a {metric} effect does not apply to a {measure} indicator", metric = .metric.as_str(), measure = .measure.as_str())]
    MetricMismatch {
        metric: EffectMetric,
        measure: Measure,
    },
    #[error(
        "{indicator} has no better direction (neutral); a ranking needs an increase- or decrease-is-better indicator"
    )]
    UndirectedIndicator { indicator: IndicatorRef },
}

/// A number as a CSV cell: shortest round-trip form; empty for none.
fn cell(x: Option<f64>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

fn sources_cell<'a>(sources: impl IntoIterator<Item = &'a SourceRef>) -> String {
    sources
        .into_iter()
        .map(|s| s.activity_id.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}
