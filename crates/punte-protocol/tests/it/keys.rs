//! Key ids, RSA PEM and the actor key wire types.

use punte_protocol::keys::{
    ActorKeys, KeyError, ed25519_key_id, key_owner_document, parse_rsa_private_key_pem,
    parse_rsa_public_key_pem, rsa_key_id, rsa_public_key_to_pem,
};
use rsa::traits::PublicKeyParts;
use serde_json::json;

use crate::vector;

fn pem_block(text: &str, index: usize) -> String {
    text.split("\n\n").nth(index).unwrap().trim().to_owned()
}

#[test]
fn key_ids() {
    assert_eq!(
        ed25519_key_id("https://a.example/actor"),
        "https://a.example/actor#ed25519-key"
    );
    assert_eq!(
        rsa_key_id("https://a.example/actor"),
        "https://a.example/actor#main-key"
    );
    assert_eq!(
        key_owner_document("https://a.example/actor#main-key"),
        "https://a.example/actor"
    );
    assert_eq!(
        key_owner_document("https://a.example/key"),
        "https://a.example/key"
    );
}

#[test]
fn rsa_pem_spki_and_pkcs1_parse_to_the_same_key() {
    // draft-cavage test key: SPKI public, PKCS#1 private.
    let cavage = vector("cavage/test-key.pem");
    let public = parse_rsa_public_key_pem(&pem_block(&cavage, 0)).unwrap();
    let private = parse_rsa_private_key_pem(&pem_block(&cavage, 1)).unwrap();
    assert_eq!(rsa::RsaPublicKey::from(&private), public);
    // RFC 9421 test-key-rsa: PKCS#1 public.
    let rfc = vector("rfc9421/test-key-rsa.pem");
    let public = parse_rsa_public_key_pem(&pem_block(&rfc, 0)).unwrap();
    assert_eq!(public.size(), 256);
    // Emit SPKI and read it back (round trip; the emitted PEM is SPKI).
    let pem = rsa_public_key_to_pem(&public).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(parse_rsa_public_key_pem(&pem).unwrap(), public);
    assert!(matches!(
        parse_rsa_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
        Err(KeyError::RsaPublicPem(_))
    ));
}

#[test]
fn actor_keys_wire_round_trip_and_lenient_reading() {
    let ed = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key();
    let cavage = vector("cavage/test-key.pem");
    let rsa_public = parse_rsa_public_key_pem(&pem_block(&cavage, 0)).unwrap();
    let actor_id = "https://punte.example/actor";
    let keys = ActorKeys::new(actor_id, &ed, Some(&rsa_public)).unwrap();
    let mut actor = serde_json::to_value(&keys).unwrap();
    actor["id"] = json!(actor_id);
    assert_eq!(actor["assertionMethod"][0]["type"], "Multikey");
    assert_eq!(actor["publicKey"]["owner"], actor_id);
    let read = ActorKeys::from_actor(&actor);
    assert_eq!(read.assertion_method, keys.assertion_method);
    assert_eq!(read.public_key, keys.public_key);
    assert_eq!(
        read.public_keys,
        keys.public_key.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(read.ed25519_key(&ed25519_key_id(actor_id)), Some(ed));
    assert_eq!(read.rsa_key(&rsa_key_id(actor_id)), Some(rsa_public));

    // Non-conformant entries and foreign controllers are ignored; publicKey may be an array.
    let odd = json!({
        "id": actor_id,
        "assertionMethod": ["https://punte.example/actor#x", {"id": "k", "type": "Multikey",
            "controller": "https://elsewhere.example/actor", "publicKeyMultibase": "z6Mk"}],
        "publicKey": [actor["publicKey"].clone()]
    });
    let read = ActorKeys::from_actor(&odd);
    assert!(read.assertion_method.is_empty());
    assert!(read.public_key.is_some());
}

#[test]
fn every_public_key_entry_counts_whatever_its_order_and_kind() {
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    // As Fedify publishes an actor: an Ed25519 key first in `publicKey`, the RSA key second,
    // and HTTP requests signed with either.
    let ed = ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]).verifying_key();
    let ed_pem = ed
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    let cavage = vector("cavage/test-key.pem");
    let rsa_public = parse_rsa_public_key_pem(&pem_block(&cavage, 0)).unwrap();
    let actor_id = "https://fedify.example/users/a";
    let actor = json!({
        "id": actor_id,
        "publicKey": [
            {"id": format!("{actor_id}#key-2"), "owner": actor_id, "publicKeyPem": ed_pem},
            {"id": format!("{actor_id}#main-key"), "owner": actor_id,
             "publicKeyPem": pem_block(&cavage, 0)},
            {"id": format!("{actor_id}#foreign"), "owner": "https://elsewhere.example/actor",
             "publicKeyPem": pem_block(&cavage, 0)}
        ]
    });
    let read = ActorKeys::from_actor(&actor);
    assert_eq!(read.ed25519_key(&format!("{actor_id}#key-2")), Some(ed));
    assert_eq!(
        read.rsa_key(&format!("{actor_id}#main-key")),
        Some(rsa_public)
    );
    assert!(
        read.lists(&format!("{actor_id}#key-2")) && read.lists(&format!("{actor_id}#main-key"))
    );
    // a key of another owner is not the actor's
    assert!(!read.lists(&format!("{actor_id}#foreign")));
    assert_eq!(read.rsa_key(&format!("{actor_id}#foreign")), None);
    // the RSA key is the one kept for draft-cavage, though it is not first
    assert_eq!(read.public_key.unwrap().id, format!("{actor_id}#main-key"));
    assert!(
        ActorKeys::from_actor(&json!({"id": actor_id, "publicKey": actor["publicKey"][0]}))
            .any_usable()
    );
}
