//! Per-evaluation effects for one indicator `code@version`: change, relative change, and a
//! standardised effect with its variance, 95% confidence interval, z and p.
//!
//! Estimators (baseline is "group 0", follow-up "group 1"; both are treated as independent
//! samples, which is conservative for a cohort measured twice when its measurements correlate
//! positively):
//!
//! - [`EffectMetric::LogRiskRatio`]: `y = ln(a₁/n₁) − ln(a₀/n₀)`,
//!   `v = 1/a₁ − 1/n₁ + 1/a₀ − 1/n₀`. When a cell of the 2×2 table (`a`, `n − a` at either time)
//!   is zero, ½ is added to all four cells (so `n` grows by 1), as metafor's `escalc` does by
//!   default.
//! - [`EffectMetric::RiskDifference`]: `y = p₁ − p₀`, `v = p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀`.
//! - [`EffectMetric::StandardisedMeanDifference`] (Hedges' g): pooled SD
//!   `s = √(((n₁−1)s₁² + (n₀−1)s₀²)/(n₁+n₀−2))`, `d = (m₁ − m₀)/s`,
//!   `J = 1 − 3/(4(n₁+n₀−2) − 1)`, `g = J·d`, `v = J²((n₁+n₀)/(n₁n₀) + d²/(2(n₁+n₀)))`
//!   (Borenstein et al. 2009, ch. 4).
//! - [`EffectMetric::MeanDifference`]: `y = m₁ − m₀`, `v = SE₁² + SE₀²`, in the indicator's unit.
//!
//! A standard error comes from `se`, else from a confidence interval as
//! `(upper − lower)/(2·z)` with `z` the critical value of the interval's level (1.959964 for
//! 95%), else from `sd/√n`; a standard deviation from `sd`, else `se·√n`. Counts come from
//! `numerator`/`denominator`, else from `value × n` (a percentage divided by 100).
//!
//! Every effect is then multiplied by −1 for a `decrease`-is-better indicator, and its 95%
//! interval is `y ± 1.959964·√v`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::normal::{Z_95, critical_value, two_sided_p};
use super::pool::EffectSize;
use super::{AnalysisError, SourceRef, Verdict, cell, header};
use crate::common::CountryCode;
use crate::disclosure::Suppression;
use crate::evaluation::{ConfidenceInterval, EvidenceLevel, IndicatorValue};
use crate::indicator::{Direction, IndicatorDefinition, IndicatorRef, Measure};
use crate::preregistration::Deviation;

/// Which standardised effect an analysis computes. One metric per analysis: effects on
/// different scales are never pooled together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EffectMetric {
    /// Log of follow-up share over baseline share; for proportions and percentages.
    LogRiskRatio,
    /// Follow-up share minus baseline share; for proportions and percentages.
    RiskDifference,
    /// Hedges' g, the bias-corrected standardised mean difference.
    StandardisedMeanDifference,
    /// Follow-up minus baseline in the indicator's unit.
    MeanDifference,
}

impl EffectMetric {
    /// The metric an indicator's measure calls for: the log risk ratio for proportions and
    /// percentages, Hedges' g for everything else.
    pub fn default_for(measure: Measure) -> Self {
        match measure {
            Measure::Proportion | Measure::Percentage => Self::LogRiskRatio,
            Measure::Count | Measure::Rate | Measure::Mean | Measure::Amount => {
                Self::StandardisedMeanDifference
            }
        }
    }

    /// Whether the metric makes sense for a measure (risk metrics need shares).
    pub fn applies_to(self, measure: Measure) -> bool {
        match self {
            Self::LogRiskRatio | Self::RiskDifference => {
                matches!(measure, Measure::Proportion | Measure::Percentage)
            }
            Self::StandardisedMeanDifference | Self::MeanDifference => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LogRiskRatio => "logRiskRatio",
            Self::RiskDifference => "riskDifference",
            Self::StandardisedMeanDifference => "standardisedMeanDifference",
            Self::MeanDifference => "meanDifference",
        }
    }
}

/// What the analysis needs to know about the indicator: its `code@version`, measure and
/// direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorSpec {
    pub indicator: IndicatorRef,
    pub measure: Measure,
    pub direction: Direction,
}

impl From<&IndicatorDefinition> for IndicatorSpec {
    fn from(def: &IndicatorDefinition) -> Self {
        Self {
            indicator: def.reference(),
            measure: def.measure,
            direction: def.direction,
        }
    }
}

/// Who reported a row, about what, and the signed log entry it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowOrigin {
    /// The organisation (actor id) that published the evaluation.
    pub organisation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// The origin practice the evaluation is evidence for (for an adaptation: the practice it
    /// adapts).
    pub practice: String,
    /// The adaptation evaluated, when the evaluation's subject is an adaptation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptation: Option<String>,
    pub evaluation: String,
    pub source: SourceRef,
}

/// What was observed at one time point. Every field is optional; each estimator says what it
/// needs (see the module documentation).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<f64>,
    /// Standard deviation of the individual measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// Standard error of `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<ConfidenceInterval>,
}

/// One evaluation's value of the analysed indicator, as the analysis takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectInput {
    #[serde(flatten)]
    pub origin: RowOrigin,
    /// The `code@version` the value was recorded against; other versions are excluded.
    pub indicator: IndicatorRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_level: Option<EvidenceLevel>,
    /// Whether the results follow an evaluation plan registered before them: `None` when no
    /// plan was registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followed_plan: Option<bool>,
    /// The plan (its URL) the results name, when they name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// How the results depart from that plan ([`crate::preregistration::compare`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_deviations: Vec<Deviation>,
    pub baseline: Observation,
    pub follow_up: Observation,
    /// Set by disclosure control: the row is excluded and its numbers are never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl EffectInput {
    /// The row for one [`IndicatorValue`]. The model records `n`, counts and the confidence
    /// interval for `actual` only, so the baseline gets its value alone; estimators then assume
    /// the baseline's size and spread equal the follow-up's and say so ([`Assumption`]).
    pub fn from_indicator_value(
        origin: RowOrigin,
        value: &IndicatorValue,
        evidence_level: Option<EvidenceLevel>,
        followed_plan: Option<bool>,
    ) -> Self {
        Self {
            origin,
            indicator: value.indicator.clone(),
            evidence_level,
            followed_plan,
            plan: None,
            plan_deviations: Vec::new(),
            baseline: Observation {
                value: value.baseline,
                ..Observation::default()
            },
            follow_up: Observation {
                value: value.actual,
                n: value.n,
                numerator: value.numerator,
                denominator: value.denominator,
                sd: None,
                se: None,
                ci: value.ci.clone(),
            },
            suppressed: value.suppressed,
        }
    }
}

/// Something an estimate had to assume because the row did not say; shown with the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Assumption {
    /// The baseline sample size was not given; the follow-up's was used.
    BaselineSizeFromFollowUp,
    /// The baseline spread (SD or SE) was not given; the follow-up's was used.
    BaselineSpreadFromFollowUp,
    /// A cell of the 2×2 table was empty; ½ was added to each of its four cells.
    ContinuityCorrection,
}

impl Assumption {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BaselineSizeFromFollowUp => "baselineSizeFromFollowUp",
            Self::BaselineSpreadFromFollowUp => "baselineSpreadFromFollowUp",
            Self::ContinuityCorrection => "continuityCorrection",
        }
    }
}

/// Why a row has no effect. Field names are JSON paths into [`EffectInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ExclusionReason {
    /// Disclosure control hid the value.
    Suppressed {
        suppression: Suppression,
    },
    /// The value was recorded against another version of the indicator.
    OtherIndicatorVersion {
        found: IndicatorRef,
    },
    Missing {
        field: String,
    },
    NotFinite {
        field: String,
    },
    OutOfRange {
        field: String,
        detail: String,
    },
    /// The numbers give no sampling variance (e.g. every measurement equal).
    NoVariance {
        detail: String,
    },
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Suppressed { suppression } => {
                let kind = match suppression {
                    Suppression::Primary => "primary",
                    Suppression::Secondary => "secondary",
                };
                write!(f, "suppressed by disclosure control ({kind})")
            }
            Self::OtherIndicatorVersion { found } => {
                write!(f, "recorded against {found}, another indicator version")
            }
            Self::Missing { field } => write!(f, "{field} is missing"),
            Self::NotFinite { field } => write!(f, "{field} is not a finite number"),
            Self::OutOfRange { field, detail } => write!(f, "{field}: {detail}"),
            Self::NoVariance { detail } => write!(f, "no sampling variance: {detail}"),
        }
    }
}

/// A standardised effect on the improvement scale with its 95% confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardisedEffect {
    pub estimate: f64,
    pub variance: f64,
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub z: f64,
    pub p_value: f64,
}

impl StandardisedEffect {
    /// From an estimate and its variance; `None` unless both are finite and the variance is
    /// above zero.
    pub fn new(estimate: f64, variance: f64) -> Option<Self> {
        if !(estimate.is_finite() && variance.is_finite() && variance > 0.0) {
            return None;
        }
        let se = variance.sqrt();
        let z = estimate / se;
        Some(Self {
            estimate,
            variance,
            se,
            ci_lower: estimate - Z_95 * se,
            ci_upper: estimate + Z_95 * se,
            z,
            p_value: two_sided_p(z),
        })
    }
}

/// Whether a row has an effect, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum EffectOutcome {
    Estimated(StandardisedEffect),
    Excluded { reason: ExclusionReason },
}

/// One row of the effect table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationEffect {
    #[serde(flatten)]
    pub origin: RowOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_level: Option<EvidenceLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followed_plan: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_deviations: Vec<Deviation>,
    /// Baseline and actual as reported (never shown for suppressed rows).
    pub baseline: Option<f64>,
    pub actual: Option<f64>,
    /// `actual − baseline`, in the indicator's unit and sign.
    pub change: Option<f64>,
    /// `(actual − baseline)/|baseline|`; none when the baseline is zero.
    pub relative_change: Option<f64>,
    pub outcome: EffectOutcome,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<Assumption>,
}

impl EvaluationEffect {
    pub fn effect(&self) -> Option<&StandardisedEffect> {
        match &self.outcome {
            EffectOutcome::Estimated(e) => Some(e),
            EffectOutcome::Excluded { .. } => None,
        }
    }

    pub fn exclusion(&self) -> Option<&ExclusionReason> {
        match &self.outcome {
            EffectOutcome::Estimated(_) => None,
            EffectOutcome::Excluded { reason } => Some(reason),
        }
    }

    /// The effect as pooling takes it.
    pub fn effect_size(&self) -> Option<EffectSize> {
        self.effect().map(|e| EffectSize {
            estimate: e.estimate,
            variance: e.variance,
        })
    }
}

/// Every row of one indicator, estimated or excluded with its reason, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectTable {
    pub indicator: IndicatorRef,
    pub measure: Measure,
    pub direction: Direction,
    pub metric: EffectMetric,
    pub rows: Vec<EvaluationEffect>,
}

impl EffectTable {
    /// The table as CSV records, header first.
    pub fn to_csv_rows(&self) -> Vec<Vec<String>> {
        let mut out = vec![header(&[
            "indicator",
            "metric",
            "organisation",
            "country",
            "practice",
            "adaptation",
            "evaluation",
            "sourceOrigin",
            "sourceLogIndex",
            "sourceActivity",
            "evidenceLevel",
            "followedPlan",
            "plan",
            "planDeviations",
            "baseline",
            "actual",
            "change",
            "relativeChange",
            "effect",
            "variance",
            "se",
            "ciLower",
            "ciUpper",
            "z",
            "pValue",
            "verdict",
            "status",
            "exclusionReason",
            "assumptions",
        ])];
        for row in &self.rows {
            let o = &row.origin;
            let e = row.effect();
            out.push(vec![
                self.indicator.to_string(),
                self.metric.as_str().to_string(),
                o.organisation.clone(),
                o.country
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                o.practice.clone(),
                o.adaptation.clone().unwrap_or_default(),
                o.evaluation.clone(),
                o.source.origin.clone(),
                o.source.log_index.to_string(),
                o.source.activity_id.clone(),
                row.evidence_level
                    .map(|l| l.get().to_string())
                    .unwrap_or_default(),
                row.followed_plan.map(|b| b.to_string()).unwrap_or_default(),
                row.plan.clone().unwrap_or_default(),
                row.plan_deviations
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                cell(row.baseline),
                cell(row.actual),
                cell(row.change),
                cell(row.relative_change),
                cell(e.map(|e| e.estimate)),
                cell(e.map(|e| e.variance)),
                cell(e.map(|e| e.se)),
                cell(e.map(|e| e.ci_lower)),
                cell(e.map(|e| e.ci_upper)),
                cell(e.map(|e| e.z)),
                cell(e.map(|e| e.p_value)),
                row.verdict.as_str().to_string(),
                if e.is_some() { "estimated" } else { "excluded" }.to_string(),
                row.exclusion().map(|r| r.to_string()).unwrap_or_default(),
                row.assumptions
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        out
    }
}

/// Computes the effect of every row for one indicator. Rows that cannot be used stay in the
/// table with their reason; the only error is a metric that does not fit the measure.
pub fn evaluation_effects(
    spec: &IndicatorSpec,
    metric: EffectMetric,
    rows: &[EffectInput],
) -> Result<EffectTable, AnalysisError> {
    if !metric.applies_to(spec.measure) {
        return Err(AnalysisError::MetricMismatch {
            metric,
            measure: spec.measure,
        });
    }
    Ok(EffectTable {
        indicator: spec.indicator.clone(),
        measure: spec.measure,
        direction: spec.direction,
        metric,
        rows: rows.iter().map(|r| evaluate_row(spec, metric, r)).collect(),
    })
}

fn evaluate_row(spec: &IndicatorSpec, metric: EffectMetric, row: &EffectInput) -> EvaluationEffect {
    let mut assumptions = Vec::new();
    let (baseline, actual) = if row.suppressed.is_some() {
        (None, None)
    } else {
        (
            row.baseline.value.filter(|x| x.is_finite()),
            row.follow_up.value.filter(|x| x.is_finite()),
        )
    };
    let change = baseline
        .zip(actual)
        .map(|(b, a)| a - b)
        .filter(|c| c.is_finite());
    let relative_change = baseline
        .zip(change)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, c)| c / b.abs())
        .filter(|r| r.is_finite());
    let result = if let Some(suppression) = row.suppressed {
        Err(ExclusionReason::Suppressed { suppression })
    } else if row.indicator != spec.indicator {
        Err(ExclusionReason::OtherIndicatorVersion {
            found: row.indicator.clone(),
        })
    } else {
        estimate(spec, metric, row, &mut assumptions)
    };
    let (outcome, verdict) = match result {
        Ok(e) => {
            let verdict = Verdict::from_interval(e.ci_lower, e.ci_upper, spec.direction);
            (EffectOutcome::Estimated(e), verdict)
        }
        Err(reason) => {
            assumptions.clear();
            (EffectOutcome::Excluded { reason }, Verdict::Insufficient)
        }
    };
    EvaluationEffect {
        origin: row.origin.clone(),
        evidence_level: row.evidence_level,
        followed_plan: row.followed_plan,
        plan: row.plan.clone(),
        plan_deviations: row.plan_deviations.clone(),
        baseline,
        actual,
        change,
        relative_change,
        outcome,
        verdict,
        assumptions,
    }
}

type Excluded<T> = Result<T, ExclusionReason>;

fn estimate(
    spec: &IndicatorSpec,
    metric: EffectMetric,
    row: &EffectInput,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<StandardisedEffect> {
    let (y, v) = match metric {
        EffectMetric::LogRiskRatio | EffectMetric::RiskDifference => {
            let (a1, n1) = counts(spec.measure, &row.follow_up, "followUp", None, assumptions)?;
            let (a0, n0) = counts(
                spec.measure,
                &row.baseline,
                "baseline",
                Some(n1),
                assumptions,
            )?;
            if metric == EffectMetric::LogRiskRatio {
                log_risk_ratio(a1, n1, a0, n0, assumptions)?
            } else {
                risk_difference(a1, n1, a0, n0)
            }
        }
        EffectMetric::StandardisedMeanDifference => hedges_g(spec.measure, row, assumptions)?,
        EffectMetric::MeanDifference => mean_difference(spec.measure, row, assumptions)?,
    };
    let y = match spec.direction {
        Direction::Decrease => -y,
        Direction::Increase | Direction::Neutral => y,
    };
    if !y.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: "effect".into(),
        });
    }
    StandardisedEffect::new(y, v).ok_or_else(|| ExclusionReason::NoVariance {
        detail: format!("the variance of the effect is {v}"),
    })
}

fn value(measure: Measure, field: &str, x: Option<f64>) -> Excluded<f64> {
    let x = x.ok_or_else(|| ExclusionReason::Missing {
        field: field.into(),
    })?;
    if !x.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: field.into(),
        });
    }
    measure
        .check(x)
        .map_err(|detail| ExclusionReason::OutOfRange {
            field: field.into(),
            detail,
        })?;
    Ok(x)
}

fn finite_non_negative(field: String, x: f64) -> Excluded<f64> {
    if !x.is_finite() {
        Err(ExclusionReason::NotFinite { field })
    } else if x < 0.0 {
        Err(ExclusionReason::OutOfRange {
            field,
            detail: format!("{x} is negative"),
        })
    } else {
        Ok(x)
    }
}

/// Events and total at one time point: `numerator`/`denominator`, else `value × n` (for the
/// baseline, `n` falls back to the follow-up's total).
fn counts(
    measure: Measure,
    obs: &Observation,
    prefix: &str,
    fallback_total: Option<f64>,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<(f64, f64)> {
    if let (Some(a), Some(n)) = (obs.numerator, obs.denominator) {
        let a = finite_non_negative(format!("{prefix}.numerator"), a)?;
        let n = finite_non_negative(format!("{prefix}.denominator"), n)?;
        if n == 0.0 {
            return Err(ExclusionReason::OutOfRange {
                field: format!("{prefix}.denominator"),
                detail: "must not be zero".into(),
            });
        }
        if a > n {
            return Err(ExclusionReason::OutOfRange {
                field: format!("{prefix}.numerator"),
                detail: format!("{a} is above the denominator {n}"),
            });
        }
        return Ok((a, n));
    }
    if obs.value.is_none() {
        return Err(ExclusionReason::Missing {
            field: format!("{prefix}.numerator and .denominator (or .value and .n)"),
        });
    }
    let share = value(measure, &format!("{prefix}.value"), obs.value)?;
    let share = if measure == Measure::Percentage {
        share / 100.0
    } else {
        share
    };
    let n = match (obs.n, fallback_total) {
        (Some(n), _) => n as f64,
        (None, Some(n)) => {
            assumptions.push(Assumption::BaselineSizeFromFollowUp);
            n
        }
        (None, None) => {
            return Err(ExclusionReason::Missing {
                field: format!("{prefix}.n"),
            });
        }
    };
    if n <= 0.0 {
        return Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.n"),
            detail: "must be above zero".into(),
        });
    }
    Ok((share * n, n))
}

fn log_risk_ratio(
    a1: f64,
    n1: f64,
    a0: f64,
    n0: f64,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<(f64, f64)> {
    let (a1, n1, a0, n0) = if [a1, n1 - a1, a0, n0 - a0].contains(&0.0) {
        assumptions.push(Assumption::ContinuityCorrection);
        (a1 + 0.5, n1 + 1.0, a0 + 0.5, n0 + 1.0)
    } else {
        (a1, n1, a0, n0)
    };
    let y = (a1 / n1).ln() - (a0 / n0).ln();
    let v = 1.0 / a1 - 1.0 / n1 + 1.0 / a0 - 1.0 / n0;
    if !y.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: "effect".into(),
        });
    }
    Ok((y, v))
}

fn risk_difference(a1: f64, n1: f64, a0: f64, n0: f64) -> (f64, f64) {
    let (p1, p0) = (a1 / n1, a0 / n0);
    (p1 - p0, p1 * (1.0 - p1) / n1 + p0 * (1.0 - p0) / n0)
}

/// The standard error of `value`: `se`, else a confidence interval, else `sd/√n`.
fn standard_error(obs: &Observation, prefix: &str) -> Excluded<Option<f64>> {
    if let Some(se) = obs.se {
        return finite_non_negative(format!("{prefix}.se"), se).map(Some);
    }
    if let Some(ci) = &obs.ci {
        let field = format!("{prefix}.ci");
        if !(ci.lower.is_finite() && ci.upper.is_finite()) {
            return Err(ExclusionReason::NotFinite { field });
        }
        if ci.lower > ci.upper {
            return Err(ExclusionReason::OutOfRange {
                field,
                detail: "lower is above upper".into(),
            });
        }
        let z = critical_value(ci.level).ok_or_else(|| ExclusionReason::OutOfRange {
            field: format!("{prefix}.ci.level"),
            detail: format!("{} is not between 0 and 1", ci.level),
        })?;
        return Ok(Some((ci.upper - ci.lower) / (2.0 * z)));
    }
    if let (Some(sd), Some(n)) = (obs.sd, obs.n) {
        let sd = finite_non_negative(format!("{prefix}.sd"), sd)?;
        if n == 0 {
            return Err(ExclusionReason::OutOfRange {
                field: format!("{prefix}.n"),
                detail: "must be above zero".into(),
            });
        }
        return Ok(Some(sd / (n as f64).sqrt()));
    }
    Ok(None)
}

/// The standard deviation of the measurements: `sd`, else the standard error times `√n`.
fn standard_deviation(obs: &Observation, n: f64, prefix: &str) -> Excluded<Option<f64>> {
    if let Some(sd) = obs.sd {
        return finite_non_negative(format!("{prefix}.sd"), sd).map(Some);
    }
    Ok(standard_error(obs, prefix)?.map(|se| se * n.sqrt()))
}

fn sample_size(obs: &Observation, prefix: &str) -> Excluded<f64> {
    match obs.n {
        Some(n) if n >= 2 => Ok(n as f64),
        Some(n) => Err(ExclusionReason::OutOfRange {
            field: format!("{prefix}.n"),
            detail: format!("{n} is too small for a standard deviation (at least 2)"),
        }),
        None => Err(ExclusionReason::Missing {
            field: format!("{prefix}.n"),
        }),
    }
}

fn hedges_g(
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

fn mean_difference(
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
