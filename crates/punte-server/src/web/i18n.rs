//! The web interface's languages: the Romanian and English message catalogues, and which one a
//! request gets (the reader's choice in a cookie, else `Accept-Language`, else English).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use punte_model::LanguageTag;

/// Cookie that keeps the reader's choice of interface language.
pub const LANG_COOKIE: &str = "punte_lang";

/// A language the interface is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiLang {
    Ro,
    En,
}

impl UiLang {
    pub const ALL: [UiLang; 2] = [UiLang::Ro, UiLang::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::Ro => "ro",
            Self::En => "en",
        }
    }

    /// The language's name in itself, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Ro => "Română",
            Self::En => "English",
        }
    }

    /// The interface language for a tag (`ro`, `en-GB`), by its primary subtag.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ro") {
            Some(Self::Ro)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    /// As a content language tag, to pick texts from language maps.
    pub fn tag(self) -> Option<LanguageTag> {
        LanguageTag::parse(self.code()).ok()
    }

    fn index(self) -> usize {
        match self {
            Self::Ro => 0,
            Self::En => 1,
        }
    }
}

/// The catalogues' sources, embedded in the binary: `(language, TOML text)`.
pub const SOURCES: [(UiLang, &str); 2] = [
    (UiLang::Ro, include_str!("../../i18n/ro.toml")),
    (UiLang::En, include_str!("../../i18n/en.toml")),
];

/// Parses one catalogue: a flat TOML table of `key = "text"`.
pub fn parse_catalogue(source: &str) -> Result<BTreeMap<String, String>, String> {
    toml::from_str::<BTreeMap<String, String>>(source).map_err(|e| e.to_string())
}

static CATALOGUES: LazyLock<[BTreeMap<String, String>; 2]> = LazyLock::new(|| {
    SOURCES.map(|(lang, source)| {
        parse_catalogue(source).unwrap_or_else(|e| {
            tracing::error!(language = lang.code(), error = %e, "web catalogue does not parse");
            BTreeMap::new()
        })
    })
});

/// Every message of one language.
pub fn catalogue(lang: UiLang) -> &'static BTreeMap<String, String> {
    // `index` is 0 or 1 and the array has two catalogues.
    match CATALOGUES.get(lang.index()) {
        Some(c) => c,
        None => {
            static EMPTY: BTreeMap<String, String> = BTreeMap::new();
            &EMPTY
        }
    }
}

/// One message; a missing key shows as the key itself (a test keeps the catalogues complete).
pub fn text(lang: UiLang, key: &str) -> String {
    catalogue(lang)
        .get(key)
        .or_else(|| catalogue(UiLang::En).get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// The interface language: the reader's cookie when valid, else the best match in
/// `Accept-Language` (highest `q` first), else English.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> UiLang {
    if let Some(lang) = cookie.and_then(UiLang::parse) {
        return lang;
    }
    let Some(header) = accept_language else {
        return UiLang::En;
    };
    let mut choices: Vec<(f32, usize, UiLang)> = Vec::new();
    for (position, item) in header.split(',').take(32).enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some(value) = param.trim().strip_prefix("q=") {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        if q > 0.0
            && let Some(lang) = UiLang::parse(tag)
        {
            choices.push((q, position, lang));
        }
    }
    choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    choices.first().map(|c| c.2).unwrap_or(UiLang::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_then_accept_language_by_quality() {
        assert_eq!(negotiate(Some("ro"), Some("en")), UiLang::Ro);
        assert_eq!(negotiate(Some("xx"), Some("ro-RO,en;q=0.5")), UiLang::Ro);
        assert_eq!(negotiate(None, Some("fr, en;q=0.4, ro;q=0.8")), UiLang::Ro);
        assert_eq!(negotiate(None, Some("ro;q=0, en-GB")), UiLang::En);
        assert_eq!(negotiate(None, Some("de")), UiLang::En);
        assert_eq!(negotiate(None, None), UiLang::En);
    }
}
