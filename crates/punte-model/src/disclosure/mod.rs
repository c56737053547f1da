//! Disclosure control: small cells never leave the node.
//!
//! Primary suppression hides every value computed from fewer than `k` people. Secondary
//! suppression then hides further cells wherever a reader could get one back: by subtraction
//! within a breakdown, from the same people under another indicator, from an earlier version,
//! or by combining several breakdowns (the bounds of `bounds.rs`). [`disclose`] is the rule
//! (written in `docs/protocol.md`, "Disclosure control"); `attack.rs` is the attacker that
//! checks it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::Period;
use crate::evaluation::{Cell, IndicatorValue};
use crate::indicator::{IndicatorRef, Measure};

mod bounds;

/// The default threshold: cells below 5 are suppressed.
pub const DEFAULT_K: u64 = 5;

/// How a value was hidden (kept on the value, so it lives with the evaluation types).
pub use crate::evaluation::Suppression;

/// The counts a share reveals with its total: the people with the outcome (`share × n`, a
/// percentage divided by 100) and those without (`n − events`).
fn share_counts(share: Option<f64>, total: Option<f64>, measure: Option<Measure>) -> Vec<f64> {
    let scale = match measure {
        Some(Measure::Proportion) => 1.0,
        Some(Measure::Percentage) => 100.0,
        _ => return Vec::new(),
    };
    match (share, total) {
        (Some(share), Some(n)) if share.is_finite() && n.is_finite() => {
            let events = (share / scale * n).round();
            vec![events, n - events]
        }
        _ => Vec::new(),
    }
}

/// The smallest group of people among the counts a cell reveals. A count of zero describes
/// nobody, so it is not a group: a row with no events (0 of 40) is published and analysed.
fn smallest_group(sizes: Vec<f64>) -> Option<f64> {
    sizes.into_iter().filter(|s| *s != 0.0).reduce(f64::min)
}

/// The size of a cell: the smallest of the counts it reveals: `n`, the denominator, the
/// numerator and its complement (`n − numerator`), the counts a share gives with its `n`, and
/// for a count indicator its baseline and actual. `None` when the value carries no count.
fn cell_size(value: &IndicatorValue, measure: Option<Measure>) -> Option<f64> {
    let mut sizes: Vec<f64> = Vec::new();
    let total = value.n.map(|n| n as f64).or(value.denominator);
    sizes.extend(total);
    sizes.extend(value.denominator);
    if let Some(x) = value.numerator {
        sizes.push(x);
        if let Some(t) = total {
            sizes.push(t - x);
        }
    } else {
        sizes.extend(share_counts(value.actual, total, measure));
    }
    if measure.is_some_and(Measure::is_count_like) {
        sizes.extend([value.baseline, value.actual].into_iter().flatten());
    }
    smallest_group(sizes)
}

/// The size of one cell of a value's `groups`, by the same rule: `n`, `events`, `n − events`,
/// the counts its share gives, and for a count indicator its mean.
fn group_cell_size(cell: &Cell, measure: Option<Measure>) -> Option<f64> {
    let mut sizes: Vec<f64> = Vec::new();
    let n = cell.n.map(|n| n as f64);
    sizes.extend(n);
    if let Some(e) = cell.events {
        sizes.push(e as f64);
        if let Some(n) = n {
            sizes.push(n - e as f64);
        }
    } else {
        sizes.extend(share_counts(cell.mean, n, measure));
    }
    if measure.is_some_and(Measure::is_count_like) {
        sizes.extend(cell.mean);
    }
    smallest_group(sizes)
}

/// Hides every cell of a value's groups below `k`; whether any was hidden.
fn suppress_group_cells(value: &mut IndicatorValue, k: f64, measure: Option<Measure>) -> bool {
    let Some(groups) = value.groups.as_mut() else {
        return false;
    };
    let mut any = false;
    let comparison = groups.comparison.iter_mut();
    for cells in std::iter::once(&mut groups.intervention).chain(comparison) {
        for cell in [cells.baseline.as_mut(), cells.follow_up.as_mut()]
            .into_iter()
            .flatten()
        {
            if group_cell_size(cell, measure).is_some_and(|s| s < k) {
                *cell = Cell {
                    suppressed: Some(Suppression::Primary),
                    ..Cell::default()
                };
                any = true;
            }
        }
    }
    any
}

fn blank(value: &mut IndicatorValue, why: Suppression) {
    value.baseline = None;
    value.actual = None;
    value.numerator = None;
    value.denominator = None;
    value.n = None;
    value.ci = None;
    if let Some(groups) = value.groups.as_mut() {
        let comparison = groups.comparison.iter_mut();
        for cells in std::iter::once(&mut groups.intervention).chain(comparison) {
            for cell in [cells.baseline.as_mut(), cells.follow_up.as_mut()]
                .into_iter()
                .flatten()
            {
                *cell = Cell {
                    suppressed: Some(cell.suppressed.unwrap_or(why)),
                    ..Cell::default()
                };
            }
        }
    }
    // the target is a plan, not an observation of people: it stays.
    value.suppressed = Some(why);
}

/// Returns the values as they may leave the node: cells below `k` and the cells that would
/// reveal them are blanked and marked. `measure_of` gives each indicator's measure (count
/// indicators reveal people through their values too). Values without a period of their own
/// are taken to describe the evaluation's, as [`apply_in`] does with `None`.
pub fn apply(
    values: &[IndicatorValue],
    k: u64,
    measure_of: impl Fn(&IndicatorRef) -> Option<Measure>,
) -> Vec<IndicatorValue> {
    apply_in(values, k, None, measure_of)
}

/// People and people with the outcome a value gives: `n` (or the denominator) and the
/// numerator (or, for a share, `share × n`).
fn people(value: &IndicatorValue, measure: Option<Measure>) -> (Option<f64>, Option<f64>) {
    let total = value.n.map(|n| n as f64).or(value.denominator);
    let events = value
        .numerator
        .or_else(|| share_counts(value.actual, total, measure).first().copied());
    (total, events)
}

/// The period a value describes: its own, else the evaluation's.
fn period_key(value: &IndicatorValue, default: Option<&Period>) -> String {
    value
        .period
        .as_ref()
        .or(default)
        .map(|p| format!("{}/{:?}", p.start, p.end))
        .unwrap_or_default()
}

/// [`apply`] for the values of one evaluation whose period is `period`: a value without a
/// period of its own is matched with the totals of that period. No earlier version is taken
/// into account; [`disclose`] does that.
pub fn apply_in(
    values: &[IndicatorValue],
    k: u64,
    period: Option<&Period>,
    measure_of: impl Fn(&IndicatorRef) -> Option<Measure>,
) -> Vec<IndicatorValue> {
    disclose(values, k, period, &[], measure_of).values
}

/// A version of the same evaluation already published: its values as they left the node.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    pub version: u64,
    pub values: &'a [IndicatorValue],
    /// That version's evaluation period (the default of its values).
    pub period: Option<&'a Period>,
}

impl<'a> Published<'a> {
    /// A published version: its number, values (as they left the node) and period.
    pub fn of(evaluation: &'a crate::evaluation::Evaluation) -> Self {
        Published {
            version: u64::from(evaluation.version),
            values: &evaluation.content.values,
            period: Some(&evaluation.content.period),
        }
    }
}

/// Why a value is published blank. Only for the evaluator (the preview): it names sizes a
/// partner must not see, so it never leaves the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "rule")]
pub enum Reason {
    /// The value itself reveals a group of `size` people, fewer than k.
    #[serde(rename_all = "camelCase")]
    BelowThreshold { size: f64 },
    /// Subtracting the visible cells from value `margin` would give back a group of `group`
    /// people (or people with or without the outcome), fewer than k.
    #[serde(rename_all = "camelCase")]
    Recoverable { margin: usize, group: f64 },
    /// Value `with` describes the same people (same period and categories, another
    /// indicator) and is hidden.
    #[serde(rename_all = "camelCase")]
    Linked { with: usize },
    /// The same people were published hidden in `version`; a hidden cell stays hidden.
    #[serde(rename_all = "camelCase")]
    HiddenBefore { version: u64 },
    /// Without it, the published values would bound a count of value `value` below k (a
    /// reader combining several breakdowns: a hidden margin is at least the sum of its
    /// visible cells).
    #[serde(rename_all = "camelCase")]
    Bounded { value: usize },
    /// The value differs from what `version` published by `people` people (or people with
    /// or without the outcome), fewer than k: the two versions would give them by difference.
    #[serde(rename_all = "camelCase")]
    Differencing { version: u64, people: f64 },
}

/// What [`disclose`] decided: the values as they may leave the node, and per value why it is
/// blank (`None` for a value published as recorded, apart from its hidden group cells).
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    pub values: Vec<IndicatorValue>,
    pub reasons: Vec<Option<Reason>>,
}

/// The people a value describes: its period and categories, whatever the indicator.
fn population(value: &IndicatorValue, default: Option<&Period>) -> (String, String) {
    (
        period_key(value, default),
        format!("{:?}", value.disaggregation),
    )
}

/// The counts a value reveals that a reader can difference between versions: people, people
/// with the outcome, people without it.
fn revealed(value: &IndicatorValue, measure: Option<Measure>) -> [Option<f64>; 3] {
    let (total, events) = people(value, measure);
    let without = total.zip(events).map(|(t, e)| t - e);
    [total, events, without]
}

/// The visible value to hide so that `violation` is bounded at `k` or more: among the
/// candidates `size_of` gives a size for (the values of the violation's period, the smallest
/// first), the first that loosens the bound enough, else the one that loosens it most, else
/// the smallest.
fn loosening(
    structure: &bounds::Structure,
    hidden: &[bool],
    known_people: &[bool],
    violation: bounds::Violation,
    k: f64,
    size_of: impl Fn(usize) -> Option<f64>,
) -> Option<usize> {
    let scope: Vec<bool> = (0..hidden.len()).map(|i| size_of(i).is_some()).collect();
    let mut candidates: Vec<(f64, usize)> = (0..hidden.len())
        .filter(|&i| !hidden.get(i).copied().unwrap_or(true))
        .filter_map(|i| size_of(i).map(|s| (s, i)))
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut best: Option<(f64, usize)> = None;
    let mut mask = hidden.to_vec();
    for &(_, c) in &candidates {
        if let Some(m) = mask.get_mut(c) {
            *m = true;
        }
        let bound = structure
            .bounds_within(&mask, known_people, &scope)
            .upper(violation.value, violation.kind);
        if let Some(m) = mask.get_mut(c) {
            *m = false;
        }
        if bound >= k {
            return Some(c);
        }
        if bound > violation.bound && best.is_none_or(|(b, _)| bound > b) {
            best = Some((bound, c));
        }
    }
    best.map(|(_, c)| c)
        .or_else(|| candidates.first().map(|&(_, c)| c))
}

/// Returns the values of one evaluation as they may leave the node, given the versions of it
/// already `published` (oldest first), and why each blank value is blank.
///
/// 1. Primary: a value (or group cell) that reveals fewer than `k` people is hidden.
/// 2. History: a value whose people were published hidden in an earlier version stays
///    hidden; a value that differs from an earlier visible one of the same people and
///    indicator by more than zero but fewer than `k` people (with or without the outcome) is
///    hidden, so versions cannot be subtracted.
/// 3. Linked tables and secondary suppression, to a fixed point: every value describing the
///    same people as a hidden one (same period and categories, any indicator) is hidden; in
///    every breakdown (the cells that share indicator, period and every category except one
///    dimension, with their margin, the cell without it) a reader can recover the margin minus
///    the visible cells: the hidden cells together plus any category the evaluator did not
///    record (a residual: total 40, female 30, male 8 leaves 2). While that group is above
///    zero but below `k` (in people, people with the outcome, or without it), one more cell is
///    hidden: the smallest visible cell, or the margin when none is left.
pub fn disclose(
    values: &[IndicatorValue],
    k: u64,
    period: Option<&Period>,
    published: &[Published<'_>],
    measure_of: impl Fn(&IndicatorRef) -> Option<Measure>,
) -> Disclosure {
    let k = k as f64;
    let mut out: Vec<IndicatorValue> = values.to_vec();
    let mut reasons: Vec<Option<Reason>> = vec![None; values.len()];
    let measures: Vec<Option<Measure>> = values.iter().map(|v| measure_of(&v.indicator)).collect();
    let sizes: Vec<Option<f64>> = values
        .iter()
        .zip(&measures)
        .map(|(v, m)| cell_size(v, *m))
        .collect();
    let people_of: Vec<(Option<f64>, Option<f64>)> = values
        .iter()
        .zip(&measures)
        .map(|(v, m)| people(v, *m))
        .collect();
    let populations: Vec<(String, String)> = values.iter().map(|v| population(v, period)).collect();
    let mut groups: BTreeMap<&(String, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in populations.iter().enumerate() {
        groups.entry(p).or_default().push(i);
    }
    let hide = |out: &mut [IndicatorValue],
                reasons: &mut [Option<Reason>],
                i: usize,
                why: Suppression,
                reason: Reason|
     -> bool {
        match (out.get_mut(i), reasons.get_mut(i)) {
            (Some(v), Some(r)) if v.suppressed.is_none() => {
                blank(v, why);
                *r = Some(reason);
                true
            }
            _ => false,
        }
    };

    // 1. primary
    for (i, (size, measure)) in sizes.iter().zip(&measures).enumerate() {
        if let Some(size) = size.filter(|s| *s < k) {
            hide(
                &mut out,
                &mut reasons,
                i,
                Suppression::Primary,
                Reason::BelowThreshold { size },
            );
        }
        if let Some(v) = out.get_mut(i) {
            suppress_group_cells(v, k, *measure);
        }
    }

    // 2. history; a value whose people an earlier version showed as they are now is as good
    // as visible to a reader who guesses it has not changed
    let mut known_people = vec![false; values.len()];
    for earlier in published {
        for old in earlier.values {
            let old_population = population(old, earlier.period);
            let old_counts = revealed(old, measure_of(&old.indicator));
            for &i in groups.get(&old_population).into_iter().flatten() {
                if old.suppressed.is_some() {
                    hide(
                        &mut out,
                        &mut reasons,
                        i,
                        Suppression::Secondary,
                        Reason::HiddenBefore {
                            version: earlier.version,
                        },
                    );
                    continue;
                }
                let (Some(value), Some(measure)) = (values.get(i), measures.get(i)) else {
                    continue;
                };
                let now = revealed(value, *measure);
                if now[0].is_some()
                    && now[0] == old_counts[0]
                    && let Some(known) = known_people.get_mut(i)
                {
                    *known = true;
                }
                // people are the same whatever the indicator; events only within one
                let comparable = if value.indicator.code == old.indicator.code {
                    3
                } else {
                    1
                };
                let moved = now
                    .iter()
                    .zip(&old_counts)
                    .take(comparable)
                    .filter_map(|(a, b)| Some((a.as_ref()? - b.as_ref()?).abs()))
                    .find(|d| *d > 0.0 && *d < k);
                if let Some(people) = moved {
                    hide(
                        &mut out,
                        &mut reasons,
                        i,
                        Suppression::Secondary,
                        Reason::Differencing {
                            version: earlier.version,
                            people,
                        },
                    );
                }
            }
        }
    }

    // 3. breakdowns: key → members, with their margin
    let mut breakdowns: BTreeMap<(String, String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        for dim in v.disaggregation.keys() {
            let mut rest = v.disaggregation.clone();
            rest.remove(dim);
            let key = (
                v.indicator.to_string(),
                period_key(v, period),
                dim.clone(),
                format!("{rest:?}"),
            );
            breakdowns.entry(key).or_default().push(i);
        }
    }
    // the margin of a breakdown is the value of its indicator, period and other categories
    // (the first, if the evaluator recorded it twice)
    let mut by_cell: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        by_cell
            .entry((
                v.indicator.to_string(),
                period_key(v, period),
                format!("{:?}", v.disaggregation),
            ))
            .or_insert(i);
    }
    let breakdowns: Vec<(Vec<usize>, usize)> = breakdowns
        .into_iter()
        .filter_map(|((indicator, p, _dim, rest), members)| {
            let margin = *by_cell.get(&(indicator, p, rest))?;
            Some((members, margin))
        })
        .collect();
    let hidden =
        |out: &[IndicatorValue], i: usize| out.get(i).is_some_and(|v| v.suppressed.is_some());
    let structure = bounds::Structure {
        truth: values
            .iter()
            .zip(&measures)
            .map(|(v, m)| revealed(v, *m))
            .collect(),
        same_people: groups.into_values().collect(),
        breakdowns,
    };
    loop {
        let mut changed = false;
        // linked tables: the same people under every indicator
        for same in &structure.same_people {
            let Some(&i) = same.iter().find(|&&i| hidden(&out, i)) else {
                continue;
            };
            for &j in same {
                if j != i {
                    changed |= hide(
                        &mut out,
                        &mut reasons,
                        j,
                        Suppression::Secondary,
                        Reason::Linked { with: i },
                    );
                }
            }
        }
        for (members, margin) in &structure.breakdowns {
            if hidden(&out, *margin) {
                // Without its margin a reader has nothing to subtract from in this breakdown;
                // the same margin under another indicator is hidden with it (linked above).
                continue;
            }
            let (m_total, m_events) = people_of.get(*margin).copied().unwrap_or((None, None));
            let Some(m_total) = m_total else { continue };
            let visible: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| !hidden(&out, i))
                .collect();
            let seen_total: f64 = visible
                .iter()
                .filter_map(|&i| people_of.get(i).and_then(|p| p.0))
                .sum();
            let recoverable = m_total - seen_total;
            let mut group = (recoverable > 0.0 && recoverable < k).then_some(recoverable);
            if let Some(m_events) = m_events {
                let seen_events: Option<f64> = visible
                    .iter()
                    .map(|&i| people_of.get(i).and_then(|p| p.1))
                    .sum();
                if let (Some(seen_events), true) = (seen_events, recoverable > 0.0) {
                    let events = m_events - seen_events;
                    let without = recoverable - events;
                    group = group
                        .or((events > 0.0 && events < k).then_some(events))
                        .or((without > 0.0 && without < k).then_some(without));
                }
            }
            let Some(group) = group else { continue };
            let target = visible
                .into_iter()
                .min_by(|&a, &b| {
                    let sa = sizes.get(a).copied().flatten().unwrap_or(f64::INFINITY);
                    let sb = sizes.get(b).copied().flatten().unwrap_or(f64::INFINITY);
                    sa.total_cmp(&sb)
                })
                .unwrap_or(*margin);
            changed |= hide(
                &mut out,
                &mut reasons,
                target,
                Suppression::Secondary,
                Reason::Recoverable {
                    margin: *margin,
                    group,
                },
            );
        }
        if !changed {
            // what several breakdowns give together
            let mask: Vec<bool> = (0..values.len()).map(|i| hidden(&out, i)).collect();
            let bounds = structure.bounds(&mask, &known_people);
            if let Some(violation) = bounds.violation(&structure, &mask, k, 0..values.len()) {
                let target = loosening(&structure, &mask, &known_people, violation, k, |i| {
                    (populations.get(i).map(|p| &p.0)
                        == populations.get(violation.value).map(|p| &p.0))
                    .then(|| sizes.get(i).copied().flatten().unwrap_or(f64::INFINITY))
                });
                if let Some(target) = target {
                    changed |= hide(
                        &mut out,
                        &mut reasons,
                        target,
                        Suppression::Secondary,
                        Reason::Bounded {
                            value: violation.value,
                        },
                    );
                }
            }
        }
        if !changed {
            break;
        }
    }
    Disclosure {
        values: out,
        reasons,
    }
}

#[cfg(test)]
mod attack;

#[cfg(test)]
mod tests;
