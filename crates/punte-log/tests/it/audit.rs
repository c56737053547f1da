//! The offline audit: a clean log audits clean; each kind of tampering is named.

use punte_log::audit::{
    ActivityBytes, AuditConfig, AuditEntry, AuditReport, AuditState, Finding, audit,
};
use punte_log::checkpoint::Checkpoint;
use punte_log::entry::EntryKind;
use punte_log::hash::Hash;
use punte_log::note::{KeyType, NoteSigner};

use crate::support::{ORIGIN, TestLog, key};

fn run(log: &TestLog, erased: &[usize], checkpoints: &[String], threads: usize) -> AuditReport {
    let entries: Vec<AuditEntry<'_>> = log
        .entries
        .iter()
        .zip(&log.activities)
        .enumerate()
        .map(|(i, (e, a))| AuditEntry {
            entry: e,
            activity: if erased.contains(&i) {
                ActivityBytes::Erased
            } else {
                ActivityBytes::Present(a)
            },
        })
        .collect();
    let checkpoints: Vec<&[u8]> = checkpoints.iter().map(|c| c.as_bytes()).collect();
    let config = AuditConfig {
        origin: ORIGIN,
        start: AuditState::genesis(key(1).verifying_key()),
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: 5_000,
        parallelism: threads,
    };
    audit(&config, &entries, &checkpoints)
}

fn checkpoint(log: &TestLog) -> String {
    let signer = NoteSigner::new(ORIGIN, KeyType::Ed25519, log.key.clone()).unwrap();
    Checkpoint::new(ORIGIN, log.tree.size(), log.root())
        .sign(&signer)
        .unwrap()
}

fn build(n: u64) -> TestLog {
    let mut log = TestLog::new(key(1));
    for i in 0..n {
        log.append_activity(i);
    }
    log
}

fn errors(report: &AuditReport) -> Vec<Finding> {
    report.errors().cloned().collect()
}

#[test]
fn untouched_log_audits_clean_with_any_parallelism() {
    let mut log = build(600);
    let cp1 = checkpoint(&log);
    log.rotate(key(2));
    for i in 600..1200 {
        log.append_activity(i);
    }
    let cp2 = checkpoint(&log);
    for threads in [1, 2, 4] {
        let report = run(&log, &[], &[cp1.clone(), cp2.clone()], threads);
        assert!(report.is_clean(), "{:?}", errors(&report));
        assert_eq!(report.size, 1201);
        assert_eq!(report.root, log.root());
        assert_eq!(report.keys.len(), 2);
        assert_eq!(report.keys[1].from_index, 601);
        assert!(report.checkpoints.iter().all(|c| c.matches_log));
    }
}

#[test]
fn changed_activity_bytes_are_tampering() {
    let mut log = build(20);
    log.activities[7] = b"{\"forged\":true}".to_vec();
    assert_eq!(
        errors(&run(&log, &[], &[], 1)),
        vec![Finding::Tampered { index: 7 }]
    );
}

#[test]
fn deleted_entry_is_missing() {
    let mut log = build(20);
    log.entries.remove(5);
    log.activities.remove(5);
    let found = errors(&run(&log, &[], &[], 1));
    assert_eq!(found[0], Finding::Missing { from: 5, to: 5 });
    assert!(found.contains(&Finding::PrevRootMismatch {
        index: 6,
        through: 19
    }));
}

#[test]
fn truncated_log_is_caught_by_checkpoint() {
    let mut log = build(20);
    let cp = checkpoint(&log);
    log.entries.truncate(15);
    log.activities.truncate(15);
    let found = errors(&run(&log, &[], &[cp], 1));
    assert_eq!(
        found,
        vec![Finding::CheckpointBeyondLog {
            size: 20,
            log_size: 15
        }]
    );
}

#[test]
fn swapped_entries_are_reordered() {
    let mut log = build(20);
    log.entries.swap(3, 4);
    log.activities.swap(3, 4);
    let found = errors(&run(&log, &[], &[], 1));
    assert!(
        found.contains(&Finding::Reordered {
            position: 3,
            index: 4
        }),
        "{found:?}"
    );
    assert!(
        found.contains(&Finding::Reordered {
            position: 4,
            index: 3
        }),
        "{found:?}"
    );
}

#[test]
fn bad_signature_is_named_in_a_large_batch() {
    let mut log = build(700);
    let last = log.entries[650].len() - 1;
    log.entries[650][last] ^= 1;
    for threads in [1, 2] {
        let found = errors(&run(&log, &[], &[], threads));
        assert!(
            found.contains(&Finding::BadSignature { index: 650 }),
            "{found:?}"
        );
        // The leaf changed too, so the next entry's prev_root no longer matches.
        assert!(found.contains(&Finding::PrevRootMismatch {
            index: 651,
            through: 699
        }));
    }
}

#[test]
fn altered_checkpoint_is_invalid_and_fork_is_mismatch() {
    let log = build(10);
    let cp = checkpoint(&log);
    let altered = cp.replacen(&log.root().to_base64(), &Hash([0; 32]).to_base64(), 1);
    let found = errors(&run(&log, &[], &[altered], 1));
    assert!(matches!(
        found.as_slice(),
        [Finding::CheckpointInvalid { position: 0, .. }]
    ));

    // A fork: same key, same first entries, different later entries, both checkpointed.
    let mut fork = build(8);
    fork.append(
        EntryKind::Activity,
        "https://example.org/other/1",
        b"x".to_vec(),
    );
    fork.append(
        EntryKind::Activity,
        "https://example.org/other/2",
        b"y".to_vec(),
    );
    let fork_cp = checkpoint(&fork);
    let found = errors(&run(&log, &[], &[cp, fork_cp], 1));
    assert!(
        found
            .iter()
            .any(|f| matches!(f, Finding::Equivocation { size: 10, .. }))
    );
    assert!(
        found
            .iter()
            .any(|f| matches!(f, Finding::CheckpointMismatch { size: 10, .. }))
    );
}

#[test]
fn redaction_is_info_and_unrecorded_erasure_is_an_error() {
    let mut log = build(10);
    log.redact(4, "gdpr erasure request");
    let report = run(&log, &[4], &[], 1);
    assert!(report.is_clean(), "{:?}", errors(&report));
    assert!(report.findings.contains(&Finding::Redacted {
        index: 4,
        reason: "gdpr erasure request".into(),
        redaction_index: 10,
    }));
    let found = errors(&run(&log, &[4, 5], &[], 1));
    assert_eq!(found, vec![Finding::ErasedWithoutRedaction { index: 5 }]);
}

#[test]
fn a_redacted_membership_entry_is_an_error() {
    let mut log = build(3);
    let list = log.append(
        EntryKind::Membership,
        "https://example.org/activities/list-1",
        b"{\"type\":\"Update\"}".to_vec(),
    );
    assert_eq!(list, 3);
    log.redact(list, "erasing a membership version");
    let found = errors(&run(&log, &[3], &[], 1));
    assert_eq!(
        found,
        vec![Finding::RedactedMembership {
            index: 3,
            redaction_index: 4
        }]
    );
    // Erased without any redaction entry it is the usual error.
    let found = errors(&run(&log, &[3, 4], &[], 1));
    assert!(found.contains(&Finding::ErasedWithoutRedaction { index: 3 }));
}

#[test]
fn key_history_is_enforced() {
    let mut log = build(5);
    log.rotate(key(2));
    log.append_activity(100);
    // An entry signed by the old key after the rotation.
    log.key = key(1);
    log.append_activity(101);
    let found = errors(&run(&log, &[], &[], 1));
    assert_eq!(
        found,
        vec![Finding::UnknownKey {
            index: 7,
            key: key(1).verifying_key().to_bytes()
        }]
    );
}

#[test]
fn domain_rules_duplicate_ids_and_timestamps() {
    let mut log = build(3);
    log.append(
        EntryKind::Activity,
        "https://example.org/activities/1",
        b"again".to_vec(),
    );
    let found = errors(&run(&log, &[], &[], 1));
    assert_eq!(
        found,
        vec![Finding::DuplicateActivityId {
            index: 3,
            first_index: 1,
            activity_id: "https://example.org/activities/1".into(),
        }]
    );
}

#[test]
fn incremental_audit_resumes_from_end_state() {
    let mut log = build(30);
    let first = run(&log, &[], &[], 1);
    for i in 30..40 {
        log.append_activity(i);
    }
    let cp = checkpoint(&log);
    let entries: Vec<AuditEntry<'_>> = log.entries[30..]
        .iter()
        .zip(&log.activities[30..])
        .map(|(e, a)| AuditEntry {
            entry: e,
            activity: ActivityBytes::Present(a),
        })
        .collect();
    let config = AuditConfig {
        origin: ORIGIN,
        start: first.end_state.clone(),
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: 0,
        parallelism: 1,
    };
    let report = audit(&config, &entries, &[cp.as_bytes()]);
    assert!(report.is_clean(), "{:?}", errors(&report));
    assert_eq!(report.root, log.root());
}
