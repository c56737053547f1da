#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use super::*;
use ed25519_dalek::SigningKey;
use punte_log::Hash;
use punte_log::note::NoteSigner;

#[test]
fn a_rollback_seen_at_many_kept_sizes_is_one_finding_with_its_range() {
    let signer = NoteSigner::new(
        "o.example/punte-log",
        KeyType::Ed25519,
        SigningKey::from_bytes(&[9; 32]),
    )
    .unwrap();
    let note = |size: u64, root: u8| {
        Checkpoint::new("o.example/punte-log", size, Hash([root; 32]))
            .sign(&signer)
            .unwrap()
    };
    let observations = NetworkObservations {
        node_checkpoint: note(3, 1),
        witnesses: Vec::new(),
        partners: vec![PartnerObservation {
            url: "http://p.example".to_owned(),
            checkpoints: (5..=16).map(|size| note(size, 2)).collect(),
            error: None,
        }],
        proofs: Vec::new(),
        now_secs: 0,
        stale_after_secs: 3600,
    };
    let keys = [signer.verifier().clone()];
    let report = judge(&observations, &keys, "http://o.example", "now").unwrap();
    let inconsistent: Vec<&ReportFinding> = report
        .findings
        .iter()
        .filter(|f| f.kind == "inconsistent")
        .collect();
    assert_eq!(inconsistent.len(), 1, "{:?}", report.findings);
    assert_eq!(
        inconsistent[0].detail["sizes"],
        json!([3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
    );
    assert!(
        inconsistent[0].message.contains("sizes 5 to 16"),
        "{}",
        inconsistent[0].message
    );
    // the evidence file is the first pair, which re-verifies on its own
    let evidence = report.evidence.unwrap();
    assert_eq!(verify_evidence(&evidence, None).unwrap().sizes, (3, 5));
}
