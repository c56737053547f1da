//! Per-evaluation effects for one indicator `code@version`: change, relative change, and a
//! standardised effect with its variance, 95% confidence interval, z and p, computed by the
//! formula the evaluation's design calls for. Every row names its [`Design`] and the
//! [`Formula`] that produced it.
//!
//! # Designs
//!
//! A value recorded per group and time point (`groups` on the indicator value) gives its design
//! by the cells present ([`Design::of`]):
//!
//! - [`Design::TwoGroupPost`]: intervention and comparison group at follow-up (a randomised or
//!   comparison-group design measured after the intervention; baselines, when given, are not
//!   used unless both groups have one).
//! - [`Design::DifferenceInDifferences`]: both groups at baseline and at follow-up.
//! - [`Design::PrePost`]: the intervention group at baseline and at follow-up, no comparison
//!   group measured at follow-up.
//!
//! A value in the older single-group form (`baseline`, `actual`, `n`, counts and CI beside each
//! other) is [`Design::LegacyFlat`]: its baseline and follow-up are treated as two independent
//! samples, as before, with the assumptions that needs ([`Assumption`]).
//!
//! # Formulas
//!
//! Group 1 is the intervention group (or the follow-up), group 2 the comparison group (or the
//! baseline); `a` events among `n`, `p = a/n`, means `m`, standard deviations `s`. They are
//! those of metafor's `escalc` (Viechtbauer 2010, R package metafor, `R/escalc.r`) with its
//! defaults `add = 1/2`, `to = "only0"`, `vtype = "LS"`:
//!
//! - two groups, shares: `"RR"` `y = ln p₁ − ln p₂`, `v = 1/a₁ − 1/n₁ + 1/a₂ − 1/n₂`; `"OR"`
//!   `y = ln(a₁/b₁) − ln(a₂/b₂)`, `v = 1/a₁ + 1/b₁ + 1/a₂ + 1/b₂` (`b = n − a`); `"RD"`
//!   `y = p₁ − p₂`, `v = p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂`. When one of the four cells is zero, ½ is
//!   added to each of them ([`Assumption::ContinuityCorrection`]).
//! - two groups, means: `"MD"` `y = m₁ − m₂`, `v = s₁²/n₁ + s₂²/n₂` (or `SE₁² + SE₂²`);
//!   `"SMD"` (Hedges' g) `y = J·(m₁ − m₂)/s_p` with the pooled
//!   `s_p = √(((n₁−1)s₁² + (n₂−1)s₂²)/(n₁+n₂−2))`, the exact correction
//!   `J = Γ(m/2)/(√(m/2)·Γ((m−1)/2))`, `m = n₁+n₂−2`, and `v = 1/n₁ + 1/n₂ + y²/(2(n₁+n₂))`.
//! - one cohort before and after (`n` people, correlation `r` of their two measurements):
//!   `"MC"` `y = m₁ − m₂`, `v = (s₁² + s₂² − 2r·s₁s₂)/n`; `"SMCR"` (standardised by the
//!   baseline SD) `y = J·(m₁ − m₂)/s₂` with `J` at `m = n − 1`, `v = 2(1−r)/n + y²/(2n)`.
//!   Shares: the paired 2×2 table is rebuilt from the two shares and `r` (for two 0/1
//!   measurements `r` is the phi coefficient, so the events at both times are
//!   `n·(p₁p₂ + r·√(p₁(1−p₁)p₂(1−p₂)))`), and the matched-pairs measures `"MPRD"`, `"MPRR"`,
//!   `"MPOR"` are computed from it (with the same ½ correction when a cell is zero).
//! - difference in differences: the intervention group's pre-post effect minus the comparison
//!   group's, with the sum of their variances (for standardised effects the difference of the
//!   two SMCRs, as in metafor's worked example of Morris 2008, Organizational Research
//!   Methods 11, 364–386).
//!
//! When the evaluator gives no correlation, `r = 0.5` is used ([`DEFAULT_CORRELATION`],
//! [`Assumption::DefaultCorrelation`]) and the row keeps the variance at `r = 0` and `r = 0.8`
//! ([`CorrelationSensitivity`]) so a reader sees how much the interval depends on it.
//!
//! # Legacy single-group rows
//!
//! Baseline is "group 2", follow-up "group 1", treated as independent samples (conservative
//! for a cohort measured twice when its measurements correlate positively): the log risk
//! ratio, log odds ratio and risk difference as above but without a correction for the risk
//! difference; Hedges' g with the approximation `J = 1 − 3/(4(n₁+n₂−2) − 1)` and
//! `v = J²((n₁+n₂)/(n₁n₂) + d²/(2(n₁+n₂)))` (Borenstein et al. 2009, ch. 4); the mean difference
//! with `v = SE₁² + SE₂²`. A missing baseline size or spread is taken from the follow-up and
//! said so.
//!
//! A standard error comes from `se`, else from a confidence interval as
//! `(upper − lower)/(2·z)` with `z` the critical value of the interval's level (1.959964 for
//! 95%), else from `sd/√n`; a standard deviation from `sd`, else `se·√n`. Counts come from
//! `events`/`n`, else `numerator`/`denominator`, else `value × n` (a percentage divided by 100).
//!
//! Every effect is then multiplied by −1 for a `decrease`-is-better indicator, and its 95%
//! interval is `y ± 1.959964·√v`.
//!
//! Layout: the formulas of each design are in their own file (`two_group`, `pre_post`,
//! `legacy`, and `cells` for reading one cell); this file keeps the public row types, their
//! serde shape and the per-row dispatch, which is why it stays over 800 lines.

use std::fmt;

use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use super::normal::{Z_95, critical_value, two_sided_p};
use super::pool::EffectSize;
use super::{AnalysisError, SourceRef, Verdict, cell, header};
use crate::common::CountryCode;
use crate::disclosure::Suppression;
use crate::evaluation::{Cell, ConfidenceInterval, EvidenceLevel, IndicatorValue};
use crate::indicator::{Direction, IndicatorDefinition, IndicatorRef, Measure};
use crate::preregistration::Deviation;

mod cells;
mod legacy;
mod pre_post;
mod two_group;

use cells::*;
use legacy::*;
use pre_post::*;
use two_group::*;

/// The correlation between a cohort's baseline and follow-up measurements used when the
/// evaluator gives none.
pub const DEFAULT_CORRELATION: f64 = 0.5;
/// The correlations at which a row with the default correlation also reports its variance.
pub const SENSITIVITY_CORRELATIONS: (f64, f64) = (0.0, 0.8);

/// Which standardised effect an analysis computes. One metric per analysis: effects on
/// different scales are never pooled together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EffectMetric {
    /// Log of the intervention share over the comparison (or follow-up over baseline) share;
    /// for proportions and percentages.
    LogRiskRatio,
    /// Log of the ratio of the two odds; for proportions and percentages.
    LogOddsRatio,
    /// Intervention share minus comparison share (or follow-up minus baseline); for
    /// proportions and percentages.
    RiskDifference,
    /// Hedges' g, the bias-corrected standardised mean difference (for a cohort measured
    /// twice, the change standardised by the baseline SD).
    StandardisedMeanDifference,
    /// Difference of means (or mean change) in the indicator's unit.
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
            Self::LogRiskRatio | Self::LogOddsRatio | Self::RiskDifference => {
                matches!(measure, Measure::Proportion | Measure::Percentage)
            }
            Self::StandardisedMeanDifference | Self::MeanDifference => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LogRiskRatio => "logRiskRatio",
            Self::LogOddsRatio => "logOddsRatio",
            Self::RiskDifference => "riskDifference",
            Self::StandardisedMeanDifference => "standardisedMeanDifference",
            Self::MeanDifference => "meanDifference",
        }
    }

    /// Every metric, in the order they are offered.
    pub const ALL: [Self; 5] = [
        Self::LogRiskRatio,
        Self::LogOddsRatio,
        Self::RiskDifference,
        Self::StandardisedMeanDifference,
        Self::MeanDifference,
    ];

    fn is_share(self) -> bool {
        matches!(
            self,
            Self::LogRiskRatio | Self::LogOddsRatio | Self::RiskDifference
        )
    }
}

/// The evaluation design a row's numbers describe, from the cells present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Design {
    /// Intervention and comparison group measured at follow-up.
    TwoGroupPost,
    /// Intervention and comparison group, each at baseline and at follow-up.
    DifferenceInDifferences,
    /// One group (a cohort) at baseline and at follow-up.
    PrePost,
    /// The single-group form (`baseline`, `actual`, …): baseline and follow-up taken as two
    /// independent samples.
    LegacyFlat,
}

impl Design {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoGroupPost => "twoGroupPost",
            Self::DifferenceInDifferences => "differenceInDifferences",
            Self::PrePost => "prePost",
            Self::LegacyFlat => "legacyFlat",
        }
    }

    /// The design of a row: [`Self::LegacyFlat`] for the single-group layout, else from the
    /// cells present (a suppressed cell counts as present); `None` when the cells make no
    /// design (e.g. a follow-up alone).
    pub fn of(row: &EffectInput) -> Option<Self> {
        if row.layout == InputLayout::Flat {
            return Some(Self::LegacyFlat);
        }
        let present = |o: Option<&Observation>| o.is_some_and(Observation::is_present);
        let ib = present(Some(&row.baseline));
        let if_ = present(Some(&row.follow_up));
        let cb = present(row.comparison_baseline.as_ref());
        let cf = present(row.comparison_follow_up.as_ref());
        match (ib, if_, cb, cf) {
            (true, true, true, true) => Some(Self::DifferenceInDifferences),
            (_, true, _, true) => Some(Self::TwoGroupPost),
            (true, true, _, false) => Some(Self::PrePost),
            _ => None,
        }
    }
}

/// The formula that produced a row's effect. Names follow metafor's `escalc` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Formula {
    TwoGroupLogRiskRatio,
    TwoGroupLogOddsRatio,
    TwoGroupRiskDifference,
    TwoGroupMeanDifference,
    TwoGroupHedgesG,
    PrePostLogRiskRatio,
    PrePostLogOddsRatio,
    PrePostRiskDifference,
    PrePostMeanChange,
    PrePostSmcr,
    DidLogRiskRatio,
    DidLogOddsRatio,
    DidRiskDifference,
    DidRawMeanChange,
    DidSmcr,
    LegacyIndependentLogRiskRatio,
    LegacyIndependentLogOddsRatio,
    LegacyIndependentRiskDifference,
    LegacyIndependentMeanDifference,
    LegacyIndependentHedgesG,
}

impl Formula {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoGroupLogRiskRatio => "twoGroupLogRiskRatio",
            Self::TwoGroupLogOddsRatio => "twoGroupLogOddsRatio",
            Self::TwoGroupRiskDifference => "twoGroupRiskDifference",
            Self::TwoGroupMeanDifference => "twoGroupMeanDifference",
            Self::TwoGroupHedgesG => "twoGroupHedgesG",
            Self::PrePostLogRiskRatio => "prePostLogRiskRatio",
            Self::PrePostLogOddsRatio => "prePostLogOddsRatio",
            Self::PrePostRiskDifference => "prePostRiskDifference",
            Self::PrePostMeanChange => "prePostMeanChange",
            Self::PrePostSmcr => "prePostSmcr",
            Self::DidLogRiskRatio => "didLogRiskRatio",
            Self::DidLogOddsRatio => "didLogOddsRatio",
            Self::DidRiskDifference => "didRiskDifference",
            Self::DidRawMeanChange => "didRawMeanChange",
            Self::DidSmcr => "didSmcr",
            Self::LegacyIndependentLogRiskRatio => "legacyIndependentLogRiskRatio",
            Self::LegacyIndependentLogOddsRatio => "legacyIndependentLogOddsRatio",
            Self::LegacyIndependentRiskDifference => "legacyIndependentRiskDifference",
            Self::LegacyIndependentMeanDifference => "legacyIndependentMeanDifference",
            Self::LegacyIndependentHedgesG => "legacyIndependentHedgesG",
        }
    }

    /// One line of English saying what was computed.
    pub fn description(self) -> &'static str {
        match self {
            Self::TwoGroupLogRiskRatio => {
                "log risk ratio of the intervention and comparison group at follow-up (escalc RR)"
            }
            Self::TwoGroupLogOddsRatio => {
                "log odds ratio of the intervention and comparison group at follow-up (escalc OR)"
            }
            Self::TwoGroupRiskDifference => {
                "risk difference of the intervention and comparison group at follow-up (escalc RD)"
            }
            Self::TwoGroupMeanDifference => {
                "raw mean difference of the intervention and comparison group at follow-up, each group with its own SD (escalc MD)"
            }
            Self::TwoGroupHedgesG => {
                "Hedges' g with the pooled SD of both groups at follow-up and the exact small-sample correction (escalc SMD)"
            }
            Self::PrePostLogRiskRatio => {
                "log ratio of the follow-up and baseline share of one cohort, paired by their correlation (escalc MPRR)"
            }
            Self::PrePostLogOddsRatio => {
                "log ratio of the follow-up and baseline odds of one cohort, paired by their correlation (escalc MPOR)"
            }
            Self::PrePostRiskDifference => {
                "change in the share of one cohort from baseline to follow-up, with the paired variance (escalc MPRD)"
            }
            Self::PrePostMeanChange => {
                "raw mean change of one cohort from baseline to follow-up, with the paired variance (escalc MC)"
            }
            Self::PrePostSmcr => {
                "standardised mean change of one cohort, standardised by the baseline SD (escalc SMCR)"
            }
            Self::DidLogRiskRatio => {
                "intervention minus comparison group's pre-post log risk ratio (escalc MPRR each), variances summed"
            }
            Self::DidLogOddsRatio => {
                "intervention minus comparison group's pre-post log odds ratio (escalc MPOR each), variances summed"
            }
            Self::DidRiskDifference => {
                "intervention minus comparison group's change in share (escalc MPRD each), variances summed"
            }
            Self::DidRawMeanChange => {
                "intervention minus comparison group's raw mean change (escalc MC each), variances summed"
            }
            Self::DidSmcr => {
                "intervention minus comparison group's standardised mean change (escalc SMCR each, Morris 2008), variances summed"
            }
            Self::LegacyIndependentLogRiskRatio => {
                "log risk ratio of follow-up and baseline taken as independent samples (single-group form)"
            }
            Self::LegacyIndependentLogOddsRatio => {
                "log odds ratio of follow-up and baseline taken as independent samples (single-group form)"
            }
            Self::LegacyIndependentRiskDifference => {
                "risk difference of follow-up and baseline taken as independent samples (single-group form)"
            }
            Self::LegacyIndependentMeanDifference => {
                "mean difference of follow-up and baseline taken as independent samples (single-group form)"
            }
            Self::LegacyIndependentHedgesG => {
                "Hedges' g of follow-up and baseline taken as independent samples, approximate correction (single-group form)"
            }
        }
    }

    /// The measure's name in metafor's `escalc` (statistical notation, the same in every
    /// language); difference-in-differences rows name the per-group measure with `Δ`.
    pub fn escalc_measure(self) -> &'static str {
        match self {
            Self::TwoGroupLogRiskRatio | Self::LegacyIndependentLogRiskRatio => "RR",
            Self::TwoGroupLogOddsRatio | Self::LegacyIndependentLogOddsRatio => "OR",
            Self::TwoGroupRiskDifference | Self::LegacyIndependentRiskDifference => "RD",
            Self::TwoGroupMeanDifference | Self::LegacyIndependentMeanDifference => "MD",
            Self::TwoGroupHedgesG | Self::LegacyIndependentHedgesG => "SMD",
            Self::PrePostLogRiskRatio => "MPRR",
            Self::PrePostLogOddsRatio => "MPOR",
            Self::PrePostRiskDifference => "MPRD",
            Self::PrePostMeanChange => "MC",
            Self::PrePostSmcr => "SMCR",
            Self::DidLogRiskRatio => "ΔMPRR",
            Self::DidLogOddsRatio => "ΔMPOR",
            Self::DidRiskDifference => "ΔMPRD",
            Self::DidRawMeanChange => "ΔMC",
            Self::DidSmcr => "ΔSMCR",
        }
    }

    /// The design the formula belongs to.
    pub fn design(self) -> Design {
        match self {
            Self::TwoGroupLogRiskRatio
            | Self::TwoGroupLogOddsRatio
            | Self::TwoGroupRiskDifference
            | Self::TwoGroupMeanDifference
            | Self::TwoGroupHedgesG => Design::TwoGroupPost,
            Self::PrePostLogRiskRatio
            | Self::PrePostLogOddsRatio
            | Self::PrePostRiskDifference
            | Self::PrePostMeanChange
            | Self::PrePostSmcr => Design::PrePost,
            Self::DidLogRiskRatio
            | Self::DidLogOddsRatio
            | Self::DidRiskDifference
            | Self::DidRawMeanChange
            | Self::DidSmcr => Design::DifferenceInDifferences,
            Self::LegacyIndependentLogRiskRatio
            | Self::LegacyIndependentLogOddsRatio
            | Self::LegacyIndependentRiskDifference
            | Self::LegacyIndependentMeanDifference
            | Self::LegacyIndependentHedgesG => Design::LegacyFlat,
        }
    }

    /// The formula of a design and metric.
    pub fn for_design(design: Design, metric: EffectMetric) -> Self {
        use EffectMetric as M;
        match (design, metric) {
            (Design::TwoGroupPost, M::LogRiskRatio) => Self::TwoGroupLogRiskRatio,
            (Design::TwoGroupPost, M::LogOddsRatio) => Self::TwoGroupLogOddsRatio,
            (Design::TwoGroupPost, M::RiskDifference) => Self::TwoGroupRiskDifference,
            (Design::TwoGroupPost, M::MeanDifference) => Self::TwoGroupMeanDifference,
            (Design::TwoGroupPost, M::StandardisedMeanDifference) => Self::TwoGroupHedgesG,
            (Design::PrePost, M::LogRiskRatio) => Self::PrePostLogRiskRatio,
            (Design::PrePost, M::LogOddsRatio) => Self::PrePostLogOddsRatio,
            (Design::PrePost, M::RiskDifference) => Self::PrePostRiskDifference,
            (Design::PrePost, M::MeanDifference) => Self::PrePostMeanChange,
            (Design::PrePost, M::StandardisedMeanDifference) => Self::PrePostSmcr,
            (Design::DifferenceInDifferences, M::LogRiskRatio) => Self::DidLogRiskRatio,
            (Design::DifferenceInDifferences, M::LogOddsRatio) => Self::DidLogOddsRatio,
            (Design::DifferenceInDifferences, M::RiskDifference) => Self::DidRiskDifference,
            (Design::DifferenceInDifferences, M::MeanDifference) => Self::DidRawMeanChange,
            (Design::DifferenceInDifferences, M::StandardisedMeanDifference) => Self::DidSmcr,
            (Design::LegacyFlat, M::LogRiskRatio) => Self::LegacyIndependentLogRiskRatio,
            (Design::LegacyFlat, M::LogOddsRatio) => Self::LegacyIndependentLogOddsRatio,
            (Design::LegacyFlat, M::RiskDifference) => Self::LegacyIndependentRiskDifference,
            (Design::LegacyFlat, M::MeanDifference) => Self::LegacyIndependentMeanDifference,
            (Design::LegacyFlat, M::StandardisedMeanDifference) => Self::LegacyIndependentHedgesG,
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

/// What was observed in one group at one time point. Every field is optional; each estimator
/// says what it needs (see the module documentation).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The mean, or for a share the share in the indicator's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    /// The number with the outcome among `n` (per-group cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
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
    /// Set by disclosure control on this cell: a row that needs it is excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl Observation {
    /// Whether nothing was observed (no number, no suppression mark).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether the cell was recorded: it carries a number or was suppressed.
    pub fn is_present(&self) -> bool {
        !self.is_empty()
    }

    /// The observation of one per-group cell.
    pub fn from_cell(cell: &Cell) -> Self {
        Self {
            value: cell.mean,
            n: cell.n,
            events: cell.events,
            numerator: None,
            denominator: None,
            sd: cell.sd,
            se: cell.se,
            ci: cell.ci.clone(),
            suppressed: cell.suppressed,
        }
    }

    /// The value as shown: none for a suppressed cell or a non-finite number.
    fn shown(&self) -> Option<f64> {
        if self.suppressed.is_some() {
            None
        } else {
            self.value.filter(|x| x.is_finite())
        }
    }
}

/// How a row's numbers were recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InputLayout {
    /// The single-group form: `baseline` and `followUp` of one value, read as two independent
    /// samples ([`Design::LegacyFlat`]).
    #[default]
    Flat,
    /// Per group and time point: `baseline`/`followUp` are the intervention group's cells,
    /// `comparisonBaseline`/`comparisonFollowUp` the comparison group's.
    Groups,
}

impl InputLayout {
    fn is_flat(&self) -> bool {
        *self == Self::Flat
    }
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
    /// Flat: the value's baseline and actual; groups: the intervention group's cells.
    #[serde(default, skip_serializing_if = "InputLayout::is_flat")]
    pub layout: InputLayout,
    /// The intervention group (or the single group) at baseline.
    pub baseline: Observation,
    /// The intervention group (or the single group) at follow-up.
    pub follow_up: Observation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_baseline: Option<Observation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_follow_up: Option<Observation>,
    /// The correlation of the baseline and follow-up measurements of the same people, when the
    /// evaluator gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
    /// Set by disclosure control: the row is excluded and its numbers are never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl EffectInput {
    /// The row for one [`IndicatorValue`]. A value with `groups` gives its cells per group and
    /// time point ([`InputLayout::Groups`]). A value in the single-group form records `n`,
    /// counts and the confidence interval for `actual` only, so the baseline gets its value
    /// alone; estimators then assume the baseline's size and spread equal the follow-up's and
    /// say so ([`Assumption`]).
    pub fn from_indicator_value(
        origin: RowOrigin,
        value: &IndicatorValue,
        evidence_level: Option<EvidenceLevel>,
        followed_plan: Option<bool>,
    ) -> Self {
        let mut row = Self {
            origin,
            indicator: value.indicator.clone(),
            evidence_level,
            followed_plan,
            plan: None,
            plan_deviations: Vec::new(),
            layout: InputLayout::Flat,
            baseline: Observation {
                value: value.baseline,
                ..Observation::default()
            },
            follow_up: Observation {
                value: value.actual,
                n: value.n,
                numerator: value.numerator,
                denominator: value.denominator,
                ci: value.ci.clone(),
                ..Observation::default()
            },
            comparison_baseline: None,
            comparison_follow_up: None,
            correlation: None,
            suppressed: value.suppressed,
        };
        if let Some(groups) = &value.groups {
            let cell = |c: &Option<Cell>| c.as_ref().map(Observation::from_cell);
            row.layout = InputLayout::Groups;
            row.baseline = cell(&groups.intervention.baseline).unwrap_or_default();
            row.follow_up = cell(&groups.intervention.follow_up).unwrap_or_default();
            row.comparison_baseline = groups.comparison.as_ref().and_then(|c| cell(&c.baseline));
            row.comparison_follow_up = groups.comparison.as_ref().and_then(|c| cell(&c.follow_up));
            row.correlation = groups.correlation;
        }
        row
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
    /// The correlation of the baseline and follow-up measurements was not given;
    /// [`DEFAULT_CORRELATION`] was used (see the row's sensitivity).
    DefaultCorrelation,
    /// The two shares of a cohort cannot correlate as much as the default; the largest
    /// correlation they allow was used.
    DefaultCorrelationCapped,
    /// Baseline and follow-up counted different numbers of people; the smaller is taken as the
    /// cohort measured twice.
    CohortSizeFromSmallerCell,
}

impl Assumption {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BaselineSizeFromFollowUp => "baselineSizeFromFollowUp",
            Self::BaselineSpreadFromFollowUp => "baselineSpreadFromFollowUp",
            Self::ContinuityCorrection => "continuityCorrection",
            Self::DefaultCorrelation => "defaultCorrelation",
            Self::DefaultCorrelationCapped => "defaultCorrelationCapped",
            Self::CohortSizeFromSmallerCell => "cohortSizeFromSmallerCell",
        }
    }

    /// One line of English saying what was assumed.
    pub fn description(self) -> &'static str {
        match self {
            Self::BaselineSizeFromFollowUp => {
                "the baseline sample size was not given; the follow-up's was used"
            }
            Self::BaselineSpreadFromFollowUp => {
                "the baseline spread was not given; the follow-up's was used"
            }
            Self::ContinuityCorrection => {
                "a cell of the 2×2 table was zero; 1/2 was added to each of its four cells"
            }
            Self::DefaultCorrelation => {
                "the baseline–follow-up correlation was not given; r = 0.5 was used (variances at r = 0 and r = 0.8 are shown)"
            }
            Self::DefaultCorrelationCapped => {
                "the two shares cannot correlate at r = 0.5; the largest correlation they allow was used"
            }
            Self::CohortSizeFromSmallerCell => {
                "baseline and follow-up counted different numbers of people; the smaller was used as the cohort"
            }
        }
    }
}

/// How the variance of a pre-post or difference-in-differences effect moves with the assumed
/// correlation, for rows that used [`DEFAULT_CORRELATION`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationSensitivity {
    /// The variance at `r = 0` (measurements taken as uncorrelated).
    pub r0_variance: f64,
    /// The variance at `r = 0.8`, or at [`Self::high_correlation`] when two shares allow less.
    pub r08_variance: f64,
    /// The correlation `r08_variance` was computed at: 0.8 unless capped.
    pub high_correlation: f64,
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
    /// Baseline and actual as reported, of the intervention (or single) group (never shown
    /// for suppressed rows or cells).
    pub baseline: Option<f64>,
    pub actual: Option<f64>,
    /// `actual − baseline`, in the indicator's unit and sign.
    pub change: Option<f64>,
    /// `(actual − baseline)/|baseline|`; none when the baseline is zero.
    pub relative_change: Option<f64>,
    /// The comparison group's baseline and follow-up as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_actual: Option<f64>,
    /// The design the row's cells describe; none when they make no design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<Design>,
    /// The formula that produced the effect (estimated rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<Formula>,
    /// The baseline–follow-up correlation the formula used (pre-post and
    /// difference-in-differences rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
    /// The variance at other correlations, when the correlation was the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<CorrelationSensitivity>,
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
            "comparisonBaseline",
            "comparisonActual",
            "design",
            "formula",
            "correlation",
            "varianceAtR0",
            "varianceAtR08",
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
                cell(row.comparison_baseline),
                cell(row.comparison_actual),
                row.design
                    .map(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string(),
                row.formula
                    .map(|f| f.as_str())
                    .unwrap_or_default()
                    .to_string(),
                cell(row.correlation),
                cell(row.sensitivity.as_ref().map(|s| s.r0_variance)),
                cell(row.sensitivity.as_ref().map(|s| s.r08_variance)),
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
    let hidden = row.suppressed.is_some();
    let shown = |o: Option<&Observation>| {
        if hidden {
            None
        } else {
            o.and_then(Observation::shown)
        }
    };
    let baseline = shown(Some(&row.baseline));
    let actual = shown(Some(&row.follow_up));
    let change = baseline
        .zip(actual)
        .map(|(b, a)| a - b)
        .filter(|c| c.is_finite());
    let relative_change = baseline
        .zip(change)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, c)| c / b.abs())
        .filter(|r| r.is_finite());
    let design = Design::of(row);
    let result = if let Some(suppression) = row.suppressed {
        Err(ExclusionReason::Suppressed { suppression })
    } else if row.indicator != spec.indicator {
        Err(ExclusionReason::OtherIndicatorVersion {
            found: row.indicator.clone(),
        })
    } else {
        match design {
            Some(design) => estimate(spec, metric, design, row, &mut assumptions),
            None => Err(ExclusionReason::Missing {
                field: "comparisonFollowUp (or baseline)".into(),
            }),
        }
    };
    let (outcome, verdict, formula, correlation, sensitivity) = match result {
        Ok(found) => {
            let verdict = Verdict::from_interval(
                found.effect.ci_lower,
                found.effect.ci_upper,
                spec.direction,
            );
            (
                EffectOutcome::Estimated(found.effect),
                verdict,
                Some(found.formula),
                found.correlation,
                found.sensitivity,
            )
        }
        Err(reason) => {
            assumptions.clear();
            (
                EffectOutcome::Excluded { reason },
                Verdict::Insufficient,
                None,
                None,
                None,
            )
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
        comparison_baseline: shown(row.comparison_baseline.as_ref()),
        comparison_actual: shown(row.comparison_follow_up.as_ref()),
        design,
        formula,
        correlation,
        sensitivity,
        outcome,
        verdict,
        assumptions,
    }
}

type Excluded<T> = Result<T, ExclusionReason>;

/// An estimate on the raw scale (before the direction is applied).
struct Raw {
    y: f64,
    v: f64,
    correlation: Option<f64>,
    sensitivity: Option<CorrelationSensitivity>,
}

impl Raw {
    fn independent((y, v): (f64, f64)) -> Self {
        Self {
            y,
            v,
            correlation: None,
            sensitivity: None,
        }
    }
}

/// What [`estimate`] found for a row.
struct Found {
    effect: StandardisedEffect,
    formula: Formula,
    correlation: Option<f64>,
    sensitivity: Option<CorrelationSensitivity>,
}

/// The correlation a pre-post formula uses, and whether it is the default.
#[derive(Clone, Copy)]
struct Correlation {
    r: f64,
    default: bool,
}

fn estimate(
    spec: &IndicatorSpec,
    metric: EffectMetric,
    design: Design,
    row: &EffectInput,
    assumptions: &mut Vec<Assumption>,
) -> Excluded<Found> {
    let measure = spec.measure;
    let intervention = ((&row.follow_up, "followUp"), (&row.baseline, "baseline"));
    let raw = match design {
        Design::LegacyFlat => {
            needed(&[&row.baseline, &row.follow_up])?;
            legacy(measure, metric, row, assumptions)?
        }
        Design::TwoGroupPost => {
            let comparison = required(&row.comparison_follow_up, "comparisonFollowUp")?;
            needed(&[&row.follow_up, comparison])?;
            two_group(measure, metric, &row.follow_up, comparison, assumptions)?
        }
        Design::PrePost => {
            needed(&[&row.baseline, &row.follow_up])?;
            let r = correlation(row, assumptions)?;
            pre_post(measure, metric, intervention, r, assumptions)?
        }
        Design::DifferenceInDifferences => {
            let cf = required(&row.comparison_follow_up, "comparisonFollowUp")?;
            let cb = required(&row.comparison_baseline, "comparisonBaseline")?;
            needed(&[&row.baseline, &row.follow_up, cb, cf])?;
            let r = correlation(row, assumptions)?;
            let i = pre_post(measure, metric, intervention, r, assumptions)?;
            let c = pre_post(
                measure,
                metric,
                ((cf, "comparisonFollowUp"), (cb, "comparisonBaseline")),
                r,
                assumptions,
            )?;
            Raw {
                y: i.y - c.y,
                v: i.v + c.v,
                correlation: i.correlation,
                sensitivity: i.sensitivity.zip(c.sensitivity).map(|(a, b)| {
                    CorrelationSensitivity {
                        r0_variance: a.r0_variance + b.r0_variance,
                        r08_variance: a.r08_variance + b.r08_variance,
                        high_correlation: a.high_correlation.min(b.high_correlation),
                    }
                }),
            }
        }
    };
    let y = match spec.direction {
        Direction::Decrease => -raw.y,
        Direction::Increase | Direction::Neutral => raw.y,
    };
    if !y.is_finite() {
        return Err(ExclusionReason::NotFinite {
            field: "effect".into(),
        });
    }
    let effect = StandardisedEffect::new(y, raw.v).ok_or_else(|| ExclusionReason::NoVariance {
        detail: format!("the variance of the effect is {}", raw.v),
    })?;
    let mut seen = Vec::with_capacity(assumptions.len());
    assumptions.retain(|a| {
        let first = !seen.contains(a);
        seen.push(*a);
        first
    });
    Ok(Found {
        effect,
        formula: Formula::for_design(design, metric),
        correlation: raw.correlation,
        sensitivity: raw.sensitivity,
    })
}

/// A cell the design needs, which [`Design::of`] found present.
fn required<'a>(cell: &'a Option<Observation>, field: &str) -> Excluded<&'a Observation> {
    cell.as_ref().ok_or_else(|| ExclusionReason::Missing {
        field: field.into(),
    })
}

/// Excludes the row when disclosure control suppressed a cell it needs.
fn needed(cells: &[&Observation]) -> Excluded<()> {
    match cells.iter().find_map(|c| c.suppressed) {
        Some(suppression) => Err(ExclusionReason::Suppressed { suppression }),
        None => Ok(()),
    }
}

fn correlation(row: &EffectInput, assumptions: &mut Vec<Assumption>) -> Excluded<Correlation> {
    match row.correlation {
        None => {
            assumptions.push(Assumption::DefaultCorrelation);
            Ok(Correlation {
                r: DEFAULT_CORRELATION,
                default: true,
            })
        }
        Some(r) if !r.is_finite() => Err(ExclusionReason::NotFinite {
            field: "correlation".into(),
        }),
        Some(r) if !(-1.0..=1.0).contains(&r) => Err(ExclusionReason::OutOfRange {
            field: "correlation".into(),
            detail: format!("{r} is not a correlation (−1 to 1)"),
        }),
        Some(r) => Ok(Correlation { r, default: false }),
    }
}
