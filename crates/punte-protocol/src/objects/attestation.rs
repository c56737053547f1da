//! An attestation: the origin organisation's countersignature of another organisation's
//! adaptation of one of its practices, as a `punte:Attestation` object.
//!
//! The attester is the object's origin (`id`, `attributedTo`); the practice it attests an
//! adaptation of is its own (`practice` on the same origin); the adaptation (`attests`) and
//! its organisation (`adopter`) are on one other origin.

use serde_json::{Map, Value};

use super::read::{Fields, on_origin};
use super::{ObjectError, ObjectKind, public_addressing};
use crate::urls::{self, Collection, NodeUrls};

/// A countersignature, as the attesting node publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The local id (`BASE/attestations/{id}`).
    pub id: String,
    /// The URL of the attested adaptation (`ADOPTER_BASE/adaptations/{id}`).
    pub attests: String,
    /// The local id of the attester's practice that the adaptation adapts.
    pub practice: String,
    /// The adopting organisation's actor URL (on the adaptation's origin).
    pub adopter: String,
    /// The adaptation version the attester saw when it countersigned.
    pub adaptation_version: u32,
    /// When the attestation was made (RFC 3339, kept exactly).
    pub published: String,
}

/// The attestation as an AS2 object (without `@context`).
pub fn attestation_to_object(attestation: &Attestation, urls: &NodeUrls) -> Value {
    let id = urls.attestation(&attestation.id);
    let mut o = Map::new();
    o.insert("id".to_owned(), id.clone().into());
    o.insert(
        "type".to_owned(),
        ObjectKind::Attestation.type_term().into(),
    );
    o.insert("attributedTo".to_owned(), urls.actor().into());
    o.insert("url".to_owned(), id.into());
    o.insert("published".to_owned(), attestation.published.clone().into());
    public_addressing(&mut o, urls);
    o.insert("attests".to_owned(), attestation.attests.clone().into());
    o.insert(
        "practice".to_owned(),
        urls.practice(&attestation.practice).into(),
    );
    o.insert("adopter".to_owned(), attestation.adopter.clone().into());
    o.insert(
        "adaptationVersion".to_owned(),
        attestation.adaptation_version.into(),
    );
    Value::Object(o)
}

/// Rebuilds an attestation. `id`, `attributedTo` and `practice` must be on `expected_origin`
/// (an organisation only attests adaptations of its own practices); `attests` must be an
/// adaptation URL on the origin of `adopter`, which is another origin.
pub fn parse_attestation(
    object: &Value,
    expected_origin: &str,
) -> Result<Attestation, ObjectError> {
    let urls = NodeUrls::new(expected_origin)?;
    let f = Fields::root(object)?;
    f.expect_type(ObjectKind::Attestation.type_term())?;
    let id = f.own_id(&urls, Collection::Attestations)?;
    f.check_attributed_to(&urls)?;

    let practice_url = f.string("practice", urls::MAX_URL_LEN)?;
    on_origin(practice_url, &urls, f.path_of("practice"))?;
    let practice = urls
        .local_id(Collection::Practices, practice_url)
        .ok_or_else(|| ObjectError::Invalid {
            field: f.path_of("practice"),
            reason: "must be a practice url (BASE/practices/{id})".to_owned(),
        })?
        .to_owned();

    let adopter = f
        .opt_url("adopter")?
        .ok_or_else(|| ObjectError::Missing(f.path_of("adopter")))?;
    let adopter_origin = urls::origin_of(&adopter).map_err(|e| ObjectError::Invalid {
        field: f.path_of("adopter"),
        reason: e.to_string(),
    })?;
    if adopter_origin == urls.base() {
        return Err(ObjectError::Invalid {
            field: f.path_of("adopter"),
            reason: "an organisation does not attest its own adaptation".to_owned(),
        });
    }
    let attests = f
        .opt_url("attests")?
        .ok_or_else(|| ObjectError::Missing(f.path_of("attests")))?;
    let adopter_urls = NodeUrls::new(&adopter_origin)?;
    if adopter_urls
        .local_id(Collection::Adaptations, &attests)
        .is_none()
    {
        return Err(ObjectError::Invalid {
            field: f.path_of("attests"),
            reason: format!("must be an adaptation url on the adopter's origin {adopter_origin}"),
        });
    }
    let adaptation_version = f.u32("adaptationVersion")?;
    if adaptation_version == 0 {
        return Err(ObjectError::Invalid {
            field: f.path_of("adaptationVersion"),
            reason: "versions start at 1".to_owned(),
        });
    }
    Ok(Attestation {
        id,
        attests,
        practice,
        adopter,
        adaptation_version,
        published: f.timestamp("published")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use serde_json::json;

    fn sample() -> Attestation {
        Attestation {
            id: "0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d60".to_owned(),
            attests: "https://it.example/adaptations/a1".to_owned(),
            practice: "p1".to_owned(),
            adopter: "https://it.example/actor".to_owned(),
            adaptation_version: 2,
            published: "2025-03-01T10:00:00Z".to_owned(),
        }
    }

    fn check(mutate: impl FnOnce(&mut Value), expected_error: &str) {
        let urls = NodeUrls::new("https://ro.example").unwrap();
        let mut o = attestation_to_object(&sample(), &urls);
        mutate(&mut o);
        let err = parse_attestation(&o, "https://ro.example").unwrap_err();
        assert!(
            err.to_string().contains(expected_error),
            "{err} does not contain {expected_error:?}"
        );
    }

    #[test]
    fn round_trip() {
        let urls = NodeUrls::new("https://ro.example").unwrap();
        let o = attestation_to_object(&sample(), &urls);
        assert_eq!(o["type"], "Attestation");
        assert_eq!(
            o["id"],
            "https://ro.example/attestations/0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d60"
        );
        assert_eq!(o["practice"], "https://ro.example/practices/p1");
        assert_eq!(
            parse_attestation(&o, "https://ro.example").unwrap(),
            sample()
        );
    }

    #[test]
    fn every_rule_refuses() {
        check(
            |o| o["id"] = json!("https://evil.example/attestations/x"),
            "is not on",
        );
        check(
            |o| o["attributedTo"] = json!("https://evil.example/actor"),
            "is not on",
        );
        check(
            |o| o["practice"] = json!("https://it.example/practices/p1"),
            "is not on",
        );
        check(
            |o| o["practice"] = json!("https://ro.example/evaluations/p1"),
            "practice url",
        );
        check(
            |o| o["adopter"] = json!("https://ro.example/actor"),
            "its own adaptation",
        );
        check(
            |o| o["attests"] = json!("https://es.example/adaptations/a1"),
            "adopter's origin",
        );
        check(
            |o| o["attests"] = json!("https://it.example/practices/a1"),
            "adopter's origin",
        );
        check(|o| o["adaptationVersion"] = json!(0), "versions start at 1");
        check(|o| o["adaptationVersion"] = json!(-1), "non-negative");
        check(|o| o["published"] = json!("yesterday"), "published");
        check(|o| o["type"] = json!("Adaptation"), "not Attestation");
        check(
            |o| {
                o.as_object_mut().unwrap().remove("attests");
            },
            "attests is missing",
        );
    }
}
