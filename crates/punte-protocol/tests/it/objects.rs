//! Punte objects: exact JSON of a practice Article, model -> AS2 -> model identity (fixtures
//! and property tests), and strict refusal of malformed, cross-origin and oversized input.

use proptest::prelude::*;
use punte_model::practice::{TranslationMethod, TranslationProvenance};
use punte_model::{
    CountryCode, LangMap, LanguageTag, Licence, Maturity, NutsCode, Period, Practice,
    PracticeContent, SdgTarget, Theme,
};
use punte_protocol::objects::{
    self, ObjectError, ObjectKind, PunteObject, adaptation_to_object, evaluation_to_object,
    indicator_to_object, parse_adaptation, parse_evaluation, parse_indicator, parse_object,
    parse_practice, practice_to_object,
};
use serde_json::{Value, json};

use crate::samples::{self, BASE, OTHER, check_fixture, urls};

#[test]
fn practice_article_is_exactly_the_fixture() {
    let object = objects::standalone(&practice_to_object(&samples::practice(), &urls()));
    check_fixture("practice-article.json", &object);
}

#[test]
fn every_kind_round_trips_through_as2() {
    let u = urls();
    for p in [samples::practice(), samples::minimal_practice()] {
        let object = practice_to_object(&p, &u);
        assert_eq!(parse_practice(&object, BASE).unwrap(), p);
        // also when served standalone, and through the dispatcher
        let standalone = objects::standalone(&object);
        assert_eq!(
            parse_object(&standalone, BASE).unwrap(),
            PunteObject::Practice(p)
        );
    }
    let e = samples::evaluation();
    assert_eq!(
        parse_evaluation(&evaluation_to_object(&e, &u), BASE).unwrap(),
        e
    );
    let i = samples::indicator();
    assert_eq!(
        parse_indicator(&indicator_to_object(&i, &u), BASE).unwrap(),
        i
    );
    let a = samples::adaptation();
    assert_eq!(
        parse_adaptation(&adaptation_to_object(&a, &u), BASE).unwrap(),
        a
    );
}

#[test]
fn ids_and_references_follow_the_url_scheme() {
    let u = urls();
    let e = evaluation_to_object(&samples::evaluation(), &u);
    assert_eq!(e["id"], format!("{BASE}/evaluations/e7"));
    assert_eq!(
        e["evaluates"]["practice"],
        format!("{BASE}/practices/0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d5e")
    );
    let i = indicator_to_object(&samples::indicator(), &u);
    assert_eq!(i["id"], format!("{BASE}/indicators/esl-rate@2"));
    let a = adaptation_to_object(&samples::adaptation(), &u);
    // a practice on another node stays an absolute URL
    assert_eq!(a["adapts"]["practice"], format!("{OTHER}/practices/p1"));
    assert_eq!(ObjectKind::of(&a), Some(ObjectKind::Adaptation));
    assert_eq!(ObjectKind::of(&i), Some(ObjectKind::IndicatorDefinition));
}

#[test]
fn content_is_escaped_html() {
    let object = practice_to_object(&samples::practice(), &urls());
    let ro = object["contentMap"]["ro"].as_str().unwrap();
    assert!(ro.starts_with("<h2>Problema</h2><p>Abandon școlar timpuriu: 15% în județ.</p>"));
    assert!(
        ro.contains("Mentori voluntari &lt;liceeni&gt; &amp; profesori"),
        "{ro}"
    );
    let en = object["contentMap"]["en"].as_str().unwrap();
    assert!(
        en.contains("(&quot;big siblings&quot;) &amp; teachers"),
        "{en}"
    );
    assert_eq!(object["content"], object["contentMap"]["ro"]);
    assert_eq!(object["name"], "Școala de după școală");
    assert_eq!(
        objects::render_text_html("a\nb\n\n<c>"),
        "<p>a<br>b</p><p>&lt;c&gt;</p>"
    );
}

#[test]
fn suppressed_values_are_exempt_from_evaluator_rules_only() {
    let u = urls();
    let mut object = evaluation_to_object(&samples::evaluation(), &u);
    // the suppressed third value has no baseline/actual: accepted
    parse_evaluation(&object, BASE).unwrap();
    // an unsuppressed value without any number is still refused
    object["indicatorValues"][2]
        .as_object_mut()
        .unwrap()
        .remove("suppressed");
    object["indicatorValues"][2]
        .as_object_mut()
        .unwrap()
        .remove("targetValue");
    assert!(matches!(
        parse_evaluation(&object, BASE),
        Err(ObjectError::Validation(_))
    ));
}

/// Applies `mutate` to the sample practice object and returns the parse error.
fn practice_error(mutate: impl FnOnce(&mut Value)) -> ObjectError {
    let mut object = practice_to_object(&samples::practice(), &urls());
    mutate(&mut object);
    parse_practice(&object, BASE).expect_err("mutated object must be refused")
}

fn field_of(e: &ObjectError) -> String {
    match e {
        ObjectError::Missing(f)
        | ObjectError::Invalid { field: f, .. }
        | ObjectError::TooLarge { field: f, .. }
        | ObjectError::CrossOrigin { field: f, .. }
        | ObjectError::NotAnObject(f) => f.clone(),
        other => format!("{other}"),
    }
}

#[test]
fn practices_with_wrong_types_or_missing_members_are_refused() {
    let e = practice_error(|o| o["type"] = json!("Note"));
    assert!(matches!(e, ObjectError::WrongType { .. }), "{e}");
    let e = practice_error(|o| o["type"] = json!("Article"));
    assert!(matches!(e, ObjectError::WrongType { .. }), "{e}");
    let e = practice_error(|o| o["version"] = json!("3"));
    assert_eq!(field_of(&e), "version");
    let e = practice_error(|o| o["version"] = json!(-1));
    assert_eq!(field_of(&e), "version");
    let e = practice_error(|o| o["nameMap"] = json!("Școala"));
    assert_eq!(field_of(&e), "nameMap");
    let e = practice_error(|o| o["problem"]["ro"] = json!(7));
    assert_eq!(field_of(&e), "problem.ro");
    let e = practice_error(|o| o["resources"]["budget"]["currency"] = json!("XYZ"));
    assert_eq!(field_of(&e), "resources.budget.currency");
    let e = practice_error(|o| o["maturity"] = json!("excellent"));
    assert_eq!(field_of(&e), "maturity");
    let e = practice_error(|o| o["published"] = json!("yesterday"));
    assert_eq!(field_of(&e), "published");
    let e = practice_error(|o| o["coreComponents"][1] = json!("text"));
    assert_eq!(field_of(&e), "coreComponents[1]");
    let e = practice_error(|o| o["resources"]["staffFte"] = json!("1.5"));
    assert_eq!(field_of(&e), "resources.staffFte");
    for member in [
        "problem",
        "nameMap",
        "summaryText",
        "country",
        "originalLanguage",
        "id",
    ] {
        let e = practice_error(|o| {
            o.as_object_mut().unwrap().remove(member);
        });
        assert!(
            matches!(&e, ObjectError::Missing(f) if f == member),
            "{member}: {e}"
        );
    }
    let e = parse_practice(&json!([1, 2]), BASE).unwrap_err();
    assert!(matches!(e, ObjectError::NotAnObject(_)), "{e}");
    let e = practice_error(|o| o["period"] = json!("2023"));
    assert!(
        matches!(e, ObjectError::NotAnObject(ref f) if f == "period"),
        "{e}"
    );
}

#[test]
fn ids_off_the_expected_origin_are_refused() {
    let e = practice_error(|o| o["id"] = json!(format!("{OTHER}/practices/x")));
    assert!(
        matches!(&e, ObjectError::CrossOrigin { field, .. } if field == "id"),
        "{e}"
    );
    let e = practice_error(|o| o["attributedTo"] = json!(format!("{OTHER}/actor")));
    assert!(
        matches!(&e, ObjectError::CrossOrigin { field, .. } if field == "attributedTo"),
        "{e}"
    );
    // a look-alike host is another origin
    let e = practice_error(|o| {
        o["id"] = json!("https://punte.example.ro.evil.example/practices/x");
    });
    assert!(matches!(e, ObjectError::CrossOrigin { .. }), "{e}");
    // right origin, wrong collection or an unsafe id
    for bad in [
        format!("{BASE}/evaluations/x"),
        format!("{BASE}/practices/a/b"),
        format!("{BASE}/practices/.."),
        format!("{BASE}/practices/"),
    ] {
        let e = practice_error(|o| o["id"] = json!(bad));
        assert_eq!(field_of(&e), "id", "{bad}");
    }
    let e = practice_error(|o| o["id"] = json!("ftp://punte.example.ro/practices/x"));
    assert_eq!(field_of(&e), "id");
    // the expected origin itself must be an origin
    let object = practice_to_object(&samples::practice(), &urls());
    assert!(matches!(
        parse_practice(&object, "https://punte.example.ro/sub"),
        Err(ObjectError::ExpectedOrigin(_))
    ));
    // indicator ids must name the same code@version as the members
    let mut i = indicator_to_object(&samples::indicator(), &urls());
    i["id"] = json!(format!("{BASE}/indicators/esl-rate@3"));
    assert_eq!(field_of(&parse_indicator(&i, BASE).unwrap_err()), "id");
}

#[test]
fn oversized_maps_and_lists_are_refused() {
    let many_langs: serde_json::Map<String, Value> = (0..65)
        .map(|i| {
            (
                format!("x{}{}", (b'a' + i / 26) as char, (b'a' + i % 26) as char),
                json!("t"),
            )
        })
        .collect();
    let e = practice_error(|o| o["problem"] = Value::Object(many_langs));
    assert!(
        matches!(&e, ObjectError::TooLarge { field, found: 65, max: 64 } if field == "problem"),
        "{e}"
    );
    let e = practice_error(|o| o["sdgTargets"] = json!(vec!["4.1"; 51]));
    assert!(
        matches!(&e, ObjectError::TooLarge { field, .. } if field == "sdgTargets"),
        "{e}"
    );
    let e = practice_error(|o| {
        o["tag"] = json!(vec![json!({"type": "Hashtag", "name": "#a"}); 101]);
    });
    assert!(
        matches!(&e, ObjectError::TooLarge { field, .. } if field == "tag"),
        "{e}"
    );
    let e = practice_error(|o| {
        o["tag"] = (0..51)
            .map(|i| json!({"type": "Hashtag", "name": format!("#t{i}")}))
            .collect();
    });
    assert!(
        matches!(&e, ObjectError::TooLarge { field, .. } if field == "tag"),
        "{e}"
    );
    let e = practice_error(|o| o["problem"]["ro"] = json!("x".repeat(100_001)));
    assert_eq!(field_of(&e), "problem");
    let e = practice_error(|o| o["translations"]["en"]["translator"] = json!("x".repeat(1001)));
    assert_eq!(field_of(&e), "translations.en.translator");
    let mut ev = evaluation_to_object(&samples::evaluation(), &urls());
    ev["indicatorValues"] = json!(vec![json!({"indicator": "a@1", "actualValue": 1}); 10_001]);
    assert!(matches!(
        parse_evaluation(&ev, BASE),
        Err(ObjectError::TooLarge { .. })
    ));
}

#[test]
fn invalid_language_tags_are_refused() {
    let e = practice_error(|o| o["nameMap"] = json!({"english": "Club", "ro": "Club"}));
    assert_eq!(field_of(&e), "nameMap");
    let e = practice_error(|o| o["originalLanguage"] = json!("ro_RO"));
    assert_eq!(field_of(&e), "originalLanguage");
    let e = practice_error(|o| o["translations"] = json!({"en_GB": {"method": "human"}}));
    assert_eq!(field_of(&e), "translations.en_GB");
    // duplicate tags differing only in case
    let e = practice_error(|o| o["summaryText"] = json!({"ro": "a", "RO": "b"}));
    assert_eq!(field_of(&e), "summaryText");
    // a well-formed tag the title does not have breaks a model rule
    let e = practice_error(|o| o["originalLanguage"] = json!("it"));
    assert!(matches!(e, ObjectError::Validation(_)), "{e}");
}

#[test]
fn an_evaluation_follows_a_plan_of_its_own_organisation_only() {
    let u = urls();
    let e = evaluation_to_object(&samples::evaluation(), &u);
    assert_eq!(e["plan"], format!("{BASE}/evaluations/e3"));
    let refused = |plan: Value| {
        let mut e = evaluation_to_object(&samples::evaluation(), &u);
        e["plan"] = plan;
        parse_evaluation(&e, BASE).unwrap_err()
    };
    assert!(matches!(
        refused(json!(format!("{OTHER}/evaluations/e3"))),
        ObjectError::CrossOrigin { ref field, .. } if field == "plan"
    ));
    assert_eq!(
        field_of(&refused(json!(format!("{BASE}/practices/e3")))),
        "plan"
    );
    assert_eq!(
        field_of(&refused(json!(format!("{BASE}/evaluations/e7")))),
        "plan"
    );
    assert_eq!(field_of(&refused(json!(3))), "plan");
    // A plan names no plan.
    let mut e = evaluation_to_object(&samples::evaluation(), &u);
    e["stage"] = json!("plan");
    for v in e["indicatorValues"].as_array_mut().unwrap() {
        v.as_object_mut().unwrap().remove("actualValue");
    }
    match parse_evaluation(&e, BASE).unwrap_err() {
        ObjectError::Validation(errors) => {
            assert!(errors.0.iter().any(|f| f.field == "plan"), "{errors:?}")
        }
        other => panic!("{other}"),
    }
}

#[test]
fn other_kinds_refuse_bad_members() {
    let u = urls();
    let mut e = evaluation_to_object(&samples::evaluation(), &u);
    e["evidenceLevel"] = json!(7);
    assert_eq!(
        field_of(&parse_evaluation(&e, BASE).unwrap_err()),
        "evidenceLevel"
    );
    let mut e = evaluation_to_object(&samples::evaluation(), &u);
    e["indicatorValues"][0]["indicator"] = json!("ESL");
    assert_eq!(
        field_of(&parse_evaluation(&e, BASE).unwrap_err()),
        "indicatorValues[0].indicator"
    );
    let mut e = evaluation_to_object(&samples::evaluation(), &u);
    e["indicatorValues"][0]["actualValue"] = json!(null);
    e["indicatorValues"][0]["confidenceInterval"]["lower"] = json!("6");
    assert_eq!(
        field_of(&parse_evaluation(&e, BASE).unwrap_err()),
        "indicatorValues[0].confidenceInterval.lower"
    );
    let mut a = adaptation_to_object(&samples::adaptation(), &u);
    a["modifications"][0]["planned"] = json!("yes");
    assert_eq!(
        field_of(&parse_adaptation(&a, BASE).unwrap_err()),
        "modifications[0].planned"
    );
    let mut a = adaptation_to_object(&samples::adaptation(), &u);
    a["adapts"]["organisation"] = json!("not a url");
    assert_eq!(
        field_of(&parse_adaptation(&a, BASE).unwrap_err()),
        "adapts.organisation"
    );
    let mut i = indicator_to_object(&samples::indicator(), &u);
    i["disaggregations"][0]["categories"] = json!(["female", "female"]);
    assert!(matches!(
        parse_indicator(&i, BASE),
        Err(ObjectError::Validation(_))
    ));
    assert!(matches!(
        parse_object(&json!({"type": "Note"}), BASE),
        Err(ObjectError::WrongType { .. })
    ));
}

// ---- property test: any valid practice survives model -> AS2 -> model ----

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9ăîșțé<>&\"' \n]{0,30}[a-zț]"
}

fn lang_map(langs: Vec<LanguageTag>) -> impl Strategy<Value = LangMap> {
    prop::collection::vec(text(), langs.len()).prop_map(move |texts| {
        let map: std::collections::BTreeMap<String, String> =
            langs.iter().map(|l| l.to_string()).zip(texts).collect();
        LangMap::try_from(map).unwrap()
    })
}

fn practice_strategy() -> impl Strategy<Value = Practice> {
    let pool = ["ro", "en", "it", "es-419", "sr-Latn-RS"];
    (
        prop::sample::subsequence(pool.to_vec(), 1..=3),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|(langs, first)| {
            let mut langs: Vec<LanguageTag> = langs
                .iter()
                .map(|l| LanguageTag::parse(l).unwrap())
                .collect();
            let original = first.index(langs.len());
            langs.swap(0, original);
            let all = langs.clone();
            (
                Just(langs.clone()),
                (
                    lang_map(all.clone()),
                    lang_map(all.clone()),
                    lang_map(all.clone()),
                    lang_map(all.clone()),
                ),
                (
                    prop::option::of(lang_map(all.clone())),
                    prop::option::of(lang_map(vec![all[0].clone()])),
                    prop::collection::vec(lang_map(all.clone()), 0..3),
                ),
                (
                    prop::sample::subsequence(
                        vec!["education", "roma-inclusion", "youth", "ăștept"],
                        0..=4,
                    ),
                    prop::sample::subsequence(vec!["4.1", "4.a", "8.5", "17.19"], 0..=4),
                    prop::collection::vec(any::<bool>(), all.len()),
                ),
                (
                    prop::sample::select(vec![
                        ("RO", Some("RO32")),
                        ("IT", Some("ITC4")),
                        ("GR", Some("EL30")),
                        ("ES", None),
                    ]),
                    prop::option::of(prop::sample::select(vec![
                        ("2023-01-01", None),
                        ("2023-01-01", Some("2023-01-01")),
                        ("2020-02-29", Some("2024-12-31")),
                    ])),
                    prop::sample::select(Maturity::ALL.to_vec()),
                    prop::sample::select(vec!["CC-BY-4.0", "CC0-1.0"]),
                ),
                (
                    "[A-Za-z0-9_~.-]{1,36}"
                        .prop_filter("not a dot segment", |s| s != "." && s != ".."),
                    1u32..10_000,
                ),
            )
        })
        .prop_map(
            |(
                langs,
                (title, summary, problem, solution),
                (target_group, evidence, core),
                (themes, sdgs, translated),
                (place, period, maturity, licence),
                (id, version),
            )| {
                let translations = langs
                    .iter()
                    .zip(translated)
                    .skip(1)
                    .filter(|(_, t)| *t)
                    .map(|(l, _)| {
                        (
                            l.clone(),
                            TranslationProvenance {
                                method: TranslationMethod::Machine,
                                translator: None,
                            },
                        )
                    })
                    .collect();
                Practice {
                    id,
                    version,
                    content: PracticeContent {
                        title,
                        summary,
                        problem,
                        solution,
                        target_group,
                        resources: None,
                        evidence,
                        difficulties: None,
                        transferability: None,
                        core_components: core.clone(),
                        adaptable_components: core,
                        themes: themes.iter().map(|t| Theme::parse(t).unwrap()).collect(),
                        sdg_targets: sdgs.iter().map(|s| SdgTarget::parse(s).unwrap()).collect(),
                        original_language: langs[0].clone(),
                        translations,
                        country: CountryCode::parse(place.0).unwrap(),
                        region: place.1.map(|r| NutsCode::parse(r).unwrap()),
                        period: period.map(|(s, e): (&str, Option<&str>)| Period {
                            start: punte_model::Date::parse(s).unwrap(),
                            end: e.map(|e| punte_model::Date::parse(e).unwrap()),
                        }),
                        maturity,
                        licence: Licence::parse(licence).unwrap(),
                    },
                    created_at: "2024-02-29T23:59:59Z".to_owned(),
                    updated_at: "2025-03-14T09:26:53.123456789+02:00".to_owned(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_valid_practice_round_trips(practice in practice_strategy()) {
        use punte_model::Validate;
        prop_assert!(practice.content.validate().is_ok());
        let object = practice_to_object(&practice, &urls());
        // through bytes, as a follower receives it
        let bytes = serde_json::to_vec(&object).unwrap();
        let received: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(parse_practice(&received, BASE).unwrap(), practice);
    }

    #[test]
    fn parsing_never_panics_on_mutated_members(
        key in prop::sample::select(vec!["nameMap", "problem", "tag", "translations", "resources", "period", "version", "coreComponents", "id", "type"]),
        replacement in prop_oneof![
            Just(json!(null)), Just(json!(1.5)), Just(json!("x")), Just(json!([])),
            Just(json!({})), Just(json!([{"a": 1}])), Just(json!({"en": {"x": 1}})),
            Just(json!(u64::MAX)), Just(json!(-1)),
        ],
    ) {
        let mut object = practice_to_object(&samples::practice(), &urls());
        object[key] = replacement;
        let _ = parse_practice(&object, BASE);
    }
}

#[test]
fn values_per_group_round_trip_through_as2() {
    let mut e = samples::evaluation();
    e.content.values = vec![
        serde_json::from_value(json!({
            "indicator": "esl-rate@2", "target": 10.0,
            "groups": {
                "intervention": {"baseline": {"n": 120, "events": 30, "mean": 25.0},
                                 "followUp": {"n": 118, "events": 12,
                                              "ci": {"lower": 5.0, "upper": 16.0, "level": 0.95}}},
                "comparison": {"followUp": {"n": 110, "events": 22, "sd": 1.5, "se": 0.2}},
                "correlation": 0.5
            }
        }))
        .unwrap(),
        // a cell blanked by disclosure control is read back although it carries no numbers
        serde_json::from_value(json!({
            "indicator": "esl-rate@2",
            "groups": {"intervention": {"followUp": {"suppressed": "primary"}}}
        }))
        .unwrap(),
    ];
    let object = evaluation_to_object(&e, &urls());
    assert_eq!(
        object["indicatorValues"][0]["groups"]["comparison"]["followUp"]["sampleSize"],
        json!(110)
    );
    assert_eq!(parse_evaluation(&object, BASE).unwrap(), e);
}
