//! Effect sizes per design, against published values. Every row goes through the path real
//! evaluations take: an [`IndicatorValue`] with `groups`, [`EffectInput::from_indicator_value`],
//! then [`evaluation_effects`]. Sources of every reference number:
//! `crates/punte-model/tests/vectors/README.md` (section "Effect sizes").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::test_vectors::printed;
use proptest::prelude::*;

use super::*;
use crate::disclosure::Suppression;
use crate::evaluation::{Cell, GroupCells, Groups, IndicatorValue};
use crate::indicator::{Direction, IndicatorRef, Measure};

fn indicator() -> IndicatorRef {
    "outcome@1".parse().unwrap()
}

fn spec(measure: Measure, direction: Direction) -> IndicatorSpec {
    IndicatorSpec {
        indicator: indicator(),
        measure,
        direction,
    }
}

fn value(groups: Groups) -> IndicatorValue {
    IndicatorValue {
        indicator: indicator(),
        period: None,
        baseline: None,
        target: None,
        actual: None,
        numerator: None,
        denominator: None,
        n: None,
        ci: None,
        groups: Some(groups),
        disaggregation: Default::default(),
        suppressed: None,
    }
}

fn row(i: usize, value: &IndicatorValue) -> EffectInput {
    let origin = RowOrigin {
        organisation: format!("https://org{i}.example/actor"),
        country: None,
        practice: "https://origin.example/practices/p".into(),
        adaptation: None,
        evaluation: format!("https://org{i}.example/evaluations/{i}"),
        source: SourceRef {
            origin: format!("https://org{i}.example"),
            log_index: i as u64,
            activity_id: format!("https://org{i}.example/activities/{i}"),
        },
    };
    EffectInput::from_indicator_value(origin, value, None, None)
}

fn share_cell(events: u64, n: u64) -> Cell {
    Cell {
        n: Some(n),
        events: Some(events),
        mean: Some(events as f64 / n as f64),
        ..Cell::default()
    }
}

fn mean_cell(n: u64, mean: f64, sd: f64) -> Cell {
    Cell {
        n: Some(n),
        mean: Some(mean),
        sd: Some(sd),
        ..Cell::default()
    }
}

/// Intervention and comparison group at follow-up only.
fn two_groups(intervention: Cell, comparison: Cell) -> Groups {
    Groups {
        intervention: GroupCells {
            baseline: None,
            follow_up: Some(intervention),
        },
        comparison: Some(GroupCells {
            baseline: None,
            follow_up: Some(comparison),
        }),
        correlation: None,
    }
}

fn table(measure: Measure, metric: EffectMetric, values: &[IndicatorValue]) -> EffectTable {
    let rows: Vec<EffectInput> = values.iter().enumerate().map(|(i, v)| row(i, v)).collect();
    evaluation_effects(&spec(measure, Direction::Increase), metric, &rows).unwrap()
}

fn effects(table: &EffectTable) -> Vec<EffectSize> {
    table
        .rows
        .iter()
        .map(|r| r.effect_size().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// dat.bcg: two groups, counts

/// `escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)`.
const BCG_YI: [f64; 13] = [
    -0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    -0.3394, 0.4459, -0.0173,
];
const BCG_VI: [f64; 13] = [
    0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124, 0.5325,
    0.0714,
];

fn bcg_values() -> Vec<IndicatorValue> {
    super::test_vectors::bcg()
        .iter()
        .map(|t| {
            value(two_groups(
                share_cell(t.tpos, t.tpos + t.tneg),
                share_cell(t.cpos, t.cpos + t.cneg),
            ))
        })
        .collect()
}

#[test]
fn bcg_two_group_log_risk_ratios_match_escalc() {
    let table = table(
        Measure::Proportion,
        EffectMetric::LogRiskRatio,
        &bcg_values(),
    );
    for (i, r) in table.rows.iter().enumerate() {
        let e = r
            .effect()
            .unwrap_or_else(|| panic!("trial {i}: {:?}", r.exclusion()));
        printed(e.estimate, BCG_YI[i], 4, &format!("yi of trial {}", i + 1));
        printed(e.variance, BCG_VI[i], 4, &format!("vi of trial {}", i + 1));
        assert_eq!(r.design, Some(Design::TwoGroupPost));
        assert_eq!(r.formula, Some(Formula::TwoGroupLogRiskRatio));
        assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
    }
}

#[test]
fn bcg_two_group_pools_to_metafor_reml_and_hartung_knapp() {
    let table = table(
        Measure::Proportion,
        EffectMetric::LogRiskRatio,
        &bcg_values(),
    );
    let effects = effects(&table);
    // rma(yi, vi, data = dat)
    let reml = pool_random_effects(&effects, PoolOptions::default()).unwrap();
    printed(reml.estimate, -0.7145, 4, "REML estimate");
    printed(reml.se, 0.1798, 4, "REML se");
    printed(reml.tau2, 0.3132, 4, "REML tau^2");
    printed(reml.i2.unwrap(), 92.22, 2, "REML I^2");
    printed(reml.q, 152.2330, 4, "Q");
    // rma(yi, vi, data = dat, test = "knha")
    let knha = pool_random_effects(
        &effects,
        PoolOptions {
            ci: CiMethod::HartungKnapp,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    printed(knha.se, 0.1808, 4, "knha se");
    printed(knha.ci_lower, -1.1084, 4, "knha ci lower");
    printed(knha.ci_upper, -0.3206, 4, "knha ci upper");
}

#[test]
fn a_zero_cell_gets_the_half_correction_as_escalc_does() {
    // 0 of 20 against 5 of 20: escalc adds 1/2 to each cell of that table (add = 1/2,
    // to = "only0"): yi = ln((0.5/21)/(5.5/21)), vi = 1/0.5 − 1/21 + 1/5.5 − 1/21.
    let v = value(two_groups(share_cell(0, 20), share_cell(5, 20)));
    let t = table(Measure::Proportion, EffectMetric::LogRiskRatio, &[v]);
    let e = t.rows[0].effect().unwrap();
    assert!((e.estimate - (0.5f64 / 5.5).ln()).abs() < 1e-12);
    assert!((e.variance - (2.0 + 1.0 / 5.5 - 2.0 / 21.0)).abs() < 1e-12);
    assert_eq!(
        t.rows[0].assumptions,
        vec![Assumption::ContinuityCorrection]
    );
}

/// Two-group rows of dat.bcg under another share metric, pooled by fixed effect and by
/// DerSimonian–Laird.
fn bcg_pooled(metric: EffectMetric) -> (FixedEffect, RandomEffects) {
    let table = table(Measure::Proportion, metric, &bcg_values());
    for r in &table.rows {
        assert_eq!(r.design, Some(Design::TwoGroupPost));
        assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
    }
    let effects = effects(&table);
    let dl = PoolOptions {
        tau: TauEstimator::DerSimonianLaird,
        ci: CiMethod::Normal,
    };
    (
        pool_fixed_effect(&effects).unwrap(),
        pool_random_effects(&effects, dl).unwrap(),
    )
}

#[test]
#[allow(clippy::approx_constant)] // the published zi −1.5708 is a data value, not −π/2
fn bcg_first_trial_log_odds_ratio_matches_escalc() {
    // metafor's test_misc_escalc.r: summary(escalc(measure = "OR", …, data = dat.bcg)) gives
    // trial 1 zi −1.5708, sei 0.5976, ci.lb −2.1100, ci.ub 0.2326 (4 decimals).
    let t = table(
        Measure::Proportion,
        EffectMetric::LogOddsRatio,
        &bcg_values(),
    );
    let r = &t.rows[0];
    assert_eq!(r.formula, Some(Formula::TwoGroupLogOddsRatio));
    let e = r.effect().unwrap();
    printed(e.z, -1.5708, 4, "zi of trial 1");
    printed(e.se, 0.5976, 4, "sei of trial 1");
    printed(e.ci_lower, -2.1100, 4, "ci.lb of trial 1");
    printed(e.ci_upper, 0.2326, 4, "ci.ub of trial 1");
}

#[test]
fn bcg_log_odds_ratios_pool_to_metafor_and_stata_metan() {
    // metafor's test_misc_metan_vs_rma.uni_with_dat.bcg.r, measure = "OR" (checked there
    // against Stata's metan): FE −0.4361 (−0.5190, −0.3533), z −10.3190, QE 163.1649; DL
    // −0.7474 (−1.1242, −0.3706), z −3.8873, τ² 0.3663, I² 92.6455 %.
    let (fe, dl) = bcg_pooled(EffectMetric::LogOddsRatio);
    printed(fe.estimate, -0.4361, 4, "FE estimate");
    printed(fe.ci_lower, -0.5190, 4, "FE ci lower");
    printed(fe.ci_upper, -0.3533, 4, "FE ci upper");
    printed(fe.z, -10.3190, 4, "FE z");
    printed(dl.q, 163.1649, 4, "QE");
    printed(dl.estimate, -0.7474, 4, "DL estimate");
    printed(dl.ci_lower, -1.1242, 4, "DL ci lower");
    printed(dl.ci_upper, -0.3706, 4, "DL ci upper");
    printed(dl.statistic, -3.8873, 4, "DL z");
    printed(dl.tau2, 0.3663, 4, "DL tau^2");
    printed(dl.i2.unwrap(), 92.6455, 4, "DL I^2");
}

#[test]
fn bcg_risk_differences_pool_to_metafor_and_stata_metan() {
    // Same file, measure = "RD": FE −0.0009 (−0.0014, −0.0005), z −4.0448, QE 276.4737; DL
    // −0.0071 (−0.0101, −0.0040), z −4.5128, τ² 0.0000, I² 95.6596 %.
    let (fe, dl) = bcg_pooled(EffectMetric::RiskDifference);
    printed(fe.estimate, -0.0009, 4, "FE estimate");
    printed(fe.ci_lower, -0.0014, 4, "FE ci lower");
    printed(fe.ci_upper, -0.0005, 4, "FE ci upper");
    printed(fe.z, -4.0448, 4, "FE z");
    printed(dl.q, 276.4737, 4, "QE");
    printed(dl.estimate, -0.0071, 4, "DL estimate");
    printed(dl.ci_lower, -0.0101, 4, "DL ci lower");
    printed(dl.ci_upper, -0.0040, 4, "DL ci upper");
    printed(dl.statistic, -4.5128, 4, "DL z");
    printed(dl.tau2, 0.0000, 4, "DL tau^2");
    printed(dl.i2.unwrap(), 95.6596, 4, "DL I^2");
}

// ---------------------------------------------------------------------------------------------
// matched pairs: one cohort's share before and after

/// metafor's test_misc_escalc.r: the paired table `ai = 20` (event at both times), `bi = 10`
/// (at the first only), `ci = 5` (at the second only), `di = 20` (at neither); escalc's
/// first measurement is our follow-up, its second our baseline.
const PAIRED: (u64, u64, u64, u64) = (20, 10, 5, 20);

/// The row our model takes for [`PAIRED`]: the two shares and the phi coefficient of the
/// table, `(ad − bc)/√((a+b)(c+d)(a+c)(b+d))` = 350/750 = 7/15, which rebuilds exactly that
/// table from the shares.
fn paired_row() -> IndicatorValue {
    let (a, b, c, d) = PAIRED;
    let n = a + b + c + d;
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let phi = (a * d - b * c) / ((a + b) * (c + d) * (a + c) * (b + d)).sqrt();
    assert!((phi - 7.0 / 15.0).abs() < 1e-15);
    value(Groups {
        intervention: GroupCells {
            baseline: Some(share_cell(PAIRED.0 + PAIRED.2, n)),
            follow_up: Some(share_cell(PAIRED.0 + PAIRED.1, n)),
        },
        comparison: None,
        correlation: Some(phi),
    })
}

#[test]
fn matched_pairs_measures_match_escalc_mprd_mprr_mpor() {
    // escalc(measure = "MPRD" | "MPRR" | "MPOR", ai = 20, bi = 10, ci = 5, di = 20):
    // yi 0.0909 / 0.1823 / 0.3646, vi 0.0048 / 0.0200 / 0.0782 (4 decimals).
    for (metric, formula, yi, vi) in [
        (
            EffectMetric::RiskDifference,
            Formula::PrePostRiskDifference,
            0.0909,
            0.0048,
        ),
        (
            EffectMetric::LogRiskRatio,
            Formula::PrePostLogRiskRatio,
            0.1823,
            0.0200,
        ),
        (
            EffectMetric::LogOddsRatio,
            Formula::PrePostLogOddsRatio,
            0.3646,
            0.0782,
        ),
    ] {
        let t = table(Measure::Proportion, metric, &[paired_row()]);
        let r = &t.rows[0];
        let e = r
            .effect()
            .unwrap_or_else(|| panic!("{metric:?}: {:?}", r.exclusion()));
        printed(e.estimate, yi, 4, &format!("yi of {metric:?}"));
        printed(e.variance, vi, 4, &format!("vi of {metric:?}"));
        assert_eq!(r.design, Some(Design::PrePost));
        assert_eq!(r.formula, Some(formula));
        assert!(r.assumptions.is_empty(), "{metric:?}: {:?}", r.assumptions);
        assert!(r.sensitivity.is_none(), "the evaluator gave r");
    }
}

// ---------------------------------------------------------------------------------------------
// dat.hine1989: risk differences

/// dat.hine1989 (Hine et al. 1989): deaths and totals, lidocaine then control.
const HINE: [(u64, u64, u64, u64); 6] = [
    (2, 39, 1, 43),
    (4, 44, 4, 44),
    (6, 107, 4, 110),
    (7, 103, 5, 100),
    (7, 110, 3, 106),
    (11, 154, 4, 146),
];

#[test]
fn hine_risk_differences_match_normand_table_iii() {
    // escalc(measure = "RD", …) × 100 (percentage points); Normand (1999), Table III.
    let yi = [2.8026, 0.0000, 1.9711, 1.7961, 3.5334, 4.4031];
    let vi = [17.7575, 37.5657, 8.1323, 10.8998, 8.0114, 6.1320];
    let values: Vec<_> = HINE
        .iter()
        .map(|&(a, n1, c, n2)| value(two_groups(share_cell(a, n1), share_cell(c, n2))))
        .collect();
    let t = table(Measure::Proportion, EffectMetric::RiskDifference, &values);
    for (i, r) in t.rows.iter().enumerate() {
        let e = r.effect().unwrap();
        printed(e.estimate * 100.0, yi[i], 4, "RD");
        printed(e.variance * 1e4, vi[i], 4, "var RD");
        assert_eq!(r.formula, Some(Formula::TwoGroupRiskDifference));
    }
    // rma(yi, vi, method = "FE"): 2.94 (CI 0.4 to 5.5), on the percentage-point scale.
    let fixed = pool_fixed_effect(&effects(&t)).unwrap();
    printed(fixed.estimate * 100.0, 2.94, 2, "FE");
    printed(fixed.ci_lower * 100.0, 0.4, 1, "FE ci lower");
    printed(fixed.ci_upper * 100.0, 5.5, 1, "FE ci upper");
}

// ---------------------------------------------------------------------------------------------
// dat.normand1999: two groups, means

/// dat.normand1999: n, mean and SD of the length of stay (days), specialist then routine care.
const NORMAND: [(u64, f64, f64, u64, f64, f64); 9] = [
    (155, 55.0, 47.0, 156, 75.0, 64.0),
    (31, 27.0, 7.0, 32, 29.0, 4.0),
    (75, 64.0, 17.0, 71, 119.0, 29.0),
    (18, 66.0, 20.0, 18, 137.0, 48.0),
    (8, 14.0, 8.0, 13, 18.0, 11.0),
    (57, 19.0, 7.0, 52, 18.0, 4.0),
    (34, 52.0, 45.0, 33, 41.0, 34.0),
    (110, 21.0, 16.0, 183, 31.0, 27.0),
    (60, 30.0, 27.0, 52, 23.0, 20.0),
];

#[test]
fn normand_hedges_g_uses_the_pooled_sd_of_both_groups() {
    // metafor's tests: escalc(measure = "SMD", …, subset = 1:4).
    let yi = [-0.3552, -0.3479, -2.3176, -1.8880];
    let vi = [0.0131, 0.0645, 0.0458, 0.1606];
    let values: Vec<_> = NORMAND[..4]
        .iter()
        .map(|&(n1, m1, s1, n2, m2, s2)| {
            value(two_groups(mean_cell(n1, m1, s1), mean_cell(n2, m2, s2)))
        })
        .collect();
    let t = table(
        Measure::Mean,
        EffectMetric::StandardisedMeanDifference,
        &values,
    );
    for (i, r) in t.rows.iter().enumerate() {
        let e = r.effect().unwrap();
        printed(e.estimate, yi[i], 4, &format!("g of study {}", i + 1));
        printed(e.variance, vi[i], 4, &format!("var g of study {}", i + 1));
        assert_eq!(r.formula, Some(Formula::TwoGroupHedgesG));
    }
}

#[test]
fn normand_mean_differences_and_pooled_estimates_match_tables_viii_and_ix() {
    // Normand (1999) pools the raw mean differences with the pooled SD of each study
    // (metafor's test: escalc(measure = "MD", sd1i = sdpi, sd2i = sdpi, …)).
    let yi = [-20.0, -2.0, -55.0, -71.0, -4.0, 1.0, 11.0, -10.0, 7.0];
    let vi = [40.59, 2.05, 15.28, 150.22, 20.19, 1.22, 95.38, 8.03, 20.69];
    let values: Vec<_> = NORMAND
        .iter()
        .map(|&(n1, m1, s1, n2, m2, s2)| {
            let (a, b) = (n1 as f64, n2 as f64);
            let sdp = (((a - 1.0) * s1 * s1 + (b - 1.0) * s2 * s2) / (a + b - 2.0)).sqrt();
            value(two_groups(mean_cell(n1, m1, sdp), mean_cell(n2, m2, sdp)))
        })
        .collect();
    let t = table(Measure::Mean, EffectMetric::MeanDifference, &values);
    for (i, r) in t.rows.iter().enumerate() {
        let e = r.effect().unwrap();
        printed(e.estimate, yi[i], 2, "MD");
        printed(e.variance, vi[i], 2, "var MD");
        assert_eq!(r.formula, Some(Formula::TwoGroupMeanDifference));
    }
    let effects = effects(&t);
    let fixed = pool_fixed_effect(&effects).unwrap();
    printed(fixed.estimate, -3.49, 2, "FE");
    printed(fixed.ci_lower, -5.03, 2, "FE ci lower");
    printed(fixed.ci_upper, -1.96, 2, "FE ci upper");
    let dl = pool_random_effects(
        &effects,
        PoolOptions {
            tau: TauEstimator::DerSimonianLaird,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    printed(dl.estimate, -14.10, 2, "DL");
    printed(dl.ci_lower, -24.45, 2, "DL ci lower");
    printed(dl.ci_upper, -3.75, 2, "DL ci upper");
    printed(dl.tau2, 218.72, 2, "DL tau^2");
    let reml = pool_random_effects(&effects, PoolOptions::default()).unwrap();
    printed(reml.estimate, -15.12, 2, "REML");
    printed(reml.ci_lower, -32.67, 2, "REML ci lower");
    printed(reml.ci_upper, 2.43, 2, "REML ci upper");
    printed(reml.tau2, 685.20, 2, "REML tau^2");
}

// ---------------------------------------------------------------------------------------------
// Morris (2008): pre-post and difference in differences

/// Morris (2008), Table 1: pre mean, post mean, pre SD, n, correlation; treatment group.
const MORRIS_T: [(f64, f64, f64, u64, f64); 5] = [
    (30.6, 38.5, 15.0, 20, 0.47),
    (23.5, 26.8, 3.1, 50, 0.64),
    (0.5, 0.7, 0.1, 9, 0.77),
    (53.4, 75.9, 14.5, 10, 0.89),
    (35.6, 36.0, 4.7, 14, 0.44),
];
/// The control groups of the same studies.
const MORRIS_C: [(f64, f64, f64, u64, f64); 5] = [
    (23.1, 19.7, 13.8, 20, 0.47),
    (24.9, 25.3, 4.1, 42, 0.64),
    (0.6, 0.6, 0.2, 9, 0.77),
    (55.7, 60.7, 17.3, 11, 0.89),
    (34.8, 33.4, 3.1, 14, 0.44),
];

fn cohort((pre, post, sd_pre, n, _): (f64, f64, f64, u64, f64)) -> GroupCells {
    GroupCells {
        baseline: Some(mean_cell(n, pre, sd_pre)),
        follow_up: Some(Cell {
            n: Some(n),
            mean: Some(post),
            ..Cell::default()
        }),
    }
}

#[test]
fn morris_standardised_mean_changes_match_escalc_smcr() {
    // escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni, ri)
    let yi_t = [0.5056, 1.0481, 1.8054, 1.4181, 0.0801];
    let vi_t = [0.0594, 0.0254, 0.2322, 0.1225, 0.0802];
    let yi_c = [-0.2365, 0.0958, 0.0000, 0.2667, -0.4250];
    let vi_c = [0.0544, 0.0173, 0.0511, 0.0232, 0.0864];
    for (data, yi, vi) in [(MORRIS_T, yi_t, vi_t), (MORRIS_C, yi_c, vi_c)] {
        let values: Vec<_> = data
            .iter()
            .map(|&s| {
                value(Groups {
                    intervention: cohort(s),
                    comparison: None,
                    correlation: Some(s.4),
                })
            })
            .collect();
        let t = table(
            Measure::Mean,
            EffectMetric::StandardisedMeanDifference,
            &values,
        );
        for (i, r) in t.rows.iter().enumerate() {
            let e = r.effect().unwrap_or_else(|| panic!("{:?}", r.exclusion()));
            printed(e.estimate, yi[i], 4, "SMCR");
            printed(e.variance, vi[i], 4, "var SMCR");
            assert_eq!(r.design, Some(Design::PrePost));
            assert_eq!(r.formula, Some(Formula::PrePostSmcr));
            assert_eq!(r.correlation, Some(data[i].4));
            assert!(r.sensitivity.is_none(), "the evaluator gave r");
        }
    }
}

fn morris_did(correlation: bool) -> EffectTable {
    let values: Vec<_> = MORRIS_T
        .iter()
        .zip(MORRIS_C)
        .map(|(&t, c)| {
            value(Groups {
                intervention: cohort(t),
                comparison: Some(cohort(c)),
                correlation: correlation.then_some(t.4),
            })
        })
        .collect();
    table(
        Measure::Mean,
        EffectMetric::StandardisedMeanDifference,
        &values,
    )
}

#[test]
fn morris_difference_in_differences_matches_table_1() {
    // Morris (2008), Table 1 (d, 2 decimals); metafor's test for the variances.
    let yi = [0.74, 0.95, 1.81, 1.15, 0.51];
    let vi = [0.1138, 0.0426, 0.2833, 0.1458, 0.1667];
    let t = morris_did(true);
    for (i, r) in t.rows.iter().enumerate() {
        let e = r.effect().unwrap();
        printed(e.estimate, yi[i], 2, "DiD");
        printed(e.variance, vi[i], 4, "var DiD");
        assert_eq!(r.design, Some(Design::DifferenceInDifferences));
        assert_eq!(r.formula, Some(Formula::DidSmcr));
    }
}

#[test]
fn without_a_correlation_the_default_is_used_and_its_sensitivity_shown() {
    let t = morris_did(false);
    for r in &t.rows {
        assert_eq!(r.correlation, Some(DEFAULT_CORRELATION));
        assert!(r.assumptions.contains(&Assumption::DefaultCorrelation));
        let s = r.sensitivity.as_ref().expect("sensitivity");
        let v = r.effect().unwrap().variance;
        // a higher correlation means a smaller variance of a change
        assert!(s.r0_variance > v && v > s.r08_variance, "{s:?} around {v}");
    }
}

// ---------------------------------------------------------------------------------------------
// what a row refuses

#[test]
fn a_suppressed_group_cell_excludes_the_row_and_shows_nothing_of_it() {
    let mut comparison = share_cell(2, 4);
    comparison.suppressed = Some(Suppression::Primary);
    let v = value(two_groups(share_cell(10, 40), comparison));
    let t = table(Measure::Proportion, EffectMetric::LogRiskRatio, &[v]);
    assert!(matches!(
        t.rows[0].exclusion(),
        Some(ExclusionReason::Suppressed { .. })
    ));
}

#[test]
fn a_mean_without_spread_names_the_missing_field() {
    let mut c = mean_cell(30, 10.0, 2.0);
    c.sd = None;
    let v = value(two_groups(mean_cell(30, 12.0, 2.0), c));
    let t = table(
        Measure::Mean,
        EffectMetric::StandardisedMeanDifference,
        &[v],
    );
    match t.rows[0].exclusion() {
        Some(ExclusionReason::Missing { field }) => {
            assert!(field.starts_with("comparisonFollowUp.sd"), "{field}")
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    /// Swapping the two groups flips the sign of every two-group effect and keeps its variance.
    #[test]
    fn swapping_the_groups_flips_the_effect(
        a in 0u64..60, n1 in 60u64..400, c in 0u64..60, n2 in 60u64..400,
        metric in prop::sample::select(vec![
            EffectMetric::LogRiskRatio, EffectMetric::LogOddsRatio, EffectMetric::RiskDifference,
        ]),
    ) {
        let forward = value(two_groups(share_cell(a, n1), share_cell(c, n2)));
        let back = value(two_groups(share_cell(c, n2), share_cell(a, n1)));
        let t = table(Measure::Proportion, metric, &[forward, back]);
        let (f, b) = (t.rows[0].effect().unwrap(), t.rows[1].effect().unwrap());
        prop_assert!((f.estimate + b.estimate).abs() < 1e-9);
        prop_assert!((f.variance - b.variance).abs() < 1e-9 * f.variance.max(1.0));
    }
}
