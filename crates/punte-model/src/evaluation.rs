//! Impact evaluations and their indicator values, pinned to `code@version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::Period;
use crate::error::{Validate, ValidationErrors};
use crate::indicator::{IndicatorDefinition, IndicatorRef, Measure};
use crate::lang::LangMap;

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

/// What was observed in one group at one time point: the people counted (`n`), for counts and
/// shares the number with the outcome (`events`), for scores the `mean` with its spread (`sd`
/// of the individual measurements, or `se` of the mean), and a confidence interval when the
/// evaluator reports one. For a proportion or percentage indicator `mean` is the share itself
/// (`events / n`, in the indicator's unit).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cell {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<ConfidenceInterval>,
    /// Set by disclosure control on cells that leave the node: `primary` or `secondary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<crate::disclosure::Suppression>,
}

impl Cell {
    /// Whether the cell carries any observation (a suppressed cell carries none).
    pub fn is_empty(&self) -> bool {
        self.n.is_none()
            && self.events.is_none()
            && self.mean.is_none()
            && self.sd.is_none()
            && self.se.is_none()
            && self.ci.is_none()
    }
}

/// One group (intervention or comparison) at its time points. A design without a baseline
/// measurement (a post-only comparison, most RCTs) gives only `followUp`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupCells {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Cell>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<Cell>,
}

impl GroupCells {
    /// The cells present, with their JSON names.
    pub fn cells(&self) -> impl Iterator<Item = (&'static str, &Cell)> {
        [("baseline", &self.baseline), ("followUp", &self.follow_up)]
            .into_iter()
            .filter_map(|(name, c)| c.as_ref().map(|c| (name, c)))
    }

    pub fn cells_mut(&mut self) -> impl Iterator<Item = &mut Cell> {
        [&mut self.baseline, &mut self.follow_up]
            .into_iter()
            .filter_map(Option::as_mut)
    }
}

/// The values of a design with groups: the intervention group and, for comparison-group,
/// difference-in-differences and randomised designs, the comparison group. A single group
/// measured before and after (pre-post) gives only `intervention`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Groups {
    pub intervention: GroupCells,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<GroupCells>,
    /// The correlation between the baseline and follow-up measurements of the same people
    /// (−1 to 1), when both time points measure one cohort; the analysis states the default it
    /// uses when it is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
}

impl Groups {
    /// Every cell present, with its JSON path below `groups`.
    pub fn cells(&self) -> impl Iterator<Item = (String, &Cell)> {
        let intervention = self
            .intervention
            .cells()
            .map(|(t, c)| (format!("intervention.{t}"), c));
        let comparison = self
            .comparison
            .iter()
            .flat_map(|g| g.cells().map(|(t, c)| (format!("comparison.{t}"), c)));
        intervention.chain(comparison)
    }

    pub fn cells_mut(&mut self) -> impl Iterator<Item = &mut Cell> {
        self.intervention
            .cells_mut()
            .chain(self.comparison.iter_mut().flat_map(GroupCells::cells_mut))
    }
}

/// How far a reported share may sit from `events / n` and still count as the same number
/// rounded: half a unit of the second decimal of a proportion, of the whole percent of a
/// percentage.
fn share_tolerance(measure: Measure) -> Option<f64> {
    match measure {
        Measure::Proportion => Some(0.005 + 1e-9),
        Measure::Percentage => Some(0.5 + 1e-9),
        _ => None,
    }
}

/// A share in the indicator's unit: `events / n`, times 100 for a percentage.
fn share_in_unit(events: f64, n: f64, measure: Measure) -> f64 {
    let share = events / n;
    if measure == Measure::Percentage {
        share * 100.0
    } else {
        share
    }
}

fn check_cell(cell: &Cell, path: &str, errors: &mut ValidationErrors) {
    let f = |name: &str| format!("{path}.{name}");
    if cell.suppressed.is_some() {
        errors.add(
            f("suppressed"),
            "is set by disclosure control, not by the evaluator",
        );
    }
    if cell.n.is_none() && cell.events.is_none() && cell.mean.is_none() {
        errors.add(
            path.to_owned(),
            "a cell needs at least n, events or mean; leave out a time point that was not measured",
        );
    }
    if cell.n == Some(0) {
        errors.add(f("n"), "must be at least 1");
    }
    if let (Some(e), Some(n)) = (cell.events, cell.n)
        && e > n
    {
        errors.add(
            f("events"),
            format!("{e} events among {n} people; events cannot exceed n"),
        );
    }
    if let Some(m) = cell.mean
        && !m.is_finite()
    {
        errors.add(f("mean"), "must be a finite number");
    }
    for (name, x) in [("sd", cell.sd), ("se", cell.se)] {
        if let Some(x) = x
            && (!x.is_finite() || x < 0.0)
        {
            errors.add(
                f(name),
                format!("{x} is not a spread; it must be a finite number ≥ 0"),
            );
        }
    }
    if let Some(ci) = &cell.ci {
        check_ci(ci, cell.mean, "mean", &f("ci"), errors);
    }
}

fn check_ci(
    ci: &ConfidenceInterval,
    estimate: Option<f64>,
    estimate_name: &str,
    path: &str,
    errors: &mut ValidationErrors,
) {
    if !(ci.lower.is_finite() && ci.upper.is_finite()) || ci.lower > ci.upper {
        errors.add(path.to_owned(), "lower must be a number not above upper");
    }
    if !(ci.level > 0.0 && ci.level < 1.0) {
        errors.add(
            format!("{path}.level"),
            "must be between 0 and 1 (e.g. 0.95)",
        );
    }
    if let Some(a) = estimate
        && (a < ci.lower || a > ci.upper)
    {
        errors.add(
            path.to_owned(),
            format!("{estimate_name} {a} lies outside its confidence interval"),
        );
    }
}

/// Checks a cell against its indicator's measure: the mean in the measure's range, and for a
/// share the mean equal to `events / n` as rounded.
fn check_cell_against(cell: &Cell, path: &str, measure: Measure, errors: &mut ValidationErrors) {
    if let Some(m) = cell.mean
        && let Err(e) = measure.check(m)
    {
        errors.add(format!("{path}.mean"), e);
    }
    if measure == Measure::Count
        && let (Some(e), Some(m)) = (cell.events, cell.mean)
        && (e as f64 - m).abs() > 1e-9
    {
        errors.add(
            format!("{path}.mean"),
            format!("a count's mean {m} differs from its events {e}; give one of them"),
        );
    }
    if let (Some(tol), Some(e), Some(n), Some(m)) =
        (share_tolerance(measure), cell.events, cell.n, cell.mean)
        && n > 0
    {
        let share = share_in_unit(e as f64, n as f64, measure);
        if (share - m).abs() > tol {
            errors.add(
                format!("{path}.mean"),
                format!(
                    "{m} is not {e} of {n} ({}); the share must equal events / n",
                    (share * 1e6).round() / 1e6
                ),
            );
        }
    }
    if matches!(measure, Measure::Mean | Measure::Amount | Measure::Rate) && cell.events.is_some() {
        errors.add(
            format!("{path}.events"),
            format!(
                "a {} indicator has no events; give mean with sd or se",
                measure.as_str()
            ),
        );
    }
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
    pub suppressed: Option<crate::disclosure::Suppression>,
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
                if groups.intervention.baseline.is_none() && groups.intervention.follow_up.is_none()
                {
                    errors.add(
                        f("groups.intervention"),
                        "needs a baseline or a followUp cell",
                    );
                }
                if let Some(c) = &groups.comparison
                    && c.baseline.is_none()
                    && c.follow_up.is_none()
                {
                    errors.add(
                        f("groups.comparison"),
                        "needs a baseline or a followUp cell; leave it out when there is no comparison group",
                    );
                }
                if let Some(r) = groups.correlation
                    && !(r.is_finite() && (-1.0..=1.0).contains(&r))
                {
                    errors.add(
                        f("groups.correlation"),
                        format!("{r} is not a correlation (−1 to 1)"),
                    );
                }
                for (path, cell) in groups.cells() {
                    check_cell(cell, &f(&format!("groups.{path}")), &mut errors);
                    if self.stage == EvaluationStage::Plan && path.ends_with("followUp") {
                        errors.add(
                            f(&format!("groups.{path}")),
                            "a plan (stage 'plan') has no follow-up results yet",
                        );
                    }
                }
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
                for (path, cell) in groups.cells() {
                    check_cell_against(cell, &f(&format!("groups.{path}")), measure, &mut errors);
                }
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
                if let (Some(a), Some(tol)) = (v.actual, share_tolerance(measure)) {
                    let share = share_in_unit(num, den, measure);
                    if (share - a).abs() > tol {
                        errors.add(
                                f("actual"),
                                format!(
                                    "{a} is not {num} of {den} ({}); actual must equal numerator / denominator",
                                    (share * 1e6).round() / 1e6
                                ),
                            );
                    }
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
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn content(values: serde_json::Value) -> EvaluationContent {
        serde_json::from_value(json!({
            "subject": {"practice": "p1"},
            "evaluator": {"name": "M&E", "role": "internal"},
            "method": "rct", "evidenceLevel": 4,
            "period": {"start": "2024-01-01", "end": "2024-12-31"},
            "values": values
        }))
        .unwrap()
    }

    fn definition(measure: &str) -> IndicatorDefinition {
        serde_json::from_value(json!({
            "code": "x", "version": 1, "label": {"en": "x"}, "unit": "u",
            "measure": measure, "direction": "increase", "aggregation": "sum"
        }))
        .unwrap()
    }

    /// The field paths of every error, after both validations.
    fn errors(values: serde_json::Value, measure: &str) -> Vec<String> {
        let c = content(values);
        let def = definition(measure);
        let mut out: Vec<String> = Vec::new();
        if let Err(e) = c.validate() {
            out.extend(e.0.into_iter().map(|e| e.field));
        }
        if let Err(e) = c.validate_against(|_| Some(&def)) {
            out.extend(e.0.into_iter().map(|e| e.field));
        }
        out
    }

    #[test]
    fn two_group_values_are_accepted() {
        let v = json!([{"indicator": "x@1", "groups": {
            "intervention": {"baseline": {"n": 100, "events": 30, "mean": 0.3},
                             "followUp": {"n": 98, "events": 20}},
            "comparison": {"followUp": {"n": 101, "events": 31, "mean": 0.31}},
            "correlation": 0.5
        }}]);
        assert_eq!(errors(v, "proportion"), Vec::<String>::new());
        let v = json!([{"indicator": "x@1", "groups": {
            "intervention": {"followUp": {"n": 40, "mean": 12.5, "sd": 3.0,
                              "ci": {"lower": 11.0, "upper": 14.0}}},
            "comparison": {"followUp": {"n": 38, "mean": 10.0, "se": 0.5}}
        }}]);
        assert_eq!(errors(v, "mean"), Vec::<String>::new());
    }

    #[test]
    fn inconsistent_cells_are_refused_with_their_paths() {
        let v = json!([{"indicator": "x@1", "groups": {
            "intervention": {"followUp": {"n": 10, "events": 11}},
            "comparison": {"followUp": {"n": 50, "events": 10, "mean": 0.5}}
        }}]);
        assert_eq!(
            errors(v, "proportion"),
            vec![
                "values[0].groups.intervention.followUp.events",
                "values[0].groups.comparison.followUp.mean"
            ]
        );
        let v = json!([{"indicator": "x@1", "groups": {
            "intervention": {"followUp": {"n": 10, "mean": 2.0, "sd": -1.0,
                              "ci": {"lower": 3.0, "upper": 4.0}}},
            "correlation": 1.5
        }}]);
        assert_eq!(
            errors(v, "mean"),
            vec![
                "values[0].groups.correlation",
                "values[0].groups.intervention.followUp.sd",
                "values[0].groups.intervention.followUp.ci",
            ]
        );
        // a fractional count is refused when the JSON is read
        assert!(serde_json::from_value::<Cell>(json!({"n": 10, "events": 2.5})).is_err());
        // flat fields beside groups
        let v = json!([{"indicator": "x@1", "actual": 0.2, "n": 10,
            "groups": {"intervention": {"followUp": {"n": 10, "events": 2}}}}]);
        assert_eq!(
            errors(v, "proportion"),
            vec!["values[0].actual", "values[0].n"]
        );
        // events on a mean indicator
        let v = json!([{"indicator": "x@1",
            "groups": {"intervention": {"followUp": {"n": 10, "events": 2, "mean": 3.0}}}}]);
        assert_eq!(
            errors(v, "mean"),
            vec!["values[0].groups.intervention.followUp.events"]
        );
    }

    #[test]
    fn single_group_values_must_agree_with_their_counts() {
        // actual 50 with 10 of 1000
        let v =
            json!([{"indicator": "x@1", "actual": 50.0, "numerator": 10.0, "denominator": 1000.0}]);
        assert_eq!(errors(v, "percentage"), vec!["values[0].actual"]);
        let v =
            json!([{"indicator": "x@1", "actual": 1.0, "numerator": 10.0, "denominator": 1000.0}]);
        assert_eq!(errors(v, "percentage"), Vec::<String>::new());
        // numerator above denominator, n not the denominator, a fractional count
        let v = json!([{"indicator": "x@1", "actual": 1.0, "numerator": 12.0, "denominator": 10.0, "n": 10}]);
        assert_eq!(errors(v, "proportion")[0], "values[0].numerator");
        let v = json!([{"indicator": "x@1", "actual": 0.2, "numerator": 2.0, "denominator": 10.0, "n": 12}]);
        assert_eq!(errors(v, "proportion"), vec!["values[0].n"]);
        let v =
            json!([{"indicator": "x@1", "actual": 0.25, "numerator": 2.5, "denominator": 10.0}]);
        assert_eq!(errors(v, "proportion"), vec!["values[0].numerator"]);
        // a rate's numerator may exceed its denominator (events per person-year)
        let v =
            json!([{"indicator": "x@1", "actual": 1.2, "numerator": 12.0, "denominator": 10.0}]);
        assert_eq!(errors(v, "rate"), Vec::<String>::new());
    }

    #[test]
    fn plans_have_no_follow_up_cells() {
        let mut c = content(json!([{"indicator": "x@1", "target": 0.5,
            "groups": {"intervention": {"baseline": {"n": 10, "events": 3},
                                        "followUp": {"n": 10, "events": 5}}}}]));
        c.stage = EvaluationStage::Plan;
        let e = c.validate().unwrap_err();
        assert_eq!(e.0[0].field, "values[0].groups.intervention.followUp");
    }
}
