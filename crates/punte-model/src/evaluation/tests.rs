//! The cross-field rules of evaluation values, single-group and per group.

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
    let v = json!([{"indicator": "x@1", "actual": 50.0, "numerator": 10.0, "denominator": 1000.0}]);
    assert_eq!(errors(v, "percentage"), vec!["values[0].actual"]);
    let v = json!([{"indicator": "x@1", "actual": 1.0, "numerator": 10.0, "denominator": 1000.0}]);
    assert_eq!(errors(v, "percentage"), Vec::<String>::new());
    // numerator above denominator, n not the denominator, a fractional count
    let v = json!([{"indicator": "x@1", "actual": 1.0, "numerator": 12.0, "denominator": 10.0, "n": 10}]);
    assert_eq!(errors(v, "proportion")[0], "values[0].numerator");
    let v = json!([{"indicator": "x@1", "actual": 0.2, "numerator": 2.0, "denominator": 10.0, "n": 12}]);
    assert_eq!(errors(v, "proportion"), vec!["values[0].n"]);
    let v = json!([{"indicator": "x@1", "actual": 0.25, "numerator": 2.5, "denominator": 10.0}]);
    assert_eq!(errors(v, "proportion"), vec!["values[0].numerator"]);
    // a rate's numerator may exceed its denominator (events per person-year)
    let v = json!([{"indicator": "x@1", "actual": 1.2, "numerator": 12.0, "denominator": 10.0}]);
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
