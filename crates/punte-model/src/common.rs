//! Small validated values shared by the domain types: countries, regions, dates, themes, codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::{COUNTRIES, CURRENCIES};

macro_rules! string_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An officially assigned ISO 3166-1 alpha-2 country code, upper case (`RO`, `IT`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);
string_newtype!(CountryCode);

impl CountryCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let upper = input.to_ascii_uppercase();
        if COUNTRIES.binary_search(&upper.as_str()).is_ok() {
            Ok(Self(upper))
        } else {
            Err(format!(
                "'{input}' is not an ISO 3166-1 alpha-2 country code"
            ))
        }
    }

    /// The NUTS country prefix: ISO codes except Greece (`EL`).
    pub fn nuts_prefix(&self) -> &str {
        if self.0 == "GR" { "EL" } else { &self.0 }
    }
}

/// A NUTS region code (`RO32`, `ITC4`): a 2-letter country prefix and 1 to 3 alphanumerics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NutsCode(String);
string_newtype!(NutsCode);

impl NutsCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let upper = input.to_ascii_uppercase();
        let ok = (3..=5).contains(&upper.len())
            && upper.chars().take(2).all(|c| c.is_ascii_uppercase())
            && upper.chars().skip(2).all(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(Self(upper))
        } else {
            Err(format!("'{input}' is not a NUTS region code (e.g. 'RO32')"))
        }
    }

    pub fn country_prefix(&self) -> &str {
        self.0.get(..2).unwrap_or("")
    }
}

/// An ISO 4217 currency code (`EUR`, `RON`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);
string_newtype!(CurrencyCode);

impl CurrencyCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let upper = input.to_ascii_uppercase();
        if CURRENCIES.binary_search(&upper.as_str()).is_ok() {
            Ok(Self(upper))
        } else {
            Err(format!("'{input}' is not an ISO 4217 currency code"))
        }
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(time::Date);

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Date {
    pub fn parse(input: &str) -> Result<Self, String> {
        time::Date::parse(input, DATE_FORMAT)
            .map(Self)
            .map_err(|_| format!("'{input}' is not a date in the form YYYY-MM-DD"))
    }

    pub fn inner(&self) -> time::Date {
        self.0
    }
}

impl From<time::Date> for Date {
    fn from(value: time::Date) -> Self {
        Self(value)
    }
}

impl TryFrom<String> for Date {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Date> for String {
    fn from(value: Date) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

/// A period of time; `end` is open when absent. `end` is never before `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub start: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

impl Period {
    pub fn check(&self) -> Result<(), String> {
        match self.end {
            Some(end) if end < self.start => {
                Err(format!("end {end} is before start {}", self.start))
            }
            _ => Ok(()),
        }
    }
}

/// A theme keyword: lower-case letters, digits and hyphens (`early-school-leaving`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Theme(String);
string_newtype!(Theme);

impl Theme {
    pub fn parse(input: &str) -> Result<Self, String> {
        let lower = input.trim().to_lowercase();
        let ok = !lower.is_empty()
            && lower.chars().count() <= 64
            && lower.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !lower.starts_with('-')
            && !lower.ends_with('-');
        if ok {
            Ok(Self(lower))
        } else {
            Err(format!(
                "'{input}' is not a theme keyword (letters, digits and '-', at most 64)"
            ))
        }
    }
}

/// A UN Sustainable Development Goal target: `4.1`, `8.5`, `4.a` (goals 1–17).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SdgTarget(String);
string_newtype!(SdgTarget);

impl SdgTarget {
    pub fn parse(input: &str) -> Result<Self, String> {
        let bad = || format!("'{input}' is not an SDG target (e.g. '4.1' or '4.a')");
        let (goal, target) = input.split_once('.').ok_or_else(bad)?;
        let goal_ok = matches!(goal.parse::<u8>(), Ok(1..=17)) && !goal.starts_with('0');
        let target_ok = matches!(target.parse::<u8>(), Ok(1..=20)) && !target.starts_with('0')
            || (target.len() == 1 && target.chars().all(|c| ('a'..='j').contains(&c)));
        if goal_ok && target_ok {
            Ok(Self(input.to_string()))
        } else {
            Err(bad())
        }
    }

    pub fn goal(&self) -> u8 {
        self.0
            .split('.')
            .next()
            .and_then(|g| g.parse().ok())
            .unwrap_or(0)
    }
}

/// An SPDX licence identifier (`CC-BY-4.0`, `CC-BY-SA-4.0`, `CC0-1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Licence(String);
string_newtype!(Licence);

impl Licence {
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
            && input.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ok {
            Ok(Self(input.to_string()))
        } else {
            Err(format!(
                "'{input}' is not an SPDX licence identifier (e.g. 'CC-BY-4.0')"
            ))
        }
    }
}

impl Default for Licence {
    fn default() -> Self {
        Self("CC-BY-4.0".to_string())
    }
}

/// An amount of money in a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: f64,
    pub currency: CurrencyCode,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_parse() {
        assert_eq!(CountryCode::parse("ro").unwrap().as_str(), "RO");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("ROU").is_err());
        assert_eq!(CountryCode::parse("GR").unwrap().nuts_prefix(), "EL");
        assert_eq!(NutsCode::parse("ro32").unwrap().country_prefix(), "RO");
        assert!(NutsCode::parse("R3").is_err());
        assert!(CurrencyCode::parse("RON").is_ok());
        assert!(CurrencyCode::parse("XYZ").is_err());
        for ok in ["4.1", "17.19", "4.a", "1.1"] {
            assert!(SdgTarget::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["18.1", "0.1", "4", "4.", "4.01", "4.k", "a.1"] {
            assert!(SdgTarget::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Theme::parse("Early-School-Leaving").unwrap().as_str(),
            "early-school-leaving"
        );
        assert!(Theme::parse("a b").is_err());
        assert!(Licence::parse("CC-BY-4.0").is_ok());
        assert!(Licence::parse("CC BY").is_err());
    }

    #[test]
    fn dates_and_periods() {
        let d = Date::parse("2025-02-28").unwrap();
        assert_eq!(d.to_string(), "2025-02-28");
        assert!(Date::parse("2025-02-30").is_err());
        assert!(Date::parse("28.02.2025").is_err());
        let p = Period {
            start: d,
            end: Some(Date::parse("2024-01-01").unwrap()),
        };
        assert!(p.check().is_err());
    }
}
