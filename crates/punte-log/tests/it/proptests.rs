//! Property tests: every generated proof verifies; every single mutation fails.

use proptest::prelude::*;
use punte_log::hash::{Hash, leaf_hash};
use punte_log::tree::{
    CompactTree, consistency_proof, inclusion_proof, subtree_root, verify_consistency,
    verify_inclusion,
};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

proptest! {
    #[test]
    fn compact_tree_matches_recursive_root(n in 0u64..300) {
        let leaves = leaves(n);
        let mut tree = CompactTree::new();
        for leaf in &leaves { tree.append(*leaf); }
        prop_assert_eq!(tree.root(), subtree_root(&leaves));
    }

    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(
        size in 1u64..200, index_seed in any::<u64>(), pick in any::<usize>(), bit in 0u8..8,
    ) {
        let leaves = leaves(size);
        let index = index_seed % size;
        let root = subtree_root(&leaves);
        let leaf = leaves[index as usize];
        let proof = inclusion_proof(&leaves, index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());

        if !proof.is_empty() {
            let mut flipped = proof.clone();
            let at = pick % proof.len();
            flipped[at].0[pick % 32] ^= 1 << bit;
            prop_assert!(verify_inclusion(&leaf, index, size, &flipped, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        let mut bad_leaf = leaf;
        bad_leaf.0[pick % 32] ^= 1 << bit;
        prop_assert!(verify_inclusion(&bad_leaf, index, size, &proof, &root).is_err());
        if size > 1 {
            let other = (index + 1 + (pick as u64 % (size - 1))) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        // A different size, with the true root of that size, is a different tree.
        let all = self::leaves(size + 64);
        let other_size = index + 1 + (pick as u64 % (size + 63 - index));
        if other_size != size {
            let other_root = subtree_root(&all[..other_size as usize]);
            prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_mutations_fail(
        new in 2u64..200, old_seed in any::<u64>(), pick in any::<usize>(), bit in 0u8..8,
    ) {
        let leaves = leaves(new);
        let old = 1 + old_seed % (new - 1); // 1..new, so the proof is non-empty
        let old_root = subtree_root(&leaves[..old as usize]);
        let new_root = subtree_root(&leaves);
        let proof = consistency_proof(&leaves, old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        prop_assert!(!proof.is_empty());

        let mut flipped = proof.clone();
        let at = pick % proof.len();
        flipped[at].0[pick % 32] ^= 1 << bit;
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &flipped).is_err());
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[..proof.len() - 1]).is_err());
        let mut longer = proof.clone();
        longer.push(new_root);
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
        let mut bad_root = old_root;
        bad_root.0[pick % 32] ^= 1 << bit;
        prop_assert!(verify_consistency(old, new, &bad_root, &new_root, &proof).is_err());
        // Different sizes, each with the true root of that size.
        let all = self::leaves(new + 64);
        let root = |n: u64| subtree_root(&all[..n as usize]);
        let other_new = old + 1 + (pick as u64 % (new + 63 - old));
        if other_new != new {
            prop_assert!(verify_consistency(old, other_new, &old_root, &root(other_new), &proof).is_err());
        }
        let other_old = 1 + (pick as u64 % (new - 1));
        if other_old != old {
            prop_assert!(verify_consistency(other_old, new, &root(other_old), &new_root, &proof).is_err());
        }
    }
}
