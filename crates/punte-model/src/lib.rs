//! Punte's pure domain model: practices, adaptations, indicators, evaluations, their validation,
//! and disclosure control. No I/O, no clock, no randomness: callers pass ids and timestamps in.
//!
//! Parsing guarantees the shape of every value (newtypes such as [`LanguageTag`],
//! [`CountryCode`], [`IndicatorRef`] refuse bad input when deserialised); [`Validate`] checks
//! the rules that span several fields. Both report the offending field by its JSON path.

mod codes;

pub mod adaptation;
pub mod analysis;
pub mod common;
pub mod disclosure;
pub mod error;
pub mod evaluation;
pub mod indicator;
pub mod lang;
pub mod organisation;
pub mod practice;
pub mod preregistration;

pub use adaptation::{Adaptation, AdaptationContent, AdaptationState};
pub use common::{
    CountryCode, CurrencyCode, Date, Licence, Money, NutsCode, Period, SdgTarget, Theme,
};
pub use error::{FieldError, Validate, ValidationErrors};
pub use evaluation::{Evaluation, EvaluationContent, EvidenceLevel, IndicatorValue, Method};
pub use indicator::{IndicatorCode, IndicatorDefinition, IndicatorRef, Measure};
pub use lang::{LangMap, LanguageTag};
pub use organisation::OrganisationProfile;
pub use practice::{Maturity, Practice, PracticeContent};
