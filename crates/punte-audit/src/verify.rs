//! Verification of gathered [`Evidence`]: runs [`punte_log::audit`] on the exact bytes and
//! turns its findings into a [`Report`]. The same evidence always gives the same report.

use super::*;

/// Runs the audit on `evidence` with `parallelism` threads. Only the evidence and the
/// trust anchor inside it are used, so the same evidence always gives the same report.
pub fn verify(evidence: &Evidence, parallelism: usize) -> Result<Verification, AuditError> {
    let anchor = parse_anchor(&evidence.anchor.vkey)?;
    let origin = anchor.name().to_owned();
    let (start, mut history, mode) = match &evidence.start {
        Some(state) => {
            if state.origin != origin {
                return Err(AuditError::State(format!(
                    "the state's origin {} is not the anchor's {origin}",
                    state.origin
                )));
            }
            let keys = state
                .keys
                .iter()
                .map(|k| {
                    parse_anchor(&k.vkey).map(|v| KeyPeriod {
                        key: *v.public_key(),
                        from_index: k.from_index,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AuditError::State(format!("key history: {e}")))?;
            (state.audit_state()?, keys, AuditMode::Incremental)
        }
        None => (
            AuditState::genesis(*anchor.public_key()),
            Vec::new(),
            AuditMode::Full,
        ),
    };
    let from_index = start.tree.size();
    let witness_keys = evidence
        .witness_keys
        .iter()
        .map(|k| parse_witness(k))
        .collect::<Result<Vec<_>, _>>()?;

    let mut log_keys = vec![anchor.clone()];
    for period in &history {
        if let Ok(v) = NoteVerifier::new(&origin, KeyType::Ed25519, period.key)
            && !log_keys.contains(&v)
        {
            log_keys.push(v);
        }
    }

    let shrunk = match (&evidence.start, evidence.checkpoints.last()) {
        (Some(state), Some(latest)) => parse_checkpoint(latest.as_bytes())
            .filter(|c| c.size < state.size)
            .map(|c| (state.size, c)),
        _ => None,
    };
    // A log that shrank is not audited against the old tree: only the saved checkpoint
    // is compared with it, the current one is opened on its own below.
    let checkpoint_bytes: Vec<&[u8]> = match &shrunk {
        Some(_) => evidence
            .checkpoints
            .iter()
            .take(evidence.checkpoints.len().saturating_sub(1))
            .map(|c| c.as_bytes())
            .collect(),
        None => evidence.checkpoints.iter().map(|c| c.as_bytes()).collect(),
    };
    let entries: Vec<AuditEntry<'_>> = evidence
        .entries
        .iter()
        .map(|e| AuditEntry {
            entry: &e.entry,
            activity: match &e.activity {
                Some(bytes) => ActivityBytes::Present(bytes),
                None => ActivityBytes::Erased,
            },
        })
        .collect();
    let config = AuditConfig {
        origin: &origin,
        start,
        log_keys: &log_keys,
        witness_keys: &witness_keys,
        timestamp_tolerance_ms: evidence.timestamp_tolerance_ms,
        parallelism,
    };
    let audited = punte_log::audit(&config, &entries, &checkpoint_bytes);

    let mut findings: Vec<ReportFinding> = audited.findings.iter().map(report_finding).collect();
    // A lost tail: the node signed a checkpoint beyond the last entry it serves. The
    // entries it no longer has are missing, as one range.
    let beyond = audited.findings.iter().find_map(|f| match f {
        Finding::CheckpointBeyondLog { size, log_size } => Some((*size, *log_size)),
        _ => None,
    });
    if let Some((size, log_size)) = beyond
        && !audited
            .findings
            .iter()
            .any(|f| matches!(f, Finding::Missing { to, .. } if *to + 1 >= size))
    {
        findings.push(report_finding(&Finding::Missing {
            from: log_size,
            to: size - 1,
        }));
    }
    findings.extend(super::disclosure::findings(
        &evidence.source,
        &evidence.entries,
        evidence.disclosure_k,
    ));
    findings.extend(super::served::findings(
        &evidence.source,
        &origin,
        &evidence.entries,
        &evidence.served,
    ));

    // Consistency with the saved checkpoint.
    if let Some((old_size, new)) = &shrunk {
        findings.push(ReportFinding {
            severity: FindingSeverity::Error,
            kind: "log_shrunk".to_owned(),
            index: Some(new.size),
            message: format!(
                "the log has {} entries but a checkpoint of size {old_size} was verified before",
                new.size
            ),
            detail: serde_json::json!({"old_size": old_size, "new_size": new.size}),
        });
        if let Some(latest) = evidence.checkpoints.last()
            && let Err(e) = open_checkpoint(latest.as_bytes(), &log_keys, &witness_keys)
        {
            findings.push(ReportFinding {
                severity: FindingSeverity::Error,
                kind: "checkpoint_invalid".to_owned(),
                index: None,
                message: format!("the current checkpoint is invalid: {e}"),
                detail: serde_json::json!({"position": evidence.checkpoints.len() - 1, "error": e.to_string()}),
            });
        }
    } else if let (Some(consistency), Some(state)) = (&evidence.consistency, &evidence.start)
        && let (Ok(old), Some(new)) = (
            state.parsed_checkpoint(),
            evidence
                .checkpoints
                .last()
                .and_then(|c| parse_checkpoint(c.as_bytes())),
        )
    {
        let result = if consistency.old_size != old.size || consistency.new_size != new.size {
            Err("the proof was fetched for other sizes".to_owned())
        } else {
            parse_proof(&consistency.proof)
                .map_err(|e| e.to_string())
                .and_then(|proof| check_consistency(&old, &new, &proof).map_err(|e| e.to_string()))
        };
        if let Err(error) = result {
            findings.push(ReportFinding {
                severity: FindingSeverity::Error,
                kind: "inconsistent".to_owned(),
                index: Some(old.size),
                message: format!(
                    "the checkpoint of size {} does not extend the saved checkpoint of size {} ({error}): the log was forked or rewritten",
                    new.size, old.size
                ),
                detail: serde_json::json!({
                    "old_size": old.size, "old_root": old.root.to_base64(),
                    "new_size": new.size, "new_root": new.root.to_base64(), "error": error,
                }),
            });
        }
    }

    // The published key list must be the key history.
    match audited.keys.split_first() {
        Some((first, rest)) if history.last().is_none_or(|h| h.key != first.key) => {
            history.push(*first);
            history.extend_from_slice(rest);
        }
        Some((_, rest)) => history.extend_from_slice(rest),
        None => {}
    }
    let history_vkeys: Vec<String> = history.iter().map(|p| vkey_of(&origin, &p.key)).collect();
    let published: Vec<Option<String>> = evidence
        .published_keys
        .iter()
        .map(|k| parse_anchor(k).ok().map(|v| v.to_vkey()))
        .collect();
    let published_ok: Vec<String> = published.iter().flatten().cloned().collect();
    if published_ok.len() != published.len() || published_ok != history_vkeys {
        findings.push(ReportFinding {
            severity: FindingSeverity::Error,
            kind: "key_list_mismatch".to_owned(),
            index: None,
            message: format!(
                "/log/key lists {} keys that are not the {} keys of the log's key history",
                published.len(),
                history_vkeys.len()
            ),
            detail: serde_json::json!({"published": evidence.published_keys, "history": history_vkeys}),
        });
    }

    let keys: Vec<KeyPeriodRecord> = history
        .iter()
        .map(|p| KeyPeriodRecord {
            vkey: vkey_of(&origin, &p.key),
            from_index: p.from_index,
        })
        .collect();
    let checkpoints: Vec<ReportCheckpoint> = audited
        .checkpoints
        .iter()
        .map(|c| ReportCheckpoint {
            size: c.checkpoint.size,
            root: c.checkpoint.root.to_base64(),
            matches_log: c.matches_log,
            cosigners: c.cosigners.clone(),
        })
        .collect();
    let clean = findings.iter().all(|f| f.severity == FindingSeverity::Info);
    let report = Report {
        source: evidence.source.clone(),
        origin: origin.clone(),
        mode,
        anchor: evidence.anchor.clone(),
        clean,
        from_index,
        entries: audited.entries,
        size: audited.size,
        root: audited.root.to_base64(),
        keys: keys.clone(),
        checkpoints,
        findings,
    };

    // The state to resume from: only after a clean audit whose latest checkpoint is the
    // log as audited.
    let latest = evidence.checkpoints.last();
    let latest_matches = audited
        .checkpoints
        .last()
        .is_some_and(|c| c.matches_log && c.checkpoint.size == audited.size);
    let end_state = match latest {
        Some(note) if clean && latest_matches => Some(SavedState {
            format: STATE_FORMAT.to_owned(),
            source: evidence.source.clone(),
            origin: origin.clone(),
            anchor: match &evidence.start {
                Some(state) => state.anchor.clone(),
                None => anchor.to_vkey(),
            },
            checkpoint: note.clone(),
            size: audited.end_state.tree.size(),
            frontier: audited
                .end_state
                .tree
                .frontier()
                .iter()
                .map(Hash::to_base64)
                .collect(),
            current_key: BASE64.encode(audited.end_state.current_key.as_bytes()),
            max_timestamp_ms: audited.end_state.max_timestamp_ms,
            keys,
            saved_at: evidence.fetched_at.clone(),
        }),
        _ => None,
    };
    Ok(Verification { report, end_state })
}

/// The report form of a [`punte_log`] finding.
fn report_finding(finding: &Finding) -> ReportFinding {
    use serde_json::json;
    let key = |k: &[u8; 32]| BASE64.encode(k);
    let (kind, index, detail) = match finding {
        Finding::Undecodable { position, error } => (
            "undecodable",
            None,
            json!({"position": position, "error": error.to_string()}),
        ),
        Finding::WrongOrigin { index, origin } => {
            ("wrong_origin", Some(*index), json!({"origin": origin}))
        }
        Finding::Missing { from, to } => ("missing", Some(*from), json!({"from": from, "to": to})),
        Finding::Reordered { position, index } => {
            ("reordered", Some(*index), json!({"position": position}))
        }
        Finding::DuplicateIndex { index } => ("duplicate_index", Some(*index), json!({})),
        Finding::BadSignature { index } => ("bad_signature", Some(*index), json!({})),
        Finding::UnknownKey { index, key: k } => {
            ("unknown_key", Some(*index), json!({"key": key(k)}))
        }
        Finding::WeakKey { key: k } => ("weak_key", None, json!({"key": key(k)})),
        Finding::PrevRootMismatch { index, through } => (
            "prev_root_mismatch",
            Some(*index),
            json!({"through": through}),
        ),
        Finding::Tampered { index } => ("tampered", Some(*index), json!({})),
        Finding::ErasedWithoutRedaction { index } => {
            ("erased_without_redaction", Some(*index), json!({}))
        }
        Finding::Redacted {
            index,
            reason,
            redaction_index,
        } => (
            "redacted",
            Some(*index),
            json!({"reason": reason, "redaction_index": redaction_index}),
        ),
        Finding::InvalidRedaction { index } => ("invalid_redaction", Some(*index), json!({})),
        Finding::RedactedMembership {
            index,
            redaction_index,
        } => (
            "redacted_membership",
            Some(*index),
            json!({ "redaction_index": redaction_index }),
        ),
        Finding::KeyRotated { index, new_key } => (
            "key_rotated",
            Some(*index),
            json!({"new_key": key(new_key)}),
        ),
        Finding::InvalidKeyRotation { index } => ("invalid_key_rotation", Some(*index), json!({})),
        Finding::DuplicateActivityId {
            index,
            first_index,
            activity_id,
        } => (
            "duplicate_activity_id",
            Some(*index),
            json!({"first_index": first_index, "activity_id": activity_id}),
        ),
        Finding::TimestampRegression {
            index,
            previous_ms,
            timestamp_ms,
        } => (
            "timestamp_regression",
            Some(*index),
            json!({"previous_ms": previous_ms, "timestamp_ms": timestamp_ms}),
        ),
        Finding::CheckpointInvalid { position, error } => (
            "checkpoint_invalid",
            None,
            json!({"position": position, "error": error}),
        ),
        Finding::CheckpointMismatch {
            size,
            checkpoint_root,
            log_root,
        } => (
            "checkpoint_mismatch",
            None,
            json!({"size": size, "checkpoint_root": checkpoint_root.to_base64(), "log_root": log_root.to_base64()}),
        ),
        Finding::CheckpointBeyondLog { size, log_size } => (
            "checkpoint_beyond_log",
            Some(*log_size),
            json!({"size": size, "log_size": log_size}),
        ),
        Finding::Equivocation { size, roots } => (
            "equivocation",
            None,
            json!({"size": size, "roots": [roots.0.to_base64(), roots.1.to_base64()]}),
        ),
    };
    ReportFinding {
        severity: match finding.severity() {
            Severity::Info => FindingSeverity::Info,
            Severity::Error => FindingSeverity::Error,
        },
        kind: kind.to_owned(),
        index,
        message: finding.to_string(),
        detail,
    }
}
