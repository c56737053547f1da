//! Writes the seed inputs of every fuzz target into `fuzz/seeds/<target>/seed-*`: valid
//! inputs built with the project's own encoders (entries, signed checkpoints with a
//! cosignature, add-checkpoint bodies, signed HTTP requests, the protocol fixtures). The
//! fuzzers start from them and the corpus; the seeds themselves stay as they are.
//!
//! `cargo run -p punte-fuzz --example seeds` (from the repository root).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use punte_log::note::{KeyType, NoteSigner};
use punte_log::{Checkpoint, EntryBody, EntryKind, Hash, KeyRotation, Redaction, SignedEntry};
use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = repo.join("fuzz/seeds");
    let key = SigningKey::from_bytes(&[7; 32]);
    let origin = "fuzz.example/punte-log";

    // log entries
    let body = EntryBody::new(
        origin.to_owned(),
        0,
        punte_log::empty_root(),
        1_767_225_600_000,
        EntryKind::Activity,
        "https://fuzz.example/activities/1",
        br#"{"type":"Create"}"#,
        &key.verifying_key(),
    );
    write(
        &root,
        "log_entry",
        "activity",
        &SignedEntry::sign(body, &key).unwrap().encode(),
    );
    let rotation = KeyRotation {
        new_key: SigningKey::from_bytes(&[9; 32]).verifying_key(),
    };
    write(&root, "log_entry", "rotation", &rotation.to_bytes());
    let redaction = Redaction {
        index: 3,
        reason: "personal data, erased on request".to_owned(),
    };
    write(
        &root,
        "log_entry",
        "redaction",
        &redaction.to_bytes().unwrap(),
    );

    // signed notes: a checkpoint signed by the log and cosigned by a witness
    let signer = NoteSigner::new(origin, KeyType::Ed25519, key.clone()).unwrap();
    let checkpoint = Checkpoint::new(origin.to_owned(), 5, Hash([3; 32]));
    let note = checkpoint.sign(&signer).unwrap();
    let witness = NoteSigner::new(
        "witness.example/punte-witness",
        KeyType::CosignatureV1,
        SigningKey::from_bytes(&[8; 32]),
    )
    .unwrap();
    let cosigned = format!(
        "{note}{}",
        witness
            .cosign(&checkpoint.to_text(), 1_767_225_600)
            .unwrap()
            .to_line()
    );
    write(&root, "signed_note", "checkpoint", note.as_bytes());
    write(&root, "signed_note", "cosigned", cosigned.as_bytes());
    write(
        &root,
        "signed_note",
        "vkey",
        signer.verifier().to_vkey().as_bytes(),
    );
    write(
        &root,
        "signed_note",
        "proof",
        format!(
            "{}\n{}\n",
            Hash([1; 32]).to_base64(),
            Hash([2; 32]).to_base64()
        )
        .as_bytes(),
    );

    // add-checkpoint bodies
    let body =
        punte_node::witness::format_add_checkpoint(3, &[Hash([1; 32]), Hash([2; 32])], &note);
    write(&root, "witness_request", "with-proof", body.as_bytes());
    let body = punte_node::witness::format_add_checkpoint(0, &[], &cosigned);
    write(&root, "witness_request", "first", body.as_bytes());

    // signed HTTP requests, as header lines, a blank line and the body
    let render = |req: &HttpRequest| {
        let mut text = String::new();
        for (name, value) in &req.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&req.body));
        text
    };
    let activity = br#"{"id":"https://fuzz.example/activities/1","type":"Follow","actor":"https://fuzz.example/actor","object":"https://node.example/actor"}"#;
    let mut req = HttpRequest::new("POST", "https://fuzz.example/inbox")
        .with_header("Content-Type", "application/activity+json")
        .with_body(activity.to_vec());
    httpsig::rfc9421::sign_request(
        &mut req,
        "https://fuzz.example/actor#ed25519-key",
        SigningKeyRef::Ed25519(&key),
        1_767_225_600,
    )
    .unwrap();
    write(&root, "http_signature", "rfc9421", render(&req).as_bytes());
    let mut req = HttpRequest::new("POST", "https://fuzz.example/inbox")
        .with_header("Content-Type", "application/activity+json")
        .with_body(activity.to_vec());
    httpsig::cavage::sign_request(
        &mut req,
        "https://fuzz.example/actor#ed25519-key",
        SigningKeyRef::Ed25519(&key),
        1_767_225_600,
    )
    .unwrap();
    write(&root, "http_signature", "cavage", render(&req).as_bytes());
    let rsa_public =
        std::fs::read(repo.join("crates/punte-protocol/tests/vectors/cavage/test-key.pem"))
            .unwrap();
    write(&root, "actor_document", "rsa-public", &rsa_public);

    // activities, objects, actors: the protocol's fixtures and vectors
    let fixtures = repo.join("crates/punte-protocol/tests");
    for (target, name, path) in [
        (
            "activity",
            "create-practice",
            "fixtures/create-practice-signed.json",
        ),
        ("activity", "practice", "fixtures/practice-article.json"),
        ("activity", "fep-8b32", "vectors/fep-8b32/signed.json"),
        ("actor_document", "actor", "fixtures/actor.json"),
        (
            "actor_document",
            "fep-8b32-actor",
            "vectors/fep-8b32/actor.json",
        ),
    ] {
        write(
            &root,
            target,
            name,
            &std::fs::read(fixtures.join(path)).unwrap(),
        );
    }
    let acct = punte_protocol::webfinger::Acct::parse_handle("node@fuzz.example").unwrap();
    let jrd = punte_protocol::webfinger::Jrd::for_actor(
        &acct,
        "https://fuzz.example/actor",
        Some("https://fuzz.example/"),
    );
    write(
        &root,
        "actor_document",
        "jrd",
        &serde_json::to_vec(&jrd).unwrap(),
    );
    write(&root, "actor_document", "acct", b"acct:node@fuzz.example");
    write(
        &root,
        "actor_document",
        "multikey",
        punte_protocol::multikey::encode_ed25519_public(&key.verifying_key()).as_bytes(),
    );

    // the indicator catalogue CSV
    write(
        &root,
        "indicator_csv",
        "catalogue",
        "code,version,label:en,label:ro,unit,measure,direction,aggregation,disaggregations,esf,sdg\n\
         esl-rate,1,Early leavers,Abandon timpuriu,%,percentage,decrease,mean,sex=female|male|nonBinary|unknown,EECO01,4.1.1\n\
         participants,2,Participants,Participanți,persons,count,increase,sum,,,\n"
            .as_bytes(),
    );

    // timestamps
    for (name, text) in [
        ("rfc3339", "2026-12-07T10:00:00Z"),
        ("rfc3339-fraction", "2026-12-07T10:00:00.123456+02:00"),
        ("http-date", "Mon, 07 Dec 2026 10:00:00 GMT"),
    ] {
        write(&root, "timestamps", name, text.as_bytes());
    }
    println!("seeds written to {}", root.display());
}
