//! The organisation a node speaks for.

use serde::{Deserialize, Serialize};

use crate::common::{CountryCode, NutsCode};
use crate::error::{Validate, ValidationErrors};
use crate::lang::{LangMap, LanguageTag};

/// The organisation's public profile, set by `punte init` and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganisationProfile {
    pub name: LangMap,
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<NutsCode>,
    /// Working languages, the first being the default for the node's pages.
    pub languages: Vec<LanguageTag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LangMap>,
}

impl Validate for OrganisationProfile {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.languages.is_empty() {
            errors.add("languages", "list at least one language");
        }
        if let Some(r) = &self.region
            && r.country_prefix() != self.country.nuts_prefix()
        {
            errors.add(
                "region",
                format!("NUTS region {r} is not in country {}", self.country),
            );
        }
        if let Err(e) = self.name.check_max_chars(200) {
            errors.extend_nested("name", e);
        }
        errors.into_result()
    }
}
