//! Examples of the rule, the cases, and the per-breakdown attacker.

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
fn a_cell_hidden_under_one_indicator_is_hidden_under_every_indicator() {
    // issue #13, 5: the same 3 women under a second indicator that gives no n (their
    // mean alone), which on its own would be published
    let mut other = value(Some("female"), 3);
    other.indicator = "employment@1".parse().unwrap();
    other.n = None;
    assert_eq!(
        apply(std::slice::from_ref(&other), 5, |_| None)[0].suppressed,
        None
    );
    let values = vec![value(None, 40), value(Some("female"), 3), other];
    let d = disclose(&values, 5, None, &[], |_| Some(Measure::Mean));
    assert_eq!(d.values[2].suppressed, Some(Suppression::Secondary));
    assert_eq!(d.reasons[1], Some(Reason::BelowThreshold { size: 3.0 }));
    assert_eq!(d.reasons[2], Some(Reason::Linked { with: 1 }));
}

#[test]
fn versions_cannot_be_subtracted_and_hidden_cells_stay_hidden() {
    // issue #13, 4: version 1 total 40; version 2 total 42 with a new cell of 2
    let v1 = apply(&[value(None, 40), value(Some("female"), 3)], 5, |_| None);
    assert_eq!(v1[1].suppressed, Some(Suppression::Primary));
    let earlier = [Published {
        version: 1,
        values: &v1,
        period: None,
    }];
    let v2 = vec![
        value(None, 42),
        value(Some("female"), 8),
        value(Some("other"), 2),
    ];
    let d = disclose(&v2, 5, None, &earlier, |_| None);
    assert_eq!(
        d.reasons[0],
        Some(Reason::Differencing {
            version: 1,
            people: 2.0
        }),
        "40 then 42 gives the 2 newcomers"
    );
    assert_eq!(
        d.reasons[1],
        Some(Reason::HiddenBefore { version: 1 }),
        "8 women now, but version 1 hid them"
    );
    assert!(d.values[2].suppressed.is_some());
    // a change of k or more people is not a small group
    let v2 = vec![value(None, 50), value(Some("female"), 3)];
    let d = disclose(&v2, 5, None, &earlier, |_| None);
    assert_eq!(d.values[0].suppressed, None);
}

#[test]
fn a_hidden_margin_is_bounded_by_its_visible_cells() {
    // found by the attacker (attack.rs): total 14 with 9 without the outcome; "old" hidden,
    // but its visible cell (old, male) has 5 without, so "young" has at most 4 without
    let cell = |sex: Option<&str>, age: Option<&str>, n: u64, e: f64| {
        let mut v: IndicatorValue = serde_json::from_value(serde_json::json!({
            "indicator": "completion@1", "numerator": e, "denominator": n as f64, "n": n
        }))
        .unwrap();
        if let Some(s) = sex {
            v.disaggregation.insert("sex".into(), s.into());
        }
        if let Some(a) = age {
            v.disaggregation.insert("age".into(), a.into());
        }
        v
    };
    let values = vec![
        cell(None, None, 14, 5.0),
        cell(None, Some("young"), 3, 1.0),
        cell(None, Some("old"), 11, 4.0),
        cell(Some("male"), Some("old"), 5, 0.0),
        cell(Some("female"), Some("old"), 6, 4.0),
    ];
    let d = disclose(&values, 5, None, &[], |_| Some(Measure::Proportion));
    assert_eq!(d.values[1].suppressed, Some(Suppression::Primary));
    assert!(d.values[2].suppressed.is_some(), "old gives young back");
    assert!(
        d.values[3].suppressed.is_some() || d.values[4].suppressed.is_some(),
        "a visible cell of old bounds young: {:?}",
        d.reasons
    );
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
