//! Two groups at follow-up: escalc's RR, OR, RD, MD and SMD (see the parent module).

use super::*;

pub(super) fn two_group(
    measure: Measure,
    metric: EffectMetric,
    intervention: &Observation,
    comparison: &Observation,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<Raw> {
    const I: &str = "followUp";
    const C: &str = "comparisonFollowUp";
    let raw = match metric {
        EffectMetric::LogRiskRatio | EffectMetric::LogOddsRatio | EffectMetric::RiskDifference => {
            let (a1, n1) = counts(measure, intervention, I, None, assumptions)?;
            let (a2, n2) = counts(measure, comparison, C, None, assumptions)?;
            let (a1, n1, a2, n2) = corrected_table(a1, n1, a2, n2, assumptions);
            match metric {
                EffectMetric::LogRiskRatio => log_risk_ratio(a1, n1, a2, n2),
                EffectMetric::LogOddsRatio => log_odds_ratio(a1, n1, a2, n2),
                _ => risk_difference(a1, n1, a2, n2),
            }
        }
        EffectMetric::MeanDifference => {
            let m1 = value(measure, &format!("{I}.value"), intervention.value)?;
            let m2 = value(measure, &format!("{C}.value"), comparison.value)?;
            let se = |obs: &Observation, prefix: &str| {
                standard_error(obs, prefix)?.ok_or_else(|| ExclusionReason::Missing {
                    field: format!("{prefix}.se (or .ci, or .sd with .n)"),
                })
            };
            let (se1, se2) = (se(intervention, I)?, se(comparison, C)?);
            (m1 - m2, se1 * se1 + se2 * se2)
        }
        EffectMetric::StandardisedMeanDifference => {
            let m1 = value(measure, &format!("{I}.value"), intervention.value)?;
            let m2 = value(measure, &format!("{C}.value"), comparison.value)?;
            let n1 = sample_size(intervention, I)?;
            let n2 = sample_size(comparison, C)?;
            let s1 = spread(intervention, I, n1)?;
            let s2 = spread(comparison, C, n2)?;
            let df = n1 + n2 - 2.0;
            let pooled_sd = (((n1 - 1.0) * s1 * s1 + (n2 - 1.0) * s2 * s2) / df).sqrt();
            if !(pooled_sd > 0.0 && pooled_sd.is_finite()) {
                return Err(ExclusionReason::NoVariance {
                    detail: format!("the pooled standard deviation is {pooled_sd}"),
                });
            }
            let j = small_sample_correction(df).ok_or_else(|| ExclusionReason::OutOfRange {
                field: format!("{I}.n"),
                detail: "too few people for Hedges' correction".into(),
            })?;
            let g = j * (m1 - m2) / pooled_sd;
            (g, 1.0 / n1 + 1.0 / n2 + g * g / (2.0 * (n1 + n2)))
        }
    };
    Ok(Raw::independent(raw))
}

/// The 2×2 table `a₁, n₁ − a₁, a₂, n₂ − a₂` with ½ added to each cell when one is zero.
pub(super) fn corrected_table(
    a1: f64,
    n1: f64,
    a2: f64,
    n2: f64,
    assumptions: &mut Vec<Assumption>,
) -> (f64, f64, f64, f64) {
    if [a1, n1 - a1, a2, n2 - a2].contains(&0.0) {
        assumptions.push(Assumption::ContinuityCorrection);
        (a1 + 0.5, n1 + 1.0, a2 + 0.5, n2 + 1.0)
    } else {
        (a1, n1, a2, n2)
    }
}

pub(super) fn log_risk_ratio(a1: f64, n1: f64, a2: f64, n2: f64) -> (f64, f64) {
    (
        (a1 / n1).ln() - (a2 / n2).ln(),
        1.0 / a1 - 1.0 / n1 + 1.0 / a2 - 1.0 / n2,
    )
}

pub(super) fn log_odds_ratio(a1: f64, n1: f64, a2: f64, n2: f64) -> (f64, f64) {
    let (b1, b2) = (n1 - a1, n2 - a2);
    (
        (a1 / b1).ln() - (a2 / b2).ln(),
        1.0 / a1 + 1.0 / b1 + 1.0 / a2 + 1.0 / b2,
    )
}

pub(super) fn risk_difference(a1: f64, n1: f64, a2: f64, n2: f64) -> (f64, f64) {
    let (p1, p2) = (a1 / n1, a2 / n2);
    (p1 - p2, p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
}

/// metafor's `.cmicalc`: `J(m) = Γ(m/2) / (√(m/2)·Γ((m−1)/2))`, the exact bias correction of
/// a standardised mean difference on `m` degrees of freedom; none for `m ≤ 1`.
pub(super) fn small_sample_correction(m: f64) -> Option<f64> {
    if !(m > 1.0 && m.is_finite()) {
        return None;
    }
    Some((ln_gamma(m / 2.0) - (m / 2.0).sqrt().ln() - ln_gamma((m - 1.0) / 2.0)).exp())
}
