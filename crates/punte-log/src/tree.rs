//! RFC 9162 Merkle tree: the compact accumulator, roots, proof generation and verification.
//!
//! Proof generation follows RFC 9162 §2.1.3.1 and §2.1.4.1; verification follows the
//! algorithms of §2.1.3.2 and §2.1.4.2 step by step. Sizes and indexes are `u64`.

use crate::hash::{Hash, empty_root, node_hash};

/// Why a proof was rejected (or could not be generated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old size is larger than the new size.
    #[error("old size {old} is larger than new size {new}")]
    SizesReversed { old: u64, new: u64 },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has the wrong length")]
    WrongLength,
    /// The recomputed root does not equal the expected root.
    #[error("root mismatch")]
    RootMismatch,
    /// The store could not give the hashes needed for the proof.
    #[error("hash store failed: {0}")]
    Store(String),
}

/// A compact Merkle tree accumulator (a "compact range" from index 0): the roots of the
/// perfect subtrees that make up the tree, largest first. It holds O(log n) hashes and
/// gives the root of the current size without the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// One hash per set bit of `size`, from the most significant bit (leftmost subtree) to
    /// the least significant bit (rightmost, smallest subtree).
    frontier: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> CompactTree {
        CompactTree::default()
    }

    /// Rebuilds an accumulator from a stored frontier (as given by [`CompactTree::frontier`]).
    /// Returns `None` if the number of hashes is not the number of set bits of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Option<CompactTree> {
        (frontier.len() == size.count_ones() as usize).then_some(CompactTree { size, frontier })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Appends one leaf hash (already `leaf_hash`ed).
    pub fn append(&mut self, leaf: Hash) {
        let mut carry = leaf;
        // Each trailing one bit of the old size is a subtree of equal height to merge with.
        for _ in 0..self.size.trailing_ones() {
            match self.frontier.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break,
            }
        }
        self.frontier.push(carry);
        self.size += 1;
    }

    /// Root of the tree at the current size (`SHA-256("")` when empty).
    pub fn root(&self) -> Hash {
        let mut iter = self.frontier.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// Root of the tree whose leaves are `leaves` (MTH of RFC 9162 §2.1.1). Works for any
/// range of leaves, so it also gives the hash of any subtree.
pub fn subtree_root(leaves: &[Hash]) -> Hash {
    let mut tree = CompactTree::new();
    for leaf in leaves {
        tree.append(*leaf);
    }
    tree.root()
}

/// A source of leaf-range hashes for proof generation, so a database can serve proofs
/// without loading every leaf. `range_root(start, end)` must return the Merkle root of
/// leaves `start..end` (MTH of that range); proof generation only asks for ranges that
/// appear in the RFC 9162 decomposition, each with `start < end <= size` and `start` a
/// multiple of the largest power of two not exceeding `end - start`, so a store can answer
/// from cached complete subtrees plus at most O(log n) leaves.
pub trait RangeHashes {
    /// Error of the underlying store.
    type Error: std::fmt::Display;
    /// Merkle root of leaves `start..end`.
    fn range_root(&self, start: u64, end: u64) -> Result<Hash, Self::Error>;
}

impl RangeHashes for [Hash] {
    type Error = std::convert::Infallible;
    fn range_root(&self, start: u64, end: u64) -> Result<Hash, Self::Error> {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        Ok(subtree_root(self.get(start..end).unwrap_or(&[])))
    }
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Root of the first `size` leaves.
pub fn root_of(leaves: &[Hash], size: u64) -> Result<Hash, ProofError> {
    let end = usize::try_from(size).map_err(|_| ProofError::WrongLength)?;
    let slice = leaves.get(..end).ok_or(ProofError::IndexOutOfRange {
        index: size,
        size: leaves.len() as u64,
    })?;
    Ok(subtree_root(slice))
}

/// Inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf `index` in the tree of the first
/// `size` leaves of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    if size > leaves.len() as u64 {
        return Err(ProofError::IndexOutOfRange {
            index: size,
            size: leaves.len() as u64,
        });
    }
    inclusion_proof_from(leaves, index, size)
}

/// Inclusion proof of leaf `index` in the tree of size `size`, asking `store` for ranges.
pub fn inclusion_proof_from<S: RangeHashes + ?Sized>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Collect the ranges bottom-up order (deepest first), as PATH produces them.
    let mut ranges = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            m -= k;
        }
    }
    ranges
        .iter()
        .rev()
        .map(|&(a, b)| {
            store
                .range_root(a, b)
                .map_err(|e| ProofError::Store(e.to_string()))
        })
        .collect()
}

/// Consistency proof (RFC 9162 §2.1.4.1 PROOF) between the first `old` and the first `new`
/// leaves of `leaves`. Empty when `old == 0` or `old == new`.
pub fn consistency_proof(leaves: &[Hash], old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
    if new > leaves.len() as u64 {
        return Err(ProofError::IndexOutOfRange {
            index: new,
            size: leaves.len() as u64,
        });
    }
    consistency_proof_from(leaves, old, new)
}

/// Consistency proof between sizes `old` and `new`, asking `store` for ranges.
pub fn consistency_proof_from<S: RangeHashes + ?Sized>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::SizesReversed { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start..end], b), iteratively; ranges collected top-down then reversed.
    let mut ranges = Vec::new();
    let (mut start, mut end, mut m, mut complete) = (0u64, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                ranges.push((start, end));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            m -= k;
            complete = false;
        }
    }
    ranges
        .iter()
        .rev()
        .map(|&(a, b)| {
            store
                .range_root(a, b)
                .map_err(|e| ProofError::Store(e.to_string()))
        })
        .collect()
}

/// Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    // 1. leaf_index must be below tree_size.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2.-3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    // 4.
    for p in proof {
        // a.
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        // b.
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        // c.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Verifies an inclusion proof of `leaf` (a leaf hash) at `index` in a tree of `size`
/// with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof between (`old_size`, `old_root`) and (`new_size`,
/// `new_root`) (RFC 9162 §2.1.4.2). Sizes 0 and equal sizes require an empty proof
/// (and, for equal sizes, equal roots).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == 0 {
        // The empty tree is consistent with every tree.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength)
        };
    }
    // 1. An empty path fails.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::WrongLength);
    };
    // 2. If first is an exact power of 2, prepend first_hash to the path.
    let (c0, rest): (&Hash, &[Hash]) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // 3.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    // 4.
    if fn_ & 1 == 1 {
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
    }
    // 5.
    let mut fr = *c0;
    let mut sr = *c0;
    // 6.
    for c in rest {
        // a.
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        // b.
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // c.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Formats a proof as text: one standard base64 hash per line, each line ending in `\n`
/// (the empty proof is the empty string).
pub fn format_proof(proof: &[Hash]) -> String {
    let mut out = String::with_capacity(proof.len() * 45);
    for hash in proof {
        out.push_str(&hash.to_base64());
        out.push('\n');
    }
    out
}

/// Maximum number of hashes in a proof text (two per tree level of a 2^64 tree).
pub const MAX_PROOF_HASHES: usize = 128;

/// Parses the text form of [`format_proof`] strictly: every line, including the last,
/// ends in `\n`, holds exactly one padded base64 32-byte hash, and there are no blank lines.
pub fn parse_proof(text: &str) -> Result<Vec<Hash>, ProofTextError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err(ProofTextError::MissingFinalNewline);
    };
    let mut out = Vec::new();
    for (number, line) in body.split('\n').enumerate() {
        if out.len() >= MAX_PROOF_HASHES {
            return Err(ProofTextError::TooLong);
        }
        let hash = Hash::from_base64(line).map_err(|_| ProofTextError::BadLine(number + 1))?;
        out.push(hash);
    }
    Ok(out)
}

/// A proof text that is not one base64 hash per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofTextError {
    /// The last line does not end in a newline.
    #[error("proof text does not end in a newline")]
    MissingFinalNewline,
    /// A line is not a base64 32-byte hash.
    #[error("proof line {0} is not a base64 hash")]
    BadLine(usize),
    /// More hashes than any valid proof has.
    #[error("proof has too many hashes")]
    TooLong,
}
