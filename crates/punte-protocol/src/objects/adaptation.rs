//! An adaptation version (FRAME) as a `punte:Adaptation` object.

use punte_model::adaptation::{AdaptationOrigin, Fidelity, Modification};
use punte_model::{Adaptation, AdaptationContent, CountryCode, Validate};
use serde_json::{Map, Value};

use super::read::{Fields, MAX_PLAIN_CHARS};
use super::{
    ObjectError, ObjectKind, enum_str, lang_value, parse_reference, public_addressing,
    reference_url,
};
use crate::urls::{Collection, NodeUrls};

/// Most modifications (the model allows 200) and kept core components read.
const MAX_MODIFICATIONS: usize = 200;
const MAX_KEPT: usize = 1_000;

/// The adaptation as an AS2 object (without `@context`): `id` = `BASE/adaptations/{id}`.
pub fn adaptation_to_object(adaptation: &Adaptation, urls: &NodeUrls) -> Value {
    let c = &adaptation.content;
    let id = urls.adaptation(&adaptation.id);
    let mut o = Map::new();
    o.insert("id".to_owned(), id.clone().into());
    o.insert("type".to_owned(), ObjectKind::Adaptation.type_term().into());
    o.insert("attributedTo".to_owned(), urls.actor().into());
    if let Some(title) = &c.title {
        o.insert("nameMap".to_owned(), lang_value(title));
    }
    o.insert("url".to_owned(), id.into());
    o.insert("published".to_owned(), adaptation.created_at.clone().into());
    o.insert("updated".to_owned(), adaptation.updated_at.clone().into());
    public_addressing(&mut o, urls);
    o.insert("version".to_owned(), adaptation.version.into());
    let mut adapts = Map::new();
    adapts.insert(
        "practice".to_owned(),
        reference_url(urls, Collection::Practices, &c.origin.practice),
    );
    adapts.insert("practiceVersion".to_owned(), c.origin.version.into());
    if let Some(org) = &c.origin.organisation {
        adapts.insert("organisation".to_owned(), org.clone().into());
    }
    o.insert("adapts".to_owned(), Value::Object(adapts));
    o.insert("localContext".to_owned(), lang_value(&c.context));
    o.insert("country".to_owned(), c.country.as_str().into());
    if !c.modifications.is_empty() {
        o.insert(
            "modifications".to_owned(),
            c.modifications.iter().map(modification_value).collect(),
        );
    }
    let mut fidelity = Map::new();
    fidelity.insert(
        "coreComponentsKept".to_owned(),
        c.fidelity.core_components_kept.clone().into(),
    );
    if let Some(notes) = &c.fidelity.notes {
        fidelity.insert("notes".to_owned(), lang_value(notes));
    }
    o.insert("fidelity".to_owned(), Value::Object(fidelity));
    o.insert("scaling".to_owned(), enum_str(&c.scaling));
    o.insert("state".to_owned(), enum_str(&c.state));
    Value::Object(o)
}

fn modification_value(m: &Modification) -> Value {
    let mut o = Map::new();
    o.insert("what".to_owned(), lang_value(&m.what));
    o.insert("nature".to_owned(), enum_str(&m.nature));
    o.insert("when".to_owned(), enum_str(&m.when));
    o.insert("planned".to_owned(), m.planned.into());
    if let Some(who) = &m.decided_by {
        o.insert("decidedBy".to_owned(), who.clone().into());
    }
    o.insert("reasonCategory".to_owned(), enum_str(&m.reason_category));
    o.insert("reason".to_owned(), lang_value(&m.reason));
    o.insert(
        "fidelityConsistent".to_owned(),
        m.fidelity_consistent.into(),
    );
    Value::Object(o)
}

/// Rebuilds an adaptation version. Its `id` and `attributedTo` must be on `expected_origin`
/// (the practice it adapts may be anywhere); the content must pass the model's validation.
pub fn parse_adaptation(object: &Value, expected_origin: &str) -> Result<Adaptation, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(ObjectKind::Adaptation.type_term())?;
    let id = f.own_id(&urls, Collection::Adaptations)?;
    f.check_attributed_to(&urls)?;

    let a = f.nested("adapts")?;
    let origin = AdaptationOrigin {
        practice: parse_reference(&a, "practice", &urls, Collection::Practices)?
            .ok_or_else(|| ObjectError::Missing(a.path_of("practice")))?,
        version: a.u32("practiceVersion")?,
        organisation: a.opt_url("organisation")?,
    };
    let modifications = f
        .array("modifications", MAX_MODIFICATIONS)?
        .into_iter()
        .map(|(path, v)| -> Result<Modification, ObjectError> {
            let m = Fields::at(v, path)?;
            Ok(Modification {
                what: m.lang_map("what")?,
                nature: m.enumeration("nature")?,
                when: m.enumeration("when")?,
                planned: m.bool("planned")?,
                decided_by: m
                    .opt_string("decidedBy", MAX_PLAIN_CHARS)?
                    .map(str::to_owned),
                reason_category: m.enumeration("reasonCategory")?,
                reason: m.lang_map("reason")?,
                fidelity_consistent: m.bool("fidelityConsistent")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fi = f.nested("fidelity")?;
    let core_components_kept = fi
        .array("coreComponentsKept", MAX_KEPT)?
        .into_iter()
        .map(|(path, v)| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(ObjectError::Invalid {
                    field: path,
                    reason: "must be a component position (a whole number)".to_owned(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let content = AdaptationContent {
        origin,
        title: f.opt_lang_map("nameMap")?,
        context: f.lang_map("localContext")?,
        country: f.parsed("country", CountryCode::parse)?,
        modifications,
        fidelity: Fidelity {
            core_components_kept,
            notes: fi.opt_lang_map("notes")?,
        },
        scaling: f.enumeration("scaling")?,
        state: f.enumeration("state")?,
    };
    content.validate().map_err(ObjectError::Validation)?;
    Ok(Adaptation {
        id,
        version: f.u32("version")?,
        content,
        created_at: f.timestamp("published")?,
        updated_at: f.timestamp("updated")?,
    })
}
