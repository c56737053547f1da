//! Good practices: what an organisation did, why it worked, and what others need to copy it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::common::{CountryCode, Licence, Money, NutsCode, Period, SdgTarget, Theme};
use crate::error::{Validate, ValidationErrors};
use crate::lang::{LangMap, LanguageTag};

/// How established a practice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Maturity {
    /// New, not yet evaluated.
    Innovation,
    /// Early evidence of success.
    Promising,
    /// Evaluated and shown to work.
    Good,
    /// Tried and did not work: kept so others learn from it.
    Unsuccessful,
}

impl Maturity {
    pub const ALL: [Maturity; 4] = [
        Self::Innovation,
        Self::Promising,
        Self::Good,
        Self::Unsuccessful,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Innovation => "innovation",
            Self::Promising => "promising",
            Self::Good => "good",
            Self::Unsuccessful => "unsuccessful",
        }
    }
}

/// Who made a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TranslationMethod {
    Human,
    Machine,
    MachineReviewed,
}

/// Where one translation came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranslationProvenance {
    pub method: TranslationMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translator: Option<String>,
}

/// What it takes to run the practice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// Staff in full-time equivalents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_fte: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<LangMap>,
}

/// The editable content of a practice: what the API accepts and every version stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PracticeContent {
    pub title: LangMap,
    pub summary: LangMap,
    pub problem: LangMap,
    /// The solution or methodology.
    pub solution: LangMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<LangMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Evidence of success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<LangMap>,
    /// Difficulties met and lessons learnt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulties: Option<LangMap>,
    /// Potential for transfer to other contexts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferability: Option<LangMap>,
    /// Components that must be kept for the practice to work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub core_components: Vec<LangMap>,
    /// Components an adopter may change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adaptable_components: Vec<LangMap>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<Theme>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdg_targets: Vec<SdgTarget>,
    pub original_language: LanguageTag,
    /// Provenance of each translation (languages other than the original).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<LanguageTag, TranslationProvenance>,
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<NutsCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    pub maturity: Maturity,
    #[serde(default)]
    pub licence: Licence,
}

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 5_000;
/// Most themes, SDG targets or components on one practice.
pub const MAX_LIST_ITEMS: usize = 50;

impl Validate for PracticeContent {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Err(e) = self.title.check_max_chars(MAX_TITLE_CHARS) {
            errors.extend_nested("title", e);
        }
        if let Err(e) = self.summary.check_max_chars(MAX_SUMMARY_CHARS) {
            errors.extend_nested("summary", e);
        }
        for (name, map) in [
            ("title", &self.title),
            ("summary", &self.summary),
            ("problem", &self.problem),
            ("solution", &self.solution),
        ] {
            if !map.contains(&self.original_language) {
                errors.add(
                    name,
                    format!(
                        "has no text in the original language '{}'",
                        self.original_language
                    ),
                );
            }
        }
        for (lang, _) in self.translations.iter() {
            if *lang == self.original_language {
                errors.add(
                    format!("translations.{lang}"),
                    "the original language is not a translation",
                );
            } else if !self.title.contains(lang) {
                errors.add(
                    format!("translations.{lang}"),
                    "names a language the title is not given in",
                );
            }
        }
        for (name, len) in [
            ("themes", self.themes.len()),
            ("sdgTargets", self.sdg_targets.len()),
            ("coreComponents", self.core_components.len()),
            ("adaptableComponents", self.adaptable_components.len()),
        ] {
            if len > MAX_LIST_ITEMS {
                errors.add(
                    name,
                    format!("has {len} items; at most {MAX_LIST_ITEMS} allowed"),
                );
            }
        }
        check_unique(&mut errors, "themes", &self.themes);
        check_unique(&mut errors, "sdgTargets", &self.sdg_targets);
        if let Some(region) = &self.region
            && region.country_prefix() != self.country.nuts_prefix()
        {
            errors.add(
                "region",
                format!("NUTS region {region} is not in country {}", self.country),
            );
        }
        if let Some(period) = &self.period
            && let Err(e) = period.check()
        {
            errors.add("period", e);
        }
        if let Some(r) = &self.resources {
            if let Some(fte) = r.staff_fte
                && (!fte.is_finite() || fte < 0.0)
            {
                errors.add("resources.staffFte", "must be a non-negative number");
            }
            if let Some(b) = &r.budget
                && (!b.amount.is_finite() || b.amount < 0.0)
            {
                errors.add("resources.budget.amount", "must be a non-negative number");
            }
        }
        errors.into_result()
    }
}

pub(crate) fn check_unique<T: PartialEq + std::fmt::Display>(
    errors: &mut ValidationErrors,
    field: &str,
    items: &[T],
) {
    for (i, item) in items.iter().enumerate() {
        if items.iter().take(i).any(|earlier| earlier == item) {
            errors.add(format!("{field}[{i}]"), format!("'{item}' is listed twice"));
        }
    }
}

impl PracticeContent {
    /// Every language the practice has any title text in.
    pub fn languages(&self) -> Vec<LanguageTag> {
        self.title.languages().cloned().collect()
    }
}

/// One stored version of a practice, as the API returns it and as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Practice {
    pub id: String,
    /// 1 for the first version; every edit adds one.
    pub version: u32,
    #[serde(flatten)]
    pub content: PracticeContent,
    /// RFC 3339 timestamp of the first version.
    pub created_at: String,
    /// RFC 3339 timestamp of this version.
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    pub(crate) fn sample() -> serde_json::Value {
        serde_json::json!({
            "title": {"ro": "Școala de după școală", "en": "After-school club"},
            "summary": {"ro": "Sprijin la teme", "en": "Homework support"},
            "problem": {"ro": "Abandon școlar", "en": "Early school leaving"},
            "solution": {"ro": "Mentori voluntari", "en": "Volunteer mentors"},
            "originalLanguage": "ro",
            "translations": {"en": {"method": "human"}},
            "country": "RO",
            "region": "RO32",
            "themes": ["education"],
            "sdgTargets": ["4.1"],
            "maturity": "promising"
        })
    }

    fn errors_of(v: serde_json::Value) -> Vec<String> {
        let p: PracticeContent = serde_json::from_value(v).unwrap();
        match p.validate() {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_complete_practice_validates_and_defaults_its_licence() {
        let p: PracticeContent = serde_json::from_value(sample()).unwrap();
        p.validate().unwrap();
        assert_eq!(p.licence.as_str(), "CC-BY-4.0");
    }

    #[test]
    fn cross_field_rules_name_the_field() {
        let mut v = sample();
        v["originalLanguage"] = "it".into();
        let e = errors_of(v);
        assert!(e.contains(&"title".to_string()), "{e:?}");
        let mut v = sample();
        v["region"] = "IT32".into();
        assert_eq!(errors_of(v), vec!["region"]);
        let mut v = sample();
        v["themes"] = serde_json::json!(["a", "A"]);
        assert_eq!(errors_of(v), vec!["themes[1]"]);
        let mut v = sample();
        v["translations"] = serde_json::json!({"fr": {"method": "machine"}});
        assert_eq!(errors_of(v), vec!["translations.fr"]);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_when_parsing() {
        let mut v = sample();
        v["colour"] = "red".into();
        assert!(serde_json::from_value::<PracticeContent>(v).is_err());
        let mut v = sample();
        v["maturity"] = "excellent".into();
        assert!(serde_json::from_value::<PracticeContent>(v).is_err());
        let mut v = sample();
        v["country"] = "Romania".into();
        assert!(serde_json::from_value::<PracticeContent>(v).is_err());
    }
}
