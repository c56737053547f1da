//! An evaluation version as a `punte:Evaluation` object with its indicator values.

use std::collections::BTreeMap;

use punte_model::evaluation::{
    Cell, ConfidenceInterval, DacJudgement, DacJudgements, EvaluationSubject, Evaluator,
    GroupCells, Groups, MAX_VALUES,
};
use punte_model::{
    Evaluation, EvaluationContent, EvidenceLevel, IndicatorRef, IndicatorValue, Validate,
    ValidationErrors,
};
use serde_json::{Map, Value};

use super::read::{self, Fields, MAX_PLAIN_CHARS};
use super::{
    ObjectError, ObjectKind, enum_str, lang_value, number, parse_period, parse_reference,
    period_value, public_addressing, reference_url,
};
use crate::urls::{Collection, NodeUrls};

/// Most dimensions in one value's disaggregation.
const MAX_DIMENSIONS: usize = 16;

/// The evaluation as an AS2 object (without `@context`): `id` = `BASE/evaluations/{id}`.
pub fn evaluation_to_object(evaluation: &Evaluation, urls: &NodeUrls) -> Value {
    let c = &evaluation.content;
    let mut o = Map::new();
    o.insert("id".to_owned(), urls.evaluation(&evaluation.id).into());
    o.insert("type".to_owned(), ObjectKind::Evaluation.type_term().into());
    o.insert("attributedTo".to_owned(), urls.actor().into());
    if let Some(title) = &c.title {
        o.insert("nameMap".to_owned(), lang_value(title));
    }
    o.insert("url".to_owned(), urls.evaluation(&evaluation.id).into());
    o.insert("published".to_owned(), evaluation.created_at.clone().into());
    o.insert("updated".to_owned(), evaluation.updated_at.clone().into());
    public_addressing(&mut o, urls);
    o.insert("version".to_owned(), evaluation.version.into());
    if let Some(summary) = &c.summary {
        o.insert("summaryText".to_owned(), lang_value(summary));
    }
    let mut subject = Map::new();
    if let Some(p) = &c.subject.practice {
        subject.insert(
            "practice".to_owned(),
            reference_url(urls, Collection::Practices, p),
        );
    }
    if let Some(v) = c.subject.practice_version {
        subject.insert("practiceVersion".to_owned(), v.into());
    }
    if let Some(a) = &c.subject.adaptation {
        subject.insert(
            "adaptation".to_owned(),
            reference_url(urls, Collection::Adaptations, a),
        );
    }
    o.insert("evaluates".to_owned(), Value::Object(subject));
    let mut evaluator = Map::new();
    evaluator.insert("name".to_owned(), c.evaluator.name.clone().into());
    evaluator.insert("role".to_owned(), enum_str(&c.evaluator.role));
    if let Some(org) = &c.evaluator.organisation {
        evaluator.insert("affiliation".to_owned(), org.clone().into());
    }
    o.insert("evaluator".to_owned(), Value::Object(evaluator));
    o.insert("method".to_owned(), enum_str(&c.method));
    o.insert("evidenceLevel".to_owned(), c.evidence_level.get().into());
    o.insert("period".to_owned(), period_value(&c.period));
    o.insert("stage".to_owned(), enum_str(&c.stage));
    if let Some(plan) = &c.plan {
        o.insert("plan".to_owned(), urls.evaluation(plan).into());
    }
    if let Some(dac) = &c.dac {
        let judgements: Map<String, Value> = dac
            .iter()
            .map(|(name, j)| {
                let mut m = Map::new();
                m.insert("rating".to_owned(), j.rating.into());
                if let Some(comment) = &j.comment {
                    m.insert("comment".to_owned(), lang_value(comment));
                }
                (name.to_owned(), Value::Object(m))
            })
            .collect();
        o.insert("dac".to_owned(), Value::Object(judgements));
    }
    if !c.values.is_empty() {
        o.insert(
            "indicatorValues".to_owned(),
            c.values.iter().map(value_object).collect(),
        );
    }
    Value::Object(o)
}

fn value_object(v: &IndicatorValue) -> Value {
    let mut m = Map::new();
    m.insert("indicator".to_owned(), v.indicator.to_string().into());
    if let Some(p) = &v.period {
        m.insert("period".to_owned(), period_value(p));
    }
    for (key, x) in [
        ("baselineValue", v.baseline),
        ("targetValue", v.target),
        ("actualValue", v.actual),
        ("numeratorValue", v.numerator),
        ("denominatorValue", v.denominator),
    ] {
        if let Some(x) = x {
            m.insert(key.to_owned(), number(x));
        }
    }
    if let Some(n) = v.n {
        m.insert("sampleSize".to_owned(), n.into());
    }
    if let Some(ci) = &v.ci {
        m.insert("confidenceInterval".to_owned(), ci_value(ci));
    }
    if let Some(groups) = &v.groups {
        m.insert("groups".to_owned(), groups_value(groups));
    }
    if !v.disaggregation.is_empty() {
        m.insert(
            "disaggregation".to_owned(),
            Value::Object(
                v.disaggregation
                    .iter()
                    .map(|(k, c)| (k.clone(), c.clone().into()))
                    .collect(),
            ),
        );
    }
    if let Some(s) = &v.suppressed {
        m.insert("suppressed".to_owned(), enum_str(s));
    }
    Value::Object(m)
}

fn ci_value(ci: &ConfidenceInterval) -> Value {
    serde_json::json!({
        "lower": number(ci.lower),
        "upper": number(ci.upper),
        "level": number(ci.level),
    })
}

/// `groups` on the wire: `intervention` and `comparison`, each with `baseline` and `followUp`
/// cells of `sampleSize`, `events`, `mean`, `sd`, `se`, `confidenceInterval`, `suppressed`.
fn groups_value(groups: &Groups) -> Value {
    let cell = |c: &Cell| -> Value {
        let mut m = Map::new();
        if let Some(n) = c.n {
            m.insert("sampleSize".to_owned(), n.into());
        }
        if let Some(e) = c.events {
            m.insert("events".to_owned(), e.into());
        }
        for (key, x) in [("mean", c.mean), ("sd", c.sd), ("se", c.se)] {
            if let Some(x) = x {
                m.insert(key.to_owned(), number(x));
            }
        }
        if let Some(ci) = &c.ci {
            m.insert("confidenceInterval".to_owned(), ci_value(ci));
        }
        if let Some(s) = &c.suppressed {
            m.insert("suppressed".to_owned(), enum_str(s));
        }
        Value::Object(m)
    };
    let group = |g: &GroupCells| -> Value {
        let mut m = Map::new();
        if let Some(c) = &g.baseline {
            m.insert("baseline".to_owned(), cell(c));
        }
        if let Some(c) = &g.follow_up {
            m.insert("followUp".to_owned(), cell(c));
        }
        Value::Object(m)
    };
    let mut m = Map::new();
    m.insert("intervention".to_owned(), group(&groups.intervention));
    if let Some(c) = &groups.comparison {
        m.insert("comparison".to_owned(), group(c));
    }
    if let Some(r) = groups.correlation {
        m.insert("correlation".to_owned(), number(r));
    }
    Value::Object(m)
}

fn parse_ci(c: &Fields<'_>) -> Result<ConfidenceInterval, ObjectError> {
    Ok(ConfidenceInterval {
        lower: c.f64("lower")?,
        upper: c.f64("upper")?,
        level: c.f64("level")?,
    })
}

fn parse_groups(g: &Fields<'_>) -> Result<Groups, ObjectError> {
    let cell = |c: &Fields<'_>| -> Result<Cell, ObjectError> {
        Ok(Cell {
            n: c.opt_u64("sampleSize")?,
            events: c.opt_u64("events")?,
            mean: c.opt_f64("mean")?,
            sd: c.opt_f64("sd")?,
            se: c.opt_f64("se")?,
            ci: c
                .opt_nested("confidenceInterval")?
                .map(|ci| parse_ci(&ci))
                .transpose()?,
            suppressed: c.opt_enumeration("suppressed")?,
        })
    };
    let group = |g: &Fields<'_>| -> Result<GroupCells, ObjectError> {
        Ok(GroupCells {
            baseline: g.opt_nested("baseline")?.map(|c| cell(&c)).transpose()?,
            follow_up: g.opt_nested("followUp")?.map(|c| cell(&c)).transpose()?,
        })
    };
    Ok(Groups {
        intervention: group(&g.nested("intervention")?)?,
        comparison: g.opt_nested("comparison")?.map(|c| group(&c)).transpose()?,
        correlation: g.opt_f64("correlation")?,
    })
}

/// Rebuilds an evaluation version from a received object. Its `id` and `attributedTo` must
/// be on `expected_origin`. The model's validation applies, except that a value marked
/// `suppressed` (blanked by disclosure control at the origin) is exempt from the per-value
/// rules written for evaluators' input.
pub fn parse_evaluation(object: &Value, expected_origin: &str) -> Result<Evaluation, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(ObjectKind::Evaluation.type_term())?;
    let id = f.own_id(&urls, Collection::Evaluations)?;
    f.check_attributed_to(&urls)?;

    let s = f.nested("evaluates")?;
    let subject = EvaluationSubject {
        practice: parse_reference(&s, "practice", &urls, Collection::Practices)?,
        practice_version: s.opt_u32("practiceVersion")?,
        adaptation: parse_reference(&s, "adaptation", &urls, Collection::Adaptations)?,
    };
    let e = f.nested("evaluator")?;
    let evaluator = Evaluator {
        name: e.string("name", MAX_PLAIN_CHARS)?.to_owned(),
        role: e.enumeration("role")?,
        organisation: e
            .opt_string("affiliation", MAX_PLAIN_CHARS)?
            .map(str::to_owned),
    };
    let level = f.u32("evidenceLevel")?;
    let evidence_level = u8::try_from(level)
        .map_err(|_| level.to_string())
        .and_then(EvidenceLevel::new)
        .map_err(|reason| ObjectError::Invalid {
            field: f.path_of("evidenceLevel"),
            reason,
        })?;
    // The plan followed is another evaluation of the same organisation: on the origin.
    let plan = f
        .opt_string("plan", crate::urls::MAX_URL_LEN)?
        .map(|url| read::local_id_at(url, &urls, Collection::Evaluations, f.path_of("plan")))
        .transpose()?;
    if plan.as_deref() == Some(id.as_str()) {
        return Err(ObjectError::Invalid {
            field: f.path_of("plan"),
            reason: "an evaluation does not follow itself".to_owned(),
        });
    }
    let dac = f.opt_nested("dac")?.map(|d| parse_dac(&d)).transpose()?;
    let values = f
        .array("indicatorValues", MAX_VALUES)?
        .into_iter()
        .map(|(path, v)| parse_value(&Fields::at(v, path)?))
        .collect::<Result<Vec<_>, _>>()?;

    let content = EvaluationContent {
        subject,
        title: f.opt_lang_map("nameMap")?,
        summary: f.opt_lang_map("summaryText")?,
        evaluator,
        method: f.enumeration("method")?,
        evidence_level,
        period: parse_period(&f.nested("period")?)?,
        stage: f.enumeration("stage")?,
        plan,
        dac,
        values,
    };
    if let Err(errors) = content.validate() {
        // a value or a cell blanked by disclosure control is exempt from the input rules
        let mut suppressed: Vec<String> = Vec::new();
        for (i, v) in content.values.iter().enumerate() {
            if v.suppressed.is_some() {
                suppressed.push(format!("values[{i}]."));
            }
            for (path, cell) in v.groups.iter().flat_map(Groups::cells) {
                if cell.suppressed.is_some() {
                    suppressed.push(format!("values[{i}].groups.{path}"));
                }
            }
        }
        let remaining: Vec<_> = errors
            .0
            .into_iter()
            .filter(|e| !suppressed.iter().any(|p| e.field.starts_with(p)))
            .collect();
        if !remaining.is_empty() {
            return Err(ObjectError::Validation(ValidationErrors(remaining)));
        }
    }
    Ok(Evaluation {
        id,
        version: f.u32("version")?,
        content,
        created_at: f.timestamp("published")?,
        updated_at: f.timestamp("updated")?,
    })
}

fn parse_dac(d: &Fields<'_>) -> Result<DacJudgements, ObjectError> {
    let judgement = |key: &str| -> Result<Option<DacJudgement>, ObjectError> {
        d.opt_nested(key)?
            .map(|j| -> Result<DacJudgement, ObjectError> {
                let rating = j.u32("rating")?;
                Ok(DacJudgement {
                    rating: u8::try_from(rating).map_err(|_| ObjectError::Invalid {
                        field: j.path_of("rating"),
                        reason: "must be 1 to 4".to_owned(),
                    })?,
                    comment: j.opt_lang_map("comment")?,
                })
            })
            .transpose()
    };
    Ok(DacJudgements {
        relevance: judgement("relevance")?,
        coherence: judgement("coherence")?,
        effectiveness: judgement("effectiveness")?,
        efficiency: judgement("efficiency")?,
        impact: judgement("impact")?,
        sustainability: judgement("sustainability")?,
    })
}

fn parse_value(v: &Fields<'_>) -> Result<IndicatorValue, ObjectError> {
    let indicator: IndicatorRef = v.parsed("indicator", |s| s.parse())?;
    let ci = v
        .opt_nested("confidenceInterval")?
        .map(|c| parse_ci(&c))
        .transpose()?;
    let mut disaggregation = BTreeMap::new();
    for (dimension, category) in v.map("disaggregation", MAX_DIMENSIONS)? {
        let path = v.path_of(&format!("disaggregation.{dimension}"));
        if dimension.is_empty() || dimension.chars().count() > 64 {
            return Err(ObjectError::Invalid {
                field: path,
                reason: "dimension must be 1 to 64 characters".to_owned(),
            });
        }
        let category = read::string_item(category, path, 64)?;
        disaggregation.insert(dimension, category.to_owned());
    }
    Ok(IndicatorValue {
        indicator,
        period: v
            .opt_nested("period")?
            .map(|p| parse_period(&p))
            .transpose()?,
        baseline: v.opt_f64("baselineValue")?,
        target: v.opt_f64("targetValue")?,
        actual: v.opt_f64("actualValue")?,
        numerator: v.opt_f64("numeratorValue")?,
        denominator: v.opt_f64("denominatorValue")?,
        n: v.opt_u64("sampleSize")?,
        ci,
        groups: v
            .opt_nested("groups")?
            .map(|g| parse_groups(&g))
            .transpose()?,
        disaggregation,
        suppressed: v.opt_enumeration("suppressed")?,
    })
}
