//! The bodies of Punte's fuzz targets (`fuzz/fuzz_targets/`, run with cargo-fuzz; see
//! `fuzz/README.md`): one function per parser of bytes that arrive from partners and
//! strangers. Each must return for every input without panicking, and checks a round trip
//! where the parser has an encoder. The same functions replay the kept corpus and every crash
//! reproducer in `cargo test` (the tests below), so a regression fails the suite without a
//! fuzzer.

use ed25519_dalek::SigningKey;
use serde_json::Value;

use punte_log::note::{KeyType, Note, NoteVerifier};
use punte_log::{Checkpoint, KeyRotation, Redaction, SignedEntry, open_checkpoint};
use punte_protocol::httpsig::{self, HttpRequest, PublicKey, VerifyPolicy};
use punte_protocol::{actor, multikey, objects, proof, timestamp, webfinger};

/// A fixed key every target verifies against (a forged input must fail, not panic).
fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// `punte-entry/v1` envelopes (`Punte-Log-Entry`, `/log/entries`) and the payloads of key
/// rotation and redaction entries. Round trip: a decoded entry encodes to the same bytes.
pub fn log_entry(data: &[u8]) {
    if let Ok(entry) = SignedEntry::decode(data) {
        assert_eq!(entry.encode(), data, "decode(encode) is not the identity");
        let key = key().verifying_key();
        let _ = entry.verify(&key);
        let _ = entry.body.to_signing_bytes();
    }
    if let Ok(rotation) = KeyRotation::parse(data) {
        assert_eq!(rotation.to_bytes(), data);
    }
    if let Ok(redaction) = Redaction::parse(data) {
        assert_eq!(redaction.to_bytes().ok().as_deref(), Some(data));
    }
}

/// C2SP signed notes, checkpoints, cosignatures and verifier keys (`/log/checkpoint`,
/// `Punte-Checkpoint`, witnesses' lists), and consistency proof text.
pub fn signed_note(data: &[u8]) {
    let origin = "fuzz.example/punte-log";
    let log = NoteVerifier::new(origin, KeyType::Ed25519, key().verifying_key()).ok();
    let witness = NoteVerifier::new(
        "witness.example/punte-witness",
        KeyType::CosignatureV1,
        SigningKey::from_bytes(&[8; 32]).verifying_key(),
    )
    .ok();
    if let Ok(note) = Note::parse(data) {
        let _ = Checkpoint::parse(&note.text);
    }
    let logs: Vec<NoteVerifier> = log.into_iter().collect();
    let witnesses: Vec<NoteVerifier> = witness.into_iter().collect();
    let _ = open_checkpoint(data, &logs, &witnesses);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            assert_eq!(
                Checkpoint::parse(&c.to_text()).ok().as_ref(),
                Some(&c),
                "a parsed checkpoint does not parse back from its text"
            );
        }
        let _ = NoteVerifier::parse(text);
        let _ = punte_log::tree::parse_proof(text);
    }
}

/// C2SP tlog-witness `add-checkpoint` bodies. Round trip: a parsed body formats back to the
/// same bytes.
pub fn witness_request(data: &[u8]) {
    if let Ok(request) = punte_node::witness::parse_add_checkpoint(data) {
        let note = String::from_utf8_lossy(&request.note);
        let again = punte_node::witness::format_add_checkpoint(request.old, &request.proof, &note);
        assert_eq!(again.as_bytes(), data, "parse(format) is not the identity");
    }
}

/// HTTP message signatures of inbox requests: RFC 9421 `Signature-Input`/`Signature`
/// (structured fields), draft-cavage `Signature`, `Content-Digest` and `Digest`. The input
/// is `name: value` lines, a blank line, and the body.
pub fn http_signature(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut request =
        HttpRequest::new("POST", "https://fuzz.example/inbox").with_body(body.as_bytes().to_vec());
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            request = request.with_header(name.trim(), value.trim());
        }
    }
    let verifying = key().verifying_key();
    let policy = VerifyPolicy::default();
    let now = 1_767_225_600; // 2026-01-01
    let _ = httpsig::rfc9421::verify(
        &request,
        |_| Some(PublicKey::Ed25519(verifying)),
        &policy,
        now,
    );
    let _ = httpsig::rfc9421::key_id(&request);
    let _ = httpsig::cavage::verify(
        &request,
        |_| Some(PublicKey::Ed25519(verifying)),
        &policy,
        now,
    );
    let _ = httpsig::cavage::key_id(&request);
    for value in request.header_values("signature") {
        let _ = httpsig::cavage::parse_params(value);
    }
    for value in request.header_values("content-digest") {
        let _ = httpsig::digest::verify_content_digest(value, body.as_bytes());
    }
    for value in request.header_values("digest") {
        let _ = httpsig::digest::verify_digest(value, body.as_bytes());
    }
    let _ = request.target();
}

/// Activities and objects as delivered or fetched (JSON): the I-JSON reader, the envelope,
/// Punte's strict object readers, and FEP-8b32 proofs.
pub fn activity(data: &[u8]) {
    // the inbox's I-JSON reader: whatever it accepts, serde_json reads the same
    let strict = punte_protocol::ijson::from_slice(data);
    if let Ok(strict) = &strict {
        assert_eq!(
            serde_json::from_slice::<Value>(data).ok().as_ref(),
            Some(strict),
            "the I-JSON reader and serde_json disagree"
        );
    }
    let Ok(value) = strict else {
        return;
    };
    let _ = punte_protocol::activity::parse_activity(&value);
    let origin = "https://fuzz.example";
    let _ = objects::parse_object(&value, origin);
    if let Some(object) = value.get("object") {
        let _ = objects::parse_object(object, origin);
        let _ = objects::parse_membership(object, origin);
    }
    let _ = objects::parse_membership(&value, origin);
    let verifying = key().verifying_key();
    let _ = proof::verify(&value, |_| Some(verifying));
    let _ = proof::verification_methods(&value);
    let _ = punte_protocol::jcs::canonicalize(&value);
}

/// Actor documents with their keys (FEP-521a Multikey, PEM), organisation profiles,
/// WebFinger and NodeInfo documents, `acct:` handles.
pub fn actor_document(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("https://fuzz.example/actor")
            .to_owned();
        if let Ok(remote) = actor::parse_actor(&value, &id) {
            for k in &remote.keys.assertion_method {
                let _ = k.ed25519_key();
            }
        }
        let _ = objects::parse_organisation(&value);
        let _ = serde_json::from_value::<webfinger::Jrd>(value.clone());
        let _ = serde_json::from_value::<punte_protocol::nodeinfo::NodeInfo>(value.clone());
        let _ = serde_json::from_value::<punte_protocol::nodeinfo::NodeInfoDiscovery>(value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = webfinger::Acct::parse_uri(text);
        let _ = webfinger::Acct::parse_handle(text);
        let _ = multikey::decode_base58btc(text);
        let _ = multikey::decode_ed25519_public(text);
        let _ = punte_protocol::keys::parse_rsa_public_key_pem(text);
    }
}

/// Indicator catalogue CSV (`punte indicator import`, `punte catalogue import`).
pub fn indicator_csv(data: &[u8]) {
    let _ = punte_node::parse_indicator_csv(data);
}

/// Timestamps in activities, proofs and headers: RFC 3339 and HTTP dates. Round trip: a
/// parsed RFC 3339 time in whole seconds formats back to a time that parses to the same.
pub fn timestamps(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = timestamp::parse_rfc3339(text) {
        let again = timestamp::format_rfc3339(t.unix_seconds);
        assert_eq!(
            timestamp::parse_rfc3339(&again)
                .map(|t2| t2.unix_seconds)
                .ok(),
            Some(t.unix_seconds),
            "{again:?} does not parse back"
        );
    }
    if let Ok(secs) = timestamp::parse_http_date(text) {
        let again = timestamp::format_http_date(secs);
        assert_eq!(
            timestamp::parse_http_date(&again).ok(),
            Some(secs),
            "{again:?}"
        );
    }
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` calls it.
pub const TARGETS: &[(&str, Target)] = &[
    ("log_entry", log_entry),
    ("signed_note", signed_note),
    ("witness_request", witness_request),
    ("http_signature", http_signature),
    ("activity", activity),
    ("actor_document", actor_document),
    ("indicator_csv", indicator_csv),
    ("timestamps", timestamps),
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// `fuzz/seeds/<target>/*` (valid inputs), `fuzz/corpus/<target>/*` (the minimised
    /// corpus) and `fuzz/regressions/<target>/*` (every crash, hang or out-of-memory
    /// reproducer found), each input once through its target.
    #[test]
    fn the_kept_corpus_and_every_reproducer_replay_without_a_failure() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut replayed = 0;
        for (name, target) in TARGETS {
            let mut inputs = 0;
            for dir in ["seeds", "corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    if path.file_name().is_some_and(|n| n == ".gitkeep") {
                        continue;
                    }
                    let data = std::fs::read(&path).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name} fails on {}", path.display());
                    inputs += 1;
                }
            }
            assert!(inputs > 0, "no corpus kept for {name}");
            replayed += inputs;
        }
        assert!(replayed >= TARGETS.len());
    }

    #[test]
    fn round_trips_hold_on_the_valid_seeds() {
        // the seeds are valid inputs: each parses, so its round trip is checked
        let seed = |target: &str, name: &str| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
            std::fs::read(root.join(target).join(format!("seed-{name}"))).unwrap()
        };
        let entry = seed("log_entry", "activity");
        assert!(SignedEntry::decode(&entry).is_ok());
        log_entry(&entry);
        for name in ["with-proof", "first"] {
            let body = seed("witness_request", name);
            assert!(
                punte_node::witness::parse_add_checkpoint(&body).is_ok(),
                "{name}"
            );
            witness_request(&body);
        }
        let note = seed("signed_note", "cosigned");
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(Note::parse(&note).is_ok());
        assert!(
            Checkpoint::parse(&Note::parse(&note).unwrap().text).is_ok(),
            "{text}"
        );
        signed_note(&note);
        for name in ["rfc3339", "rfc3339-fraction", "http-date"] {
            timestamps(&seed("timestamps", name));
        }
        assert!(punte_node::parse_indicator_csv(&seed("indicator_csv", "catalogue")[..]).is_ok());
    }
}
