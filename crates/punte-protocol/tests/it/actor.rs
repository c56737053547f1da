//! The node actor document (exact JSON), reading remote actors, and the profile round trip.

use punte_protocol::actor::{ActorError, NodeActor, parse_actor};
use punte_protocol::objects::parse_organisation;
use serde_json::{Value, json};

use crate::samples::{self, BASE, OTHER, check_fixture, urls};

pub fn node_actor_document() -> Value {
    let u = urls();
    let profile = samples::profile();
    let key = samples::node_key().verifying_key();
    let rsa = samples::rsa_public();
    NodeActor {
        urls: &u,
        username: "punte",
        profile: Some(&profile),
        ed25519: &key,
        rsa: Some(&rsa),
        manually_approves_followers: true,
    }
    .to_document()
    .unwrap()
}

#[test]
fn actor_document_is_exactly_the_fixture() {
    check_fixture("actor.json", &node_actor_document());
}

#[test]
fn actor_reads_back_with_keys_and_profile() {
    let doc = node_actor_document();
    let remote = parse_actor(&doc, &format!("{BASE}/actor")).unwrap();
    assert_eq!(remote.inbox, format!("{BASE}/inbox"));
    assert_eq!(remote.delivery_inbox(), format!("{BASE}/inbox"));
    assert_eq!(remote.kind.as_deref(), Some("Organization"));
    assert_eq!(remote.preferred_username.as_deref(), Some("punte"));
    assert_eq!(
        remote
            .keys
            .ed25519_key(&format!("{BASE}/actor#ed25519-key")),
        Some(samples::node_key().verifying_key())
    );
    assert_eq!(
        remote.keys.rsa_key(&format!("{BASE}/actor#main-key")),
        Some(samples::rsa_public())
    );
    assert_ne!(
        doc["assertionMethod"][0]["id"], doc["publicKey"]["id"],
        "the two keys have distinct ids"
    );
    assert_eq!(parse_organisation(&doc).unwrap(), samples::profile());
}

#[test]
fn bad_remote_actors_are_refused() {
    let doc = node_actor_document();
    let expected = format!("{BASE}/actor");
    let err = |mutate: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        mutate(&mut d);
        parse_actor(&d, &expected).unwrap_err()
    };
    assert!(matches!(
        parse_actor(&doc, &format!("{OTHER}/actor")),
        Err(ActorError::WrongId { .. })
    ));
    assert!(matches!(
        err(&|d| d["inbox"] = json!(format!("{OTHER}/inbox"))),
        ActorError::CrossOrigin { field: "inbox", .. }
    ));
    assert!(matches!(
        err(&|d| d["endpoints"]["sharedInbox"] = json!("http://127.0.0.1/inbox")),
        ActorError::CrossOrigin {
            field: "endpoints.sharedInbox",
            ..
        }
    ));
    assert!(matches!(
        err(&|d| {
            d.as_object_mut().unwrap().remove("inbox");
        }),
        ActorError::Missing("inbox")
    ));
    assert!(matches!(
        err(&|d| {
            let m = d.as_object_mut().unwrap();
            m.remove("assertionMethod");
            m.remove("publicKey");
        }),
        ActorError::NoKeys
    ));
    // keys owned by another actor do not count
    assert!(matches!(
        err(&|d| {
            d["assertionMethod"][0]["controller"] = json!(format!("{OTHER}/actor"));
            d["publicKey"]["owner"] = json!(format!("{OTHER}/actor"));
        }),
        ActorError::NoKeys
    ));
    assert!(matches!(
        parse_actor(&json!([]), &expected),
        Err(ActorError::NotAnObject)
    ));
    let mut d = doc.clone();
    d["languages"] = json!(["ro", "english"]);
    assert!(parse_organisation(&d).is_err());
}
