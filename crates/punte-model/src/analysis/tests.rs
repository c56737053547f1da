//! Tests of the comparative analysis: published worked examples, hand-computed cases, edge
//! cases and properties.
//!
//! Why over 800 lines: one test per published worked example and edge case; the effect,
//! pooling and replication tests are already in files of their own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::test_vectors::{close, country, sizes, source};
use proptest::prelude::*;

use super::*;
use crate::adaptation::AdaptationState;
use crate::disclosure::Suppression;
use crate::evaluation::{ConfidenceInterval, EvidenceLevel, IndicatorValue};
use crate::indicator::{Direction, IndicatorRef, Measure};

// ---------------------------------------------------------------------------------------------
// helpers

fn relative(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let scale = expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        ((actual - expected) / scale).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} (relative tolerance {tolerance})"
    );
}

fn indicator(s: &str) -> IndicatorRef {
    s.parse().unwrap()
}

fn spec(measure: Measure, direction: Direction) -> IndicatorSpec {
    IndicatorSpec {
        indicator: indicator("esl-rate@1"),
        measure,
        direction,
    }
}

/// A row of `esl-rate@1` with counts at both time points.
fn counts_row(
    org: &str,
    practice: &str,
    evaluation: &str,
    (a1, n1): (f64, f64),
    (a0, n0): (f64, f64),
) -> EffectInput {
    EffectInput {
        origin: RowOrigin {
            organisation: format!("https://{org}.example/actor"),
            country: None,
            practice: practice.into(),
            adaptation: None,
            evaluation: evaluation.into(),
            source: source(org, 1),
        },
        indicator: indicator("esl-rate@1"),
        evidence_level: None,
        followed_plan: None,
        plan: None,
        plan_deviations: Vec::new(),
        layout: InputLayout::Flat,
        comparison_baseline: None,
        comparison_follow_up: None,
        correlation: None,
        baseline: Observation {
            numerator: Some(a0),
            denominator: Some(n0),
            ..Observation::default()
        },
        follow_up: Observation {
            numerator: Some(a1),
            denominator: Some(n1),
            ..Observation::default()
        },
        suppressed: None,
    }
}

/// A row of a mean indicator with a given follow-up standard error (baseline the same).
fn mean_row(practice: &str, evaluation: &str, baseline: f64, actual: f64, se: f64) -> EffectInput {
    EffectInput {
        origin: RowOrigin {
            organisation: "https://ro.example/actor".into(),
            country: Some(country("RO")),
            practice: practice.into(),
            adaptation: None,
            evaluation: evaluation.into(),
            source: source(evaluation, 7),
        },
        indicator: indicator("esl-rate@1"),
        evidence_level: None,
        followed_plan: None,
        plan: None,
        plan_deviations: Vec::new(),
        layout: InputLayout::Flat,
        comparison_baseline: None,
        comparison_follow_up: None,
        correlation: None,
        baseline: Observation {
            value: Some(baseline),
            se: Some(se),
            ..Observation::default()
        },
        follow_up: Observation {
            value: Some(actual),
            se: Some(se),
            ..Observation::default()
        },
        suppressed: None,
    }
}

// ---------------------------------------------------------------------------------------------
// the normal distribution

#[test]
fn erfc_matches_arbitrary_precision_values() {
    // erfc(x) from mpmath at 30 digits, rounded to 17 significant digits
    let cases = [
        (0.0, 1.0),
        (1e-10, 0.999_999_999_887_162_1),
        (0.3, 0.671_373_240_540_872_6),
        (0.5, 0.479_500_122_186_953_5),
        (0.999, 0.157_714_729_793_503_06),
        (1.0, 0.157_299_207_050_285_13),
        (1.5, 0.033_894_853_524_689_27),
        (2.0, 0.004_677_734_981_047_266),
        (3.0, 2.209_049_699_858_544e-5),
        (5.0, 1.537_459_794_428_035e-12),
        (8.0, 1.122_429_717_298_292_7e-29),
        (10.0, 2.088_487_583_762_545e-45),
        (26.0, 5.663_192_408_856_143e-296),
        (-1.0, 1.842_700_792_949_714_8),
        (-3.0, 1.999_977_909_503_001_5),
    ];
    for (x, expected) in cases {
        relative(erfc(x), expected, 2e-14, &format!("erfc({x})"));
    }
    assert!(erfc(f64::NAN).is_nan());
    assert_eq!(erfc(f64::INFINITY), 0.0);
    assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
    assert_eq!(erfc(40.0), 0.0);
}

#[test]
fn critical_values_and_p_values_agree() {
    assert_eq!(critical_value(0.95), Some(Z_95));
    close(
        critical_value(0.90).unwrap(),
        1.644_853_626_951_472_8,
        1e-13,
        "z 0.90",
    );
    close(
        critical_value(0.99).unwrap(),
        2.575_829_303_548_900_5,
        1e-13,
        "z 0.99",
    );
    close(
        critical_value(0.80).unwrap(),
        1.281_551_565_544_600_6,
        1e-13,
        "z 0.80",
    );
    for level in [0.0, 1.0, -0.5, 95.0, f64::NAN, f64::INFINITY] {
        assert_eq!(critical_value(level), None, "level {level}");
    }
    close(two_sided_p(Z_95), 0.05, 1e-15, "p at 1.96");
    close(two_sided_p(-Z_95), 0.05, 1e-15, "p is two-sided");
    close(two_sided_p(0.0), 1.0, 0.0, "p at 0");
    close(normal_cdf(Z_95), 0.975, 1e-15, "Φ(1.96)");
}

// ---------------------------------------------------------------------------------------------
// pooling: published and hand-computed examples

/// The BCG trials as effect rows: the control group is the "baseline", the vaccinated group
/// the "follow-up", each trial its own evaluation of one practice.
fn bcg_rows() -> Vec<EffectInput> {
    super::test_vectors::bcg()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (tpos, tneg, cpos, cneg) =
                (t.tpos as f64, t.tneg as f64, t.cpos as f64, t.cneg as f64);
            let mut row = counts_row(
                "bcg",
                "bcg-vaccination",
                t.trial,
                (tpos, tpos + tneg),
                (cpos, cpos + cneg),
            );
            row.origin.source.log_index = i as u64;
            row
        })
        .collect()
}

fn bcg_table(direction: Direction) -> EffectTable {
    evaluation_effects(
        &spec(Measure::Proportion, direction),
        EffectMetric::LogRiskRatio,
        &bcg_rows(),
    )
    .unwrap()
}

#[test]
fn bcg_log_risk_ratios_match_escalc() {
    // metafor: escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    let table = bcg_table(Direction::Increase);
    let first = table.rows[0].effect().unwrap();
    close(first.estimate, -0.8893, 5e-5, "yi of trial 1");
    close(first.variance, 0.3256, 5e-5, "vi of trial 1");
    assert!(table.rows.iter().all(|r| r.assumptions.is_empty()));
    assert_eq!(
        table.rows.iter().filter(|r| r.effect().is_some()).count(),
        13
    );
}

#[test]
fn bcg_dersimonian_laird_matches_metafor() {
    // metafor: rma(yi, vi, method = "DL") on the log risk ratios of dat.bcg gives
    // estimate -0.7141, se 0.1787, z -3.9952, p < .0001, CI -1.0644 to -0.3638,
    // tau^2 0.3088, I^2 92.12%, Q(df = 12) = 152.2330.
    let table = bcg_table(Direction::Increase);
    let effects: Vec<EffectSize> = table.rows.iter().filter_map(|r| r.effect_size()).collect();
    let pooled = pool_dersimonian_laird(&effects).unwrap();
    assert_eq!(pooled.k, 13);
    assert_eq!(pooled.df, 12);
    close(pooled.estimate, -0.7141, 5e-5, "estimate");
    close(pooled.se, 0.1787, 5e-5, "se");
    close(pooled.z, -3.9952, 5e-5, "z");
    close(pooled.ci_lower, -1.0644, 5e-5, "ci lower");
    close(pooled.ci_upper, -0.3638, 5e-5, "ci upper");
    close(pooled.tau2, 0.3088, 5e-5, "tau^2");
    close(pooled.q, 152.2330, 5e-5, "Q");
    close(pooled.i2.unwrap(), 92.12, 5e-3, "I^2");
    assert!(pooled.p_value < 1e-4, "p {}", pooled.p_value);
    // rma(yi, vi, method = "FE"): estimate -0.4303, se 0.0405, z -10.6247.
    close(pooled.fixed.estimate, -0.4303, 5e-5, "fixed estimate");
    close(pooled.fixed.se, 0.0405, 5e-5, "fixed se");
    close(pooled.fixed.z, -10.6247, 5e-5, "fixed z");
    assert_eq!(pool_fixed_effect(&effects).unwrap(), pooled.fixed);
}

#[test]
fn bcg_ranked_on_a_lower_is_better_indicator_improves() {
    // TB cases are lower-is-better: the sign flips and a positive effect means improvement.
    let table = bcg_table(Direction::Decrease);
    let ranking = rank_for_replication(&table, &[]).unwrap();
    let [practice] = ranking.practices.as_slice() else {
        panic!("one practice expected, got {:?}", ranking.practices)
    };
    let pooled = practice.pooled.as_ref().unwrap();
    // the ranking pools with REML and the Hartung–Knapp interval: rma(yi, vi, test = "knha")
    // gives -0.7145, CI -1.1084 to -0.3206, flipped here.
    assert_eq!(pooled.estimator, TauEstimator::Reml);
    assert_eq!(pooled.ci_method, CiMethod::HartungKnapp);
    close(pooled.estimate, 0.7145, 5e-5, "flipped estimate");
    close(pooled.ci_lower, 0.3206, 5e-5, "flipped lower bound");
    assert_eq!(practice.lower_bound, Some(pooled.ci_lower));
    assert_eq!(practice.verdict, Verdict::Improves);
    assert_eq!(practice.evidence_grade, EvidenceGrade::Multiple);
    assert_eq!(practice.sources.len(), 13);
    assert_eq!(practice.sources[12].log_index, 12);
}

#[test]
fn two_studies_by_hand() {
    // w = 25, 100; FE = 65/125 = 0.52; Q = 25·0.32² + 100·0.08² = 3.2; C = 125 − 10625/125 = 40;
    // tau² = (3.2 − 1)/40 = 0.055; w* = 1/0.095, 1/0.065; RE = 0.4375; I² = 2.2/3.2 = 68.75%.
    let effects = sizes(&[(0.2, 0.04), (0.6, 0.01)]);
    let fixed = pool_fixed_effect(&effects).unwrap();
    close(fixed.estimate, 0.52, 1e-15, "fixed estimate");
    close(fixed.se, 1.0 / 125f64.sqrt(), 1e-15, "fixed se");
    close(
        fixed.ci_lower,
        0.52 - Z_95 / 125f64.sqrt(),
        1e-15,
        "fixed ci",
    );
    let pooled = pool_dersimonian_laird(&effects).unwrap();
    close(pooled.q, 3.2, 1e-12, "Q");
    close(pooled.tau2, 0.055, 1e-12, "tau^2");
    close(pooled.estimate, 0.4375, 1e-12, "estimate");
    close(
        pooled.se,
        (1.0 / (1.0 / 0.095 + 1.0 / 0.065f64)).sqrt(),
        1e-12,
        "se",
    );
    close(pooled.i2.unwrap(), 68.75, 1e-9, "I^2");
}

#[test]
fn homogeneous_studies_keep_tau2_at_zero() {
    // Q = 25·0.04² + 25·0.04² = 0.08 < df = 1: tau² clamps at 0, I² at 0, RE equals FE.
    let effects = sizes(&[(0.46, 0.04), (0.54, 0.04)]);
    let pooled = pool_dersimonian_laird(&effects).unwrap();
    close(pooled.q, 0.08, 1e-12, "Q");
    assert_eq!(pooled.tau2, 0.0);
    assert_eq!(pooled.i2, Some(0.0));
    close(pooled.estimate, 0.5, 1e-15, "estimate");
    assert_eq!(pooled.estimate, pooled.fixed.estimate);
    assert_eq!(pooled.se, pooled.fixed.se);
}

#[test]
fn single_effect_has_no_heterogeneity() {
    let pooled = pool_dersimonian_laird(&sizes(&[(0.3, 0.09)])).unwrap();
    assert_eq!(pooled.k, 1);
    assert_eq!(pooled.df, 0);
    assert_eq!(pooled.q, 0.0);
    assert_eq!(pooled.tau2, 0.0);
    assert_eq!(pooled.i2, None);
    close(pooled.estimate, 0.3, 1e-15, "estimate");
    close(pooled.se, 0.3, 1e-15, "se");
    close(pooled.z, 1.0, 1e-15, "z");
    close(pooled.p_value, 0.317_310_507_862_914_1, 1e-15, "p");
}

#[test]
fn identical_effects_give_zero_q_and_i2() {
    let pooled = pool_dersimonian_laird(&sizes(&[(0.25, 0.1), (0.25, 0.02), (0.25, 0.5)])).unwrap();
    assert_eq!(pooled.q, 0.0);
    assert_eq!(pooled.tau2, 0.0);
    assert_eq!(pooled.i2, Some(0.0));
    close(pooled.estimate, 0.25, 1e-15, "estimate");
}

#[test]
fn pooling_refuses_what_it_cannot_weigh() {
    let check = |pairs: &[(f64, f64)], expected: AnalysisError| {
        assert_eq!(pool_dersimonian_laird(&sizes(pairs)), Err(expected.clone()));
        assert_eq!(pool_fixed_effect(&sizes(pairs)), Err(expected));
    };
    check(&[], AnalysisError::Empty);
    check(
        &[(0.1, 0.1), (0.2, 0.0)],
        AnalysisError::InvalidVariance {
            index: 1,
            variance: 0.0,
        },
    );
    check(
        &[(0.1, -0.1)],
        AnalysisError::InvalidVariance {
            index: 0,
            variance: -0.1,
        },
    );
    check(
        &[(0.1, f64::INFINITY)],
        AnalysisError::InvalidVariance {
            index: 0,
            variance: f64::INFINITY,
        },
    );
    check(
        &[(0.1, 1e-320)],
        AnalysisError::InvalidVariance {
            index: 0,
            variance: 1e-320,
        },
    );
    check(
        &[(0.1, 0.1), (f64::INFINITY, 0.1)],
        AnalysisError::InvalidEstimate {
            index: 1,
            estimate: f64::INFINITY,
        },
    );
    let nan = pool_dersimonian_laird(&sizes(&[(f64::NAN, 0.1)]));
    assert!(matches!(
        nan,
        Err(AnalysisError::InvalidEstimate { index: 0, .. })
    ));
    assert_eq!(
        pool_dersimonian_laird(&sizes(&[(1e200, 1.0), (-1e200, 1.0)])),
        Err(AnalysisError::NotFinite)
    );
}

// ---------------------------------------------------------------------------------------------
// per-evaluation effects

fn only_effect(table: &EffectTable) -> &StandardisedEffect {
    let [row] = table.rows.as_slice() else {
        panic!("one row expected")
    };
    row.effect()
        .unwrap_or_else(|| panic!("excluded: {:?}", row.exclusion()))
}

#[test]
fn log_risk_ratio_from_shares_and_direction() {
    // 30% of 200 at baseline, 20% of 200 at follow-up, on a percentage indicator.
    let row = EffectInput {
        baseline: Observation {
            value: Some(30.0),
            n: Some(200),
            ..Observation::default()
        },
        follow_up: Observation {
            value: Some(20.0),
            n: Some(200),
            ..Observation::default()
        },
        ..counts_row("ro", "p", "e", (0.0, 1.0), (0.0, 1.0))
    };
    let y = (40.0f64 / 200.0).ln() - (60.0f64 / 200.0).ln();
    let v = 1.0 / 40.0 - 1.0 / 200.0 + 1.0 / 60.0 - 1.0 / 200.0;
    let up = evaluation_effects(
        &spec(Measure::Percentage, Direction::Increase),
        EffectMetric::LogRiskRatio,
        std::slice::from_ref(&row),
    )
    .unwrap();
    close(only_effect(&up).estimate, y, 1e-15, "increase-is-better");
    close(only_effect(&up).variance, v, 1e-15, "variance");
    assert_eq!(up.rows[0].verdict, Verdict::Worsens);
    assert_eq!(up.rows[0].change, Some(-10.0));
    close(
        up.rows[0].relative_change.unwrap(),
        -1.0 / 3.0,
        1e-15,
        "relative change",
    );

    let down = evaluation_effects(
        &spec(Measure::Percentage, Direction::Decrease),
        EffectMetric::LogRiskRatio,
        std::slice::from_ref(&row),
    )
    .unwrap();
    close(
        only_effect(&down).estimate,
        -y,
        1e-15,
        "decrease-is-better flips",
    );
    assert_eq!(down.rows[0].verdict, Verdict::Improves);
    // the change stays in the indicator's own sign
    assert_eq!(down.rows[0].change, Some(-10.0));

    let neutral = evaluation_effects(
        &spec(Measure::Percentage, Direction::Neutral),
        EffectMetric::LogRiskRatio,
        &[row],
    )
    .unwrap();
    assert_eq!(neutral.rows[0].verdict, Verdict::Changes);
}

#[test]
fn empty_cells_get_a_continuity_correction() {
    // 0 of 50 at follow-up: ½ is added to each cell, as metafor's escalc does (add = 1/2).
    let table = evaluation_effects(
        &spec(Measure::Proportion, Direction::Decrease),
        EffectMetric::LogRiskRatio,
        &[counts_row("ro", "p", "e", (0.0, 50.0), (10.0, 50.0))],
    )
    .unwrap();
    let y = -((0.5f64 / 51.0).ln() - (10.5f64 / 51.0).ln());
    let v = 1.0 / 0.5 - 1.0 / 51.0 + 1.0 / 10.5 - 1.0 / 51.0;
    close(only_effect(&table).estimate, y, 1e-14, "corrected estimate");
    close(only_effect(&table).variance, v, 1e-14, "corrected variance");
    assert_eq!(
        table.rows[0].assumptions,
        [Assumption::ContinuityCorrection]
    );
}

#[test]
fn risk_difference_by_hand() {
    let table = evaluation_effects(
        &spec(Measure::Proportion, Direction::Increase),
        EffectMetric::RiskDifference,
        &[counts_row("ro", "p", "e", (60.0, 100.0), (40.0, 80.0))],
    )
    .unwrap();
    close(only_effect(&table).estimate, 0.1, 1e-15, "rd");
    close(
        only_effect(&table).variance,
        0.6 * 0.4 / 100.0 + 0.5 * 0.5 / 80.0,
        1e-15,
        "rd variance",
    );
    // zero variance (0% at both times) is excluded, not pooled with infinite weight
    let table = evaluation_effects(
        &spec(Measure::Proportion, Direction::Increase),
        EffectMetric::RiskDifference,
        &[counts_row("ro", "p", "e", (0.0, 100.0), (0.0, 80.0))],
    )
    .unwrap();
    assert!(matches!(
        table.rows[0].exclusion(),
        Some(ExclusionReason::NoVariance { .. })
    ));
    assert_eq!(table.rows[0].verdict, Verdict::Insufficient);
}

#[test]
fn hedges_g_by_hand() {
    // m = 12 vs 10, SD 4 at both, n = 50 at both: d = 0.5, J = 1 − 3/391,
    // g = 0.49616368286445, v = J²(100/2500 + 0.25/200) = 0.04061943603194642
    let mut row = mean_row("p", "e", 10.0, 12.0, 0.0);
    row.baseline = Observation {
        value: Some(10.0),
        n: Some(50),
        sd: Some(4.0),
        ..Observation::default()
    };
    row.follow_up = Observation {
        value: Some(12.0),
        n: Some(50),
        sd: Some(4.0),
        ..Observation::default()
    };
    let table = evaluation_effects(
        &spec(Measure::Mean, Direction::Increase),
        EffectMetric::StandardisedMeanDifference,
        &[row.clone()],
    )
    .unwrap();
    close(
        only_effect(&table).estimate,
        0.496_163_682_864_450_1,
        1e-14,
        "g",
    );
    close(
        only_effect(&table).variance,
        0.040_619_436_031_946_42,
        1e-14,
        "v",
    );
    assert!(table.rows[0].assumptions.is_empty());

    // unequal groups; the follow-up SD comes from a 95% CI: SE = 2/√30 → SD = 2
    let se = 2.0 / 30f64.sqrt();
    row.baseline = Observation {
        value: Some(6.0),
        n: Some(40),
        sd: Some(3.0),
        ..Observation::default()
    };
    row.follow_up = Observation {
        value: Some(7.5),
        n: Some(30),
        ci: Some(ConfidenceInterval {
            lower: 7.5 - Z_95 * se,
            upper: 7.5 + Z_95 * se,
            level: 0.95,
        }),
        ..Observation::default()
    };
    let table = evaluation_effects(
        &spec(Measure::Mean, Direction::Increase),
        EffectMetric::StandardisedMeanDifference,
        &[row],
    )
    .unwrap();
    close(
        only_effect(&table).estimate,
        0.566_047_371_808_183,
        1e-12,
        "g2",
    );
    close(
        only_effect(&table).variance,
        0.059_337_609_207_467_89,
        1e-12,
        "v2",
    );
}

#[test]
fn mean_difference_from_confidence_intervals() {
    let ci = |value: f64, se: f64, level: f64| ConfidenceInterval {
        lower: value - critical_value(level).unwrap() * se,
        upper: value + critical_value(level).unwrap() * se,
        level,
    };
    let mut row = mean_row("p", "e", 50.0, 55.0, 0.0);
    row.baseline = Observation {
        value: Some(50.0),
        ci: Some(ci(50.0, 2.0, 0.95)),
        ..Observation::default()
    };
    row.follow_up = Observation {
        value: Some(55.0),
        ci: Some(ci(55.0, 3.0, 0.90)),
        ..Observation::default()
    };
    let table = evaluation_effects(
        &spec(Measure::Mean, Direction::Increase),
        EffectMetric::MeanDifference,
        &[row],
    )
    .unwrap();
    close(only_effect(&table).estimate, 5.0, 1e-12, "md");
    close(only_effect(&table).variance, 13.0, 1e-12, "md variance");
    close(only_effect(&table).se, 13f64.sqrt(), 1e-12, "md se");
}

#[test]
fn model_values_assume_the_baseline_is_like_the_follow_up() {
    // An IndicatorValue carries n and the CI for `actual` only.
    let value = IndicatorValue {
        indicator: indicator("esl-rate@1"),
        period: None,
        baseline: Some(0.30),
        target: Some(0.10),
        actual: Some(0.20),
        numerator: Some(40.0),
        denominator: Some(200.0),
        n: Some(200),
        ci: None,
        groups: None,
        disaggregation: Default::default(),
        suppressed: None,
    };
    let origin = RowOrigin {
        organisation: "https://ro.example/actor".into(),
        country: Some(country("RO")),
        practice: "https://ro.example/practices/1".into(),
        adaptation: None,
        evaluation: "https://ro.example/evaluations/1".into(),
        source: source("ro", 3),
    };
    let row = EffectInput::from_indicator_value(
        origin,
        &value,
        Some(EvidenceLevel::new(3).unwrap()),
        Some(true),
    );
    let table = evaluation_effects(
        &spec(Measure::Proportion, Direction::Decrease),
        EffectMetric::LogRiskRatio,
        &[row],
    )
    .unwrap();
    let y = -((40.0f64 / 200.0).ln() - (60.0f64 / 200.0).ln());
    close(only_effect(&table).estimate, y, 1e-14, "effect");
    assert_eq!(
        table.rows[0].assumptions,
        [Assumption::BaselineSizeFromFollowUp]
    );
    assert_eq!(table.rows[0].evidence_level.map(|l| l.get()), Some(3));
}

#[test]
fn unusable_rows_are_excluded_with_their_reason() {
    let proportion = spec(Measure::Proportion, Direction::Increase);
    let check = |row: EffectInput, metric: EffectMetric, expected: ExclusionReason| {
        let table = evaluation_effects(&proportion, metric, std::slice::from_ref(&row)).unwrap();
        assert_eq!(table.rows.len(), 1, "the row stays in the table");
        assert_eq!(table.rows[0].exclusion(), Some(&expected), "{row:?}");
        assert_eq!(table.rows[0].verdict, Verdict::Insufficient);
    };
    let good = counts_row("ro", "p", "e", (20.0, 100.0), (30.0, 100.0));

    let mut suppressed = good.clone();
    suppressed.suppressed = Some(Suppression::Primary);
    check(
        suppressed.clone(),
        EffectMetric::LogRiskRatio,
        ExclusionReason::Suppressed {
            suppression: Suppression::Primary,
        },
    );

    let mut other = good.clone();
    other.indicator = indicator("esl-rate@2");
    check(
        other,
        EffectMetric::LogRiskRatio,
        ExclusionReason::OtherIndicatorVersion {
            found: indicator("esl-rate@2"),
        },
    );

    let mut no_counts = good.clone();
    no_counts.baseline = Observation::default();
    check(
        no_counts,
        EffectMetric::LogRiskRatio,
        ExclusionReason::Missing {
            field: "baseline.numerator and .denominator (or .value and .n)".into(),
        },
    );

    let mut too_many = good.clone();
    too_many.follow_up.numerator = Some(101.0);
    check(
        too_many,
        EffectMetric::LogRiskRatio,
        ExclusionReason::OutOfRange {
            field: "followUp.numerator".into(),
            detail: "101 is above denominator 100".into(),
        },
    );

    let mut nan = good.clone();
    nan.baseline.denominator = Some(f64::NAN);
    check(
        nan,
        EffectMetric::RiskDifference,
        ExclusionReason::NotFinite {
            field: "baseline.denominator".into(),
        },
    );

    let mut not_a_share = good.clone();
    not_a_share.follow_up = Observation {
        value: Some(1.5),
        n: Some(10),
        ..Observation::default()
    };
    check(
        not_a_share,
        EffectMetric::LogRiskRatio,
        ExclusionReason::OutOfRange {
            field: "followUp.value".into(),
            detail: "1.5 is outside the range of a proportion (0 to 1)".into(),
        },
    );

    let mut no_spread = mean_row("p", "e", 0.2, 0.3, 0.0);
    no_spread.follow_up.se = None;
    check(
        no_spread,
        EffectMetric::MeanDifference,
        ExclusionReason::Missing {
            field: "followUp.se (or .ci, or .sd with .n)".into(),
        },
    );

    let zero_spread = mean_row("p", "e", 0.2, 0.3, 0.0);
    assert!(matches!(
        evaluation_effects(&proportion, EffectMetric::MeanDifference, &[zero_spread])
            .unwrap()
            .rows[0]
            .exclusion(),
        Some(ExclusionReason::NoVariance { .. })
    ));

    // a suppressed row never shows its numbers, even if some slipped through
    let table = evaluation_effects(&proportion, EffectMetric::LogRiskRatio, &[suppressed]).unwrap();
    assert_eq!(
        (
            table.rows[0].baseline,
            table.rows[0].actual,
            table.rows[0].change
        ),
        (None, None, None)
    );
    assert_eq!(
        table.rows[0].exclusion().unwrap().to_string(),
        "suppressed by disclosure control (primary)"
    );
}

#[test]
fn a_metric_that_does_not_fit_the_measure_is_refused() {
    assert_eq!(
        evaluation_effects(
            &spec(Measure::Mean, Direction::Increase),
            EffectMetric::LogRiskRatio,
            &[],
        ),
        Err(AnalysisError::MetricMismatch {
            metric: EffectMetric::LogRiskRatio,
            measure: Measure::Mean,
        })
    );
    assert_eq!(
        EffectMetric::default_for(Measure::Percentage),
        EffectMetric::LogRiskRatio
    );
    assert_eq!(
        EffectMetric::default_for(Measure::Count),
        EffectMetric::StandardisedMeanDifference
    );
}

// ---------------------------------------------------------------------------------------------
// ranking and replication map

const RO_ACTOR: &str = "https://ro.example/actor";
const PRACTICE: &str = "https://ro.example/practices/mentoring";

fn adaptation(id: &str, organisation: &str, code: &str, countersigned: bool) -> AdaptationInput {
    AdaptationInput {
        adaptation: id.into(),
        practice: PRACTICE.into(),
        origin_organisation: Some(RO_ACTOR.into()),
        organisation: organisation.into(),
        country: country(code),
        state: AdaptationState::Implemented,
        source: source(id, 1),
        countersignature: countersigned.then(|| source("ro", 100)),
        origin_core_components: Some(0),
        core_components_kept: Vec::new(),
        inconsistent_modifications: Vec::new(),
    }
}

/// Five practices on a mean, higher-is-better indicator, effects as mean differences with
/// SE 1 at each time point (variance 2 per row).
fn ranking_table() -> EffectTable {
    let mut rows = vec![
        // A: two evaluations, +5 each: lower bound 5 − 1.96·1 = 3.04
        mean_row(PRACTICE, "a1", 10.0, 15.0, 1.0),
        mean_row(PRACTICE, "a2", 10.0, 15.0, 1.0),
        // B: same effects as A, but both followed a registered plan: ties on the bound, wins on
        // grade
        mean_row("b", "b1", 10.0, 15.0, 1.0),
        mean_row("b", "b2", 10.0, 15.0, 1.0),
        // C: a null result
        mean_row("c", "c1", 10.0, 10.5, 1.0),
        // D: a negative result
        mean_row("d", "d1", 10.0, 2.0, 1.0),
        // E: suppressed only
        mean_row("e", "e1", 10.0, 20.0, 1.0),
    ];
    for row in rows.iter_mut().filter(|r| r.origin.practice == "b") {
        row.followed_plan = Some(true);
    }
    for row in rows.iter_mut().filter(|r| r.origin.practice == "e") {
        row.suppressed = Some(Suppression::Secondary);
    }
    rows[0].evidence_level = Some(EvidenceLevel::new(4).unwrap());
    evaluation_effects(
        &spec(Measure::Mean, Direction::Increase),
        EffectMetric::MeanDifference,
        &rows,
    )
    .unwrap()
}

#[test]
fn ranking_orders_by_lower_bound_then_grade_then_replications_and_keeps_every_result() {
    let table = ranking_table();
    let ranking = rank_for_replication(&table, &[]).unwrap();
    let order: Vec<(&str, Verdict, EvidenceGrade)> = ranking
        .practices
        .iter()
        .map(|p| (p.practice.as_str(), p.verdict, p.evidence_grade))
        .collect();
    assert_eq!(
        order,
        [
            ("b", Verdict::Improves, EvidenceGrade::MultiplePreregistered),
            (PRACTICE, Verdict::Improves, EvidenceGrade::Multiple),
            ("c", Verdict::NoClearEffect, EvidenceGrade::Single),
            ("d", Verdict::Worsens, EvidenceGrade::Single),
            ("e", Verdict::Insufficient, EvidenceGrade::None),
        ]
    );
    let ranks: Vec<usize> = ranking.practices.iter().map(|p| p.rank).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 5]);
    let a = &ranking.practices[1];
    close(
        a.lower_bound.unwrap(),
        5.0 - Z_95,
        1e-12,
        "lower bound of A",
    );
    assert_eq!(a.highest_evidence_level.map(|l| l.get()), Some(4));
    let e = &ranking.practices[4];
    assert_eq!((e.evaluations, e.excluded), (0, 1));
    assert_eq!(e.excluded_sources, [source("e1", 7)]);
    assert!(e.pooled.is_none());

    // Countersigned replications in two countries lift A over B, whose bound it ties.
    let adaptations = [
        adaptation("it-1", "https://it.example/actor", "IT", true),
        adaptation("es-1", "https://es.example/actor", "ES", true),
    ];
    let mut equal_grades = table.clone();
    for row in &mut equal_grades.rows {
        row.followed_plan = None;
    }
    let ranking = rank_for_replication(&equal_grades, &adaptations).unwrap();
    assert_eq!(ranking.practices[0].practice, PRACTICE);
    assert_eq!(ranking.practices[0].replications.independent, 2);
    assert_eq!(ranking.practices[1].practice, "b");
}

#[test]
fn only_countersigned_adaptations_by_other_organisations_count() {
    let adaptations = [
        adaptation("it-1", "https://it.example/actor", "IT", true),
        // the same organisation adapting twice in one country counts once
        adaptation("it-2", "https://it.example/actor", "IT", true),
        adaptation("es-1", "https://es.example/actor", "ES", true),
        // not countersigned: shown, not counted
        adaptation("es-2", "https://es2.example/actor", "ES", false),
        // the origin organisation adapting its own practice is not independent
        adaptation("ro-1", RO_ACTOR, "FR", true),
    ];
    let count = count_replications(PRACTICE, &adaptations);
    assert_eq!(
        (count.countries, count.organisations, count.independent),
        (2, 2, 2)
    );
    assert_eq!(
        count.summary(),
        "replicated in 2 countries by 2 organisations"
    );
    assert_eq!(
        count.sources.len(),
        6,
        "three adaptations and their countersignatures"
    );
    let one = count_replications(PRACTICE, &adaptations[..1]);
    assert_eq!(one.summary(), "replicated in 1 country by 1 organisation");
    assert_eq!(count_replications("other", &adaptations).independent, 0);
}

#[test]
fn neutral_indicators_cannot_be_ranked() {
    let table = evaluation_effects(
        &spec(Measure::Mean, Direction::Neutral),
        EffectMetric::MeanDifference,
        &[mean_row("p", "e", 1.0, 2.0, 0.1)],
    )
    .unwrap();
    assert_eq!(
        rank_for_replication(&table, &[]),
        Err(AnalysisError::UndirectedIndicator {
            indicator: indicator("esl-rate@1"),
        })
    );
}

#[test]
fn replication_map_keeps_each_adopters_effect_by_country() {
    let adopted = |evaluation: &str, adaptation: &str, org: &str, code: &str, actual: f64| {
        let mut row = mean_row(PRACTICE, evaluation, 10.0, actual, 1.0);
        row.origin.adaptation = Some(adaptation.into());
        row.origin.organisation = org.into();
        row.origin.country = Some(country(code));
        row
    };
    let rows = vec![
        mean_row(PRACTICE, "ro-eval", 10.0, 15.0, 1.0),
        adopted("it-eval", "it-1", "https://it.example/actor", "IT", 14.0),
        // the Spanish adaptation worsened the indicator: kept, flagged
        adopted("es-eval", "es-1", "https://es.example/actor", "ES", 4.0),
    ];
    let table = evaluation_effects(
        &spec(Measure::Mean, Direction::Increase),
        EffectMetric::MeanDifference,
        &rows,
    )
    .unwrap();
    let adaptations = [
        adaptation("it-1", "https://it.example/actor", "IT", true),
        adaptation("es-1", "https://es.example/actor", "ES", true),
        adaptation("es-2", "https://es2.example/actor", "ES", false),
    ];
    let map = replication_map(&table, &adaptations);
    let [origin] = map.origins.as_slice() else {
        panic!("one origin expected")
    };
    assert_eq!(origin.origin_organisation.as_deref(), Some(RO_ACTOR));
    close(
        origin.origin_effect.as_ref().unwrap().estimate,
        5.0,
        1e-12,
        "origin",
    );
    assert_eq!(origin.origin_sources, [source("ro-eval", 7)]);
    assert_eq!(
        origin.summary,
        "replicated in 2 countries by 2 organisations"
    );
    let countries: Vec<&str> = origin
        .countries
        .iter()
        .map(|c| c.country.as_str())
        .collect();
    assert_eq!(countries, ["ES", "IT"]);
    let es = &origin.countries[0].adopters;
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].adaptation, "es-1");
    assert_eq!(es[0].verdict, Verdict::Worsens);
    close(
        es[0].effect.as_ref().unwrap().estimate,
        -6.0,
        1e-12,
        "es effect",
    );
    assert!(es[0].counts_as_replication);
    assert_eq!(
        es[0].sources,
        [source("es-1", 1), source("ro", 100), source("es-eval", 7)]
    );
    assert_eq!(es[1].adaptation, "es-2");
    assert!(!es[1].countersigned && !es[1].counts_as_replication);
    assert_eq!(es[1].verdict, Verdict::Insufficient);
    assert!(es[1].effect.is_none());
    let it = &origin.countries[1].adopters[0];
    close(
        it.effect.as_ref().unwrap().estimate,
        4.0,
        1e-12,
        "it effect",
    );
    assert_eq!(it.verdict, Verdict::Improves);
}

// ---------------------------------------------------------------------------------------------
// JSON and CSV

#[test]
fn results_serialise_in_camel_case_and_round_trip() {
    let table = ranking_table();
    let json = serde_json::to_value(&table).unwrap();
    let first = &json["rows"][0];
    assert_eq!(first["outcome"]["status"], "estimated");
    assert_eq!(first["source"]["logIndex"], 7);
    assert_eq!(
        first["source"]["activityId"],
        "https://a1.example/activities/7"
    );
    assert_eq!(first["country"], "RO");
    assert!(first["outcome"]["ciLower"].is_number());
    assert!(first["relativeChange"].is_number());
    assert_eq!(first["evidenceLevel"], 4);
    let excluded = &json["rows"][6];
    assert_eq!(excluded["outcome"]["status"], "excluded");
    assert_eq!(excluded["outcome"]["reason"]["kind"], "suppressed");
    assert_eq!(excluded["outcome"]["reason"]["suppression"], "secondary");
    assert_eq!(excluded["verdict"], "insufficient");
    assert_eq!(json["metric"], "meanDifference");
    let back: EffectTable = serde_json::from_value(json).unwrap();
    assert_eq!(back, table);

    let ranking = rank_for_replication(&table, &[]).unwrap();
    let json = serde_json::to_value(&ranking).unwrap();
    assert_eq!(
        json["practices"][0]["evidenceGrade"],
        "multiplePreregistered"
    );
    assert!(json["practices"][0]["lowerBound"].is_number());
    assert!(json["practices"][0]["pooled"]["tau2"].is_number());
    assert_eq!(json["practices"][3]["verdict"], "worsens");
    let back: Ranking = serde_json::from_value(json).unwrap();
    assert_eq!(back, ranking);

    let map = replication_map(
        &table,
        &[adaptation("it-1", "https://it.example/actor", "IT", true)],
    );
    let json = serde_json::to_value(&map).unwrap();
    assert_eq!(
        json["origins"][0]["countries"][0]["adopters"][0]["countsAsReplication"],
        true
    );
    let back: ReplicationMap = serde_json::from_value(json).unwrap();
    assert_eq!(back, map);
}

#[test]
fn csv_rows_have_a_header_and_one_record_per_row() {
    let table = ranking_table();
    let check = |rows: Vec<Vec<String>>, records: usize| -> Vec<Vec<String>> {
        assert_eq!(rows.len(), records + 1);
        let width = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == width));
        rows
    };
    let rows = check(table.to_csv_rows(), 7);
    let column = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][column("status")], "estimated");
    assert_eq!(rows[1][column("effect")], "5");
    assert_eq!(rows[1][column("sourceLogIndex")], "7");
    assert_eq!(rows[7][column("status")], "excluded");
    assert_eq!(
        rows[7][column("exclusionReason")],
        "suppressed by disclosure control (secondary)"
    );
    assert_eq!(rows[7][column("effect")], "");

    let ranking = rank_for_replication(&table, &[]).unwrap();
    let rows = check(ranking.to_csv_rows(), 5);
    assert_eq!(rows[1][0], "1");
    assert_eq!(rows[1][3], "b");
    assert_eq!(rows[5][4], "insufficient");

    let map = replication_map(
        &table,
        &[
            adaptation("it-1", "https://it.example/actor", "IT", true),
            adaptation("es-1", "https://es.example/actor", "ES", false),
        ],
    );
    let rows = check(map.to_csv_rows(), 2);
    assert_eq!(rows[1][10], "ES");
    assert_eq!(rows[1][14], "false");
}

// ---------------------------------------------------------------------------------------------
// properties

fn effect_sizes() -> impl Strategy<Value = Vec<EffectSize>> {
    prop::collection::vec((-10.0..10.0f64, 1e-4..10.0f64), 1..30).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(estimate, variance)| EffectSize { estimate, variance })
            .collect()
    })
}

fn any_observation() -> impl Strategy<Value = Observation> {
    let number = || prop::option::of(prop_oneof![any::<f64>(), -2.0..200.0f64]);
    (
        number(),
        prop::option::of(0u64..1_000),
        number(),
        number(),
        number(),
        number(),
        prop::option::of((any::<f64>(), any::<f64>(), any::<f64>())),
    )
        .prop_map(
            |(value, n, numerator, denominator, sd, se, ci)| Observation {
                value,
                n,
                numerator,
                denominator,
                sd,
                se,
                ci: ci.map(|(lower, upper, level)| ConfidenceInterval {
                    lower,
                    upper,
                    level,
                }),
                ..Observation::default()
            },
        )
}

proptest! {
    #[test]
    fn pooled_estimate_lies_between_the_extremes(effects in effect_sizes()) {
        let pooled = pool_dersimonian_laird(&effects).unwrap();
        let min = effects.iter().map(|e| e.estimate).fold(f64::INFINITY, f64::min);
        let max = effects.iter().map(|e| e.estimate).fold(f64::NEG_INFINITY, f64::max);
        let slack = 1e-9 * (1.0 + min.abs().max(max.abs()));
        prop_assert!(pooled.estimate >= min - slack && pooled.estimate <= max + slack);
        prop_assert!(pooled.fixed.estimate >= min - slack && pooled.fixed.estimate <= max + slack);
        prop_assert!(pooled.ci_lower <= pooled.estimate && pooled.estimate <= pooled.ci_upper);
        // random effects are never more precise than the fixed effect
        prop_assert!(pooled.se >= pooled.fixed.se * (1.0 - 1e-12));
    }

    #[test]
    fn heterogeneity_statistics_stay_in_range(effects in effect_sizes()) {
        let pooled = pool_dersimonian_laird(&effects).unwrap();
        prop_assert!(pooled.tau2 >= 0.0);
        prop_assert!(pooled.q >= 0.0);
        prop_assert_eq!(pooled.df, effects.len() - 1);
        match pooled.i2 {
            None => prop_assert_eq!(effects.len(), 1),
            Some(i2) => prop_assert!((0.0..=100.0).contains(&i2)),
        }
        prop_assert!((0.0..=1.0).contains(&pooled.p_value));
    }

    #[test]
    fn pooling_ignores_the_order_of_effects(effects in effect_sizes(), shift in 0usize..30) {
        let a = pool_dersimonian_laird(&effects).unwrap();
        let mut reordered = effects.clone();
        reordered.reverse();
        let len = reordered.len();
        reordered.rotate_left(shift % len);
        let b = pool_dersimonian_laird(&reordered).unwrap();
        for (x, y, what) in [
            (a.estimate, b.estimate, "estimate"),
            (a.se, b.se, "se"),
            (a.q, b.q, "q"),
            (a.tau2, b.tau2, "tau2"),
            (a.i2.unwrap_or(0.0), b.i2.unwrap_or(0.0), "i2"),
        ] {
            prop_assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "{}: {} vs {}", what, x, y);
        }
    }

    #[test]
    fn any_row_gives_a_finite_effect_or_a_reason(
        baseline in any_observation(),
        follow_up in any_observation(),
        metric in prop_oneof![
            Just(EffectMetric::LogRiskRatio),
            Just(EffectMetric::RiskDifference),
            Just(EffectMetric::StandardisedMeanDifference),
            Just(EffectMetric::MeanDifference),
        ],
        direction in prop_oneof![
            Just(Direction::Increase),
            Just(Direction::Decrease),
            Just(Direction::Neutral),
        ],
    ) {
        let mut row = counts_row("ro", "p", "e", (0.0, 1.0), (0.0, 1.0));
        row.baseline = baseline;
        row.follow_up = follow_up;
        let table = evaluation_effects(&spec(Measure::Percentage, direction), metric, &[row])
            .unwrap();
        let out = &table.rows[0];
        if let Some(e) = out.effect() {
            prop_assert!(e.estimate.is_finite() && e.variance.is_finite() && e.variance > 0.0);
            prop_assert!(e.ci_lower <= e.estimate && e.estimate <= e.ci_upper);
            prop_assert_ne!(out.verdict, Verdict::Insufficient);
        } else {
            prop_assert_eq!(out.verdict, Verdict::Insufficient);
        }
        for x in [out.baseline, out.actual, out.change, out.relative_change].into_iter().flatten() {
            prop_assert!(x.is_finite());
        }
        // whatever came out can be pooled, ranked, mapped and written without a panic
        let _ = rank_for_replication(&table, &[]);
        let _ = table.to_csv_rows();
        prop_assert!(serde_json::to_string(&table).is_ok());
    }

    #[test]
    fn erfc_is_bounded_and_decreasing(x in -30.0..30.0f64, dx in 0.0..1.0f64) {
        let (a, b) = (erfc(x), erfc(x + dx));
        prop_assert!((0.0..=2.0).contains(&a));
        prop_assert!(b <= a);
    }
}
