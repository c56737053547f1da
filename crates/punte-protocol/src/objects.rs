//! Punte domain values as ActivityStreams objects, and back.
//!
//! Builders turn model values (`punte_model::Practice`, …) into AS2 JSON, built member by
//! member: the wire shape is defined here, not by the model's serde derives. Parsers rebuild
//! the model value from a received object, strictly: wrong types, missing members, ids off
//! the expected origin, oversized maps and lists, bad language tags and values the model
//! refuses are all typed [`ObjectError`]s, and nothing panics. For every valid model value,
//! `parse(build(v)) == v` (see the tests and `docs/protocol.md` §1.7 for the mapping).
//!
//! Builders leave out `@context`, so objects can be embedded in activities; [`standalone`]
//! adds it for an object served on its own.

mod adaptation;
mod attestation;
mod evaluation;
mod html;
mod indicator;
mod membership;
mod organisation;
mod practice;
pub(crate) mod read;

use punte_model::{LangMap, ValidationErrors};
use serde::Serialize;
use serde_json::{Map, Value};

pub use adaptation::{adaptation_to_object, parse_adaptation};
pub use attestation::{Attestation, attestation_to_object, parse_attestation};
pub use evaluation::{evaluation_to_object, parse_evaluation};
pub use html::{escape_html, render_text_html};
pub use indicator::{indicator_to_object, parse_indicator};
pub use membership::{
    MAX_MEMBERS, MEMBERSHIP_PATH, MEMBERSHIP_TYPE, Member, MembershipAction, MembershipList,
    check_cosignature_vkey, membership_to_object, parse_membership,
};
pub use organisation::{organisation_fields, parse_organisation};
pub use practice::{parse_practice, practice_to_object};

use crate::context;
use crate::urls::{Collection, NodeUrls, UrlError};

/// The ActivityStreams public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Why a received object was refused. Field paths look like `values[2].ci.lower`.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The value (or a nested member) is not a JSON object.
    #[error("{0} is not a json object")]
    NotAnObject(String),
    /// `type` is not the one expected.
    #[error("object type {found} is not {expected}")]
    WrongType {
        /// The type required.
        expected: &'static str,
        /// The `type` found (truncated).
        found: String,
    },
    /// A required member is absent.
    #[error("{0} is missing")]
    Missing(String),
    /// A member has the wrong type or an invalid value.
    #[error("{field}: {reason}")]
    Invalid {
        /// Path of the member.
        field: String,
        /// What is wrong, in lower case.
        reason: String,
    },
    /// A list or map has more entries than allowed.
    #[error("{field} has {found} entries; at most {max} allowed")]
    TooLarge {
        /// Path of the member.
        field: String,
        /// Entries found.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// An id that must be on the sender's origin is not.
    #[error("{field}: {url:?} is not on {expected_origin}")]
    CrossOrigin {
        /// Path of the member.
        field: String,
        /// The URL found (truncated).
        url: String,
        /// The origin required.
        expected_origin: String,
    },
    /// The rebuilt value breaks a rule of the domain model.
    #[error("invalid content: {0}")]
    Validation(ValidationErrors),
    /// The expected origin given by the caller is not an origin.
    #[error(transparent)]
    ExpectedOrigin(#[from] UrlError),
}

/// The kinds of Punte object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A practice (`["Article", "Practice"]`).
    Practice,
    /// An evaluation (`Evaluation`).
    Evaluation,
    /// An indicator definition (`IndicatorDefinition`).
    IndicatorDefinition,
    /// An adaptation (`Adaptation`).
    Adaptation,
    /// The origin organisation's countersignature of an adaptation (`Attestation`).
    Attestation,
}

impl ObjectKind {
    /// Every kind.
    pub const ALL: [ObjectKind; 5] = [
        Self::Practice,
        Self::Evaluation,
        Self::IndicatorDefinition,
        Self::Adaptation,
        Self::Attestation,
    ];

    /// The Punte type term, as used in `type`.
    pub fn type_term(self) -> &'static str {
        match self {
            Self::Practice => "Practice",
            Self::Evaluation => "Evaluation",
            Self::IndicatorDefinition => "IndicatorDefinition",
            Self::Adaptation => "Adaptation",
            Self::Attestation => "Attestation",
        }
    }

    /// The `formerType` of a Tombstone: a compact IRI (`punte:Practice`), since `formerType`
    /// is `@type: @id` in ActivityStreams and a bare term would not expand.
    pub fn former_type(self) -> String {
        format!("punte:{}", self.type_term())
    }

    /// The collection the node publishes objects of this kind under.
    pub fn collection(self) -> Collection {
        match self {
            Self::Practice => Collection::Practices,
            Self::Evaluation => Collection::Evaluations,
            Self::IndicatorDefinition => Collection::Indicators,
            Self::Adaptation => Collection::Adaptations,
            Self::Attestation => Collection::Attestations,
        }
    }

    /// The kind named by an object's `type` (a string or an array of strings), if Punte's.
    pub fn of(object: &Value) -> Option<Self> {
        let named = |term: &str| match object.get("type") {
            Some(Value::String(s)) => s == term,
            Some(Value::Array(items)) => items.iter().any(|t| t.as_str() == Some(term)),
            _ => false,
        };
        Self::ALL.into_iter().find(|k| named(k.type_term()))
    }

    /// The kind a Tombstone's `formerType` names (`punte:Practice`, or the bare term).
    pub fn from_former_type(former: &str) -> Option<Self> {
        let term = former
            .strip_prefix("punte:")
            .or_else(|| former.strip_prefix(context::PUNTE_NAMESPACE))
            .unwrap_or(former);
        Self::ALL.into_iter().find(|k| k.type_term() == term)
    }
}

/// A received Punte object rebuilt as a model value.
#[derive(Debug, Clone, PartialEq)]
pub enum PunteObject {
    /// A practice version.
    Practice(punte_model::Practice),
    /// An evaluation version.
    Evaluation(punte_model::Evaluation),
    /// An indicator definition.
    IndicatorDefinition(punte_model::IndicatorDefinition),
    /// An adaptation version.
    Adaptation(punte_model::Adaptation),
    /// An attestation (countersignature) of another organisation's adaptation.
    Attestation(Attestation),
}

/// Parses any Punte object, dispatching on its `type`.
pub fn parse_object(object: &Value, expected_origin: &str) -> Result<PunteObject, ObjectError> {
    match ObjectKind::of(object) {
        Some(ObjectKind::Practice) => {
            parse_practice(object, expected_origin).map(PunteObject::Practice)
        }
        Some(ObjectKind::Evaluation) => {
            parse_evaluation(object, expected_origin).map(PunteObject::Evaluation)
        }
        Some(ObjectKind::IndicatorDefinition) => {
            parse_indicator(object, expected_origin).map(PunteObject::IndicatorDefinition)
        }
        Some(ObjectKind::Adaptation) => {
            parse_adaptation(object, expected_origin).map(PunteObject::Adaptation)
        }
        Some(ObjectKind::Attestation) => {
            parse_attestation(object, expected_origin).map(PunteObject::Attestation)
        }
        None => Err(ObjectError::WrongType {
            expected: "a punte object type",
            found: object
                .get("type")
                .map(|t| t.to_string().chars().take(200).collect())
                .unwrap_or_else(|| "nothing".to_owned()),
        }),
    }
}

/// `object` with the activity `@context` first, for serving it on its own (at its id URL).
pub fn standalone(object: &Value) -> Value {
    let mut out = Map::new();
    out.insert("@context".to_owned(), context::activity_context());
    if let Some(members) = object.as_object() {
        for (k, v) in members {
            if k != "@context" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

// ---- shared writing helpers ----

/// A language map as a JSON object (tags in canonical case, sorted).
pub(crate) fn lang_value(map: &LangMap) -> Value {
    Value::Object(
        map.iter()
            .map(|(lang, text)| (lang.as_str().to_owned(), Value::String(text.to_owned())))
            .collect(),
    )
}

/// The wire name of a model enumeration member (its serde name, `machineReviewed`, …).
pub(crate) fn enum_str<T: Serialize>(value: &T) -> Value {
    match serde_json::to_value(value) {
        Ok(v @ Value::String(_)) => v,
        _ => Value::Null,
    }
}

/// A number; non-finite values (which the model refuses) become `null`, which parsing refuses.
pub(crate) fn number(x: f64) -> Value {
    Value::from(x)
}

/// `period` as `{start, end}`.
pub(crate) fn period_value(period: &punte_model::Period) -> Value {
    let mut m = Map::new();
    m.insert("start".to_owned(), period.start.to_string().into());
    if let Some(end) = &period.end {
        m.insert("end".to_owned(), end.to_string().into());
    }
    Value::Object(m)
}

pub(crate) fn parse_period(f: &read::Fields<'_>) -> Result<punte_model::Period, ObjectError> {
    Ok(punte_model::Period {
        start: f.parsed("start", punte_model::Date::parse)?,
        end: f.opt_parsed("end", punte_model::Date::parse)?,
    })
}

/// The addressing every published object carries: public, copied to the followers.
pub(crate) fn public_addressing(out: &mut Map<String, Value>, urls: &NodeUrls) {
    out.insert("to".to_owned(), Value::Array(vec![PUBLIC.into()]));
    out.insert("cc".to_owned(), Value::Array(vec![urls.followers().into()]));
}

/// A reference to a practice or adaptation: a local id becomes `BASE/{collection}/{id}`;
/// an absolute URL (an object on another node) is kept.
pub(crate) fn reference_url(urls: &NodeUrls, collection: Collection, reference: &str) -> Value {
    if reference.starts_with("https://") || reference.starts_with("http://") {
        reference.into()
    } else {
        urls.object(collection, reference).into()
    }
}

/// The inverse of [`reference_url`]: a URL of `BASE/{collection}/{id}` on the origin becomes
/// the local id; any other http(s) URL is kept.
pub(crate) fn parse_reference(
    f: &read::Fields<'_>,
    key: &str,
    urls: &NodeUrls,
    collection: Collection,
) -> Result<Option<String>, ObjectError> {
    Ok(f.opt_url(key)?.map(|url| {
        urls.local_id(collection, &url)
            .map(str::to_owned)
            .unwrap_or(url)
    }))
}
