//! Indicator values per group and time point: the cells of a design with a comparison group or
//! a cohort measured twice, and the cross-field rules a cell obeys on its own and against its
//! indicator's measure.

use serde::{Deserialize, Serialize};

use super::ConfidenceInterval;
use crate::error::ValidationErrors;
use crate::indicator::Measure;

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
    pub suppressed: Option<super::Suppression>,
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
    /// The rules of every cell against the indicator's measure ([`check_cell_against`]).
    pub(super) fn check_against(
        &self,
        measure: Measure,
        path: &str,
        errors: &mut ValidationErrors,
    ) {
        for (cell_path, cell) in self.cells() {
            check_cell_against(cell, &format!("{path}.{cell_path}"), measure, errors);
        }
    }

    /// The rules of a value's groups on their own: each group has a cell, the correlation is
    /// one, every cell obeys [`check_cell`], and a plan has no follow-up cells. `path` is the
    /// JSON path of the `groups` member.
    pub(super) fn check(&self, plan: bool, path: &str, errors: &mut ValidationErrors) {
        if self.intervention.baseline.is_none() && self.intervention.follow_up.is_none() {
            errors.add(
                format!("{path}.intervention"),
                "needs a baseline or a followUp cell",
            );
        }
        if let Some(c) = &self.comparison
            && c.baseline.is_none()
            && c.follow_up.is_none()
        {
            errors.add(
                format!("{path}.comparison"),
                "needs a baseline or a followUp cell; leave it out when there is no comparison group",
            );
        }
        if let Some(r) = self.correlation
            && !(r.is_finite() && (-1.0..=1.0).contains(&r))
        {
            errors.add(
                format!("{path}.correlation"),
                format!("{r} is not a correlation (−1 to 1)"),
            );
        }
        for (cell_path, cell) in self.cells() {
            let cell_path = format!("{path}.{cell_path}");
            check_cell(cell, &cell_path, errors);
            if plan && cell_path.ends_with("followUp") {
                errors.add(
                    cell_path,
                    "a plan (stage 'plan') has no follow-up results yet",
                );
            }
        }
    }

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

/// Checks a reported share against the counts it comes from: it must equal `count / total`
/// (×100 for a percentage) as rounded, to half a unit of the second decimal of a proportion or
/// of the whole percent of a percentage. `rule` names the quotient in the message. Other
/// measures are not shares and pass.
pub(super) fn check_share(
    reported: f64,
    (count, total): (f64, f64),
    measure: Measure,
    (field, rule): (String, &str),
    errors: &mut ValidationErrors,
) {
    let (scale, tolerance) = match measure {
        Measure::Proportion => (1.0, 0.005),
        Measure::Percentage => (100.0, 0.5),
        _ => return,
    };
    if total <= 0.0 {
        return;
    }
    let share = count / total * scale;
    if (share - reported).abs() > tolerance + 1e-9 {
        errors.add(
            field,
            format!(
                "{reported} is not {count} of {total} ({}); {rule}",
                (share * 1e6).round() / 1e6
            ),
        );
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

pub(super) fn check_ci(
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
    if let (Some(e), Some(n), Some(m)) = (cell.events, cell.n, cell.mean) {
        check_share(
            m,
            (e as f64, n as f64),
            measure,
            (format!("{path}.mean"), "the share must equal events / n"),
            errors,
        );
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
