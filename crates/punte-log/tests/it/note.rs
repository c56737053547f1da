//! Signed notes, checkpoints and cosignatures against golang/mod and C2SP vectors.

use punte_log::checkpoint::{
    Checkpoint, CheckpointError, check_consistency, detect_equivocation, open_checkpoint,
    origin_for_host, staple_cosignatures,
};
use punte_log::hash::Hash;
use punte_log::note::{
    KeyType, Note, NoteError, NoteSigner, NoteVerifier, cosignature_message, key_id,
};
use punte_log::tree::{consistency_proof, subtree_root};

use crate::support::{key, vector};

fn s(v: &serde_json::Value) -> String {
    v.as_str().unwrap().to_owned()
}

#[test]
fn golang_vkeys_parse_and_round_trip() {
    let v = vector("signed_note.json");
    for name in ["peter_vkey", "enoch_vkey"] {
        let vkey = s(&v[name]);
        let verifier = NoteVerifier::parse(&vkey).unwrap();
        assert_eq!(verifier.to_vkey(), vkey);
        assert_eq!(verifier.key_type(), KeyType::Ed25519);
    }
    let peter = NoteVerifier::parse(&s(&v["peter_vkey"])).unwrap();
    assert_eq!(peter.key_id(), 0xc74f20a3);
    assert_eq!(
        key_id("PeterNeumann", 0x01, peter.public_key().as_bytes()),
        0xc74f20a3
    );
    for bad in v["bad_vkeys"].as_array().unwrap() {
        assert!(NoteVerifier::parse(bad.as_str().unwrap()).is_err(), "{bad}");
    }
}

#[test]
fn golang_vkey_manglings_are_rejected() {
    let v = vector("signed_note.json");
    let vkey = s(&v["peter_vkey"]);
    let bytes = vkey.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(
                NoteVerifier::parse(part).is_err(),
                "accepted substring {part:?}"
            );
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(
            NoteVerifier::parse(&mangled).is_err(),
            "accepted {mangled:?}"
        );
    }
}

#[test]
fn golang_skey_parses_signs_known_answer_and_rejects_manglings() {
    let v = vector("signed_note.json");
    let skey = s(&v["peter_skey"]);
    let signer = NoteSigner::parse(&skey).unwrap();
    assert_eq!(signer.to_skey(), skey);
    assert_eq!(signer.verifier().to_vkey(), s(&v["peter_vkey"]));
    // Ed25519 is deterministic: the signed note must equal the published one byte for byte.
    let signed = punte_log::note::sign_note(&s(&v["text"]), &[&signer]).unwrap();
    assert_eq!(signed, s(&v["peter_signed"]));
    let bytes = skey.as_bytes();
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(NoteSigner::parse(&mangled).is_err(), "accepted {mangled:?}");
    }
    for j in 1..bytes.len() {
        assert!(NoteSigner::parse(std::str::from_utf8(&bytes[..j]).unwrap()).is_err());
    }
}

#[test]
fn golang_open_known_and_unknown_signatures() {
    let v = vector("signed_note.json");
    let peter = NoteVerifier::parse(&s(&v["peter_vkey"])).unwrap();
    let enoch = NoteVerifier::parse(&s(&v["enoch_vkey"])).unwrap();
    let text = s(&v["text"]);
    let (peter_line, enoch_line) = (s(&v["peter_sig_line"]), s(&v["enoch_sig_line"]));
    let msg = format!("{text}\n{peter_line}{enoch_line}");

    let opened = Note::open(msg.as_bytes(), std::slice::from_ref(&peter)).unwrap();
    assert_eq!(opened.text, text);
    assert_eq!(opened.verified.len(), 1);
    assert_eq!(opened.verified[0].signature.name, "PeterNeumann");
    assert_eq!(opened.unverified.len(), 1);
    assert_eq!(opened.unverified[0].key_id, 0xaf0cfe78);

    let both = Note::open(msg.as_bytes(), &[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(both.verified.len(), 2);
    assert!(both.unverified.is_empty());

    assert_eq!(
        Note::open(msg.as_bytes(), &[]),
        Err(NoteError::NoVerifiedSignature)
    );

    let dup = Note::open(
        format!("{text}\n{enoch_line}").as_bytes(),
        &[enoch.clone(), peter.clone(), enoch.clone()],
    );
    assert!(matches!(dup, Err(NoteError::AmbiguousKey { .. })));
    Note::open(
        format!("{text}\n{peter_line}").as_bytes(),
        &[enoch.clone(), peter.clone(), enoch],
    )
    .unwrap();

    let too_many = format!("{text}\n{}", peter_line.repeat(101));
    assert_eq!(
        Note::open(too_many.as_bytes(), std::slice::from_ref(&peter)),
        Err(NoteError::Malformed)
    );
    assert_eq!(
        Note::open(too_many.as_bytes(), &[]),
        Err(NoteError::Malformed)
    );

    let corrupted = format!("{text}\n{}ABCD{}", &peter_line[..60], &peter_line[60..]);
    assert!(matches!(
        Note::open(corrupted.as_bytes(), std::slice::from_ref(&peter)),
        Err(NoteError::InvalidSignature { .. })
    ));

    for bad in v["malformed"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        assert_eq!(
            Note::open(bad.as_bytes(), std::slice::from_ref(&peter)),
            Err(NoteError::Malformed),
            "{bad:?}"
        );
    }
    let mut invalid_utf8 = vec![0xff];
    invalid_utf8.extend_from_slice(format!("{text}\n{peter_line}").as_bytes());
    assert_eq!(
        Note::open(&invalid_utf8, &[peter]),
        Err(NoteError::Malformed)
    );
}

#[test]
fn cosignature_v1_published_keys_and_timestamps() {
    let v = vector("signed_note.json");
    for case in v["cosignature_v1_vkeys"].as_array().unwrap() {
        let parsed = NoteVerifier::parse(case["vkey"].as_str().unwrap());
        assert_eq!(parsed.is_ok(), case["valid"].as_bool().unwrap(), "{case}");
        if let Ok(verifier) = parsed {
            assert_eq!(verifier.key_type(), KeyType::CosignatureV1);
            assert_eq!(verifier.key_id(), 0xda77ade7);
        }
    }
    // A published cosignature/v1 signature line carries its timestamp after the key id.
    let ts = &v["cosignature_v1_timestamp"];
    let line = format!("\u{2014} w {}\n", ts["base64"].as_str().unwrap());
    let note = Note::parse(format!("a\n\n{line}").as_bytes()).unwrap();
    assert_eq!(
        note.signatures[0].cosignature_timestamp(),
        ts["timestamp"].as_u64()
    );
    // The C2SP checkpoint example: its witness cosignature names the timestamp of the
    // spec's signed-message example, and our message builder reproduces that message.
    let example = Note::parse(s(&v["c2sp_checkpoint_example"]).as_bytes()).unwrap();
    let cosig = &example.signatures[1];
    assert_eq!(cosig.name, "witness.example.com/w1");
    let when = v["c2sp_cosignature_example_timestamp"].as_u64().unwrap();
    assert_eq!(cosig.cosignature_timestamp(), Some(when));
    assert_eq!(
        cosignature_message(&example.text, when),
        s(&v["c2sp_cosignature_example_message"]).into_bytes()
    );
    let checkpoint = Checkpoint::parse(&example.text).unwrap();
    assert_eq!(checkpoint.size, 20852163);
    assert_eq!(checkpoint.to_text(), example.text);
}

#[test]
fn checkpoint_sign_cosign_open() {
    let origin = origin_for_host("example.org");
    assert_eq!(origin, "example.org/punte-log");
    let log = NoteSigner::new(&origin, KeyType::Ed25519, key(1)).unwrap();
    let witness = NoteSigner::new("witness.example/w1", KeyType::CosignatureV1, key(2)).unwrap();
    let leaves: Vec<Hash> = (0u8..5).map(|i| punte_log::leaf_hash(&[i])).collect();
    let checkpoint = Checkpoint::new(origin.clone(), 5, subtree_root(&leaves));
    let signed = checkpoint.sign(&log).unwrap();
    let cosig = witness
        .cosign(&checkpoint.to_text(), 1_700_000_000)
        .unwrap();
    let stapled = staple_cosignatures(signed.as_bytes(), &[cosig]).unwrap();

    let opened = open_checkpoint(
        stapled.as_bytes(),
        std::slice::from_ref(log.verifier()),
        std::slice::from_ref(witness.verifier()),
    )
    .unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    assert_eq!(
        opened.cosigners,
        vec![("witness.example/w1".to_owned(), 1_700_000_000)]
    );

    // The witness key alone is not enough.
    assert_eq!(
        open_checkpoint(
            stapled.as_bytes(),
            &[],
            std::slice::from_ref(witness.verifier())
        ),
        Err(CheckpointError::NotSignedByLog)
    );
    // A flipped root breaks the log signature.
    let tampered = stapled.replacen(&checkpoint.root.to_base64(), &Hash([0; 32]).to_base64(), 1);
    assert!(
        open_checkpoint(
            tampered.as_bytes(),
            std::slice::from_ref(log.verifier()),
            &[]
        )
        .is_err()
    );

    // Consistency and equivocation.
    let more: Vec<Hash> = (0u8..9).map(|i| punte_log::leaf_hash(&[i])).collect();
    let newer = Checkpoint::new(origin.clone(), 9, subtree_root(&more));
    let proof = consistency_proof(&more, 5, 9).unwrap();
    check_consistency(&checkpoint, &newer, &proof).unwrap();
    let fork = Checkpoint::new(origin, 9, Hash([9; 32]));
    assert!(check_consistency(&checkpoint, &fork, &proof).is_err());
    assert!(detect_equivocation(&newer, &fork).is_some());
    assert!(detect_equivocation(&newer, &newer).is_none());
}

#[test]
fn checkpoint_parse_is_strict() {
    let root = Hash([1; 32]).to_base64();
    Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap();
    Checkpoint::parse(&format!("o\n10\n{root}\next\n")).unwrap();
    for bad in [
        format!("o\n010\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n+1\n{root}\n"),
        format!("o\n1\n{root}"),
        format!("\n1\n{root}\n"),
        format!("o\n1\n{root}\n\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        "o\n1\nAAAA\n".to_owned(),
        "o\n1\n".to_owned(),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn signer_key_strings_round_trip() {
    let signer = NoteSigner::new("example.org/punte-log", KeyType::Ed25519, key(3)).unwrap();
    let parsed = NoteSigner::parse(&signer.to_skey()).unwrap();
    assert_eq!(parsed.verifier(), signer.verifier());
    assert_eq!(
        NoteVerifier::parse(&signer.verifier().to_vkey()).unwrap(),
        *signer.verifier()
    );
    assert!(NoteSigner::new("bad name", KeyType::Ed25519, key(3)).is_err());
    assert!(NoteSigner::new("bad+name", KeyType::Ed25519, key(3)).is_err());
    assert!(signer.cosign("a\n", 1).is_err());
}
