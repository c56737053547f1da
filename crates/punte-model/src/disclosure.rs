//! Disclosure control: small cells never leave the node.
//!
//! Primary suppression hides every value computed from fewer than `k` people. Secondary
//! suppression then hides further cells wherever a total and the other cells of its breakdown
//! would let a reader subtract their way back to a hidden one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    sizes.into_iter().reduce(f64::min)
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
    sizes.into_iter().reduce(f64::min)
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
/// indicators reveal people through their values too).
pub fn apply(
    values: &[IndicatorValue],
    k: u64,
    measure_of: impl Fn(&IndicatorRef) -> Option<Measure>,
) -> Vec<IndicatorValue> {
    let k = k as f64;
    let mut out: Vec<IndicatorValue> = values.to_vec();
    let sizes: Vec<Option<f64>> = values
        .iter()
        .map(|v| cell_size(v, measure_of(&v.indicator)))
        .collect();
    for (value, size) in out.iter_mut().zip(&sizes) {
        if size.is_some_and(|s| s < k) {
            blank(value, Suppression::Primary);
        }
        suppress_group_cells(value, k, measure_of(&value.indicator));
    }
    // Secondary suppression, to a fixed point. A "breakdown" is the set of cells that share
    // indicator, period and every category except one dimension `d`, together with their
    // margin (the cell without `d`). If a breakdown has exactly one hidden member, one more
    // is hidden: the smallest visible cell, or the margin when no cell is left.
    loop {
        let mut changed = false;
        let mut groups: BTreeMap<(String, String, String, String), Vec<usize>> = BTreeMap::new();
        for (i, v) in out.iter().enumerate() {
            let period = v
                .period
                .as_ref()
                .map(|p| format!("{}/{:?}", p.start, p.end))
                .unwrap_or_default();
            for dim in v.disaggregation.keys() {
                let mut rest = v.disaggregation.clone();
                rest.remove(dim);
                let key = (
                    v.indicator.to_string(),
                    period.clone(),
                    dim.clone(),
                    format!("{rest:?}"),
                );
                groups.entry(key).or_default().push(i);
            }
        }
        for ((indicator, period, dim, rest), cells) in groups {
            let margin = out.iter().position(|v| {
                let p = v
                    .period
                    .as_ref()
                    .map(|p| format!("{}/{:?}", p.start, p.end))
                    .unwrap_or_default();
                let mut with = v.disaggregation.clone();
                with.remove(dim.as_str());
                v.indicator.to_string() == indicator
                    && p == period
                    && !v.disaggregation.contains_key(dim.as_str())
                    && format!("{with:?}") == rest
            });
            let Some(margin) = margin else { continue };
            let mut members = cells.clone();
            members.push(margin);
            let hidden = members
                .iter()
                .filter(|&&i| out.get(i).is_some_and(|v| v.suppressed.is_some()))
                .count();
            if hidden != 1 {
                continue;
            }
            let candidate = cells
                .iter()
                .copied()
                .filter(|&i| out.get(i).is_some_and(|v| v.suppressed.is_none()))
                .min_by(|&a, &b| {
                    let sa = sizes.get(a).copied().flatten().unwrap_or(f64::INFINITY);
                    let sb = sizes.get(b).copied().flatten().unwrap_or(f64::INFINITY);
                    sa.total_cmp(&sb)
                })
                .or(Some(margin).filter(|&m| out.get(m).is_some_and(|v| v.suppressed.is_none())));
            if let Some(i) = candidate
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
    fn a_lone_cell_hides_its_total() {
        let values = vec![value(None, 3), value(Some("female"), 3)];
        let out = apply(&values, 5, |_| None);
        assert_eq!(
            suppressed(&out),
            vec![Some(Suppression::Primary), Some(Suppression::Primary)]
        );
        let values = vec![value(None, 10), value(Some("female"), 3)];
        let out = apply(&values, 5, |_| None);
        assert_eq!(
            suppressed(&out),
            vec![Some(Suppression::Secondary), Some(Suppression::Primary)]
        );
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

    #[test]
    fn nothing_below_k_ever_survives() {
        // every cell below k is hidden whatever the layout, and no breakdown has one hidden member
        for sizes in [
            [1u64, 2, 50, 60],
            [4, 90, 91, 3],
            [5, 5, 5, 5],
            [0, 10, 10, 20],
        ] {
            let values: Vec<_> = ["female", "male", "nonBinary", "unknown"]
                .iter()
                .zip(sizes)
                .map(|(s, n)| value(Some(s), n))
                .chain(std::iter::once(value(None, sizes.iter().sum())))
                .collect();
            let out = apply(&values, 5, |_| None);
            for (v, o) in values.iter().zip(&out) {
                if v.n.unwrap() < 5 {
                    assert!(o.suppressed.is_some());
                }
            }
            let hidden = out.iter().filter(|v| v.suppressed.is_some()).count();
            assert_ne!(hidden, 1, "{sizes:?}");
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
