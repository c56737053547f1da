//! Shared helpers: vector loading, fixed keys, synthetic logs.

use ed25519_dalek::SigningKey;
use punte_log::entry::{EntryBody, EntryKind, KeyRotation, Redaction, SignedEntry};
use punte_log::hash::Hash;
use punte_log::tree::CompactTree;

pub const ORIGIN: &str = "example.org/punte-log";

pub fn vector(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A fixed test key (not a published vector; only used for round trips).
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A log under construction: encoded entries and their activity bytes.
pub struct TestLog {
    pub entries: Vec<Vec<u8>>,
    pub activities: Vec<Vec<u8>>,
    pub tree: CompactTree,
    pub key: SigningKey,
}

impl TestLog {
    pub fn new(key: SigningKey) -> TestLog {
        TestLog {
            entries: Vec::new(),
            activities: Vec::new(),
            tree: CompactTree::new(),
            key,
        }
    }

    pub fn append(&mut self, kind: EntryKind, activity_id: &str, activity: Vec<u8>) -> u64 {
        let index = self.tree.size();
        let body = EntryBody::new(
            ORIGIN,
            index,
            self.tree.root(),
            1_700_000_000_000 + index as i64 * 1000,
            kind,
            activity_id,
            &activity,
            &self.key.verifying_key(),
        );
        let entry = SignedEntry::sign(body, &self.key).unwrap();
        let bytes = entry.encode();
        self.tree.append(punte_log::leaf_hash(&bytes));
        self.entries.push(bytes);
        self.activities.push(activity);
        index
    }

    pub fn append_activity(&mut self, n: u64) -> u64 {
        let id = format!("https://example.org/activities/{n}");
        let body = format!("{{\"id\":\"{id}\",\"type\":\"Create\"}}").into_bytes();
        self.append(EntryKind::Activity, &id, body)
    }

    pub fn rotate(&mut self, new_key: SigningKey) -> u64 {
        let payload = KeyRotation {
            new_key: new_key.verifying_key(),
        }
        .to_bytes();
        let id = format!("urn:punte:key-rotation:{}", self.tree.size());
        let index = self.append(EntryKind::KeyRotation, &id, payload);
        self.key = new_key;
        index
    }

    pub fn redact(&mut self, target: u64, reason: &str) -> u64 {
        let payload = Redaction {
            index: target,
            reason: reason.to_owned(),
        }
        .to_bytes()
        .unwrap();
        let id = format!("urn:punte:redaction:{}", self.tree.size());
        self.append(EntryKind::Redaction, &id, payload)
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }
}
