//! A practice version as an AS `Article` that is also a `punte:Practice`.

use std::collections::BTreeMap;

use punte_model::practice::{MAX_LIST_ITEMS, Resources, TranslationProvenance};
use punte_model::{
    CountryCode, CurrencyCode, LangMap, LanguageTag, Licence, Money, NutsCode, Practice,
    PracticeContent, SdgTarget, Theme, Validate,
};
use serde_json::{Map, Value};

use super::html::{practice_content, render_text_html};
use super::read::{self, Fields, MAX_LANGUAGES, MAX_PLAIN_CHARS};
use super::{
    ObjectError, ObjectKind, enum_str, lang_value, number, parse_period, period_value,
    public_addressing,
};
use crate::urls::{Collection, NodeUrls};

/// Most `tag` entries read from a received practice.
const MAX_TAGS: usize = 2 * MAX_LIST_ITEMS;

/// The practice as an AS2 object (without `@context`): `id` = `BASE/practices/{id}`.
pub fn practice_to_object(practice: &Practice, urls: &NodeUrls) -> Value {
    let c = &practice.content;
    let id = urls.practice(&practice.id);
    let original = &c.original_language;
    let mut o = Map::new();
    o.insert("id".to_owned(), id.clone().into());
    o.insert(
        "type".to_owned(),
        Value::Array(vec![
            "Article".into(),
            ObjectKind::Practice.type_term().into(),
        ]),
    );
    o.insert("attributedTo".to_owned(), urls.actor().into());
    o.insert("name".to_owned(), c.title.best(original, original).1.into());
    o.insert("nameMap".to_owned(), lang_value(&c.title));
    o.insert(
        "summary".to_owned(),
        render_text_html(c.summary.best(original, original).1).into(),
    );
    o.insert(
        "summaryMap".to_owned(),
        Value::Object(
            c.summary
                .iter()
                .map(|(l, t)| (l.to_string(), render_text_html(t).into()))
                .collect(),
        ),
    );
    let content = practice_content(&c.problem, &c.solution);
    if let Some((_, html)) = content
        .iter()
        .find(|(l, _)| l == original)
        .or_else(|| content.first())
    {
        o.insert("content".to_owned(), html.clone().into());
    }
    o.insert(
        "contentMap".to_owned(),
        Value::Object(
            content
                .into_iter()
                .map(|(l, html)| (l.to_string(), html.into()))
                .collect(),
        ),
    );
    o.insert("url".to_owned(), id.into());
    o.insert("published".to_owned(), practice.created_at.clone().into());
    o.insert("updated".to_owned(), practice.updated_at.clone().into());
    public_addressing(&mut o, urls);
    if !c.themes.is_empty() {
        o.insert(
            "tag".to_owned(),
            c.themes
                .iter()
                .map(|t| serde_json::json!({"type": "Hashtag", "name": format!("#{t}")}))
                .collect(),
        );
    }
    o.insert("version".to_owned(), practice.version.into());
    o.insert("summaryText".to_owned(), lang_value(&c.summary));
    o.insert("problem".to_owned(), lang_value(&c.problem));
    o.insert("solution".to_owned(), lang_value(&c.solution));
    for (key, map) in [
        ("targetGroup", &c.target_group),
        ("evidence", &c.evidence),
        ("difficulties", &c.difficulties),
        ("transferability", &c.transferability),
    ] {
        if let Some(map) = map {
            o.insert(key.to_owned(), lang_value(map));
        }
    }
    if let Some(r) = &c.resources {
        o.insert("resources".to_owned(), resources_value(r));
    }
    for (key, list) in [
        ("coreComponents", &c.core_components),
        ("adaptableComponents", &c.adaptable_components),
    ] {
        if !list.is_empty() {
            o.insert(
                key.to_owned(),
                list.iter()
                    .map(|m| serde_json::json!({"nameMap": lang_value(m)}))
                    .collect(),
            );
        }
    }
    if !c.sdg_targets.is_empty() {
        o.insert(
            "sdgTargets".to_owned(),
            c.sdg_targets
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect(),
        );
    }
    o.insert("originalLanguage".to_owned(), original.as_str().into());
    if !c.translations.is_empty() {
        o.insert(
            "translations".to_owned(),
            Value::Object(
                c.translations
                    .iter()
                    .map(|(lang, p)| (lang.to_string(), provenance_value(p)))
                    .collect(),
            ),
        );
    }
    o.insert("country".to_owned(), c.country.as_str().into());
    if let Some(region) = &c.region {
        o.insert("region".to_owned(), region.as_str().into());
    }
    if let Some(period) = &c.period {
        o.insert("period".to_owned(), period_value(period));
    }
    o.insert("maturity".to_owned(), c.maturity.as_str().into());
    o.insert("licence".to_owned(), c.licence.as_str().into());
    Value::Object(o)
}

fn resources_value(r: &Resources) -> Value {
    let mut m = Map::new();
    if let Some(fte) = r.staff_fte {
        m.insert("staffFte".to_owned(), number(fte));
    }
    if let Some(b) = &r.budget {
        m.insert(
            "budget".to_owned(),
            serde_json::json!({"amount": number(b.amount), "currency": b.currency.as_str()}),
        );
    }
    if let Some(months) = r.duration_months {
        m.insert("durationMonths".to_owned(), months.into());
    }
    if let Some(notes) = &r.notes {
        m.insert("notes".to_owned(), lang_value(notes));
    }
    Value::Object(m)
}

fn provenance_value(p: &TranslationProvenance) -> Value {
    let mut m = Map::new();
    m.insert("method".to_owned(), enum_str(&p.method));
    if let Some(t) = &p.translator {
        m.insert("translator".to_owned(), t.clone().into());
    }
    Value::Object(m)
}

/// Rebuilds a practice version from a received object. Its `id` and `attributedTo` must be
/// on `expected_origin`; the content must pass the model's validation.
pub fn parse_practice(object: &Value, expected_origin: &str) -> Result<Practice, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(ObjectKind::Practice.type_term())?;
    let id = f.own_id(&urls, Collection::Practices)?;
    f.check_attributed_to(&urls)?;

    let mut themes = Vec::new();
    for (path, tag) in f.array("tag", MAX_TAGS)? {
        let tag = Fields::at(tag, path.clone())?;
        if tag.get("type").and_then(Value::as_str) != Some("Hashtag") {
            continue;
        }
        let name = tag.string("name", 65)?;
        let bare = name.strip_prefix('#').unwrap_or(name);
        themes.push(Theme::parse(bare).map_err(|reason| ObjectError::Invalid {
            field: tag.path_of("name"),
            reason,
        })?);
    }
    if themes.len() > MAX_LIST_ITEMS {
        return Err(ObjectError::TooLarge {
            field: f.path_of("tag"),
            found: themes.len(),
            max: MAX_LIST_ITEMS,
        });
    }

    let components = |key: &str| -> Result<Vec<LangMap>, ObjectError> {
        f.array(key, MAX_LIST_ITEMS)?
            .into_iter()
            .map(|(path, item)| Fields::at(item, path)?.lang_map("nameMap"))
            .collect()
    };
    let sdg_targets = f
        .array("sdgTargets", MAX_LIST_ITEMS)?
        .into_iter()
        .map(|(path, v)| read::parsed_item(v, path, SdgTarget::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let mut translations = BTreeMap::new();
    for (lang, value) in f.map("translations", MAX_LANGUAGES)? {
        let path = f.path_of(&format!("translations.{lang}"));
        let tag = LanguageTag::parse(&lang).map_err(|reason| ObjectError::Invalid {
            field: path.clone(),
            reason,
        })?;
        let p = Fields::at(value, path.clone())?;
        let provenance = TranslationProvenance {
            method: p.enumeration("method")?,
            translator: p
                .opt_string("translator", MAX_PLAIN_CHARS)?
                .map(str::to_owned),
        };
        if translations.insert(tag, provenance).is_some() {
            return Err(ObjectError::Invalid {
                field: path,
                reason: "language appears twice (tags are case-insensitive)".to_owned(),
            });
        }
    }
    let resources = f
        .opt_nested("resources")?
        .map(|r| parse_resources(&r))
        .transpose()?;

    let content = PracticeContent {
        title: f.lang_map("nameMap")?,
        summary: f.lang_map("summaryText")?,
        problem: f.lang_map("problem")?,
        solution: f.lang_map("solution")?,
        target_group: f.opt_lang_map("targetGroup")?,
        resources,
        evidence: f.opt_lang_map("evidence")?,
        difficulties: f.opt_lang_map("difficulties")?,
        transferability: f.opt_lang_map("transferability")?,
        core_components: components("coreComponents")?,
        adaptable_components: components("adaptableComponents")?,
        themes,
        sdg_targets,
        original_language: f.parsed("originalLanguage", LanguageTag::parse)?,
        translations,
        country: f.parsed("country", CountryCode::parse)?,
        region: f.opt_parsed("region", NutsCode::parse)?,
        period: f
            .opt_nested("period")?
            .map(|p| parse_period(&p))
            .transpose()?,
        maturity: f.enumeration("maturity")?,
        licence: f.opt_parsed("licence", Licence::parse)?.unwrap_or_default(),
    };
    content.validate().map_err(ObjectError::Validation)?;
    Ok(Practice {
        id,
        version: f.u32("version")?,
        content,
        created_at: f.timestamp("published")?,
        updated_at: f.timestamp("updated")?,
    })
}

fn parse_resources(r: &Fields<'_>) -> Result<Resources, ObjectError> {
    let budget = r
        .opt_nested("budget")?
        .map(|b| -> Result<Money, ObjectError> {
            Ok(Money {
                amount: b.f64("amount")?,
                currency: b.parsed("currency", CurrencyCode::parse)?,
            })
        })
        .transpose()?;
    Ok(Resources {
        staff_fte: r.opt_f64("staffFte")?,
        budget,
        duration_months: r.opt_u32("durationMonths")?,
        notes: r.opt_lang_map("notes")?,
    })
}
