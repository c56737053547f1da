//! The organisation profile as members of the node's actor document, and back.

use punte_model::{CountryCode, LanguageTag, NutsCode, OrganisationProfile, Validate};
use serde_json::{Map, Value};

use super::ObjectError;
use super::html::render_text_html;
use super::lang_value;
use super::read::{self, Fields, MAX_LANGUAGES};

/// The actor members that carry the profile: `name` (in the first working language),
/// `nameMap`, `summary`/`summaryMap` (HTML, when there is a summary), `summaryText` (the exact
/// text), `country`, `region`, `languages`.
pub fn organisation_fields(profile: &OrganisationProfile) -> Map<String, Value> {
    let mut o = Map::new();
    let first = profile.languages.first();
    let best = |map: &punte_model::LangMap| -> String {
        match first {
            Some(lang) => map.best(lang, lang).1.to_owned(),
            None => map
                .iter()
                .next()
                .map(|(_, t)| t.to_owned())
                .unwrap_or_default(),
        }
    };
    o.insert("name".to_owned(), best(&profile.name).into());
    o.insert("nameMap".to_owned(), lang_value(&profile.name));
    if let Some(summary) = &profile.summary {
        o.insert(
            "summary".to_owned(),
            render_text_html(&best(summary)).into(),
        );
        o.insert(
            "summaryMap".to_owned(),
            Value::Object(
                summary
                    .iter()
                    .map(|(l, t)| (l.to_string(), render_text_html(t).into()))
                    .collect(),
            ),
        );
        o.insert("summaryText".to_owned(), lang_value(summary));
    }
    o.insert("country".to_owned(), profile.country.as_str().into());
    if let Some(region) = &profile.region {
        o.insert("region".to_owned(), region.as_str().into());
    }
    o.insert(
        "languages".to_owned(),
        profile
            .languages
            .iter()
            .map(|l| Value::from(l.as_str()))
            .collect(),
    );
    o
}

/// Rebuilds an organisation profile from an actor document (see [`organisation_fields`]).
/// The caller checks the actor's id and keys (`actor::parse_actor`).
pub fn parse_organisation(actor: &Value) -> Result<OrganisationProfile, ObjectError> {
    let f = Fields::root(actor)?;
    let languages = f
        .array("languages", MAX_LANGUAGES)?
        .into_iter()
        .map(|(path, v)| read::parsed_item(v, path, LanguageTag::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let profile = OrganisationProfile {
        name: f.lang_map("nameMap")?,
        country: f.parsed("country", CountryCode::parse)?,
        region: f.opt_parsed("region", NutsCode::parse)?,
        languages,
        summary: f.opt_lang_map("summaryText")?,
    };
    profile.validate().map_err(ObjectError::Validation)?;
    Ok(profile)
}
