//! The indicator catalogue: definitions are immutable; a change is a new `code@version`.

use std::collections::{BTreeMap, HashMap};

use punte_model::evaluation::IndicatorValue;
use punte_model::indicator::{Aggregation, Direction, Disaggregation, Mappings, Measure};
use punte_model::{
    IndicatorCode, IndicatorDefinition, IndicatorRef, LangMap, Validate, ValidationErrors,
};
use punte_store::{Connection, indicators as store, timestamp};

use crate::Node;
use crate::error::{NodeError, Result};
use crate::publish::Verb;
use punte_protocol::activity::tombstone;
use punte_protocol::objects::{self, ObjectKind};

fn decode(rec: &store::IndicatorRecord) -> Result<IndicatorDefinition> {
    serde_json::from_str(&rec.body).map_err(|source| NodeError::Decode {
        what: format!("indicator {}@{}", rec.code, rec.version),
        source,
    })
}

/// The definitions the values refer to, for those that exist and are not withdrawn.
pub(crate) fn definitions_for(
    conn: &Connection,
    values: &[IndicatorValue],
) -> Result<HashMap<IndicatorRef, IndicatorDefinition>> {
    let mut out = HashMap::new();
    for v in values {
        if out.contains_key(&v.indicator) {
            continue;
        }
        match store::get(conn, v.indicator.code.as_str(), v.indicator.version) {
            Ok(rec) if rec.deleted_at.is_none() => {
                out.insert(v.indicator.clone(), decode(&rec)?);
            }
            Ok(_) | Err(punte_store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

pub(crate) fn all(conn: &Connection) -> Result<Vec<IndicatorDefinition>> {
    store::list(conn, None)?.iter().map(decode).collect()
}

impl Node {
    pub fn create_indicator(&self, definition: IndicatorDefinition) -> Result<IndicatorDefinition> {
        self.import_indicators(vec![definition])?
            .into_iter()
            .next()
            .ok_or(NodeError::Invalid(ValidationErrors::single(
                "",
                "nothing to import",
            )))
    }

    /// Stores several definitions in one transaction: all or none.
    pub fn import_indicators(
        &self,
        definitions: Vec<IndicatorDefinition>,
    ) -> Result<Vec<IndicatorDefinition>> {
        let mut errors = ValidationErrors::new();
        for (i, d) in definitions.iter().enumerate() {
            if let Err(e) = d.validate() {
                errors.extend_nested(&format!("[{i}]"), e);
            }
            match crate::documents::check_text(d) {
                Err(NodeError::Invalid(e)) => errors.extend_nested(&format!("[{i}]"), e),
                Err(other) => return Err(other),
                Ok(()) => {}
            }
        }
        if !errors.is_empty() {
            return Err(if definitions.len() == 1 {
                NodeError::Invalid(ValidationErrors(
                    errors
                        .0
                        .into_iter()
                        .map(|mut e| {
                            e.field = e
                                .field
                                .trim_start_matches("[0].")
                                .trim_start_matches("[0]")
                                .to_string();
                            e
                        })
                        .collect(),
                ))
            } else {
                NodeError::Invalid(errors)
            });
        }
        let now = timestamp(self.now());
        self.change(|tx, log| {
            for d in &definitions {
                let body = serde_json::to_string(d).map_err(|source| NodeError::Encode {
                    what: "indicator",
                    source,
                })?;
                store::insert(tx, d.code.as_str(), d.version, &body, &now)?;
                let object = objects::indicator_to_object(d, log.urls());
                log.activity(Verb::Create, object)?;
            }
            Ok(definitions)
        })
    }

    pub fn indicator(&self, reference: &IndicatorRef) -> Result<IndicatorDefinition> {
        self.store.read(|conn| {
            let rec = store::get(conn, reference.code.as_str(), reference.version)?;
            if rec.deleted_at.is_some() {
                return Err(punte_store::StoreError::Gone {
                    what: format!("indicator {reference}"),
                }
                .into());
            }
            decode(&rec)
        })
    }

    pub fn list_indicators(
        &self,
        code: Option<&IndicatorCode>,
    ) -> Result<Vec<IndicatorDefinition>> {
        self.store.read(|conn| {
            store::list(conn, code.map(IndicatorCode::as_str))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Withdraws a definition no evaluation uses.
    pub fn delete_indicator(&self, reference: &IndicatorRef) -> Result<()> {
        let now = timestamp(self.now());
        self.change(|tx, log| {
            store::mark_deleted(tx, reference.code.as_str(), reference.version, &now)?;
            let url = log.urls().indicator(reference);
            let former = ObjectKind::IndicatorDefinition.former_type();
            let deleted = log.published();
            log.activity(Verb::Delete, tombstone(&url, &former, &deleted))?;
            Ok(())
        })
    }
}

/// Parses an indicator catalogue in CSV. Columns (header names, any order):
/// `code`, `version`, `unit`, `measure`, `direction`, `aggregation` (required);
/// `label:LANG` (at least one), `description:LANG`, `numerator:LANG`, `denominator:LANG`;
/// `disaggregations` as `sex=female|male|nonBinary|unknown; age=15-24|25-54`;
/// `esf` and `sdg` as `;`-separated codes. Errors name the row and column.
pub fn parse_indicator_csv(
    input: impl std::io::Read,
) -> Result<Vec<IndicatorDefinition>, ValidationErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ValidationErrors::single("header", e.to_string()))?
        .clone();
    let mut errors = ValidationErrors::new();
    for required in [
        "code",
        "version",
        "unit",
        "measure",
        "direction",
        "aggregation",
    ] {
        if !headers.iter().any(|h| h == required) {
            errors.add("header", format!("missing column '{required}'"));
        }
    }
    if !headers.iter().any(|h| h.starts_with("label:")) {
        errors.add("header", "missing a 'label:LANG' column (e.g. 'label:en')");
    }
    for h in headers.iter() {
        let known = [
            "code",
            "version",
            "unit",
            "measure",
            "direction",
            "aggregation",
            "disaggregations",
            "esf",
            "sdg",
        ]
        .contains(&h)
            || ["label:", "description:", "numerator:", "denominator:"]
                .iter()
                .any(|p| h.starts_with(p));
        if !known {
            errors.add("header", format!("unknown column '{h}'"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2; // 1-based, after the header
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.add(format!("row {row}"), e.to_string());
                continue;
            }
        };
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            fields.insert(h, v);
        }
        match parse_row(&fields) {
            Ok(d) => out.push(d),
            Err((column, message)) => errors.add(format!("row {row}.{column}"), message),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.add("rows", "the file has no indicator rows");
    }
    errors.into_result().map(|()| out)
}

fn parse_row(fields: &BTreeMap<&str, &str>) -> Result<IndicatorDefinition, (String, String)> {
    let get = |k: &str| fields.get(k).copied().unwrap_or("");
    let enum_value = |column: &str| -> Result<serde_json::Value, (String, String)> {
        Ok(serde_json::Value::String(get(column).to_string()))
    };
    let lang_map = |prefix: &str| -> Result<Option<LangMap>, (String, String)> {
        let map: BTreeMap<String, String> = fields
            .iter()
            .filter_map(|(h, v)| {
                h.strip_prefix(prefix)
                    .filter(|_| !v.is_empty())
                    .map(|l| (l.to_string(), v.to_string()))
            })
            .collect();
        if map.is_empty() {
            return Ok(None);
        }
        LangMap::try_from(map)
            .map(Some)
            .map_err(|e| (format!("{prefix}*"), e))
    };
    let code = IndicatorCode::parse(get("code")).map_err(|e| ("code".to_string(), e))?;
    let version = get("version").parse::<u32>().map_err(|_| {
        (
            "version".to_string(),
            format!("'{}' is not a whole number", get("version")),
        )
    })?;
    let measure: Measure = serde_json::from_value(enum_value("measure")?).map_err(|_| {
        (
            "measure".into(),
            format!(
                "'{}' is not a measure (count, proportion, percentage, rate, mean, amount)",
                get("measure")
            ),
        )
    })?;
    let direction: Direction = serde_json::from_value(enum_value("direction")?).map_err(|_| {
        (
            "direction".into(),
            format!(
                "'{}' is not a direction (increase, decrease, neutral)",
                get("direction")
            ),
        )
    })?;
    let aggregation: Aggregation =
        serde_json::from_value(enum_value("aggregation")?).map_err(|_| {
            (
                "aggregation".into(),
                format!(
                    "'{}' is not an aggregation (sum, mean, weightedMean, ratioOfSums, none)",
                    get("aggregation")
                ),
            )
        })?;
    let label = lang_map("label:")?.ok_or_else(|| {
        (
            "label:*".to_string(),
            "a label in at least one language is required".to_string(),
        )
    })?;
    let mut disaggregations = Vec::new();
    for part in get("disaggregations")
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (dimension, categories) = part.split_once('=').ok_or_else(|| {
            (
                "disaggregations".to_string(),
                format!("'{part}' is not of the form dimension=a|b|c"),
            )
        })?;
        disaggregations.push(Disaggregation {
            dimension: dimension.trim().to_string(),
            categories: categories
                .split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        });
    }
    let list = |k: &str| {
        get(k)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    Ok(IndicatorDefinition {
        code,
        version,
        label,
        description: lang_map("description:")?,
        unit: get("unit").to_string(),
        measure,
        direction,
        numerator: lang_map("numerator:")?,
        denominator: lang_map("denominator:")?,
        aggregation,
        disaggregations,
        mappings: Mappings {
            esf: list("esf"),
            sdg: list("sdg"),
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn csv_rows_become_definitions_and_errors_name_row_and_column() {
        let csv = "code,version,label:en,label:ro,unit,measure,direction,aggregation,disaggregations,esf,sdg\n\
                   esl-rate,1,Early leavers,Abandon timpuriu,%,percentage,decrease,mean,sex=female|male|nonBinary|unknown,EECO01,4.1.1\n\
                   participants,2,Participants,Participanți,persons,count,increase,sum,,,\n";
        let defs = parse_indicator_csv(csv.as_bytes()).unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0].disaggregations[0].categories.len(), 4);
        assert_eq!(defs[0].mappings.esf, vec!["EECO01"]);
        let bad = "code,version,label:en,unit,measure,direction,aggregation\nx,1,X,%,weird,increase,sum\n";
        let e = parse_indicator_csv(bad.as_bytes()).unwrap_err();
        assert_eq!(e.0[0].field, "row 2.measure");
        let missing = "code,version,unit\n";
        assert!(parse_indicator_csv(missing.as_bytes()).is_err());
    }
}
