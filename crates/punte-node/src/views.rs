//! Read-only views for the web interface that the served log routes and the admin API do not
//! need: the identity key history with the index range each key signed, and the adaptations
//! whose origin is a given practice. Nothing here writes.

use punte_model::Adaptation;
use punte_store::documents::{self as docs, DocKind};
use punte_store::log as store;

pub use punte_store::log::KeyRecord;

use crate::Node;
use crate::documents;
use crate::error::Result;

impl Node {
    /// Every identity key in the key history, oldest first, each with the first log index it
    /// signed and the index of the rotation entry that retired it (that entry is still signed
    /// by the old key). Empty before the first entry.
    pub fn log_key_history(&self) -> Result<Vec<KeyRecord>> {
        Ok(self.store.read(store::keys)?)
    }

    /// The current version of every adaptation (not deleted) whose origin is the local
    /// practice `id`, named by its id or by its URL on this node; oldest first.
    pub fn adaptations_of_practice(&self, id: &str) -> Result<Vec<Adaptation>> {
        let url = punte_protocol::urls::NodeUrls::new(&self.settings.base_url)?.object(
            punte_protocol::objects::ObjectKind::Practice.collection(),
            id,
        );
        let records = self
            .store
            .read(|conn| docs::all_current(conn, DocKind::Adaptation))?;
        let mut out = Vec::new();
        for record in &records {
            let adaptation: Adaptation = documents::decode(DocKind::Adaptation, record)?;
            let origin = adaptation.content.origin.practice.as_str();
            if origin == id || origin == url {
                out.push(adaptation);
            }
        }
        Ok(out)
    }
}
