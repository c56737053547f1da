//! Adaptations: one organisation taking up another's practice, described with FRAME.

use serde::{Deserialize, Serialize};

use crate::common::CountryCode;
use crate::error::{Validate, ValidationErrors};
use crate::lang::LangMap;

/// Where an adaptation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AdaptationState {
    Intended,
    Piloting,
    Implemented,
    Scaled,
    Discontinued,
}

/// How the practice is being scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScalingType {
    /// Same kind of intervention, more places or people.
    Horizontal,
    /// Into policy, law or institutions.
    Vertical,
    /// Extended to new activities or groups.
    Functional,
    /// Not (yet) scaled.
    None,
}

/// FRAME: the nature of a content modification (Stirman et al., 2019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModificationNature {
    Tailoring,
    Adding,
    Removing,
    Shortening,
    Lengthening,
    Substituting,
    Reordering,
    Integrating,
    Repeating,
    Loosening,
    Departing,
}

/// FRAME: when the modification was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModificationWhen {
    PreImplementation,
    Implementation,
    ScaleUp,
    Maintenance,
}

/// FRAME: the reason category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModificationReason {
    Sociopolitical,
    Organisational,
    Provider,
    Recipient,
}

/// One modification, as FRAME records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Modification {
    /// What was modified.
    pub what: LangMap,
    pub nature: ModificationNature,
    pub when: ModificationWhen,
    /// Planned (proactive) or unplanned (reactive).
    pub planned: bool,
    /// Who decided: a role, e.g. "programme team", "coordinator".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    pub reason_category: ModificationReason,
    pub reason: LangMap,
    /// Whether the modification keeps the core components intact.
    pub fidelity_consistent: bool,
}

/// How faithful the adaptation is to the practice's core components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fidelity {
    /// Positions (0-based) of the origin practice's core components that are kept.
    #[serde(default)]
    pub core_components_kept: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<LangMap>,
}

/// The practice an adaptation starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdaptationOrigin {
    /// The practice: a local id or the practice's URL on its origin node.
    pub practice: String,
    pub version: u32,
    /// The origin organisation's actor URL, when remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

/// The editable content of an adaptation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdaptationContent {
    pub origin: AdaptationOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LangMap>,
    /// The local context: setting, population, resources.
    pub context: LangMap,
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifications: Vec<Modification>,
    pub fidelity: Fidelity,
    pub scaling: ScalingType,
    pub state: AdaptationState,
}

impl Validate for AdaptationContent {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.origin.practice.trim().is_empty() {
            errors.add("origin.practice", "must name the practice adapted");
        }
        if self.origin.version == 0 {
            errors.add("origin.version", "must be 1 or more");
        }
        if self.modifications.len() > 200 {
            errors.add("modifications", "at most 200 modifications");
        }
        let kept = &self.fidelity.core_components_kept;
        for (i, c) in kept.iter().enumerate() {
            if kept.iter().take(i).any(|e| e == c) {
                errors.add(
                    format!("fidelity.coreComponentsKept[{i}]"),
                    format!("component {c} is listed twice"),
                );
            }
        }
        errors.into_result()
    }
}

/// One stored version of an adaptation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adaptation {
    pub id: String,
    pub version: u32,
    #[serde(flatten)]
    pub content: AdaptationContent,
    pub created_at: String,
    pub updated_at: String,
}
