//! Entry envelope checks across the public API (signing with the node key, leaf hashes).

use punte_log::entry::{EntryKind, SignedEntry};

use crate::support::{TestLog, key};

#[test]
fn entries_chain_prev_roots_and_verify() {
    let mut log = TestLog::new(key(1));
    for n in 0..10 {
        log.append_activity(n);
    }
    let mut tree = punte_log::CompactTree::new();
    for bytes in &log.entries {
        let entry = SignedEntry::decode(bytes).unwrap();
        assert_eq!(entry.body.prev_root, tree.root());
        assert_eq!(entry.body.index, tree.size());
        assert_eq!(entry.body.kind, EntryKind::Activity);
        let verified = entry.verify(&key(1).verifying_key()).unwrap();
        tree.append(verified.leaf_hash());
    }
    assert_eq!(tree.root(), log.root());
}
