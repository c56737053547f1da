//! Indicator definitions of the network catalogue, pinned by `code@version`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Validate, ValidationErrors};
use crate::lang::LangMap;
use crate::practice::check_unique;

/// An indicator code: lower-case ASCII letters, digits, `_`, `.` and `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorCode(String);

impl IndicatorCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
            });
        if ok {
            Ok(Self(input.to_string()))
        } else {
            Err(format!(
                "'{input}' is not an indicator code (lower-case letters, digits, '_', '.', '-'; at most 64)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IndicatorCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IndicatorCode> for String {
    fn from(value: IndicatorCode) -> Self {
        value.0
    }
}

impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pinned indicator version: `code@version`, e.g. `esl-rate@2`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorRef {
    pub code: IndicatorCode,
    pub version: u32,
}

impl FromStr for IndicatorRef {
    type Err = String;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (code, version) = input.split_once('@').ok_or_else(|| {
            format!("'{input}' is not an indicator reference of the form code@version")
        })?;
        let version = match version.parse::<u32>() {
            Ok(v) if v >= 1 && !version.starts_with('0') => v,
            _ => {
                return Err(format!(
                    "'{input}': the version after '@' must be a whole number from 1"
                ));
            }
        };
        Ok(Self {
            code: IndicatorCode::parse(code)?,
            version,
        })
    }
}

impl TryFrom<String> for IndicatorRef {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<IndicatorRef> for String {
    fn from(value: IndicatorRef) -> Self {
        value.to_string()
    }
}

impl fmt::Display for IndicatorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.code, self.version)
    }
}

/// What kind of number an indicator is, which fixes the range of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Measure {
    /// A whole number of people, events, …: `0, 1, 2, …`.
    Count,
    /// A share between 0 and 1.
    Proportion,
    /// A share between 0 and 100.
    Percentage,
    /// A non-negative rate or ratio (per 1,000, …).
    Rate,
    /// An average of a score or quantity: any finite number.
    Mean,
    /// A non-negative amount of money in the indicator's unit.
    Amount,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Proportion => "proportion",
            Self::Percentage => "percentage",
            Self::Rate => "rate",
            Self::Mean => "mean",
            Self::Amount => "amount",
        }
    }

    /// Checks one value against the measure's range; the error says what is allowed.
    pub fn check(self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err("must be a finite number".into());
        }
        match self {
            Self::Count if value < 0.0 || value.fract() != 0.0 => {
                Err(format!("{value} is not a count (a whole number ≥ 0)"))
            }
            Self::Proportion if !(0.0..=1.0).contains(&value) => Err(format!(
                "{value} is outside the range of a proportion (0 to 1)"
            )),
            Self::Percentage if !(0.0..=100.0).contains(&value) => Err(format!(
                "{value} is outside the range of a percentage (0 to 100)"
            )),
            Self::Rate | Self::Amount if value < 0.0 => Err(format!(
                "{value} is negative; a {} is never negative",
                self.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// Whether small values of this measure identify people (cells subject to disclosure control).
    pub fn is_count_like(self) -> bool {
        matches!(self, Self::Count)
    }
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Increase,
    Decrease,
    Neutral,
}

/// How values of several units (sites, organisations) combine into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Aggregation {
    Sum,
    Mean,
    WeightedMean,
    /// Sum of numerators over sum of denominators.
    RatioOfSums,
    /// Values must not be combined.
    None,
}

/// One allowed disaggregation dimension with its allowed categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Disaggregation {
    /// `sex`, `age`, `disability`, `migrantBackground`, `region`, … (letters, digits, `-`, `_`).
    pub dimension: String,
    /// Allowed categories, e.g. `female`, `male`, `nonBinary`, `unknown`.
    pub categories: Vec<String>,
}

impl Disaggregation {
    /// The standard sex dimension, non-binary included.
    pub fn sex() -> Self {
        Self {
            dimension: "sex".into(),
            categories: ["female", "male", "nonBinary", "unknown"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// Eurostat-style age bands.
    pub fn age() -> Self {
        Self {
            dimension: "age".into(),
            categories: ["0-14", "15-24", "25-54", "55-64", "65+"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Codes in other frameworks this indicator reports to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mappings {
    /// ESF+ common indicators, e.g. `EECO01`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub esf: Vec<String>,
    /// SDG indicators, e.g. `4.1.1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdg: Vec<String>,
}

/// An indicator definition. A changed definition is a new version; versions are never edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndicatorDefinition {
    pub code: IndicatorCode,
    pub version: u32,
    pub label: LangMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<LangMap>,
    /// `persons`, `%`, `EUR`, `score (0-10)`, …
    pub unit: String,
    pub measure: Measure,
    pub direction: Direction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<LangMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<LangMap>,
    pub aggregation: Aggregation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disaggregations: Vec<Disaggregation>,
    #[serde(default)]
    pub mappings: Mappings,
}

impl IndicatorDefinition {
    pub fn reference(&self) -> IndicatorRef {
        IndicatorRef {
            code: self.code.clone(),
            version: self.version,
        }
    }

    pub fn disaggregation(&self, dimension: &str) -> Option<&Disaggregation> {
        self.disaggregations
            .iter()
            .find(|d| d.dimension == dimension)
    }
}

fn is_dimension_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

impl Validate for IndicatorDefinition {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.version == 0 {
            errors.add("version", "must be 1 or more");
        }
        let unit = self.unit.trim();
        if unit.is_empty() || unit.chars().count() > 32 {
            errors.add("unit", "must be 1 to 32 characters");
        }
        for (i, d) in self.disaggregations.iter().enumerate() {
            if !is_dimension_name(&d.dimension) {
                errors.add(
                    format!("disaggregations[{i}].dimension"),
                    format!("'{}' is not a dimension name", d.dimension),
                );
            }
            if d.categories.is_empty() {
                errors.add(
                    format!("disaggregations[{i}].categories"),
                    "must list at least one category",
                );
            }
            for (j, c) in d.categories.iter().enumerate() {
                if c.trim().is_empty() || c.chars().count() > 64 {
                    errors.add(
                        format!("disaggregations[{i}].categories[{j}]"),
                        "must be 1 to 64 characters",
                    );
                }
            }
            check_unique(
                &mut errors,
                &format!("disaggregations[{i}].categories"),
                &d.categories,
            );
        }
        let dims: Vec<&str> = self
            .disaggregations
            .iter()
            .map(|d| d.dimension.as_str())
            .collect();
        check_unique(&mut errors, "disaggregations", &dims);
        if matches!(self.aggregation, Aggregation::RatioOfSums)
            && (self.numerator.is_none() || self.denominator.is_none())
        {
            errors.add(
                "aggregation",
                "ratioOfSums needs both a numerator and a denominator definition",
            );
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refs_parse_and_print() {
        let r: IndicatorRef = "esl-rate@2".parse().unwrap();
        assert_eq!(r.version, 2);
        assert_eq!(r.to_string(), "esl-rate@2");
        for bad in [
            "esl-rate",
            "esl-rate@0",
            "esl-rate@01",
            "ESL@1",
            "@1",
            "esl@x",
            "a b@1",
        ] {
            assert!(bad.parse::<IndicatorRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn measures_fix_ranges() {
        assert!(Measure::Count.check(3.0).is_ok());
        assert!(Measure::Count.check(-1.0).is_err());
        assert!(Measure::Count.check(1.5).is_err());
        assert!(Measure::Proportion.check(1.2).is_err());
        assert!(Measure::Percentage.check(100.0).is_ok());
        assert!(Measure::Percentage.check(100.1).is_err());
        assert!(Measure::Mean.check(-3.5).is_ok());
        assert!(Measure::Mean.check(f64::NAN).is_err());
    }
}
