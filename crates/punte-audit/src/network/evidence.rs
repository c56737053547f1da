//! Evidence files of the network audit (`punte-witness-evidence/v1`): reading one and
//! re-verifying what it proves without the network.

use punte_log::checkpoint::open_checkpoint;
use punte_log::note::NoteVerifier;
use punte_log::tree::{parse_proof, verify_consistency};

use super::{EVIDENCE_FORMAT, NetworkEvidence, SeenCheckpoint};
use crate::AuditError;

/// What an evidence file proves, once re-verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub kind: String,
    pub origin: String,
    pub sizes: (u64, u64),
    pub message: String,
}

impl NetworkEvidence {
    /// Parses an evidence file (untrusted; [`verify_evidence`] checks it).
    pub fn from_json(bytes: &[u8]) -> Result<NetworkEvidence, AuditError> {
        let e: NetworkEvidence =
            serde_json::from_slice(bytes).map_err(|e| AuditError::Bundle(e.to_string()))?;
        if e.format != EVIDENCE_FORMAT {
            return Err(AuditError::Bundle(format!(
                "format {:?} is not {EVIDENCE_FORMAT}",
                e.format
            )));
        }
        Ok(e)
    }
}

/// Re-verifies an evidence file offline: both checkpoints open with the log keys (the
/// file's, or `keys` when given), have the file's origin, and either have equal sizes and
/// different roots, or the proof (if any) fails between them. `Err` says why it proves
/// nothing.
pub fn verify_evidence(
    evidence: &NetworkEvidence,
    keys: Option<&[NoteVerifier]>,
) -> Result<Proven, String> {
    let parsed: Vec<NoteVerifier>;
    let keys = match keys {
        Some(k) => k,
        None => {
            parsed = evidence
                .log_keys
                .iter()
                .map(|k| NoteVerifier::parse(k).map_err(|e| format!("log key {k:?}: {e}")))
                .collect::<Result<_, _>>()?;
            &parsed
        }
    };
    let open = |s: &SeenCheckpoint| {
        open_checkpoint(s.note.as_bytes(), keys, &[])
            .map(|o| o.checkpoint)
            .map_err(|e| format!("the checkpoint from {} does not verify: {e}", s.from))
    };
    let (a, b) = (open(&evidence.first)?, open(&evidence.second)?);
    if a.origin != evidence.origin || b.origin != evidence.origin {
        return Err("the checkpoints are not of the file's origin".to_owned());
    }
    let (small, large) = if a.size <= b.size { (&a, &b) } else { (&b, &a) };
    if small.size == large.size {
        return if small.root == large.root {
            Err("the two checkpoints are the same".to_owned())
        } else {
            Ok(Proven {
                kind: "equivocation".to_owned(),
                origin: a.origin.clone(),
                sizes: (a.size, b.size),
                message: format!(
                    "two checkpoints of size {} signed by the log with different roots",
                    a.size
                ),
            })
        };
    }
    let proof_ok = evidence.proof.as_deref().is_some_and(|text| {
        parse_proof(text).is_ok_and(|p| {
            verify_consistency(small.size, large.size, &small.root, &large.root, &p).is_ok()
        })
    });
    if proof_ok {
        return Err(format!(
            "the proof shows size {} extends size {}: no inconsistency",
            large.size, small.size
        ));
    }
    Ok(Proven {
        kind: "inconsistent".to_owned(),
        origin: a.origin.clone(),
        sizes: (small.size, large.size),
        message: format!(
            "no valid consistency proof from size {} to {} ({})",
            small.size,
            large.size,
            if evidence.proof.is_some() {
                "the proof the node served fails"
            } else {
                "the node served none"
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ed25519_dalek::SigningKey;
    use punte_log::Hash;
    use punte_log::checkpoint::Checkpoint;
    use punte_log::note::KeyType;
    use punte_log::note::NoteSigner;

    fn signed(size: u64, root: u8) -> (String, NoteVerifier) {
        let signer = NoteSigner::new(
            "o.example/punte-log",
            KeyType::Ed25519,
            SigningKey::from_bytes(&[9; 32]),
        )
        .unwrap();
        let note = Checkpoint::new("o.example/punte-log", size, Hash([root; 32]))
            .sign(&signer)
            .unwrap();
        (note, signer.verifier().clone())
    }

    fn evidence(a: (u64, u8), b: (u64, u8), proof: Option<String>) -> NetworkEvidence {
        let (first, key) = signed(a.0, a.1);
        let (second, _) = signed(b.0, b.1);
        NetworkEvidence {
            format: EVIDENCE_FORMAT.to_owned(),
            source: "http://o.example".to_owned(),
            origin: "o.example/punte-log".to_owned(),
            fetched_at: "2025-01-01T00:00:00Z".to_owned(),
            kind: "equivocation".to_owned(),
            log_keys: vec![key.to_vkey()],
            first: SeenCheckpoint {
                from: "node".to_owned(),
                note: first,
            },
            second: SeenCheckpoint {
                from: "witness".to_owned(),
                note: second,
            },
            proof,
        }
    }

    #[test]
    fn evidence_files_prove_equivocation_and_inconsistency_only_when_they_hold() {
        let proven = verify_evidence(&evidence((5, 1), (5, 2), None), None).unwrap();
        assert_eq!(proven.kind, "equivocation");
        assert!(verify_evidence(&evidence((5, 1), (5, 1), None), None).is_err());
        let proven = verify_evidence(&evidence((4, 1), (5, 2), Some("bad".into())), None).unwrap();
        assert_eq!(proven.kind, "inconsistent");
        let mut tampered = evidence((5, 1), (5, 2), None);
        tampered.second.note = tampered.second.note.replace("5\n", "6\n");
        assert!(verify_evidence(&tampered, None).is_err());
        let other = NoteSigner::new(
            "o.example/punte-log",
            KeyType::Ed25519,
            SigningKey::from_bytes(&[8; 32]),
        )
        .unwrap();
        let e = evidence((5, 1), (5, 2), None);
        assert!(verify_evidence(&e, Some(&[other.verifier().clone()])).is_err());
        let json = serde_json::to_vec(&e).unwrap();
        assert_eq!(NetworkEvidence::from_json(&json).unwrap(), e);
    }
}
