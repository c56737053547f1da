//! The Punte JSON-LD context: every term the produced documents use is defined, either by
//! the Punte context or by one of the standard contexts they name.

use punte_protocol::activity::{self, ActivityHeader};
use punte_protocol::context::{self, PUNTE_CONTEXT_IRI, context_document};
use punte_protocol::objects::{
    Attestation, Member, MembershipAction, MembershipList, ObjectKind, adaptation_to_object,
    attestation_to_object, evaluation_to_object, indicator_to_object, membership_to_object,
    practice_to_object, standalone,
};
use serde_json::Value;

use crate::samples::{self, urls};

/// Terms of the standard contexts the documents use (ActivityStreams, Data Integrity v2,
/// Security v1, DID v1, Multikey v1).
const STANDARD_TERMS: &[&str] = &[
    // ActivityStreams
    "id",
    "type",
    "name",
    "nameMap",
    "summary",
    "summaryMap",
    "content",
    "contentMap",
    "url",
    "published",
    "updated",
    "attributedTo",
    "tag",
    "to",
    "cc",
    "actor",
    "object",
    "formerType",
    "deleted",
    "inbox",
    "outbox",
    "followers",
    "following",
    "endpoints",
    "sharedInbox",
    "preferredUsername",
    // Data Integrity v2
    "proof",
    "cryptosuite",
    "verificationMethod",
    "proofPurpose",
    "proofValue",
    "created",
    // Security v1
    "publicKey",
    "publicKeyPem",
    "owner",
    // DID v1 / Multikey v1
    "assertionMethod",
    "controller",
    "publicKeyMultibase",
];

/// Keys whose values are maps keyed by data (languages, indices), not by terms.
fn is_data_map(term: &str) -> bool {
    if matches!(term, "nameMap" | "summaryMap" | "contentMap") {
        return true;
    }
    let doc = context_document();
    let container = doc["@context"][term]["@container"].as_str();
    matches!(container, Some("@language" | "@index"))
}

fn walk(value: &Value, path: &str, undefined: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}/{k}");
                if k.starts_with('@') {
                    continue;
                }
                if !(context::defines(k) || STANDARD_TERMS.contains(&k.as_str())) {
                    undefined.push(here.clone());
                }
                if is_data_map(k) {
                    // walk the values of the map (e.g. translation entries), not its keys
                    if let Value::Object(entries) = v {
                        for (ek, ev) in entries {
                            if ev.is_object() {
                                walk(ev, &format!("{here}/{ek}"), undefined);
                            }
                        }
                    }
                } else {
                    walk(v, &here, undefined);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), undefined);
            }
        }
        _ => {}
    }
}

#[test]
fn every_term_used_is_defined() {
    let u = urls();
    let header = ActivityHeader::public(&u, "x", "2025-01-01T00:00:00Z");
    let key = samples::node_key();
    let documents = vec![
        standalone(&practice_to_object(&samples::practice(), &u)),
        standalone(&evaluation_to_object(&samples::evaluation(), &u)),
        standalone(&indicator_to_object(&samples::indicator(), &u)),
        standalone(&adaptation_to_object(&samples::adaptation(), &u)),
        standalone(&attestation_to_object(
            &Attestation {
                id: "0195b3c4-7a1e-7c3e-9f00-5e1a2b3c4d60".to_owned(),
                attests: "https://it.example/adaptations/a1".to_owned(),
                practice: "p1".to_owned(),
                adopter: "https://it.example/actor".to_owned(),
                adaptation_version: 1,
                published: "2025-01-01T00:00:00Z".to_owned(),
            },
            &u,
        )),
        standalone(&membership_to_object(
            &MembershipList {
                id: format!("{}/membership", u.base()),
                coordinator: u.actor(),
                version: 1,
                published: "2025-01-01T00:00:00Z".to_owned(),
                members: vec![Member {
                    actor: "https://it.example/actor".to_owned(),
                    name: Some("Org".to_owned()),
                    country: punte_model::CountryCode::parse("IT").unwrap(),
                    identity_key: key.verifying_key(),
                    witness_key: "it.example/punte-witness+00000000+AAAA".to_owned(),
                    joined: punte_model::Date::parse("2025-01-01").unwrap(),
                    left: None,
                }],
                action: MembershipAction::Admit,
                changed: "https://it.example/actor".to_owned(),
            },
            &u,
        )),
        crate::actor::node_actor_document(),
        activity::sign_activity(
            &activity::create(&header, practice_to_object(&samples::practice(), &u)),
            &u.actor(),
            "2025-01-01T00:00:00Z",
            &key,
        )
        .unwrap(),
        activity::delete(
            &header,
            activity::tombstone(
                "https://a.example/practices/1",
                &ObjectKind::Practice.former_type(),
                "2025-01-01T00:00:00Z",
            ),
        ),
    ];
    let mut undefined = Vec::new();
    for doc in &documents {
        walk(doc, doc["type"].to_string().as_str(), &mut undefined);
    }
    assert!(
        undefined.is_empty(),
        "terms not defined by any context: {undefined:#?}"
    );
    // and the Tombstone types are terms of the context
    for kind in ObjectKind::ALL {
        assert!(context::defines(kind.type_term()));
    }
}

#[test]
fn context_document_is_well_formed() {
    let doc = context_document();
    let ctx = doc["@context"].as_object().unwrap();
    assert_eq!(ctx["@version"], 1.1);
    assert_eq!(ctx["punte"], "https://w3id.org/punte/ns#");
    for (term, definition) in ctx {
        if term.starts_with('@') || term == "punte" || term == "xsd" {
            continue;
        }
        let id = definition
            .as_str()
            .or_else(|| definition["@id"].as_str())
            .unwrap_or_else(|| panic!("{term} has no @id"));
        assert!(
            id.starts_with("punte:") || id.starts_with("https://www.w3.org/ns/activitystreams#"),
            "{term} -> {id}"
        );
        // language maps and multilingual text
        if term.ends_with("Text")
            || ["problem", "solution", "reason", "what"].contains(&term.as_str())
        {
            assert_eq!(definition["@container"], "@language", "{term}");
        }
        // no term shadows a standard one
        assert!(
            !STANDARD_TERMS.contains(&term.as_str()),
            "{term} redefines a standard term"
        );
    }
    assert_eq!(ctx["practice"]["@type"], "@id");
    assert_eq!(ctx["version"]["@type"], "xsd:nonNegativeInteger");
    assert_eq!(ctx["translations"]["@index"], "language");
    assert!(ctx.contains_key("language"));
    assert!(
        context::actor_context()
            .as_array()
            .unwrap()
            .contains(&Value::from("https://www.w3.org/ns/did/v1"))
    );
    assert_eq!(context::activity_context()[2], PUNTE_CONTEXT_IRI);
    crate::samples::check_fixture("context-v1.json", &doc);
}
