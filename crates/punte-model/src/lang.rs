//! Language tags (BCP 47) and multilingual text maps.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A well-formed BCP 47 language tag in canonical case (`ro`, `en-GB`, `sr-Latn-RS`).
///
/// Accepts `language[-script][-region][-variant…]` with a 2–3 letter language subtag; private-use
/// and extension subtags are not needed by the network and are refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(input: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid language tag '{input}' (expected BCP 47, e.g. 'ro' or 'en-GB')");
        if input.is_empty() || input.len() > 35 {
            return Err(bad());
        }
        let mut out = String::with_capacity(input.len());
        let mut parts = input.split('-');
        let language = parts.next().ok_or_else(bad)?;
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(bad());
        }
        out.push_str(&language.to_ascii_lowercase());
        // 0 = expect script, 1 = expect region, 2 = variants only
        let mut stage = 0;
        for part in parts {
            let alpha = part.chars().all(|c| c.is_ascii_alphabetic());
            let digit = part.chars().all(|c| c.is_ascii_digit());
            let alnum = part.chars().all(|c| c.is_ascii_alphanumeric());
            out.push('-');
            if stage == 0 && part.len() == 4 && alpha {
                let mut chars = part.chars();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                }
                out.push_str(&chars.as_str().to_ascii_lowercase());
                stage = 1;
            } else if stage <= 1 && ((part.len() == 2 && alpha) || (part.len() == 3 && digit)) {
                out.push_str(&part.to_ascii_uppercase());
                stage = 2;
            } else if ((5..=8).contains(&part.len()) && alnum)
                || (part.len() == 4 && part.starts_with(|c: char| c.is_ascii_digit()) && alnum)
            {
                out.push_str(&part.to_ascii_lowercase());
                stage = 2;
            } else {
                return Err(bad());
            }
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag (`en` for `en-GB`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LanguageTag> for String {
    fn from(value: LanguageTag) -> Self {
        value.0
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text in several languages: `{"ro": "…", "en": "…"}`. Never empty; no empty texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct LangMap(BTreeMap<LanguageTag, String>);

/// Longest text accepted in one language of one field (characters).
pub const MAX_TEXT_CHARS: usize = 100_000;

impl LangMap {
    pub fn new(lang: LanguageTag, text: impl Into<String>) -> Self {
        let mut map = BTreeMap::new();
        map.insert(lang, text.into());
        Self(map)
    }

    pub fn get(&self, lang: &LanguageTag) -> Option<&str> {
        self.0.get(lang).map(String::as_str)
    }

    pub fn languages(&self) -> impl Iterator<Item = &LanguageTag> {
        self.0.keys()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&LanguageTag, &str)> {
        self.0.iter().map(|(k, v)| (k, v.as_str()))
    }

    pub fn contains(&self, lang: &LanguageTag) -> bool {
        self.0.contains_key(lang)
    }

    /// The text in `wanted`, else in a language with the same primary subtag, else in
    /// `fallback`, else the first one.
    pub fn best<'a>(
        &'a self,
        wanted: &'a LanguageTag,
        fallback: &'a LanguageTag,
    ) -> (&'a LanguageTag, &'a str) {
        if let Some((k, v)) = self.0.get_key_value(wanted) {
            return (k, v);
        }
        if let Some((k, v)) = self.0.iter().find(|(k, _)| k.primary() == wanted.primary()) {
            return (k, v);
        }
        if let Some((k, v)) = self.0.get_key_value(fallback) {
            return (k, v);
        }
        // A LangMap is never empty, so the loop below always returns.
        let mut iter = self.0.iter();
        match iter.next() {
            Some((k, v)) => (k, v),
            None => (wanted, ""),
        }
    }

    /// Checks every text against a maximum length in characters, and for characters XML 1.0
    /// forbids (see [`check_text_chars`]).
    pub fn check_max_chars(&self, max: usize) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (lang, text) in &self.0 {
            let n = text.chars().count();
            if n > max {
                errors.add(
                    lang.as_str(),
                    format!("text is {n} characters long; at most {max} allowed"),
                );
            }
        }
        if let Err(e) = self.check_chars() {
            errors.0.extend(e.0);
        }
        errors.into_result()
    }

    /// Checks every text for characters XML 1.0 forbids; each error names the language.
    pub fn check_chars(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (lang, text) in &self.0 {
            if let Err(e) = check_text_chars(text) {
                errors.add(lang.as_str(), e);
            }
        }
        errors.into_result()
    }
}

/// Whether XML 1.0 allows `c` in a document: tab, line feed, carriage return, and everything
/// from U+0020 up except U+FFFE and U+FFFF (XML 1.0, production 2 `Char`). Surrogates cannot
/// occur in a Rust `char`, and serde_json refuses a lone `\ud800` escape when it decodes a
/// string.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// Refuses free text holding a character XML 1.0 forbids (C0 controls other than tab, line
/// feed and carriage return; U+FFFE; U+FFFF): such text could not be exported (IATI XML) or
/// shown faithfully. The message names the first such character and where it is.
pub fn check_text_chars(text: &str) -> Result<(), String> {
    match text.chars().enumerate().find(|(_, c)| !is_xml_char(*c)) {
        None => Ok(()),
        Some((i, c)) => Err(format!(
            "contains the control or non-character U+{:04X} at character {}; XML 1.0 does not \
             allow it (remove it: only tab, line feed and carriage return are allowed below \
             U+0020, and U+FFFE and U+FFFF never)",
            c as u32,
            i + 1
        )),
    }
}

/// Every string in `value` (keys included) that holds a character XML 1.0 forbids, by its
/// JSON path (`title.ro`, `values[2].disaggregation.sex`): one check for every free-text field
/// of a document, whatever its type. Use on input (create, update, replicate), not on stored
/// data.
pub fn check_json_text_chars(value: &serde_json::Value) -> Result<(), ValidationErrors> {
    fn walk(value: &serde_json::Value, path: &str, errors: &mut ValidationErrors) {
        match value {
            serde_json::Value::String(s) => {
                if let Err(e) = check_text_chars(s) {
                    errors.add(path, e);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), errors);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if let Err(e) = check_text_chars(k) {
                        errors.add(p.clone(), format!("(the key) {e}"));
                    }
                    walk(v, &p, errors);
                }
            }
            _ => {}
        }
    }
    let mut errors = ValidationErrors::new();
    walk(value, "", &mut errors);
    errors.into_result()
}

use crate::error::ValidationErrors;

impl TryFrom<BTreeMap<String, String>> for LangMap {
    type Error = String;
    fn try_from(value: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        if value.is_empty() {
            return Err("must contain text in at least one language".into());
        }
        let mut map = BTreeMap::new();
        for (k, v) in value {
            let tag = LanguageTag::parse(&k)?;
            if v.trim().is_empty() {
                return Err(format!("text in '{k}' is empty"));
            }
            if v.chars().count() > MAX_TEXT_CHARS {
                return Err(format!(
                    "text in '{k}' is longer than {MAX_TEXT_CHARS} characters"
                ));
            }
            if map.insert(tag, v).is_some() {
                return Err(format!(
                    "language '{k}' appears twice (tags are case-insensitive)"
                ));
            }
        }
        Ok(Self(map))
    }
}

impl From<LangMap> for BTreeMap<String, String> {
    fn from(value: LangMap) -> Self {
        value.0.into_iter().map(|(k, v)| (k.0, v)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn language_tags_are_canonicalised_or_refused() {
        let ok = [
            ("ro", "ro"),
            ("EN-gb", "en-GB"),
            ("sr-latn-rs", "sr-Latn-RS"),
            ("es-419", "es-419"),
            ("de-CH-1996", "de-CH-1996"),
        ];
        for (input, want) in ok {
            assert_eq!(LanguageTag::parse(input).unwrap().as_str(), want, "{input}");
        }
        for bad in [
            "", "r", "romanian", "en_GB", "en-", "-en", "en-GB-x", "1a", "en-GB-GB",
        ] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn lang_maps_refuse_empty_and_duplicate() {
        let parse = |s: &str| serde_json::from_str::<LangMap>(s);
        assert!(parse(r#"{}"#).is_err());
        assert!(parse(r#"{"ro": "  "}"#).is_err());
        assert!(parse(r#"{"en": "a", "EN": "b"}"#).is_err());
        assert!(parse(r#"{"english": "a"}"#).is_err());
        let m = parse(r#"{"ro": "Școală", "en-gb": "School"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"en-GB":"School","ro":"Școală"}"#
        );
        let en = LanguageTag::parse("en").unwrap();
        let ro = LanguageTag::parse("ro").unwrap();
        assert_eq!(m.best(&en, &ro).1, "School");
        assert_eq!(m.best(&LanguageTag::parse("fr").unwrap(), &ro).1, "Școală");
    }

    #[test]
    fn characters_xml_forbids_are_refused_by_text_validation() {
        for bad in [
            "a\u{FFFE}b",
            "a\u{FFFF}",
            "\u{0}",
            "page\u{C}break",
            "\u{1B}[0m",
        ] {
            let e = check_text_chars(bad).unwrap_err();
            assert!(e.contains("XML 1.0"), "{e}");
        }
        assert!(check_text_chars("U+FFFF at 2").is_ok());
        assert!(
            check_text_chars("tab\tline\nreturn\r \u{FFFD} \u{10FFFF} Școală \u{7F} \u{85}")
                .is_ok()
        );
        assert!(
            check_text_chars("a\u{FFFE}b")
                .unwrap_err()
                .contains("U+FFFE at character 2")
        );

        // A language map keeps decoding (stored documents stay readable) but fails validation,
        // naming the language.
        let m: LangMap = serde_json::from_str(r#"{"en": "a\uFFFFb", "ro": "bine"}"#).unwrap();
        let e = m.check_max_chars(10).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "en");
        assert!(m.check_chars().is_err());

        // serde_json refuses lone surrogates itself: they never reach a String.
        for lone in [r#""\ud800""#, r#""a\udfffb""#, r#""\ud800\u0041""#] {
            assert!(serde_json::from_str::<String>(lone).is_err(), "{lone}");
            assert!(
                serde_json::from_str::<serde_json::Value>(lone).is_err(),
                "{lone}"
            );
        }
        // a proper pair is one character
        assert_eq!(
            serde_json::from_str::<String>(r#""\ud83d\ude00""#).unwrap(),
            "\u{1F600}"
        );

        let doc = serde_json::json!({
            "title": {"en": "ok", "ro": "r\u{FFFE}u"},
            "values": [{"disaggregation": {"sex\u{1}": "f"}}, {"n": 3, "note": "\u{8}"}]
        });
        let e = check_json_text_chars(&doc).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title.ro",
                "values[0].disaggregation.sex\u{1}",
                "values[1].note"
            ]
        );
        assert!(check_json_text_chars(&serde_json::json!({"a": ["b", 1, null]})).is_ok());
    }
}
