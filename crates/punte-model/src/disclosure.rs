//! Disclosure control: small cells never leave the node.
//!
//! Primary suppression hides every value computed from fewer than `k` people. Secondary
//! suppression then hides further cells wherever a total and the other cells of its breakdown
//! would let a reader subtract their way back to a hidden one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::Period;
use crate::evaluation::{Cell, IndicatorValue};
use crate::indicator::{IndicatorRef, Measure};

/// The default threshold: cells below 5 are suppressed.
pub const DEFAULT_K: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Suppression {
    /// The cell itself is below the threshold.
    Primary,
    /// The cell is hidden so a suppressed one cannot be derived from a total.
    Secondary,
}

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
/// period of its own is matched with the totals of that period.
///
/// Secondary suppression runs to a fixed point over every breakdown: the cells that share
/// indicator, period and every category except one dimension `d`, with their margin (the
/// cell without `d`). What a reader can recover from a breakdown is the margin minus the
/// visible cells: the hidden cells together, plus any category the evaluator did not record
/// (a residual: total 40, female 30, male 8 leaves 2). While that recoverable group is above
/// zero but below `k` (in people, people with the outcome, or people without it), one more
/// cell is hidden: the smallest visible cell, or the margin when none is left.
pub fn apply_in(
    values: &[IndicatorValue],
    k: u64,
    period: Option<&Period>,
    measure_of: impl Fn(&IndicatorRef) -> Option<Measure>,
) -> Vec<IndicatorValue> {
    let k = k as f64;
    let mut out: Vec<IndicatorValue> = values.to_vec();
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
    for ((value, size), measure) in out.iter_mut().zip(&sizes).zip(&measures) {
        if size.is_some_and(|s| s < k) {
            blank(value, Suppression::Primary);
        }
        suppress_group_cells(value, k, *measure);
    }
    // Breakdowns: key → (members, margin).
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
    let breakdowns: Vec<(Vec<usize>, usize)> = breakdowns
        .into_iter()
        .filter_map(|((indicator, p, dim, rest), members)| {
            let margin = values.iter().position(|v| {
                let mut with = v.disaggregation.clone();
                with.remove(dim.as_str());
                v.indicator.to_string() == indicator
                    && period_key(v, period) == p
                    && !v.disaggregation.contains_key(dim.as_str())
                    && format!("{with:?}") == rest
            })?;
            Some((members, margin))
        })
        .collect();
    let hidden =
        |out: &[IndicatorValue], i: usize| out.get(i).is_some_and(|v| v.suppressed.is_some());
    loop {
        let mut changed = false;
        for (members, margin) in &breakdowns {
            if hidden(&out, *margin) {
                // Without its margin a reader has nothing to subtract from in this breakdown
                // (a margin derivable from another breakdown, linked tables, is not covered).
                continue;
            }
            let candidate = {
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
                let mut small = recoverable > 0.0 && recoverable < k;
                if let Some(m_events) = m_events {
                    let seen_events: Option<f64> = visible
                        .iter()
                        .map(|&i| people_of.get(i).and_then(|p| p.1))
                        .sum();
                    if let Some(seen_events) = seen_events {
                        let events = m_events - seen_events;
                        let without = recoverable - events;
                        small |= recoverable > 0.0
                            && ((events > 0.0 && events < k) || (without > 0.0 && without < k));
                    }
                }
                if !small {
                    continue;
                }
                visible.into_iter().min_by(|&a, &b| {
                    let sa = sizes.get(a).copied().flatten().unwrap_or(f64::INFINITY);
                    let sb = sizes.get(b).copied().flatten().unwrap_or(f64::INFINITY);
                    sa.total_cmp(&sb)
                })
            };
            let target = candidate.or(Some(*margin).filter(|&m| !hidden(&out, m)));
            if let Some(i) = target
                && let Some(v) = out.get_mut(i)
            {
                blank(v, Suppression::Secondary);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn value(sex: Option<&str>, n: u64) -> IndicatorValue {
        let mut v: IndicatorValue = serde_json::from_value(serde_json::json!({
            "indicator": "completion@1", "actual": 0.5, "n": n
        }))
        .unwrap();
        if let Some(s) = sex {
            v.disaggregation.insert("sex".into(), s.into());
        }
        v
    }

    fn suppressed(out: &[IndicatorValue]) -> Vec<Option<Suppression>> {
        out.iter().map(|v| v.suppressed).collect()
    }

    #[test]
    fn small_cells_and_their_complements_are_hidden() {
        let values = vec![
            value(None, 40),
            value(Some("female"), 30),
            value(Some("male"), 7),
            value(Some("nonBinary"), 3),
        ];
        let out = apply(&values, DEFAULT_K, |_| Some(Measure::Mean));
        assert_eq!(
            suppressed(&out),
            vec![
                None,
                None,
                Some(Suppression::Secondary),
                Some(Suppression::Primary)
            ]
        );
        assert_eq!(out[3].n, None);
        assert_eq!(out[3].actual, None);
        assert_eq!(out[2].n, None);
        assert_eq!(out[0].n, Some(40));
    }

    #[test]
    fn a_lone_cell_hides_its_total_only_when_the_total_gives_it_back() {
        let values = vec![value(None, 3), value(Some("female"), 3)];
        let out = apply(&values, 5, |_| None);
        assert_eq!(
            suppressed(&out),
            vec![Some(Suppression::Primary), Some(Suppression::Primary)]
        );
        // total 10, female 3 hidden, the other 7 unrecorded: female cannot be told apart from
        // the unrecorded 7, so the total may stay
        let values = vec![value(None, 10), value(Some("female"), 3)];
        let out = apply(&values, 5, |_| None);
        assert_eq!(suppressed(&out), vec![None, Some(Suppression::Primary)]);
        // total 10, female 3, male 7: male gives female back
        let values = vec![
            value(None, 10),
            value(Some("female"), 3),
            value(Some("male"), 7),
        ];
        let out = apply(&values, 5, |_| None);
        assert_eq!(
            suppressed(&out),
            vec![
                None,
                Some(Suppression::Primary),
                Some(Suppression::Secondary)
            ]
        );
    }

    #[test]
    fn an_unrecorded_residual_category_is_protected() {
        // issue #13, 1: total 40, female 30, male 8 → 2 people in no recorded category
        let values = vec![
            value(None, 40),
            value(Some("female"), 30),
            value(Some("male"), 8),
        ];
        let out = apply(&values, 5, |_| None);
        assert_eq!(
            suppressed(&out),
            vec![None, None, Some(Suppression::Secondary)],
            "hiding male makes the unrecovered group 10"
        );
    }

    #[test]
    fn hidden_cells_together_must_reach_k() {
        // issue #13, 2: two hidden cells of 2 each are recovered together as 4
        let values = vec![
            value(None, 44),
            value(Some("a"), 2),
            value(Some("b"), 2),
            value(Some("c"), 40),
        ];
        let out = apply(&values, 5, |_| None);
        assert!(out[3].suppressed.is_some(), "{:?}", suppressed(&out));
    }

    #[test]
    fn a_value_without_a_period_is_matched_with_the_evaluations_totals() {
        // issue #13, 3: the total carries the evaluation's period, the cells none
        let period: Period =
            serde_json::from_value(serde_json::json!({"start": "2024-09-01"})).unwrap();
        let mut total = value(None, 10);
        total.period = Some(period.clone());
        let values = vec![total, value(Some("female"), 3), value(Some("male"), 7)];
        let out = apply_in(&values, 5, Some(&period), |_| None);
        assert_eq!(out[2].suppressed, Some(Suppression::Secondary));
    }

    #[test]
    fn zero_event_rows_are_not_small_cells() {
        // issue #13, 7: 0 of 40 describes nobody, even at k = 1; 40 of 40 neither
        for (numerator, k) in [(0.0, 1), (0.0, 5), (40.0, 5)] {
            let v: IndicatorValue = serde_json::from_value(serde_json::json!({
                "indicator": "completion@1", "numerator": numerator, "denominator": 40.0, "n": 40
            }))
            .unwrap();
            let out = apply(&[v], k, |_| Some(Measure::Proportion));
            assert_eq!(out[0].suppressed, None, "{numerator} of 40 at k = {k}");
        }
    }

    #[test]
    fn counts_are_cells_too() {
        let mut v = value(None, 100);
        v.n = None;
        v.actual = Some(2.0);
        let out = apply(&[v.clone()], 5, |_| Some(Measure::Count));
        assert_eq!(out[0].suppressed, Some(Suppression::Primary));
        let out = apply(&[v], 5, |_| Some(Measure::Mean));
        assert_eq!(out[0].suppressed, None);
    }

    /// What a reader recovers from a breakdown: the margin minus the visible cells (the hidden
    /// cells and any unrecorded category together), in people and in people with the outcome.
    fn recovered(out: &[IndicatorValue], measure: Option<Measure>) -> Option<(f64, Option<f64>)> {
        let margin = out.iter().find(|v| v.disaggregation.is_empty())?;
        let (total, events) = people(margin, measure);
        let total = total?;
        let cells: Vec<_> = out
            .iter()
            .filter(|v| !v.disaggregation.is_empty())
            .collect();
        let seen: f64 = cells.iter().filter_map(|v| people(v, measure).0).sum();
        let seen_events: Option<f64> = cells
            .iter()
            .filter(|v| v.suppressed.is_none())
            .map(|v| people(v, measure).1)
            .sum();
        Some((total - seen, events.zip(seen_events).map(|(e, s)| e - s)))
    }

    proptest::proptest! {
        /// The attacker with a breakdown: whatever the categories (recorded or not, adding up
        /// or not), nothing below k can be read from one cell or recovered by subtraction.
        #[test]
        fn no_group_below_k_is_recovered_by_subtraction(
            cells in proptest::collection::vec((0u64..40, 0u64..40), 1..5),
            residual in 0u64..8,
            k in 1u64..10,
        ) {
            let mut values = Vec::new();
            let (mut n_total, mut e_total) = (residual, 0u64);
            for (i, &(n, e)) in cells.iter().enumerate() {
                let (n, e) = (n.max(e), e.min(n.max(e)));
                n_total += n;
                e_total += e;
                let mut v = value(Some(["a", "b", "c", "d", "e"][i]), n);
                v.actual = None;
                v.numerator = Some(e as f64);
                v.denominator = Some(n as f64);
                values.push(v);
            }
            let mut total = value(None, n_total);
            total.actual = None;
            total.numerator = Some(e_total as f64);
            total.denominator = Some(n_total as f64);
            values.push(total);
            let out = apply(&values, k, |_| Some(Measure::Proportion));
            let k = k as f64;
            for v in &out {
                if let Some(size) = cell_size(v, Some(Measure::Proportion)) {
                    proptest::prop_assert!(size >= k, "{v:?}");
                }
            }
            if let Some((people, events)) = recovered(&out, Some(Measure::Proportion)) {
                proptest::prop_assert!(people == 0.0 || people >= k, "recovered {people} people: {out:?}");
                if let Some(events) = events && people > 0.0 {
                    proptest::prop_assert!(events == 0.0 || events >= k, "recovered {events} events");
                    let without = people - events;
                    proptest::prop_assert!(without == 0.0 || without >= k, "recovered {without} without");
                }
            }
        }
    }

    /// The attacker: reads what leaves the node and tries to get back a count below k.
    fn revealed_counts(v: &IndicatorValue, measure: Measure) -> Vec<f64> {
        let mut out = Vec::new();
        out.extend(cell_size(v, Some(measure)));
        for cells in std::iter::once(v.groups.as_ref().map(|g| &g.intervention))
            .chain(
                v.groups
                    .as_ref()
                    .and_then(|g| g.comparison.as_ref())
                    .map(Some),
            )
            .flatten()
        {
            for c in [cells.baseline.as_ref(), cells.follow_up.as_ref()]
                .into_iter()
                .flatten()
            {
                // a suppressed cell must show nothing at all
                if c.suppressed.is_some() {
                    assert_eq!(
                        c,
                        &Cell {
                            suppressed: c.suppressed,
                            ..Cell::default()
                        }
                    );
                }
                out.extend(group_cell_size(c, Some(measure)));
            }
        }
        out
    }

    #[test]
    fn a_share_with_its_n_reveals_its_count_and_its_complement() {
        // 0.2 × 10 = 2 people; 28 of 30 leaves 2 without the outcome; a denominator of 3
        for json in [
            serde_json::json!({"indicator": "completion@1", "actual": 0.2, "n": 10}),
            serde_json::json!({"indicator": "completion@1", "actual": 0.9333, "numerator": 28.0, "denominator": 30.0, "n": 30}),
            serde_json::json!({"indicator": "completion@1", "denominator": 3.0}),
        ] {
            let v: IndicatorValue = serde_json::from_value(json.clone()).unwrap();
            let out = apply(&[v], DEFAULT_K, |_| Some(Measure::Proportion));
            assert_eq!(out[0].suppressed, Some(Suppression::Primary), "{json}");
        }
    }

    #[test]
    fn small_group_cells_are_hidden_and_show_nothing() {
        let v: IndicatorValue = serde_json::from_value(serde_json::json!({
            "indicator": "completion@1",
            "groups": {
                "intervention": {"followUp": {"n": 40, "events": 38, "mean": 0.95}},
                "comparison": {"followUp": {"n": 40, "events": 20, "mean": 0.5, "ci": {"lower": 0.35, "upper": 0.65, "level": 0.95}}}
            }
        }))
        .unwrap();
        let out = apply(&[v], DEFAULT_K, |_| Some(Measure::Proportion));
        let g = out[0].groups.as_ref().unwrap();
        // 40 − 38 = 2 without the outcome: hidden
        assert_eq!(
            g.intervention.follow_up.as_ref().unwrap(),
            &Cell {
                suppressed: Some(Suppression::Primary),
                ..Cell::default()
            }
        );
        assert_eq!(
            g.comparison.as_ref().unwrap().follow_up.as_ref().unwrap().n,
            Some(40)
        );
    }

    proptest::proptest! {
        /// Whatever the evaluator records, no count below k can be read or computed from a
        /// group cell or a flat value that leaves the node.
        #[test]
        fn no_count_below_k_can_be_read_back(
            cells in proptest::collection::vec((0u64..60, 0u64..60, proptest::bool::ANY), 1..4),
            flat_n in 0u64..60, flat_events in 0u64..60,
            measure in proptest::sample::select(vec![Measure::Proportion, Measure::Percentage, Measure::Count]),
            k in 1u64..12,
        ) {
            let mut values = Vec::new();
            for (n, e, with_events) in cells {
                let (n, e) = (n.max(e), e.min(n.max(e)));
                let share = if n > 0 { e as f64 / n as f64 } else { 0.0 };
                let share = if measure == Measure::Percentage { share * 100.0 } else { share };
                let cell = Cell {
                    n: Some(n),
                    events: with_events.then_some(e),
                    mean: Some(if measure == Measure::Count { e as f64 } else { share }),
                    ..Cell::default()
                };
                let mut v: IndicatorValue = serde_json::from_value(serde_json::json!({
                    "indicator": "completion@1"})).unwrap();
                v.groups = Some(crate::evaluation::Groups {
                    intervention: crate::evaluation::GroupCells { baseline: Some(cell.clone()), follow_up: Some(cell) },
                    comparison: None,
                    correlation: None,
                });
                values.push(v);
            }
            let (n, e) = (flat_n.max(flat_events), flat_events.min(flat_n.max(flat_events)));
            let mut flat: IndicatorValue = serde_json::from_value(serde_json::json!({
                "indicator": "completion@1"})).unwrap();
            flat.n = Some(n);
            flat.numerator = Some(e as f64);
            flat.denominator = Some(n as f64);
            values.push(flat);
            let out = apply(&values, k, |_| Some(measure));
            for v in &out {
                for c in revealed_counts(v, measure) {
                    proptest::prop_assert!(c >= k as f64, "count {c} < k = {k} left the node: {v:?}");
                }
            }
        }
    }
}
