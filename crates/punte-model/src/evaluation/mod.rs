//! Impact evaluations and their indicator values, pinned to `code@version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::Period;
use crate::error::{Validate, ValidationErrors};
use crate::indicator::{IndicatorDefinition, IndicatorRef, Measure};
use crate::lang::LangMap;

mod groups;

pub use groups::{Cell, GroupCells, Groups};
use groups::{check_ci, check_share};

/// Why a published value is blank (set by disclosure control, never by the evaluator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Suppression {
    /// The cell itself is below the threshold.
    Primary,
    /// The cell is hidden so a suppressed one cannot be derived from a total.
    Secondary,
}

/// What is evaluated: one version of a practice, or an adaptation. Exactly one is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluationSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<String>,
    /// The practice version evaluated; the current one when absent at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptation: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvaluatorRole {
    Internal,
    External,
    Peer,
    Participatory,
    Funder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evaluator {
    pub name: String,
    pub role: EvaluatorRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

/// Evaluation design, from weakest to strongest causal claim (roughly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Method {
    Monitoring,
    Qualitative,
    CaseStudy,
    PrePost,
    ComparisonGroup,
    DifferenceInDifferences,
    RegressionDiscontinuity,
    Rct,
    Mixed,
}

/// Evidence level 1 (anecdotal) to 5 (replicated experimental evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct EvidenceLevel(u8);

impl EvidenceLevel {
    pub fn new(level: u8) -> Result<Self, String> {
        if (1..=5).contains(&level) {
            Ok(Self(level))
        } else {
            Err(format!("evidence level {level} is outside 1 to 5"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for EvidenceLevel {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<EvidenceLevel> for u8 {
    fn from(value: EvidenceLevel) -> Self {
        value.0
    }
}

/// One OECD-DAC judgement: a rating 1 (poor) to 4 (very good) and a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DacJudgement {
    pub rating: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<LangMap>,
}

/// Judgements on the six OECD-DAC criteria; any may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DacJudgements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance: Option<DacJudgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coherence: Option<DacJudgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effectiveness: Option<DacJudgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<DacJudgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<DacJudgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustainability: Option<DacJudgement>,
}

impl DacJudgements {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &DacJudgement)> {
        [
            ("relevance", &self.relevance),
            ("coherence", &self.coherence),
            ("effectiveness", &self.effectiveness),
            ("efficiency", &self.efficiency),
            ("impact", &self.impact),
            ("sustainability", &self.sustainability),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    }
}

/// A confidence interval around `actual`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfidenceInterval {
    pub lower: f64,
    pub upper: f64,
    /// Coverage, e.g. 0.95.
    #[serde(default = "default_ci_level")]
    pub level: f64,
}

fn default_ci_level() -> f64 {
    0.95
}

/// One value of one indicator for one period and (optionally) one disaggregated group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndicatorValue {
    pub indicator: IndicatorRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<f64>,
    /// Number of people (or units) the value is computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<ConfidenceInterval>,
    /// The values per group and time point, for designs with a comparison group or a cohort
    /// measured twice. When given, the single-group fields (`baseline`, `actual`, `numerator`,
    /// `denominator`, `n`, `ci`) are left out; `target` stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// Category per dimension, e.g. `{"sex": "female"}`; empty for the total.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disaggregation: BTreeMap<String, String>,
    /// Set by disclosure control on values that leave the node: `primary` or `secondary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

/// Whether the evaluation is a registered plan or reports results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvaluationStage {
    /// Pre-registration: design and targets before results exist.
    Plan,
    #[default]
    Results,
}

/// The editable content of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluationContent {
    pub subject: EvaluationSubject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LangMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LangMap>,
    pub evaluator: Evaluator,
    pub method: Method,
    pub evidence_level: EvidenceLevel,
    pub period: Period,
    #[serde(default)]
    pub stage: EvaluationStage,
    /// The plan (stage `plan`) these results follow: the id of another evaluation of the same
    /// organisation with the same subject. Only results name a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dac: Option<DacJudgements>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<IndicatorValue>,
}

/// Most indicator values in one evaluation.
pub const MAX_VALUES: usize = 10_000;

impl Validate for EvaluationContent {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let s = &self.subject;
        match (&s.practice, &s.adaptation) {
            (Some(_), Some(_)) => errors.add(
                "subject",
                "name either a practice or an adaptation, not both",
            ),
            (None, None) => errors.add("subject", "must name a practice or an adaptation"),
            (None, Some(_)) if s.practice_version.is_some() => errors.add(
                "subject.practiceVersion",
                "only applies to a practice subject",
            ),
            _ => {}
        }
        if self.stage == EvaluationStage::Plan && self.plan.is_some() {
            errors.add(
                "plan",
                "only results (stage 'results') may name the plan they follow",
            );
        }
        if let Some(plan) = &self.plan
            && plan.trim().is_empty()
        {
            errors.add(
                "plan",
                "must not be empty; leave it out when no plan was registered",
            );
        }
        if self.evaluator.name.trim().is_empty() {
            errors.add("evaluator.name", "must not be empty");
        }
        if let Err(e) = self.period.check() {
            errors.add("period", e);
        }
        if let Some(dac) = &self.dac {
            for (name, j) in dac.iter() {
                if !(1..=4).contains(&j.rating) {
                    errors.add(
                        format!("dac.{name}.rating"),
                        format!("rating {} is outside 1 to 4", j.rating),
                    );
                }
            }
        }
        if self.values.len() > MAX_VALUES {
            errors.add(
                "values",
                format!(
                    "has {} values; at most {MAX_VALUES} allowed",
                    self.values.len()
                ),
            );
        }
        for (i, v) in self.values.iter().enumerate() {
            let f = |name: &str| format!("values[{i}].{name}");
            if v.suppressed.is_some() {
                errors.add(
                    f("suppressed"),
                    "is set by disclosure control, not by the evaluator",
                );
            }
            if self.stage == EvaluationStage::Plan && v.actual.is_some() {
                errors.add(
                    f("actual"),
                    "a plan (stage 'plan') has no actual results yet",
                );
            }
            if let Some(p) = &v.period
                && let Err(e) = p.check()
            {
                errors.add(f("period"), e);
            }
            for (name, x) in [("numerator", v.numerator), ("denominator", v.denominator)] {
                if let Some(x) = x
                    && (!x.is_finite() || x < 0.0)
                {
                    errors.add(
                        f(name),
                        format!("{x} is negative; counts are never negative"),
                    );
                }
            }
            if v.denominator == Some(0.0) {
                errors.add(f("denominator"), "must not be zero");
            }
            if let Some(x) = v.numerator
                && x.is_finite()
                && x.fract() != 0.0
            {
                errors.add(
                    f("numerator"),
                    format!("{x} is not a whole number; a numerator counts people or events"),
                );
            }
            if let Some(ci) = &v.ci {
                check_ci(ci, v.actual, "actual", &f("ci"), &mut errors);
            }
            if let Some(groups) = &v.groups {
                for (name, present) in [
                    ("baseline", v.baseline.is_some()),
                    ("actual", v.actual.is_some()),
                    ("numerator", v.numerator.is_some()),
                    ("denominator", v.denominator.is_some()),
                    ("n", v.n.is_some()),
                    ("ci", v.ci.is_some()),
                ] {
                    if present {
                        errors.add(
                            f(name),
                            "give the values per group in `groups`, not beside them",
                        );
                    }
                }
                groups.check(
                    self.stage == EvaluationStage::Plan,
                    &f("groups"),
                    &mut errors,
                );
            } else if v.baseline.is_none() && v.target.is_none() && v.actual.is_none() {
                errors.add(
                    f("actual"),
                    "a value needs at least one of baseline, target or actual",
                );
            }
        }
        errors.into_result()
    }
}

impl EvaluationContent {
    /// Checks every value against its indicator definition: the `code@version` must be known,
    /// values must be in the measure's range, disaggregations must be allowed.
    pub fn validate_against<'a>(
        &self,
        lookup: impl Fn(&IndicatorRef) -> Option<&'a IndicatorDefinition>,
    ) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (i, v) in self.values.iter().enumerate() {
            let f = |name: &str| format!("values[{i}].{name}");
            let Some(def) = lookup(&v.indicator) else {
                errors.add(
                    f("indicator"),
                    format!(
                        "unknown indicator {}; import the catalogue or define it first",
                        v.indicator
                    ),
                );
                continue;
            };
            for (name, x) in [
                ("baseline", v.baseline),
                ("target", v.target),
                ("actual", v.actual),
            ] {
                if let Some(x) = x
                    && let Err(e) = def.measure.check(x)
                {
                    errors.add(
                        f(name),
                        format!("{e} ({} is a {})", v.indicator, def.measure.as_str()),
                    );
                }
            }
            let measure = def.measure;
            if let Some(groups) = &v.groups {
                groups.check_against(measure, &f("groups"), &mut errors);
            }
            if matches!(measure, Measure::Proportion | Measure::Percentage)
                && let (Some(num), Some(den)) = (v.numerator, v.denominator)
                && den > 0.0
            {
                if num > den {
                    errors.add(
                            f("numerator"),
                            format!("{num} is more than the denominator {den}; a share's numerator counts part of its denominator"),
                        );
                }
                if den.fract() != 0.0 {
                    errors.add(
                        f("denominator"),
                        format!("{den} is not a whole number of people"),
                    );
                }
                if let Some(a) = v.actual {
                    check_share(
                        a,
                        (num, den),
                        measure,
                        (f("actual"), "actual must equal numerator / denominator"),
                        &mut errors,
                    );
                }
                if let Some(n) = v.n
                    && n as f64 != den
                {
                    errors.add(
                            f("n"),
                            format!("{n} differs from the denominator {den}; for a share they are the same people"),
                        );
                }
            }
            for (dim, cat) in &v.disaggregation {
                match def.disaggregation(dim) {
                    None => errors.add(
                        format!("values[{i}].disaggregation.{dim}"),
                        format!("{} allows no disaggregation by '{dim}'", v.indicator),
                    ),
                    Some(d) if !d.categories.iter().any(|c| c == cat) => errors.add(
                        format!("values[{i}].disaggregation.{dim}"),
                        format!(
                            "'{cat}' is not a category of '{dim}' (allowed: {})",
                            d.categories.join(", ")
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        errors.into_result()
    }
}

/// One stored version of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub id: String,
    pub version: u32,
    #[serde(flatten)]
    pub content: EvaluationContent,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg(test)]
mod tests;
