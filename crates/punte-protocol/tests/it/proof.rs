//! FEP-8b32 / eddsa-jcs-2022 against the FEP-8b32 feature file and the vc-di-eddsa example,
//! plus Fedify-shaped inputs and "any mutation fails" property tests.

use ed25519_dalek::{SigningKey, VerifyingKey};
use proptest::prelude::*;
use punte_protocol::multikey::{decode_ed25519_private, decode_ed25519_public};
use punte_protocol::proof::{self, ProofError, ProofOptions};
use serde_json::{Value, json};

use crate::{vector, vector_json};

fn fep_key() -> SigningKey {
    decode_ed25519_private("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap()
}

fn only(key: VerifyingKey, id: &str) -> impl FnMut(&str) -> Option<VerifyingKey> + '_ {
    move |m| (m == id).then_some(key)
}

#[test]
fn fep_8b32_signing_scenario() {
    let document = vector_json("fep-8b32/document.json");
    let options = ProofOptions::assertion(
        "https://server.example/users/alice#ed25519-key",
        "2023-02-24T23:36:38Z",
    );
    let signed = proof::sign(&document, &options, &fep_key()).unwrap();
    // serde_json maps compare as maps, so member order does not matter here.
    assert_eq!(signed, vector_json("fep-8b32/signed.json"));
}

#[test]
fn fep_8b32_verifying_scenario_with_actor_keys() {
    let signed = vector_json("fep-8b32/signed.json");
    let actor = vector_json("fep-8b32/actor.json");
    let keys = punte_protocol::keys::ActorKeys::from_actor(&actor);
    let verified = proof::verify(&signed, |id| keys.ed25519_key(id)).unwrap();
    assert_eq!(
        verified.verification_method,
        "https://server.example/users/alice#ed25519-key"
    );
    assert_eq!(verified.created.as_deref(), Some("2023-02-24T23:36:38Z"));
    assert_eq!(verified.created_at.unwrap().unix_seconds, 1_677_281_798);
    assert_eq!(verified.proof_purpose, "assertionMethod");
}

#[test]
fn vc_di_eddsa_jcs_example_verifies_and_reproduces() {
    let signed = vector_json("vc-di-eddsa/signedJCS.json");
    let public = decode_ed25519_public(
        vector_json("vc-di-eddsa/keyPair.json")["publicKeyMultibase"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let method = signed["proof"]["verificationMethod"]
        .as_str()
        .unwrap()
        .to_owned();
    proof::verify(&signed, only(public, &method)).unwrap();

    // The published signature bytes (hex) are the proofValue.
    let sig =
        punte_protocol::multikey::decode_base58btc(signed["proof"]["proofValue"].as_str().unwrap())
            .unwrap();
    assert_eq!(hex::encode(sig), vector("vc-di-eddsa/sigHexJCS.txt"));

    // The canonical document and its hash.
    let mut unsecured = signed.clone();
    unsecured.as_object_mut().unwrap().remove("proof");
    let canon = punte_protocol::jcs::canonicalize(&unsecured).unwrap();
    assert_eq!(
        String::from_utf8(canon.clone()).unwrap(),
        vector("vc-di-eddsa/canonDocJCS.txt")
    );
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&canon)),
        vector("vc-di-eddsa/docHashJCS.txt")
    );

    // Signing the unsecured document with the same options reproduces the proof (Ed25519 is
    // deterministic).
    let key = fep_key();
    let options = ProofOptions::assertion(method, "2023-02-24T23:36:38Z");
    let resigned = proof::sign(&unsecured, &options, &key).unwrap();
    assert_eq!(resigned["proof"], signed["proof"]);
}

fn fedify_shaped() -> (Value, SigningKey, String) {
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let method = "https://fedify.example/users/a#key-2".to_owned();
    let document = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
        "id": "https://fedify.example/follows/1",
        "type": "Follow",
        "actor": "https://fedify.example/users/a",
        "object": "https://punte.example/actor"
    });
    let options = ProofOptions::assertion(method.clone(), "2024-05-01T10:20:30.123456789Z");
    let mut signed = proof::sign(&document, &options, &key).unwrap();
    // Fedify appends an LD signature after the proof.
    signed.as_object_mut().unwrap().insert(
        "signature".to_owned(),
        json!({"type": "RsaSignature2017", "creator": "https://fedify.example/users/a#main-key",
               "created": "2024-05-01T10:20:31Z", "signatureValue": "AAAA"}),
    );
    (signed, key, method)
}

#[test]
fn fedify_shape_nanoseconds_proof_context_and_ld_signature() {
    let (signed, key, method) = fedify_shaped();
    assert!(signed["proof"].get("@context").is_some());
    let verified = proof::verify(&signed, only(key.verifying_key(), &method)).unwrap();
    assert_eq!(verified.created_at.unwrap().nanos, 123_456_789);
}

#[test]
fn proof_context_must_prefix_document_context() {
    let (mut signed, key, method) = fedify_shaped();
    signed["proof"]["@context"] = json!([
        "https://www.w3.org/ns/activitystreams",
        "https://evil.example/ctx"
    ]);
    assert!(matches!(
        proof::verify(&signed, only(key.verifying_key(), &method)),
        Err(ProofError::ContextMismatch)
    ));
}

#[test]
fn proof_sets_verify_each_and_skip_unknown() {
    let (mut signed, key, method) = fedify_shaped();
    let good = signed["proof"].clone();
    let foreign = json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": "x", "proofPurpose": "assertionMethod", "proofValue": "z1"});
    signed["proof"] = json!([foreign, good.clone()]);
    let outcomes = proof::verify_each(&signed, only(key.verifying_key(), &method)).unwrap();
    assert!(matches!(
        outcomes[0],
        Err(ProofError::UnsupportedCryptosuite(_))
    ));
    assert!(outcomes[1].is_ok());
    assert_eq!(
        proof::verify(&signed, only(key.verifying_key(), &method))
            .unwrap()
            .index,
        1
    );
    // A supported proof that fails makes the whole set fail.
    let mut bad = good.clone();
    bad["created"] = json!("2024-05-01T10:20:31Z");
    signed["proof"] = json!([good, bad]);
    assert!(matches!(
        proof::verify(&signed, only(key.verifying_key(), &method)),
        Err(ProofError::BadSignature(_))
    ));
}

#[test]
fn refusals_are_precise() {
    let (signed, key, method) = fedify_shaped();
    let vk = key.verifying_key();
    assert!(matches!(
        proof::verify(&json!([1]), only(vk, &method)),
        Err(ProofError::NotAnObject)
    ));
    assert!(matches!(
        proof::verify(&json!({"a": 1}), only(vk, &method)),
        Err(ProofError::MissingProof)
    ));
    assert!(matches!(
        proof::verify(&json!({"proof": 3}), only(vk, &method)),
        Err(ProofError::MalformedProof)
    ));
    assert!(matches!(
        proof::verify(&signed, |_| None),
        Err(ProofError::UnknownKey(_))
    ));
    let mut s = signed.clone();
    s["proof"]["proofPurpose"] = json!("authentication");
    assert!(matches!(
        proof::verify(&s, only(vk, &method)),
        Err(ProofError::WrongPurpose(_))
    ));
    let mut s = signed.clone();
    s["proof"]["proofValue"] = json!("not-multibase");
    assert!(matches!(
        proof::verify(&s, only(vk, &method)),
        Err(ProofError::InvalidProofValue(_))
    ));
    let mut s = signed.clone();
    s["proof"]["created"] = json!("yesterday");
    assert!(matches!(
        proof::verify(&s, only(vk, &method)),
        Err(ProofError::InvalidCreated(_))
    ));
    let other = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    assert!(matches!(
        proof::verify(&signed, only(other, &method)),
        Err(ProofError::BadSignature(_))
    ));
    assert_eq!(proof::verification_methods(&signed), vec![method]);
}

/// Every path to a scalar leaf or member of `v`.
fn mutate(v: &mut Value, choice: usize, replacement: &Value) -> bool {
    // Walks members in order, counting; at `choice` replaces that value.
    fn walk(v: &mut Value, n: &mut usize, choice: usize, r: &Value) -> bool {
        match v {
            Value::Object(m) => {
                for (_, child) in m.iter_mut() {
                    if *n == choice {
                        if child == r {
                            return false;
                        }
                        *child = r.clone();
                        return true;
                    }
                    *n += 1;
                    if walk(child, n, choice, r) {
                        return true;
                    }
                }
                false
            }
            Value::Array(items) => {
                for child in items.iter_mut() {
                    if *n == choice {
                        if child == r {
                            return false;
                        }
                        *child = r.clone();
                        return true;
                    }
                    *n += 1;
                    if walk(child, n, choice, r) {
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }
    walk(v, &mut 0, choice, replacement)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_mutation_of_the_signed_document_fails(choice in 0usize..40, which in 0usize..5, text in "[a-z]{0,6}", n in any::<i32>()) {
        let signed = vector_json("fep-8b32/signed.json");
        let key = fep_key().verifying_key();
        let replacement = match which {
            0 => json!(text),
            1 => json!(n),
            2 => json!(null),
            3 => json!({"x": text}),
            _ => json!([n]),
        };
        let mut mutated = signed.clone();
        if mutate(&mut mutated, choice, &replacement) {
            // The one member whose change is not covered by design: a proof's verificationMethod
            // pointing at a key the resolver does not know, which also fails. Everything fails.
            let outcome = proof::verify(&mutated, |m| (m == "https://server.example/users/alice#ed25519-key").then_some(key));
            prop_assert!(outcome.is_err(), "mutation {choice} -> {replacement} still verified");
        }
    }

    #[test]
    fn sign_then_verify_round_trips(seed in any::<[u8; 32]>(), content in ".{0,64}", n in any::<i64>()) {
        let key = SigningKey::from_bytes(&seed);
        let doc = json!({"@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "content": content, "n": n});
        let signed = proof::sign(&doc, &ProofOptions::assertion("k", "2025-01-01T00:00:00Z"), &key).unwrap();
        let vk = key.verifying_key();
        prop_assert!(proof::verify(&signed, |_| Some(vk)).is_ok());
    }
}
