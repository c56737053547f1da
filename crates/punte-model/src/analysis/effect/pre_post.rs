//! One cohort before and after: MC, SMCR and the matched-pairs shares (see the parent module).

use super::*;

type Cells<'a> = ((&'a Observation, &'a str), (&'a Observation, &'a str));

/// The pre-post effect of one group: `follow` against `base`, measured on the same people.
pub(super) fn pre_post(
    measure: Measure,
    metric: EffectMetric,
    ((follow, fp), (base, bp)): Cells<'_>,
    corr: Correlation,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<Raw> {
    if metric.is_share() {
        return pre_post_shares(
            measure,
            metric,
            ((follow, fp), (base, bp)),
            corr,
            assumptions,
        );
    }
    let m1 = value(measure, &format!("{fp}.value"), follow.value)?;
    let m0 = value(measure, &format!("{bp}.value"), base.value)?;
    let n = cohort_size((follow, fp), (base, bp), assumptions)?;
    let own_n = |obs: &Observation| obs.n.map_or(n, |x| x as f64);
    if metric == EffectMetric::MeanDifference {
        let s1 = spread(follow, fp, own_n(follow))?;
        let s0 = spread(base, bp, own_n(base))?;
        let variance = |r: f64| (s1 * s1 + s0 * s0 - 2.0 * r * s1 * s0) / n;
        return Ok(with_sensitivity(m1 - m0, variance, corr));
    }
    if n < 3.0 {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{fp}.n"),
            detail: "a standardised mean change needs at least 3 people measured twice".into(),
        });
    }
    let s0 = spread(base, bp, own_n(base))?;
    if s0.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Err(ExclusionReason::NoVariance {
            detail: format!("the standard deviation of {bp} is {s0}"),
        });
    }
    let j = small_sample_correction(n - 1.0).ok_or_else(|| ExclusionReason::OutOfRange {
        field: format!("{fp}.n"),
        detail: "too few people for the small-sample correction".into(),
    })?;
    let y = j * (m1 - m0) / s0;
    let variance = |r: f64| 2.0 * (1.0 - r) / n + y * y / (2.0 * n);
    Ok(with_sensitivity(y, variance, corr))
}

pub(super) fn with_sensitivity(y: f64, variance: impl Fn(f64) -> f64, corr: Correlation) -> Raw {
    let (low, high) = SENSITIVITY_CORRELATIONS;
    Raw {
        y,
        v: variance(corr.r),
        correlation: Some(corr.r),
        sensitivity: corr.default.then(|| CorrelationSensitivity {
            r0_variance: variance(low),
            r08_variance: variance(high),
            high_correlation: high,
        }),
    }
}

/// The number of people measured at both times: the one `n` given, or the smaller of two
/// different ones (said so).
pub(super) fn cohort_size(
    (follow, fp): (&Observation, &str),
    (base, _): (&Observation, &str),
    assumptions: &mut Vec<Assumption>,
) -> Excluded<f64> {
    let n = match (follow.n, base.n) {
        (Some(f), Some(b)) if f != b => {
            assumptions.push(Assumption::CohortSizeFromSmallerCell);
            f.min(b)
        }
        (Some(f), _) => f,
        (None, Some(b)) => b,
        (None, None) => {
            return Err(ExclusionReason::Missing {
                field: format!("{fp}.n"),
            });
        }
    };
    if n == 0 {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{fp}.n"),
            detail: "must be above zero".into(),
        });
    }
    Ok(n as f64)
}

/// A cell's standard deviation, required.
pub(super) fn spread(obs: &Observation, prefix: &str, n: f64) -> Excluded<f64> {
    standard_deviation(obs, n, prefix)?.ok_or_else(|| ExclusionReason::Missing {
        field: format!("{prefix}.sd (or .se, or .ci)"),
    })
}

/// Below this share of `n` a rebuilt cell of a paired table counts as zero.
const ZERO_CELL: f64 = 1e-9;

/// The pre-post change of a share on one cohort, from the paired table the two shares and
/// their correlation imply (metafor's matched-pairs measures).
pub(super) fn pre_post_shares(
    measure: Measure,
    metric: EffectMetric,
    ((follow, fp), (base, bp)): Cells<'_>,
    corr: Correlation,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<Raw> {
    let (a1, n1) = counts(measure, follow, fp, None, assumptions)?;
    let (a0, n0) = counts(measure, base, bp, None, assumptions)?;
    let n = if n1 == n0 {
        n1
    } else {
        assumptions.push(Assumption::CohortSizeFromSmallerCell);
        n1.min(n0)
    };
    let (p1, p0) = (a1 / n1, a0 / n0);
    let (low, high) = phi_range(p1, p0);
    let r = if corr.r > high + 1e-12 || corr.r < low - 1e-12 {
        if corr.default {
            assumptions.push(Assumption::DefaultCorrelationCapped);
            high
        } else {
            return Err(ExclusionReason::OutOfRange {
                field: "correlation".into(),
                detail: format!(
                    "{} is more than the shares {p1} and {p0} allow (from {low} to {high})",
                    corr.r
                ),
            });
        }
    } else {
        corr.r.clamp(low, high)
    };
    let (y, v, corrected) = paired_share(metric, p1, p0, n, r);
    if corrected {
        assumptions.push(Assumption::ContinuityCorrection);
    }
    if !y.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: "effect".into(),
        });
    }
    let sensitivity = corr.default.then(|| {
        let (r_low, r_high) = SENSITIVITY_CORRELATIONS;
        let r_high = r_high.min(high);
        CorrelationSensitivity {
            r0_variance: paired_share(metric, p1, p0, n, r_low.clamp(low, high)).1,
            r08_variance: paired_share(metric, p1, p0, n, r_high).1,
            high_correlation: r_high,
        }
    });
    Ok(Raw {
        y,
        v,
        correlation: Some(r),
        sensitivity,
    })
}

/// The correlations (phi) two 0/1 measurements with shares `p1`, `p0` can have: the events at
/// both times lie between `max(0, p1 + p0 − 1)` and `min(p1, p0)`.
pub(super) fn phi_range(p1: f64, p0: f64) -> (f64, f64) {
    let s = (p1 * (1.0 - p1) * p0 * (1.0 - p0)).sqrt();
    if s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return (-1.0, 1.0);
    }
    let independent = p1 * p0;
    let low = ((p1 + p0 - 1.0).max(0.0) - independent) / s;
    let high = (p1.min(p0) - independent) / s;
    (low.max(-1.0), high.min(1.0))
}

/// escalc's `"MPRD"`, `"MPRR"` or `"MPOR"` on the paired table of `n` people with follow-up
/// share `p1`, baseline share `p0` and correlation `r`; whether ½ was added to its cells.
pub(super) fn paired_share(
    metric: EffectMetric,
    p1: f64,
    p0: f64,
    n: f64,
    r: f64,
) -> (f64, f64, bool) {
    let s = (p1 * (1.0 - p1) * p0 * (1.0 - p0)).sqrt();
    let both = p1 * p0 + r * s;
    let cells = [both, p1 - both, p0 - both, 1.0 - p1 - p0 + both].map(|c| (c * n).max(0.0));
    let zero = ZERO_CELL * n;
    let corrected = cells.iter().any(|&c| c <= zero);
    let [a, b, c, d] = if corrected {
        cells.map(|c| if c <= zero { 0.5 } else { c + 0.5 })
    } else {
        cells
    };
    let total = a + b + c + d;
    let (pi12, pi21) = (b / total, c / total);
    let (q1, q0) = ((a + b) / total, (a + c) / total);
    let (y, v) = match metric {
        EffectMetric::LogRiskRatio => (q1.ln() - q0.ln(), (pi12 + pi21) / (total * q1 * q0)),
        EffectMetric::LogOddsRatio => (
            (q1 / (1.0 - q1)).ln() - (q0 / (1.0 - q0)).ln(),
            (pi12 * (1.0 - pi12) + pi21 * (1.0 - pi21) + 2.0 * pi12 * pi21)
                / (total * q1 * (1.0 - q1) * q0 * (1.0 - q0)),
        ),
        _ => (
            q1 - q0,
            (pi12 * (1.0 - pi12) + 2.0 * pi12 * pi21 + pi21 * (1.0 - pi21)) / total,
        ),
    };
    (y, v, corrected)
}
