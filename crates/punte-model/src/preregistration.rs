//! Pre-registration: whether reported results follow the evaluation plan registered before them.
//!
//! A plan is an evaluation at stage `plan` (design, method, evidence level, period and the
//! indicators it will report, without actual values). Results name the plan they follow
//! (`EvaluationContent::plan`). [`compare`] lists every way the results depart from the plan;
//! results *followed* the plan only when there is none. The order of the two in the
//! organisation's signed log is part of the comparison: a plan whose last version was
//! published at or after the results' first publication was not registered before the
//! results, so it does not count, whatever it says.
//!
//! Pure: the caller passes the log positions of the plan's last version and of the results'
//! first publication (entries of one organisation's log, so their indices are comparable).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::common::Period;
use crate::evaluation::{EvaluationContent, EvaluationStage, EvidenceLevel, Method};
use crate::indicator::IndicatorRef;

/// A registered plan as the comparison takes it.
#[derive(Debug, Clone, Copy)]
pub struct PlanRecord<'a> {
    pub content: &'a EvaluationContent,
    /// Index, in the organisation's signed log, of the entry publishing the plan's current
    /// (last) version.
    pub last_changed_at: u64,
}

/// Reported results as the comparison takes them.
#[derive(Debug, Clone, Copy)]
pub struct ResultsRecord<'a> {
    pub content: &'a EvaluationContent,
    /// Index, in the same log, of the entry that first published the results (version 1).
    pub first_published_at: u64,
}

/// One way results depart from their plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Deviation {
    /// The plan named could not be read (not replicated, deleted, or not an evaluation of
    /// the same organisation).
    PlanUnavailable,
    /// The results' first publication is not readable in the log (its entry was redacted),
    /// so the plan cannot be shown to precede it.
    FirstPublicationUnknown,
    /// The evaluation named as the plan is not at stage `plan`.
    NotAPlan,
    /// The plan's last version was published at or after the results' first publication.
    PlanChangedAfterResults {
        plan_entry: u64,
        results_first_entry: u64,
    },
    /// The plan evaluates another practice or adaptation.
    SubjectChanged,
    MethodChanged {
        planned: Method,
        reported: Method,
    },
    EvidenceLevelLowered {
        planned: EvidenceLevel,
        reported: EvidenceLevel,
    },
    /// A planned indicator (`code@version`) has no reported actual value.
    OutcomeDropped {
        indicator: IndicatorRef,
    },
    /// A reported indicator the plan did not name.
    OutcomeAdded {
        indicator: IndicatorRef,
    },
    /// The results' period is not inside the planned one.
    PeriodOutsidePlan {
        planned: Period,
        reported: Period,
    },
}

impl Deviation {
    /// The deviation's kind, as serialised (`methodChanged`, …): a stable key for
    /// translations and CSV.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PlanUnavailable => "planUnavailable",
            Self::FirstPublicationUnknown => "firstPublicationUnknown",
            Self::NotAPlan => "notAPlan",
            Self::PlanChangedAfterResults { .. } => "planChangedAfterResults",
            Self::SubjectChanged => "subjectChanged",
            Self::MethodChanged { .. } => "methodChanged",
            Self::EvidenceLevelLowered { .. } => "evidenceLevelLowered",
            Self::OutcomeDropped { .. } => "outcomeDropped",
            Self::OutcomeAdded { .. } => "outcomeAdded",
            Self::PeriodOutsidePlan { .. } => "periodOutsidePlan",
        }
    }
}

fn period_text(p: &Period) -> String {
    match p.end {
        Some(end) => format!("{} to {end}", p.start),
        None => format!("from {}", p.start),
    }
}

fn method_text(m: Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PlanUnavailable => f.write_str("the plan named cannot be read"),
            Self::FirstPublicationUnknown => f.write_str(
                "the results' first publication is not readable in the log, so the plan cannot be shown to precede it",
            ),
            Self::NotAPlan => f.write_str("the evaluation named as plan is not at stage plan"),
            Self::PlanChangedAfterResults {
                plan_entry,
                results_first_entry,
            } => write!(
                f,
                "the plan's last version (log entry {plan_entry}) does not precede the results' first publication (log entry {results_first_entry})"
            ),
            Self::SubjectChanged => f.write_str("the plan evaluates another subject"),
            Self::MethodChanged { planned, reported } => write!(
                f,
                "method changed from {} to {}",
                method_text(*planned),
                method_text(*reported)
            ),
            Self::EvidenceLevelLowered { planned, reported } => write!(
                f,
                "evidence level lowered from {} to {}",
                planned.get(),
                reported.get()
            ),
            Self::OutcomeDropped { indicator } => {
                write!(f, "planned outcome {indicator} not reported")
            }
            Self::OutcomeAdded { indicator } => {
                write!(f, "outcome {indicator} reported but not planned")
            }
            Self::PeriodOutsidePlan { planned, reported } => write!(
                f,
                "period {} is outside the planned {}",
                period_text(reported),
                period_text(planned)
            ),
        }
    }
}

/// How results relate to the plan they name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adherence {
    /// True exactly when there is no deviation.
    pub followed: bool,
    pub deviations: Vec<Deviation>,
}

impl Adherence {
    fn from_deviations(deviations: Vec<Deviation>) -> Self {
        Self {
            followed: deviations.is_empty(),
            deviations,
        }
    }

    /// Results naming a plan that cannot be read: they did not (verifiably) follow it.
    pub fn plan_unavailable() -> Self {
        Self::from_deviations(vec![Deviation::PlanUnavailable])
    }

    /// Results whose first publication cannot be read: the order cannot be verified.
    pub fn first_publication_unknown() -> Self {
        Self::from_deviations(vec![Deviation::FirstPublicationUnknown])
    }
}

/// Compares results with the plan they name; see the module documentation.
pub fn compare(plan: PlanRecord<'_>, results: ResultsRecord<'_>) -> Adherence {
    let p = plan.content;
    let r = results.content;
    let mut deviations = Vec::new();
    if p.stage != EvaluationStage::Plan {
        deviations.push(Deviation::NotAPlan);
    }
    if plan.last_changed_at >= results.first_published_at {
        deviations.push(Deviation::PlanChangedAfterResults {
            plan_entry: plan.last_changed_at,
            results_first_entry: results.first_published_at,
        });
    }
    if p.subject.practice != r.subject.practice || p.subject.adaptation != r.subject.adaptation {
        deviations.push(Deviation::SubjectChanged);
    }
    if p.method != r.method {
        deviations.push(Deviation::MethodChanged {
            planned: p.method,
            reported: r.method,
        });
    }
    if r.evidence_level < p.evidence_level {
        deviations.push(Deviation::EvidenceLevelLowered {
            planned: p.evidence_level,
            reported: r.evidence_level,
        });
    }
    let planned: BTreeSet<&IndicatorRef> = p.values.iter().map(|v| &v.indicator).collect();
    // A value blanked by disclosure control was reported; the origin suppressed the cell.
    let reported: BTreeSet<&IndicatorRef> = r
        .values
        .iter()
        .filter(|v| v.actual.is_some() || v.suppressed.is_some())
        .map(|v| &v.indicator)
        .collect();
    let named: BTreeSet<&IndicatorRef> = r.values.iter().map(|v| &v.indicator).collect();
    for indicator in planned.difference(&reported) {
        deviations.push(Deviation::OutcomeDropped {
            indicator: (*indicator).clone(),
        });
    }
    for indicator in named.difference(&planned) {
        deviations.push(Deviation::OutcomeAdded {
            indicator: (*indicator).clone(),
        });
    }
    if !within(&r.period, &p.period) {
        deviations.push(Deviation::PeriodOutsidePlan {
            planned: p.period.clone(),
            reported: r.period.clone(),
        });
    }
    Adherence::from_deviations(deviations)
}

/// Whether `inner` lies inside `outer` (an open end is inside only an open end).
fn within(inner: &Period, outer: &Period) -> bool {
    inner.start >= outer.start
        && match (outer.end, inner.end) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(o), Some(i)) => i <= o,
        }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::common::Date;
    use crate::evaluation::{EvaluationSubject, Evaluator, EvaluatorRole, IndicatorValue};

    fn period(start: &str, end: Option<&str>) -> Period {
        Period {
            start: Date::parse(start).unwrap(),
            end: end.map(|e| Date::parse(e).unwrap()),
        }
    }

    fn value(indicator: &str, actual: Option<f64>) -> IndicatorValue {
        IndicatorValue {
            indicator: indicator.parse().unwrap(),
            period: None,
            baseline: Some(10.0),
            target: Some(20.0),
            actual,
            numerator: None,
            denominator: None,
            n: None,
            ci: None,
            groups: None,
            disaggregation: Default::default(),
            suppressed: None,
        }
    }

    fn evaluation(stage: EvaluationStage, values: Vec<IndicatorValue>) -> EvaluationContent {
        EvaluationContent {
            subject: EvaluationSubject {
                practice: Some("p1".into()),
                practice_version: Some(1),
                adaptation: None,
            },
            title: None,
            summary: None,
            evaluator: Evaluator {
                name: "M&E".into(),
                role: EvaluatorRole::Internal,
                organisation: None,
            },
            method: Method::ComparisonGroup,
            evidence_level: EvidenceLevel::new(3).unwrap(),
            period: period("2025-01-01", Some("2025-12-31")),
            stage,
            plan: None,
            dac: None,
            values,
        }
    }

    fn plan() -> EvaluationContent {
        evaluation(
            EvaluationStage::Plan,
            vec![value("esl-rate@1", None), value("attendance@2", None)],
        )
    }

    fn results() -> EvaluationContent {
        let mut r = evaluation(
            EvaluationStage::Results,
            vec![
                value("esl-rate@1", Some(12.0)),
                value("attendance@2", Some(80.0)),
            ],
        );
        r.plan = Some("plan-1".into());
        r
    }

    /// Compares with the plan's last version at log entry 3 and the results first at 7.
    fn check(plan: &EvaluationContent, results: &EvaluationContent) -> Adherence {
        compare(
            PlanRecord {
                content: plan,
                last_changed_at: 3,
            },
            ResultsRecord {
                content: results,
                first_published_at: 7,
            },
        )
    }

    fn kinds(a: &Adherence) -> Vec<&'static str> {
        a.deviations.iter().map(Deviation::kind).collect()
    }

    #[test]
    fn results_as_planned_follow_the_plan() {
        let a = check(&plan(), &results());
        assert_eq!(
            a,
            Adherence {
                followed: true,
                deviations: vec![]
            }
        );
    }

    #[test]
    fn a_shorter_period_inside_the_plan_and_a_higher_evidence_level_still_follow_it() {
        let mut r = results();
        r.period = period("2025-03-01", Some("2025-09-30"));
        r.evidence_level = EvidenceLevel::new(4).unwrap();
        assert!(check(&plan(), &r).followed);
    }

    #[test]
    fn method_change_and_lower_evidence_level_are_deviations() {
        let mut r = results();
        r.method = Method::PrePost;
        r.evidence_level = EvidenceLevel::new(2).unwrap();
        let a = check(&plan(), &r);
        assert!(!a.followed);
        assert_eq!(
            a.deviations,
            vec![
                Deviation::MethodChanged {
                    planned: Method::ComparisonGroup,
                    reported: Method::PrePost
                },
                Deviation::EvidenceLevelLowered {
                    planned: EvidenceLevel::new(3).unwrap(),
                    reported: EvidenceLevel::new(2).unwrap()
                },
            ]
        );
        assert_eq!(
            a.deviations[0].to_string(),
            "method changed from comparisonGroup to prePost"
        );
    }

    #[test]
    fn dropped_and_added_outcomes_are_named_by_code_and_version() {
        let mut r = results();
        // attendance reported without an actual value: dropped; a new version of esl-rate: added.
        r.values = vec![
            value("esl-rate@1", Some(12.0)),
            value("attendance@2", None),
            value("esl-rate@2", Some(11.0)),
        ];
        let a = check(&plan(), &r);
        assert_eq!(
            a.deviations,
            vec![
                Deviation::OutcomeDropped {
                    indicator: "attendance@2".parse().unwrap()
                },
                Deviation::OutcomeAdded {
                    indicator: "esl-rate@2".parse().unwrap()
                },
            ]
        );
    }

    #[test]
    fn a_value_suppressed_by_disclosure_control_counts_as_reported() {
        let mut r = results();
        r.values[1].actual = None;
        r.values[1].suppressed = Some(crate::disclosure::Suppression::Primary);
        assert!(check(&plan(), &r).followed);
    }

    #[test]
    fn periods_outside_the_plan_are_deviations() {
        for (start, end) in [
            ("2024-12-31", Some("2025-06-30")),
            ("2025-01-01", Some("2026-01-01")),
            ("2025-01-01", None),
        ] {
            let mut r = results();
            r.period = period(start, end);
            assert_eq!(
                kinds(&check(&plan(), &r)),
                vec!["periodOutsidePlan"],
                "{start} {end:?}"
            );
        }
        let mut open_plan = plan();
        open_plan.period = period("2025-01-01", None);
        let mut r = results();
        r.period = period("2025-02-01", None);
        assert!(check(&open_plan, &r).followed);
    }

    #[test]
    fn a_plan_changed_at_or_after_the_first_results_does_not_count() {
        for last_changed_at in [7, 8, 100] {
            let a = compare(
                PlanRecord {
                    content: &plan(),
                    last_changed_at,
                },
                ResultsRecord {
                    content: &results(),
                    first_published_at: 7,
                },
            );
            assert_eq!(
                a.deviations,
                vec![Deviation::PlanChangedAfterResults {
                    plan_entry: last_changed_at,
                    results_first_entry: 7
                }]
            );
            assert!(!a.followed);
        }
    }

    #[test]
    fn another_subject_or_a_results_stage_plan_are_deviations() {
        let mut p = plan();
        p.subject.practice = Some("p2".into());
        p.stage = EvaluationStage::Results;
        assert_eq!(
            kinds(&check(&p, &results())),
            vec!["notAPlan", "subjectChanged"]
        );
        // A practice version edited between plan and results is the same subject.
        let mut p = plan();
        p.subject.practice_version = Some(2);
        assert!(check(&p, &results()).followed);
    }

    #[test]
    fn only_results_may_name_a_plan() {
        use crate::error::Validate;
        assert!(results().validate().is_ok());
        let mut p = plan();
        p.plan = Some("plan-0".into());
        let errors = p.validate().unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "plan");
        let mut r = results();
        r.plan = Some(" ".into());
        assert_eq!(r.validate().unwrap_err().0[0].field, "plan");
    }

    #[test]
    fn deviations_serialise_with_their_kind() {
        let d = Deviation::OutcomeDropped {
            indicator: "esl-rate@1".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"kind": "outcomeDropped", "indicator": "esl-rate@1"})
        );
        let d = Deviation::PlanChangedAfterResults {
            plan_entry: 9,
            results_first_entry: 4,
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"kind": "planChangedAfterResults", "planEntry": 9, "resultsFirstEntry": 4})
        );
    }
}
