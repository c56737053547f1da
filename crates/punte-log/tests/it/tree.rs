//! Tree hashing and proofs against published vectors (RFC 6962 reference tree,
//! transparency-dev/merkle probes) and the RFC 9162 §2.1.5 example structure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use punte_log::hash::{Hash, empty_root, leaf_hash, node_hash};
use punte_log::tree::{
    CompactTree, ProofError, consistency_proof, format_proof, inclusion_proof, parse_proof,
    root_of, subtree_root, verify_consistency, verify_inclusion,
};

use crate::support::vector;

fn hex_hash(v: &serde_json::Value) -> Hash {
    Hash::from_slice(&hex::decode(v.as_str().unwrap()).unwrap()).unwrap()
}

fn hex_proof(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hex_hash).collect()
}

fn reference_leaves() -> Vec<Hash> {
    let v = vector("rfc6962_reference.json");
    v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&hex::decode(l.as_str().unwrap()).unwrap()))
        .collect()
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    let v = vector("rfc6962_reference.json");
    assert_eq!(empty_root(), hex_hash(&v["empty_root"]));
    assert_eq!(CompactTree::new().root(), empty_root());
    assert_eq!(subtree_root(&[]), empty_root());
}

#[test]
fn rfc6962_reference_roots() {
    let v = vector("rfc6962_reference.json");
    let leaves = reference_leaves();
    let mut tree = CompactTree::new();
    for (i, want) in v["roots"].as_array().unwrap().iter().enumerate() {
        tree.append(leaves[i]);
        assert_eq!(
            tree.root(),
            hex_hash(want),
            "compact root of size {}",
            i + 1
        );
        assert_eq!(root_of(&leaves, i as u64 + 1).unwrap(), hex_hash(want));
        let rebuilt = CompactTree::from_frontier(tree.size(), tree.frontier().to_vec()).unwrap();
        assert_eq!(rebuilt.root(), tree.root());
    }
}

#[test]
fn rfc6962_reference_inclusion_proofs() {
    let v = vector("rfc6962_reference.json");
    let leaves = reference_leaves();
    let roots: Vec<Hash> = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(hex_hash)
        .collect();
    for case in v["inclusion"].as_array().unwrap() {
        let index = case["leaf"].as_u64().unwrap() - 1;
        let size = case["size"].as_u64().unwrap();
        let want = hex_proof(&case["proof"]);
        assert_eq!(
            inclusion_proof(&leaves, index, size).unwrap(),
            want,
            "{index}/{size}"
        );
        let root = roots[size as usize - 1];
        verify_inclusion(&leaves[index as usize], index, size, &want, &root).unwrap();
    }
}

#[test]
fn rfc6962_reference_consistency_proofs() {
    let v = vector("rfc6962_reference.json");
    let leaves = reference_leaves();
    let roots: Vec<Hash> = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(hex_hash)
        .collect();
    for case in v["consistency"].as_array().unwrap() {
        let old = case["size1"].as_u64().unwrap();
        let new = case["size2"].as_u64().unwrap();
        let want = hex_proof(&case["proof"]);
        assert_eq!(
            consistency_proof(&leaves, old, new).unwrap(),
            want,
            "{old}->{new}"
        );
        verify_consistency(
            old,
            new,
            &roots[old as usize - 1],
            &roots[new as usize - 1],
            &want,
        )
        .unwrap();
    }
}

/// Decodes a probe hash; `None` when the published value is not 32 bytes (garbage probes).
fn b64(v: &serde_json::Value) -> Option<Hash> {
    Hash::from_slice(&BASE64.decode(v.as_str().unwrap()).unwrap()).ok()
}

fn b64_proof(v: &serde_json::Value) -> Option<Vec<Hash>> {
    v.as_array().unwrap().iter().map(b64).collect()
}

#[test]
fn merkle_inclusion_probes() {
    let probes = vector("merkle_inclusion_1.json");
    for probe in probes.as_array().unwrap() {
        let desc = probe["desc"].as_str().unwrap();
        let want_err = probe["wantErr"].as_bool().unwrap();
        let parsed = (
            b64(&probe["leafHash"]),
            b64(&probe["root"]),
            b64_proof(&probe["proof"]),
        );
        let result = match parsed {
            (Some(leaf), Some(root), Some(proof)) => verify_inclusion(
                &leaf,
                probe["leafIdx"].as_u64().unwrap(),
                probe["treeSize"].as_u64().unwrap(),
                &proof,
                &root,
            ),
            _ => Err(ProofError::WrongLength),
        };
        assert_eq!(result.is_err(), want_err, "probe {desc:?}: {result:?}");
    }
}

#[test]
fn merkle_consistency_probes() {
    let probes = vector("merkle_consistency_1.json");
    for probe in probes.as_array().unwrap() {
        let desc = probe["desc"].as_str().unwrap();
        let want_err = probe["wantErr"].as_bool().unwrap();
        let parsed = (
            b64(&probe["root1"]),
            b64(&probe["root2"]),
            b64_proof(&probe["proof"]),
        );
        let result = match parsed {
            (Some(root1), Some(root2), Some(proof)) => verify_consistency(
                probe["size1"].as_u64().unwrap(),
                probe["size2"].as_u64().unwrap(),
                &root1,
                &root2,
                &proof,
            ),
            _ => Err(ProofError::WrongLength),
        };
        assert_eq!(result.is_err(), want_err, "probe {desc:?}: {result:?}");
    }
}

/// RFC 9162 §2.1.5 (RFC 6962 §2.1.3): the 7-leaf tree with nodes named a..l, its audit
/// paths and consistency proofs, checked by structure over the reference leaves d0..d6.
#[test]
fn rfc9162_example_structure() {
    let d = reference_leaves();
    let (a, b, c, dd, e, f) = (d[0], d[1], d[2], d[3], d[4], d[5]);
    let j = d[6]; // the leaf d6 sits alone under j
    let g = node_hash(&a, &b);
    let h = node_hash(&c, &dd);
    let i = node_hash(&e, &f);
    let k = node_hash(&g, &h);
    let l = node_hash(&i, &j);
    let root = node_hash(&k, &l);
    let leaves = &d[..7];
    assert_eq!(subtree_root(leaves), root);
    assert_eq!(inclusion_proof(leaves, 0, 7).unwrap(), vec![b, h, l]);
    assert_eq!(inclusion_proof(leaves, 3, 7).unwrap(), vec![c, g, l]);
    assert_eq!(inclusion_proof(leaves, 4, 7).unwrap(), vec![f, j, k]);
    assert_eq!(inclusion_proof(leaves, 6, 7).unwrap(), vec![i, k]);
    assert_eq!(consistency_proof(leaves, 3, 7).unwrap(), vec![c, dd, g, l]);
    assert_eq!(consistency_proof(leaves, 4, 7).unwrap(), vec![l]);
    assert_eq!(consistency_proof(leaves, 6, 7).unwrap(), vec![i, j, k]);
    let hash0 = node_hash(&g, &c);
    verify_consistency(3, 7, &hash0, &root, &[c, dd, g, l]).unwrap();
    verify_consistency(4, 7, &k, &root, &[l]).unwrap();
    verify_consistency(6, 7, &node_hash(&k, &i), &root, &[i, j, k]).unwrap();
}

#[test]
fn edge_cases_of_verification() {
    let some = Hash([7; 32]);
    let empty = empty_root();
    // Index out of range, size zero.
    assert!(verify_inclusion(&some, 0, 0, &[], &empty).is_err());
    assert!(verify_inclusion(&some, 1, 1, &[], &some).is_err());
    // Single leaf: root equals leaf, empty proof.
    verify_inclusion(&some, 0, 1, &[], &some).unwrap();
    // Consistency: equal sizes need equal roots and an empty proof; 0 is consistent.
    verify_consistency(0, 0, &empty, &empty, &[]).unwrap();
    verify_consistency(0, 5, &empty, &some, &[]).unwrap();
    verify_consistency(3, 3, &some, &some, &[]).unwrap();
    assert!(verify_consistency(3, 3, &some, &empty, &[]).is_err());
    assert!(verify_consistency(3, 3, &some, &some, &[some]).is_err());
    assert!(verify_consistency(0, 1, &empty, &some, &[some]).is_err());
    assert!(verify_consistency(2, 1, &some, &some, &[]).is_err());
    assert!(verify_consistency(1, 2, &some, &some, &[]).is_err());
}

#[test]
fn proof_text_round_trip_and_strictness() {
    let leaves = reference_leaves();
    let proof = inclusion_proof(&leaves, 5, 8).unwrap();
    let text = format_proof(&proof);
    assert_eq!(text.lines().count(), proof.len());
    assert_eq!(parse_proof(&text).unwrap(), proof);
    assert_eq!(parse_proof("").unwrap(), Vec::<Hash>::new());
    assert!(parse_proof(text.trim_end()).is_err());
    assert!(parse_proof(&format!("{text}\n")).is_err());
    assert!(parse_proof(&text.replace('=', "")).is_err());
    assert!(parse_proof("AAAA\n").is_err());
}
