//! Activities: the exact JSON of a signed Create, every builder read back by the envelope
//! parser, and each same-origin rule refusing what it must.

use punte_protocol::activity::{
    self, ActivityEnvelope, ActivityError, ActivityHeader, ActivityType, ObjectRef, parse_activity,
    sign_activity,
};
use punte_protocol::actor::parse_actor;
use punte_protocol::objects::{ObjectKind, PUBLIC, parse_object, practice_to_object};
use punte_protocol::proof;
use serde_json::{Value, json};

use crate::samples::{self, BASE, OTHER, check_fixture, urls};

const UUID: &str = "0195b3c4-8000-7000-8000-000000000001";
const NOW: &str = "2025-03-14T09:26:53Z";

fn signed_create() -> Value {
    let u = urls();
    let header = ActivityHeader::public(&u, UUID, NOW);
    let create = activity::create(&header, practice_to_object(&samples::practice(), &u));
    sign_activity(&create, &u.actor(), NOW, &samples::node_key()).unwrap()
}

#[test]
fn signed_create_is_exactly_the_fixture_and_verifies_with_the_actor_keys() {
    let signed = signed_create();
    check_fixture("create-practice-signed.json", &signed);

    let actor = crate::actor::node_actor_document();
    let remote = parse_actor(&actor, &format!("{BASE}/actor")).unwrap();
    let verified = proof::verify(&signed, |id| remote.keys.ed25519_key(id)).unwrap();
    assert_eq!(
        verified.verification_method,
        format!("{BASE}/actor#ed25519-key")
    );
    assert_eq!(verified.created.as_deref(), Some(NOW));

    // what a follower does: envelope, then the object on the actor's origin
    let envelope = parse_activity(&signed).unwrap();
    assert_eq!(envelope.kind, ActivityType::Create);
    let object = parse_object(envelope.object.embedded().unwrap(), &envelope.actor_origin).unwrap();
    assert_eq!(
        object,
        punte_protocol::objects::PunteObject::Practice(samples::practice())
    );
}

#[test]
fn every_builder_reads_back() {
    let u = urls();
    let public = ActivityHeader::public(&u, UUID, NOW);
    let remote_actor = format!("{OTHER}/actor");
    let direct = ActivityHeader::direct(&u, UUID, NOW, &remote_actor);
    let practice = practice_to_object(&samples::practice(), &u);
    let practice_id = practice["id"].as_str().unwrap().to_owned();
    let follow_in = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{OTHER}/activities/f1"),
        "type": "Follow",
        "actor": remote_actor,
        "object": u.actor(),
        "proof": {"type": "DataIntegrityProof"}
    });
    let tombstone = activity::tombstone(&practice_id, &ObjectKind::Practice.former_type(), NOW);
    let own_follow = activity::follow(&direct, &remote_actor);
    let cases: Vec<(Value, ActivityType, String)> = vec![
        (
            activity::create(&public, practice.clone()),
            ActivityType::Create,
            practice_id.clone(),
        ),
        (
            activity::update(&public, practice.clone()),
            ActivityType::Update,
            practice_id.clone(),
        ),
        (
            activity::delete(&public, tombstone),
            ActivityType::Delete,
            practice_id.clone(),
        ),
        (
            own_follow.clone(),
            ActivityType::Follow,
            remote_actor.clone(),
        ),
        (
            activity::accept(&direct, &follow_in),
            ActivityType::Accept,
            format!("{OTHER}/activities/f1"),
        ),
        (
            activity::reject(&direct, &follow_in),
            ActivityType::Reject,
            format!("{OTHER}/activities/f1"),
        ),
        (
            activity::undo(&direct, &own_follow),
            ActivityType::Undo,
            format!("{BASE}/activities/{UUID}"),
        ),
        (
            activity::announce(&public, &format!("{OTHER}/practices/p1")),
            ActivityType::Announce,
            format!("{OTHER}/practices/p1"),
        ),
    ];
    for (value, kind, object_id) in cases {
        let signed = sign_activity(&value, &u.actor(), NOW, &samples::node_key()).unwrap();
        let ActivityEnvelope {
            kind: k,
            id,
            actor,
            object,
            published,
            to,
            ..
        } = parse_activity(&signed).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(k, kind);
        assert_eq!(id, format!("{BASE}/activities/{UUID}"));
        assert_eq!(actor, format!("{BASE}/actor"));
        assert_eq!(object.id(), object_id, "{kind:?}");
        assert_eq!(published.as_deref(), Some(NOW));
        assert!(to.contains(&PUBLIC.to_owned()) || to == vec![remote_actor.clone()]);
        assert_eq!(
            signed["@context"],
            punte_protocol::context::activity_context()
        );
    }
    // the embedded Follow loses its @context and proof
    let accepted = activity::accept(&direct, &follow_in);
    assert!(accepted["object"].get("@context").is_none());
    assert!(accepted["object"].get("proof").is_none());
    assert_eq!(accepted["object"]["type"], "Follow");
    // the Tombstone names its former type in a way that maps back
    let delete = activity::delete(
        &public,
        activity::tombstone(&practice_id, &ObjectKind::Practice.former_type(), NOW),
    );
    assert_eq!(delete["object"]["formerType"], "punte:Practice");
    assert_eq!(
        ObjectKind::from_former_type(delete["object"]["formerType"].as_str().unwrap()),
        Some(ObjectKind::Practice)
    );
    assert_eq!(delete["cc"], json!([format!("{BASE}/followers")]));
}

fn envelope_error(mutate: impl FnOnce(&mut Value)) -> ActivityError {
    let mut value = signed_create();
    mutate(&mut value);
    parse_activity(&value).expect_err("must be refused")
}

#[test]
fn same_origin_rules_refuse() {
    let e = envelope_error(|a| a["id"] = json!(format!("{OTHER}/activities/1")));
    assert!(
        matches!(e, ActivityError::ActivityCrossOrigin { .. }),
        "{e}"
    );
    let e = envelope_error(|a| a["object"]["id"] = json!(format!("{OTHER}/practices/x")));
    assert!(matches!(e, ActivityError::ObjectCrossOrigin { .. }), "{e}");
    let e = envelope_error(|a| a["object"]["attributedTo"] = json!(format!("{OTHER}/actor")));
    assert!(matches!(e, ActivityError::ForeignObject { .. }), "{e}");
    let e = envelope_error(|a| a["object"] = json!(format!("{BASE}/practices/x")));
    assert!(
        matches!(e, ActivityError::ObjectNotEmbedded("Create")),
        "{e}"
    );
    let e = envelope_error(|a| {
        a["type"] = json!("Delete");
        a["object"] = json!(format!("{OTHER}/practices/x"));
    });
    assert!(matches!(e, ActivityError::ObjectCrossOrigin { .. }), "{e}");
    // a port makes another origin
    let e = envelope_error(|a| a["id"] = json!("https://punte.example.ro:8443/activities/1"));
    assert!(
        matches!(e, ActivityError::ActivityCrossOrigin { .. }),
        "{e}"
    );
    // Undo of someone else's activity
    let u = urls();
    let undo = activity::undo(
        &ActivityHeader::public(&u, UUID, NOW),
        &json!({"id": format!("{OTHER}/activities/f"), "type": "Follow", "actor": format!("{OTHER}/actor"), "object": u.actor()}),
    );
    assert!(matches!(
        parse_activity(&undo),
        Err(ActivityError::ForeignObject { .. })
    ));
    // Announce and Follow may name objects anywhere
    let announce = activity::announce(
        &ActivityHeader::public(&u, UUID, NOW),
        &format!("{OTHER}/practices/p"),
    );
    assert!(matches!(
        parse_activity(&announce).unwrap().object,
        ObjectRef::Id(_)
    ));
}

#[test]
fn malformed_envelopes_are_refused() {
    let e = envelope_error(|a| a["type"] = json!("Like"));
    assert!(
        matches!(e, ActivityError::UnsupportedType(ref t) if t == "Like"),
        "{e}"
    );
    let e = envelope_error(|a| a["type"] = json!(["Create"]));
    assert!(matches!(e, ActivityError::Missing("type")), "{e}");
    let e = envelope_error(|a| {
        a.as_object_mut().unwrap().remove("actor");
    });
    assert!(matches!(e, ActivityError::Missing("actor")), "{e}");
    let e = envelope_error(|a| a["actor"] = json!("ftp://punte.example.ro/actor"));
    assert!(
        matches!(e, ActivityError::InvalidUrl { field: "actor", .. }),
        "{e}"
    );
    let e = envelope_error(|a| a["actor"] = json!("https://user@punte.example.ro/actor"));
    assert!(
        matches!(e, ActivityError::InvalidUrl { field: "actor", .. }),
        "{e}"
    );
    let e = envelope_error(|a| {
        a["object"].as_object_mut().unwrap().remove("id");
    });
    assert!(matches!(e, ActivityError::Missing("object.id")), "{e}");
    let e = envelope_error(|a| a["object"] = json!(5));
    assert!(matches!(e, ActivityError::Missing("object")), "{e}");
    let e = envelope_error(|a| a["cc"] = json!(vec!["x"; 1001]));
    assert!(
        matches!(e, ActivityError::TooManyRecipients { field: "cc", .. }),
        "{e}"
    );
    assert!(matches!(
        parse_activity(&json!("Create")),
        Err(ActivityError::NotAnObject)
    ));
    // an actor given as an object is accepted
    let mut value = signed_create();
    value["actor"] = json!({"id": format!("{BASE}/actor"), "type": "Organization"});
    assert_eq!(
        parse_activity(&value).unwrap().actor,
        format!("{BASE}/actor")
    );
}

#[test]
fn any_change_to_a_signed_create_breaks_its_proof() {
    let signed = signed_create();
    let key = samples::node_key().verifying_key();
    let resolve = |_: &str| Some(key);
    proof::verify(&signed, resolve).unwrap();
    for pointer in [
        "/object/problem/ro",
        "/object/version",
        "/published",
        "/to/0",
    ] {
        let mut changed = signed.clone();
        *changed.pointer_mut(pointer).unwrap() = json!("changed");
        assert!(proof::verify(&changed, resolve).is_err(), "{pointer}");
    }
}
