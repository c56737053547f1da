//! Disclosure control: small cells never leave the node.
//!
//! Primary suppression hides every value computed from fewer than `k` people. Secondary
//! suppression then hides further cells wherever a total and the other cells of its breakdown
//! would let a reader subtract their way back to a hidden one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluation::IndicatorValue;
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

/// The size of a cell: the smallest of the counts it reveals (`n`, the numerator, and for a
/// count indicator its baseline, target and actual). `None` when the value carries no count.
fn cell_size(value: &IndicatorValue, measure: Option<Measure>) -> Option<f64> {
    let mut sizes: Vec<f64> = Vec::new();
    if let Some(n) = value.n {
        sizes.push(n as f64);
    }
    if let Some(x) = value.numerator {
        sizes.push(x);
    }
    if measure.is_some_and(Measure::is_count_like) {
        sizes.extend([value.baseline, value.actual].into_iter().flatten());
    }
    sizes.into_iter().reduce(f64::min)
}

fn blank(value: &mut IndicatorValue, why: Suppression) {
    value.baseline = None;
    value.actual = None;
    value.numerator = None;
    value.denominator = None;
    value.n = None;
    value.ci = None;
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
        let out = apply(&values, DEFAULT_K, |_| Some(Measure::Proportion));
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
}
