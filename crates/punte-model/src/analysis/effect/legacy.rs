//! The single-group form: baseline and follow-up read as two independent samples.

use super::*;

pub(super) fn legacy(
    measure: Measure,
    metric: EffectMetric,
    row: &EffectInput,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<Raw> {
    let raw = match metric {
        EffectMetric::LogRiskRatio | EffectMetric::LogOddsRatio | EffectMetric::RiskDifference => {
            let (a1, n1) = counts(measure, &row.follow_up, "followUp", None, assumptions)?;
            let (a0, n0) = counts(measure, &row.baseline, "baseline", Some(n1), assumptions)?;
            match metric {
                EffectMetric::LogRiskRatio => {
                    let (a1, n1, a0, n0) = corrected_table(a1, n1, a0, n0, assumptions);
                    log_risk_ratio(a1, n1, a0, n0)
                }
                EffectMetric::LogOddsRatio => {
                    let (a1, n1, a0, n0) = corrected_table(a1, n1, a0, n0, assumptions);
                    log_odds_ratio(a1, n1, a0, n0)
                }
                _ => risk_difference(a1, n1, a0, n0),
            }
        }
        EffectMetric::StandardisedMeanDifference => hedges_g(measure, row, assumptions)?,
        EffectMetric::MeanDifference => mean_difference(measure, row, assumptions)?,
    };
    if !raw.0.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: "effect".into(),
        });
    }
    Ok(Raw::independent(raw))
}

/// Legacy Hedges' g of follow-up against baseline as independent samples.
pub(super) fn hedges_g(
    measure: Measure,
    row: &EffectInput,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<(f64, f64)> {
    let m1 = value(measure, "followUp.value", row.follow_up.value)?;
    let m0 = value(measure, "baseline.value", row.baseline.value)?;
    let n1 = sample_size(&row.follow_up, "followUp")?;
    let n0 = if row.baseline.n.is_some() {
        sample_size(&row.baseline, "baseline")?
    } else {
        assumptions.push(Assumption::BaselineSizeFromFollowUp);
        n1
    };
    let s1 = standard_deviation(&row.follow_up, n1, "followUp")?.ok_or_else(|| {
        ExclusionReason::Missing {
            field: "followUp.sd (or .se, or .ci)".into(),
        }
    })?;
    let s0 = match standard_deviation(&row.baseline, n0, "baseline")? {
        Some(s) => s,
        None => {
            assumptions.push(Assumption::BaselineSpreadFromFollowUp);
            s1
        }
    };
    let df = n1 + n0 - 2.0;
    let pooled_sd = (((n1 - 1.0) * s1 * s1 + (n0 - 1.0) * s0 * s0) / df).sqrt();
    if !(pooled_sd > 0.0 && pooled_sd.is_finite()) {
        return Err(ExclusionReason::NoVariance {
            detail: format!("the pooled standard deviation is {pooled_sd}"),
        });
    }
    let d = (m1 - m0) / pooled_sd;
    let j = 1.0 - 3.0 / (4.0 * df - 1.0);
    let v = j * j * ((n1 + n0) / (n1 * n0) + d * d / (2.0 * (n1 + n0)));
    Ok((j * d, v))
}

/// Legacy mean difference of follow-up against baseline as independent samples.
pub(super) fn mean_difference(
    measure: Measure,
    row: &EffectInput,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<(f64, f64)> {
    let m1 = value(measure, "followUp.value", row.follow_up.value)?;
    let m0 = value(measure, "baseline.value", row.baseline.value)?;
    let se1 =
        standard_error(&row.follow_up, "followUp")?.ok_or_else(|| ExclusionReason::Missing {
            field: "followUp.se (or .ci, or .sd with .n)".into(),
        })?;
    let se0 = match standard_error(&row.baseline, "baseline")? {
        Some(se) => se,
        None => {
            assumptions.push(Assumption::BaselineSpreadFromFollowUp);
            // same SD as the follow-up; the baseline's own size when it is known
            match (row.baseline.n, row.follow_up.n) {
                (Some(n0), Some(n1)) if n0 > 0 => se1 * (n1 as f64 / n0 as f64).sqrt(),
                _ => se1,
            }
        }
    };
    Ok((m1 - m0, se1 * se1 + se0 * se0))
}
