//! An indicator definition as a `punte:IndicatorDefinition` object, `BASE/indicators/code@version`.

use punte_model::indicator::{Disaggregation, Mappings};
use punte_model::{IndicatorCode, IndicatorDefinition, IndicatorRef, Validate};
use serde_json::{Map, Value};

use super::read::{self, Fields, MAX_PLAIN_CHARS};
use super::{ObjectError, ObjectKind, enum_str, lang_value, public_addressing};
use crate::urls::{Collection, NodeUrls};

/// Most disaggregation dimensions, categories per dimension, and mapped codes per framework.
const MAX_DISAGGREGATIONS: usize = 64;
const MAX_CATEGORIES: usize = 256;
const MAX_MAPPINGS: usize = 256;

/// The definition as an AS2 object (without `@context`), published by the node at `urls`.
pub fn indicator_to_object(definition: &IndicatorDefinition, urls: &NodeUrls) -> Value {
    let d = definition;
    let id = urls.indicator(&d.reference());
    let mut o = Map::new();
    o.insert("id".to_owned(), id.clone().into());
    o.insert(
        "type".to_owned(),
        ObjectKind::IndicatorDefinition.type_term().into(),
    );
    o.insert("attributedTo".to_owned(), urls.actor().into());
    o.insert("nameMap".to_owned(), lang_value(&d.label));
    o.insert("url".to_owned(), id.into());
    public_addressing(&mut o, urls);
    o.insert("code".to_owned(), d.code.as_str().into());
    o.insert("version".to_owned(), d.version.into());
    if let Some(description) = &d.description {
        o.insert("description".to_owned(), lang_value(description));
    }
    o.insert("unit".to_owned(), d.unit.clone().into());
    o.insert("measure".to_owned(), enum_str(&d.measure));
    o.insert("direction".to_owned(), enum_str(&d.direction));
    if let Some(n) = &d.numerator {
        o.insert("numerator".to_owned(), lang_value(n));
    }
    if let Some(n) = &d.denominator {
        o.insert("denominator".to_owned(), lang_value(n));
    }
    o.insert("aggregation".to_owned(), enum_str(&d.aggregation));
    if !d.disaggregations.is_empty() {
        o.insert(
            "disaggregations".to_owned(),
            d.disaggregations
                .iter()
                .map(|x| serde_json::json!({"dimension": x.dimension, "categories": x.categories}))
                .collect(),
        );
    }
    let mut mappings = Map::new();
    if !d.mappings.esf.is_empty() {
        mappings.insert("esf".to_owned(), d.mappings.esf.clone().into());
    }
    if !d.mappings.sdg.is_empty() {
        mappings.insert("sdg".to_owned(), d.mappings.sdg.clone().into());
    }
    if !mappings.is_empty() {
        o.insert("mappings".to_owned(), Value::Object(mappings));
    }
    Value::Object(o)
}

/// Rebuilds an indicator definition. Its `id` must be `ORIGIN/indicators/{code}@{version}`
/// with the same `code` and `version` as the members; `attributedTo` must be on the origin.
pub fn parse_indicator(
    object: &Value,
    expected_origin: &str,
) -> Result<IndicatorDefinition, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(ObjectKind::IndicatorDefinition.type_term())?;
    let local = f.own_id(&urls, Collection::Indicators)?;
    f.check_attributed_to(&urls)?;
    let code = f.parsed("code", IndicatorCode::parse)?;
    let version = f.u32("version")?;
    let reference = IndicatorRef {
        code: code.clone(),
        version,
    };
    if local != reference.to_string() {
        return Err(ObjectError::Invalid {
            field: f.path_of("id"),
            reason: format!("does not name {reference}"),
        });
    }
    let strings = |item: &Fields<'_>, key: &str, max: usize| -> Result<Vec<String>, ObjectError> {
        item.array(key, max)?
            .into_iter()
            .map(|(path, v)| read::string_item(v, path, MAX_PLAIN_CHARS).map(str::to_owned))
            .collect()
    };
    let disaggregations = f
        .array("disaggregations", MAX_DISAGGREGATIONS)?
        .into_iter()
        .map(|(path, v)| -> Result<Disaggregation, ObjectError> {
            let d = Fields::at(v, path)?;
            Ok(Disaggregation {
                dimension: d.string("dimension", 64)?.to_owned(),
                categories: strings(&d, "categories", MAX_CATEGORIES)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mappings = match f.opt_nested("mappings")? {
        None => Mappings::default(),
        Some(m) => Mappings {
            esf: strings(&m, "esf", MAX_MAPPINGS)?,
            sdg: strings(&m, "sdg", MAX_MAPPINGS)?,
        },
    };
    let definition = IndicatorDefinition {
        code,
        version,
        label: f.lang_map("nameMap")?,
        description: f.opt_lang_map("description")?,
        unit: f.string("unit", 64)?.to_owned(),
        measure: f.enumeration("measure")?,
        direction: f.enumeration("direction")?,
        numerator: f.opt_lang_map("numerator")?,
        denominator: f.opt_lang_map("denominator")?,
        aggregation: f.enumeration("aggregation")?,
        disaggregations,
        mappings,
    };
    definition.validate().map_err(ObjectError::Validation)?;
    Ok(definition)
}
