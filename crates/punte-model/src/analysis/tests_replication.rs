//! Tests of what counts as a replication (a countersigned, implemented or scaled adaptation
//! that keeps the origin's core components) for every state × countersignature × fidelity
//! combination, of the replication map's reasons, and of keeping evaluations of adaptations
//! not countersigned apart from a practice's pooled effect.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::test_vectors::{country, source};
use serde_json::json;

use super::*;
use crate::adaptation::{Adaptation, AdaptationState};
use crate::indicator::{Direction, IndicatorRef, Measure};

const ORIGIN: &str = "https://ro.example/actor";
const PRACTICE: &str = "https://ro.example/practices/mentoring";
/// The origin practice declares three core components (positions 0, 1, 2).
const DECLARED: u32 = 3;

const STATES: [AdaptationState; 5] = [
    AdaptationState::Intended,
    AdaptationState::Piloting,
    AdaptationState::Implemented,
    AdaptationState::Scaled,
    AdaptationState::Discontinued,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fidelity {
    /// Every declared core component kept, every modification fidelity-consistent.
    AllKept,
    /// Components 1 and 2 dropped.
    SomeDropped,
    /// Every component kept, but modification 1 (of two) is not fidelity-consistent.
    Inconsistent,
}

const FIDELITIES: [Fidelity; 3] = [
    Fidelity::AllKept,
    Fidelity::SomeDropped,
    Fidelity::Inconsistent,
];

fn input(
    id: &str,
    organisation: &str,
    code: &str,
    state: AdaptationState,
    countersigned: bool,
    fidelity: Fidelity,
) -> AdaptationInput {
    let (kept, inconsistent) = match fidelity {
        // in another order than declared: positions, not a sequence
        Fidelity::AllKept => (vec![2, 0, 1], vec![]),
        Fidelity::SomeDropped => (vec![0], vec![]),
        Fidelity::Inconsistent => (vec![0, 1, 2], vec![1]),
    };
    AdaptationInput {
        adaptation: id.into(),
        practice: PRACTICE.into(),
        origin_organisation: Some(ORIGIN.into()),
        organisation: organisation.into(),
        country: country(code),
        state,
        source: source(id, 1),
        countersignature: countersigned.then(|| source("ro", 100)),
        origin_core_components: Some(DECLARED),
        core_components_kept: kept,
        inconsistent_modifications: inconsistent,
    }
}

/// The reasons expected for one combination, in the documented order.
fn expected_reasons(
    state: AdaptationState,
    countersigned: bool,
    fidelity: Fidelity,
) -> Vec<NotCountedReason> {
    let mut reasons = Vec::new();
    if !countersigned {
        reasons.push(NotCountedReason::NotCountersigned);
    }
    if !matches!(
        state,
        AdaptationState::Implemented | AdaptationState::Scaled
    ) {
        reasons.push(NotCountedReason::State { state });
    }
    match fidelity {
        Fidelity::AllKept => {}
        Fidelity::SomeDropped => {
            reasons.push(NotCountedReason::CoreComponentsDropped {
                missing: vec![1, 2],
            });
        }
        Fidelity::Inconsistent => reasons.push(NotCountedReason::InconsistentModification {
            modifications: vec![1],
        }),
    }
    reasons
}

/// Every combination: (adaptation id, state, countersigned, fidelity), one organisation each.
fn combinations() -> Vec<(String, AdaptationState, bool, Fidelity)> {
    let mut out = Vec::new();
    for state in STATES {
        for countersigned in [true, false] {
            for fidelity in FIDELITIES {
                let id = format!("{state:?}-{countersigned}-{fidelity:?}").to_lowercase();
                out.push((id, state, countersigned, fidelity));
            }
        }
    }
    out
}

fn all_inputs() -> Vec<AdaptationInput> {
    combinations()
        .into_iter()
        .map(|(id, state, countersigned, fidelity)| {
            let org = format!("https://{id}.example/actor");
            // implemented ones in Italy, scaled ones in Spain, the rest in France
            let code = match state {
                AdaptationState::Implemented => "IT",
                AdaptationState::Scaled => "ES",
                _ => "FR",
            };
            input(&id, &org, code, state, countersigned, fidelity)
        })
        .collect()
}

#[test]
fn every_state_countersignature_and_fidelity_combination() {
    let combos = combinations();
    assert_eq!(combos.len(), 5 * 2 * 3);
    let mut counted = Vec::new();
    for (id, state, countersigned, fidelity) in &combos {
        let a = input(
            id,
            "https://it.example/actor",
            "IT",
            *state,
            *countersigned,
            *fidelity,
        );
        let status = a.replication_status();
        let reasons = expected_reasons(*state, *countersigned, *fidelity);
        let should_count = *countersigned
            && matches!(
                state,
                AdaptationState::Implemented | AdaptationState::Scaled
            )
            && *fidelity == Fidelity::AllKept;
        assert_eq!(reasons.is_empty(), should_count, "{id}");
        if should_count {
            assert_eq!(status, ReplicationStatus::Counts, "{id}");
            counted.push(id.as_str());
        } else {
            assert_eq!(
                status,
                ReplicationStatus::NotCounted {
                    reasons: reasons.clone()
                },
                "{id}"
            );
        }
        assert_eq!(status.counts(), should_count, "{id}");
        assert_eq!(a.counts_as_replication(), should_count, "{id}");
        assert_eq!(status.reasons(), reasons.as_slice(), "{id}");
        // one replication or none, whatever else the practice has
        let count = count_replications(PRACTICE, std::slice::from_ref(&a));
        assert_eq!(
            (count.organisations, count.countries, count.independent),
            if should_count { (1, 1, 1) } else { (0, 0, 0) },
            "{id}"
        );
        assert_eq!(
            count.sources.len(),
            if should_count { 2 } else { 0 },
            "{id}"
        );
    }
    assert_eq!(
        counted,
        ["implemented-true-allkept", "scaled-true-allkept"],
        "only countersigned, implemented or scaled, faithful adaptations count"
    );
}

#[test]
fn the_issue_cases_do_not_count() {
    // "Any countersigned adaptation counts as a replication, even one still `intended`, or
    // `discontinued` with no core component kept."
    let intended = input(
        "a",
        "https://it.example/actor",
        "IT",
        AdaptationState::Intended,
        true,
        Fidelity::AllKept,
    );
    assert_eq!(
        intended.replication_status(),
        ReplicationStatus::NotCounted {
            reasons: vec![NotCountedReason::State {
                state: AdaptationState::Intended
            }]
        }
    );
    let mut discontinued = input(
        "b",
        "https://it.example/actor",
        "IT",
        AdaptationState::Discontinued,
        true,
        Fidelity::AllKept,
    );
    discontinued.core_components_kept.clear();
    assert_eq!(
        discontinued.replication_status().reasons(),
        [
            NotCountedReason::State {
                state: AdaptationState::Discontinued
            },
            NotCountedReason::CoreComponentsDropped {
                missing: vec![0, 1, 2]
            },
        ]
    );
}

#[test]
fn fidelity_edge_cases() {
    let base = || {
        input(
            "a",
            "https://it.example/actor",
            "IT",
            AdaptationState::Implemented,
            true,
            Fidelity::AllKept,
        )
    };
    // An origin that declared no core components: fidelity is trivially kept.
    let mut none_declared = base();
    none_declared.origin_core_components = Some(0);
    none_declared.core_components_kept.clear();
    assert!(none_declared.counts_as_replication());
    // Positions the origin does not have are ignored.
    let mut extra = base();
    extra.core_components_kept = vec![0, 1, 2, 7];
    assert!(extra.counts_as_replication());
    // An origin practice this node cannot read: fidelity cannot be judged.
    let mut unknown = base();
    unknown.origin_core_components = None;
    assert_eq!(
        unknown.replication_status().reasons(),
        [NotCountedReason::OriginCoreComponentsUnknown]
    );
    // Unknown origin and an inconsistent modification: both reasons.
    unknown.inconsistent_modifications = vec![0, 3];
    assert_eq!(
        unknown.replication_status().reasons(),
        [
            NotCountedReason::OriginCoreComponentsUnknown,
            NotCountedReason::InconsistentModification {
                modifications: vec![0, 3]
            },
        ]
    );
    // An inconsistent modification disqualifies even with every component listed as kept.
    let mut inconsistent = base();
    inconsistent.inconsistent_modifications = vec![0];
    assert!(!inconsistent.counts_as_replication());
    // The origin adapting its own practice is not independent.
    let mut own = base();
    own.organisation = ORIGIN.into();
    assert_eq!(
        own.replication_status().reasons(),
        [NotCountedReason::SameOrganisation]
    );
    // An origin organisation nobody named is taken as another one.
    let mut anonymous = base();
    anonymous.origin_organisation = None;
    assert!(anonymous.counts_as_replication());
    // Everything wrong at once: every reason, in order.
    let mut worst = input(
        "w",
        ORIGIN,
        "RO",
        AdaptationState::Piloting,
        false,
        Fidelity::SomeDropped,
    );
    worst.inconsistent_modifications = vec![2];
    let kinds: Vec<&str> = worst
        .replication_status()
        .reasons()
        .iter()
        .map(NotCountedReason::as_str)
        .collect();
    assert_eq!(
        kinds,
        [
            "notCountersigned",
            "state",
            "coreComponentsDropped",
            "inconsistentModification",
            "sameOrganisation"
        ]
    );
}

#[test]
fn from_adaptation_reads_the_kept_components_and_the_inconsistent_modifications() {
    let modification = |consistent: bool| {
        json!({
            "what": {"en": "session length"},
            "nature": "shortening",
            "when": "implementation",
            "planned": true,
            "reasonCategory": "organisational",
            "reason": {"en": "shorter school days"},
            "fidelityConsistent": consistent
        })
    };
    let adaptation: Adaptation = serde_json::from_value(json!({
        "id": "a1",
        "version": 2,
        "origin": {"practice": PRACTICE, "version": 1, "organisation": ORIGIN},
        "context": {"it": "Scuole rurali"},
        "country": "IT",
        "modifications": [modification(true), modification(false), modification(true), modification(false)],
        "fidelity": {"coreComponentsKept": [0, 2]},
        "scaling": "horizontal",
        "state": "scaled",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-02-01T00:00:00Z"
    }))
    .unwrap();
    let mut a = AdaptationInput::from_adaptation(
        &adaptation,
        "https://it.example/actor".into(),
        source("it", 3),
        Some(source("ro", 9)),
    );
    assert_eq!(a.core_components_kept, [0, 2]);
    assert_eq!(a.inconsistent_modifications, [1, 3]);
    assert_eq!(a.state, AdaptationState::Scaled);
    // Until the origin's core components are filled in, fidelity cannot be judged.
    assert_eq!(
        a.replication_status().reasons(),
        [
            NotCountedReason::OriginCoreComponentsUnknown,
            NotCountedReason::InconsistentModification {
                modifications: vec![1, 3]
            },
        ]
    );
    a.origin_core_components = Some(3);
    a.inconsistent_modifications.clear();
    assert_eq!(
        a.replication_status().reasons(),
        [NotCountedReason::CoreComponentsDropped { missing: vec![1] }]
    );
    // an origin with a single core component (position 0), which the adaptation keeps
    a.origin_core_components = Some(1);
    assert!(a.counts_as_replication(), "{:?}", a.replication_status());
}

#[test]
fn reasons_read_in_plain_english_and_serialise_in_camel_case() {
    let cases = [
        (
            NotCountedReason::NotCountersigned,
            "not countersigned by the origin organisation",
            json!({"kind": "notCountersigned"}),
        ),
        (
            NotCountedReason::State {
                state: AdaptationState::Intended,
            },
            "intended: only implemented or scaled adaptations count",
            json!({"kind": "state", "state": "intended"}),
        ),
        (
            NotCountedReason::CoreComponentsDropped { missing: vec![1] },
            "does not keep core component 2 of the origin practice",
            json!({"kind": "coreComponentsDropped", "missing": [1]}),
        ),
        (
            NotCountedReason::CoreComponentsDropped {
                missing: vec![0, 2],
            },
            "does not keep core components 1, 3 of the origin practice",
            json!({"kind": "coreComponentsDropped", "missing": [0, 2]}),
        ),
        (
            NotCountedReason::InconsistentModification {
                modifications: vec![0],
            },
            "modification 1 is not fidelity-consistent (a core element was changed)",
            json!({"kind": "inconsistentModification", "modifications": [0]}),
        ),
        (
            NotCountedReason::OriginCoreComponentsUnknown,
            "the origin practice is not known to this node, so fidelity to its core components cannot be judged",
            json!({"kind": "originCoreComponentsUnknown"}),
        ),
        (
            NotCountedReason::SameOrganisation,
            "adapted by the origin organisation itself, not an independent replication",
            json!({"kind": "sameOrganisation"}),
        ),
    ];
    for (reason, text, value) in cases {
        assert_eq!(reason.to_string(), text);
        assert_eq!(serde_json::to_value(&reason).unwrap(), value);
        assert_eq!(value["kind"], reason.as_str());
        let back: NotCountedReason = serde_json::from_value(value).unwrap();
        assert_eq!(back, reason);
    }
    let status = ReplicationStatus::NotCounted {
        reasons: vec![NotCountedReason::NotCountersigned],
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"status": "notCounted", "reasons": [{"kind": "notCountersigned"}]})
    );
    assert_eq!(
        serde_json::to_value(ReplicationStatus::Counts).unwrap(),
        json!({"status": "counts"})
    );
    // The input's new fields round-trip, and are optional in JSON.
    let a = input(
        "a",
        "https://it.example/actor",
        "IT",
        AdaptationState::Implemented,
        true,
        Fidelity::Inconsistent,
    );
    let value = serde_json::to_value(&a).unwrap();
    assert_eq!(value["originCoreComponents"], 3);
    assert_eq!(value["coreComponentsKept"], json!([0, 1, 2]));
    assert_eq!(value["inconsistentModifications"], json!([1]));
    assert_eq!(serde_json::from_value::<AdaptationInput>(value).unwrap(), a);
    let mut bare = serde_json::to_value(&a).unwrap();
    for key in [
        "originCoreComponents",
        "coreComponentsKept",
        "inconsistentModifications",
    ] {
        bare.as_object_mut().unwrap().remove(key);
    }
    let bare: AdaptationInput = serde_json::from_value(bare).unwrap();
    assert_eq!(bare.origin_core_components, None);
    assert_eq!(
        bare.replication_status().reasons(),
        [NotCountedReason::OriginCoreComponentsUnknown]
    );
}

// ---------------------------------------------------------------------------------------------
// effect rows

fn indicator() -> IndicatorRef {
    "esl-rate@1".parse().unwrap()
}

/// A mean, higher-is-better row with SE 1 at both time points (variance 2).
fn row(evaluation: &str, organisation: &str, adaptation: Option<&str>, change: f64) -> EffectInput {
    EffectInput {
        origin: RowOrigin {
            organisation: organisation.into(),
            country: Some(country("RO")),
            practice: PRACTICE.into(),
            adaptation: adaptation.map(Into::into),
            evaluation: evaluation.into(),
            source: source(evaluation, 7),
        },
        indicator: indicator(),
        evidence_level: None,
        followed_plan: None,
        plan: None,
        plan_deviations: Vec::new(),
        layout: InputLayout::Flat,
        comparison_baseline: None,
        comparison_follow_up: None,
        correlation: None,
        baseline: Observation {
            value: Some(10.0),
            se: Some(1.0),
            ..Observation::default()
        },
        follow_up: Observation {
            value: Some(10.0 + change),
            se: Some(1.0),
            ..Observation::default()
        },
        suppressed: None,
    }
}

fn table(rows: &[EffectInput]) -> EffectTable {
    evaluation_effects(
        &IndicatorSpec {
            indicator: indicator(),
            measure: Measure::Mean,
            direction: Direction::Increase,
        },
        EffectMetric::MeanDifference,
        rows,
    )
    .unwrap()
}

#[test]
fn the_map_lists_every_adopter_with_its_status_and_counts_only_replications() {
    let inputs = all_inputs();
    let map = replication_map(&table(&[row("ro-eval", ORIGIN, None, 5.0)]), &inputs);
    let [origin] = map.origins.as_slice() else {
        panic!("one origin expected: {map:#?}")
    };
    // implemented-true-allkept (IT) and scaled-true-allkept (ES): 2 countries, 2 organisations
    assert_eq!(
        origin.summary,
        "replicated in 2 countries by 2 organisations"
    );
    assert_eq!(origin.replications.independent, 2);
    let adopters: Vec<&Adopter> = origin
        .countries
        .iter()
        .flat_map(|c| c.adopters.iter())
        .collect();
    assert_eq!(adopters.len(), 30, "every adopter is listed");
    for (id, state, countersigned, fidelity) in combinations() {
        let a = adopters.iter().find(|a| a.adaptation == id).unwrap();
        let reasons = expected_reasons(state, countersigned, fidelity);
        assert_eq!(a.state, state);
        assert_eq!(a.countersigned, countersigned, "{id}");
        assert_eq!(a.counts_as_replication, reasons.is_empty(), "{id}");
        assert_eq!(a.replication.reasons(), reasons.as_slice(), "{id}");
    }
    // JSON: the status with its reasons on each adopter.
    let json = serde_json::to_value(&map).unwrap();
    let listed: Vec<&serde_json::Value> = json["origins"][0]["countries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["adopters"].as_array().unwrap())
        .collect();
    let intended = listed
        .iter()
        .find(|a| a["adaptation"] == "intended-true-allkept")
        .unwrap();
    assert_eq!(
        intended["replication"],
        json!({"status": "notCounted", "reasons": [{"kind": "state", "state": "intended"}]})
    );
    assert_eq!(intended["countsAsReplication"], false);
    let back: ReplicationMap = serde_json::from_value(json).unwrap();
    assert_eq!(back, map);
    // CSV: the reasons in the last column, in plain English.
    let rows = map.to_csv_rows();
    let column = rows[0]
        .iter()
        .position(|h| h == "notCountedReasons")
        .unwrap();
    assert_eq!(column, rows[0].len() - 1);
    let adaptation = rows[0].iter().position(|h| h == "adaptation").unwrap();
    let of = |id: &str| {
        rows.iter()
            .find(|r| r[adaptation] == id)
            .map(|r| r[column].clone())
            .unwrap()
    };
    assert_eq!(of("scaled-true-allkept"), "");
    assert_eq!(
        of("discontinued-false-somedropped"),
        "not countersigned by the origin organisation; discontinued: only implemented or scaled adaptations count; does not keep core components 2, 3 of the origin practice"
    );
}

#[test]
fn count_replications_takes_only_the_adaptations_that_count() {
    let mut inputs = all_inputs();
    let count = count_replications(PRACTICE, &inputs);
    assert_eq!(
        (count.countries, count.organisations, count.independent),
        (2, 2, 2)
    );
    // Once the intended adaptation is implemented, it counts.
    let a = inputs
        .iter_mut()
        .find(|a| a.adaptation == "intended-true-allkept")
        .unwrap();
    a.state = AdaptationState::Implemented;
    let count = count_replications(PRACTICE, &inputs);
    assert_eq!(
        (count.countries, count.organisations, count.independent),
        (3, 3, 3)
    );
    assert_eq!(
        count.summary(),
        "replicated in 3 countries by 3 organisations"
    );
}

// ---------------------------------------------------------------------------------------------
// pooling and countersignatures

const IT: &str = "https://it.example/actor";
const ES: &str = "https://es.example/actor";

fn adopted(id: &str, organisation: &str, countersigned: bool) -> AdaptationInput {
    // state and fidelity do not matter for pooling: only the countersignature does
    input(
        id,
        organisation,
        "IT",
        AdaptationState::Piloting,
        countersigned,
        Fidelity::SomeDropped,
    )
}

#[test]
fn evaluations_of_adaptations_not_countersigned_are_kept_apart_unless_included() {
    let t = table(&[
        row("ro-eval", ORIGIN, None, 4.0),
        row("it-eval", IT, Some("it-1"), 6.0),
        row("es-eval", ES, Some("es-1"), -10.0),
        row("es-eval-2", ES, Some("es-1"), -8.0),
        // an adaptation this node does not know: cannot be vouched for
        row("xx-eval", "https://xx.example/actor", Some("unknown"), 20.0),
        // the origin's own adaptation of its practice: its own log vouches for it
        row("ro-own", ORIGIN, Some("ro-1"), 5.0),
    ]);
    let adaptations = [
        adopted("it-1", IT, true),
        adopted("es-1", ES, false),
        adopted("ro-1", ORIGIN, false),
    ];

    let default = rank_for_replication(&t, &adaptations).unwrap();
    assert!(!default.include_uncountersigned);
    let same = rank_for_replication_with(&t, &adaptations, RankOptions::default()).unwrap();
    assert_eq!(default, same, "off by default");
    let p = &default.practices[0];
    assert_eq!(
        p.evaluations, 3,
        "own, countersigned IT, the origin's own adaptation"
    );
    assert_eq!(
        p.sources,
        [
            source("ro-eval", 7),
            source("it-eval", 7),
            source("ro-own", 7)
        ]
    );
    assert_eq!(
        p.uncountersigned,
        [
            source("es-eval", 7),
            source("es-eval-2", 7),
            source("xx-eval", 7)
        ]
    );
    assert_eq!(p.excluded, 0);
    let expected = pool_random_effects(
        &[
            EffectSize {
                estimate: 4.0,
                variance: 2.0,
            },
            EffectSize {
                estimate: 6.0,
                variance: 2.0,
            },
            EffectSize {
                estimate: 5.0,
                variance: 2.0,
            },
        ],
        NETWORK_POOLING,
    )
    .unwrap();
    assert_eq!(p.pooled.as_ref(), Some(&expected));
    assert_eq!(p.verdict, Verdict::Improves);

    let included = rank_for_replication_with(
        &t,
        &adaptations,
        RankOptions {
            include_uncountersigned: true,
            ..RankOptions::default()
        },
    )
    .unwrap();
    assert!(included.include_uncountersigned);
    let q = &included.practices[0];
    assert_eq!(q.evaluations, 6);
    assert_eq!(q.uncountersigned, p.uncountersigned, "listed either way");
    assert_ne!(q.pooled, p.pooled);

    // JSON and CSV say whether they were included.
    let json = serde_json::to_value(&default).unwrap();
    assert_eq!(json["includeUncountersigned"], false);
    assert_eq!(
        json["practices"][0]["uncountersigned"][0]["activityId"],
        "https://es-eval.example/activities/7"
    );
    let back: Ranking = serde_json::from_value(json).unwrap();
    assert_eq!(back, default);
    let rows = included.to_csv_rows();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("uncountersignedPooled")], "true");
    assert_eq!(
        rows[1][col("uncountersignedSources")],
        "https://es-eval.example/activities/7 https://es-eval-2.example/activities/7 https://xx-eval.example/activities/7"
    );
    assert_eq!(
        default.to_csv_rows()[1][col("uncountersignedPooled")],
        "false"
    );
}

#[test]
fn a_practice_with_only_uncountersigned_evidence_stays_ranked_as_insufficient() {
    let t = table(&[
        row("ro-eval", ORIGIN, None, 1.0),
        row("es-eval", ES, Some("es-1"), 9.0),
    ]);
    let mut other = row("other-eval", ES, Some("es-2"), 9.0);
    other.origin.practice = "https://ro.example/practices/other".into();
    let t2 = table(&[other]);
    let adaptations = [adopted("es-1", ES, false), adopted("es-2", ES, false)];

    // Kept apart, ES's strong effect does not lift the practice.
    let ranking = rank_for_replication(&t, &adaptations).unwrap();
    let p = &ranking.practices[0];
    assert_eq!(p.evaluations, 1);
    assert_eq!(p.evidence_grade, EvidenceGrade::Single);
    assert!((p.pooled.as_ref().unwrap().estimate - 1.0).abs() < 1e-12);

    let ranking = rank_for_replication(&t2, &adaptations).unwrap();
    let [p] = ranking.practices.as_slice() else {
        panic!("one practice: {ranking:#?}")
    };
    assert_eq!(p.verdict, Verdict::Insufficient);
    assert!(p.pooled.is_none());
    assert_eq!(p.evaluations, 0);
    assert_eq!(p.uncountersigned, [source("other-eval", 7)]);
}

#[test]
fn countersigning_moves_the_rows_into_the_pool() {
    let t = table(&[
        row("ro-eval", ORIGIN, None, 4.0),
        row("es-eval", ES, Some("es-1"), 2.0),
    ]);
    let before = rank_for_replication(&t, &[adopted("es-1", ES, false)]).unwrap();
    let after = rank_for_replication(&t, &[adopted("es-1", ES, true)]).unwrap();
    let included = rank_for_replication_with(
        &t,
        &[adopted("es-1", ES, false)],
        RankOptions {
            include_uncountersigned: true,
            ..RankOptions::default()
        },
    )
    .unwrap();
    assert_eq!(before.practices[0].evaluations, 1);
    assert_eq!(after.practices[0].evaluations, 2);
    assert!(after.practices[0].uncountersigned.is_empty());
    assert_eq!(after.practices[0].pooled, included.practices[0].pooled);
    // The origin's own effect on the map never takes any adaptation's rows.
    let map = replication_map(&t, &[adopted("es-1", ES, true)]);
    assert!((map.origins[0].origin_effect.as_ref().unwrap().estimate - 4.0).abs() < 1e-12);
}
