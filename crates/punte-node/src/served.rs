//! What a node serves is what its signed history says (docs/protocol.md "What a node
//! serves"). Each document version records the log entry that published it (migration
//! 0013); before a version is served — as AS2 JSON or on an HTML page — the object it would
//! be published as is compared with the object of that entry. A row edited in the database
//! with no entry (or a version no entry published) is refused, named, and logged, instead of
//! being served unsigned.

use serde_json::Value;

use punte_model::{Adaptation, Evaluation, Practice};
use punte_protocol::jcs;
use punte_protocol::urls::NodeUrls;
use punte_store::Connection;
use punte_store::documents::{self as docs, DocKind};

use crate::Node;
use crate::documents::{Document, decode};
use crate::error::{NodeError, Result};
use crate::logged::logged_object;

/// Log entries read per step while matching versions with their entries.
const BATCH: u64 = 1_000;
/// `node_meta` key: the log size up to which versions were matched with their entries.
const MATCHED_UP_TO: &str = "version_entries_matched_up_to";

/// Checks `published` (a version as it leaves the node) against the object of the entry
/// that published it.
pub(crate) fn check_served<D: Document>(
    conn: &Connection,
    urls: &NodeUrls,
    published: &D,
) -> Result<()> {
    let what = format!(
        "{} {} version {}",
        D::KIND.as_str(),
        published.id(),
        published.version()
    );
    let Some(index) = docs::version_entry(conn, D::KIND, published.id(), published.version())?
    else {
        return Err(NodeError::Unlogged {
            what,
            why: "no entry of the signed history published it".to_owned(),
        });
    };
    match logged_object(conn, index)? {
        Err(reason) => Err(NodeError::Erased { what, reason }),
        // compared as signed: canonical JSON (JCS writes 35.0 as 35)
        Ok((_, logged))
            if jcs::canonicalize(&logged)? == jcs::canonicalize(&published.to_object(urls))? =>
        {
            Ok(())
        }
        Ok(_) => Err(NodeError::Unlogged {
            what,
            why: format!("it differs from the object of log entry {index}, which published it"),
        }),
    }
}

impl Node {
    /// [`check_served`] for a version about to be served, logging a refusal for the
    /// operator.
    pub fn check_served<D: Document>(&self, conn: &Connection, published: &D) -> Result<()> {
        let urls = NodeUrls::new(&self.settings().base_url)?;
        let checked = check_served(conn, &urls, published);
        if let Err(e @ NodeError::Unlogged { .. }) = &checked {
            tracing::error!(error = %e, "refused to serve a document that is not what the signed history says; run `punte check`");
        }
        checked
    }

    /// Every live document whose current version is not what the signed history says, and a
    /// coordinator's membership table when it is not, with why (for `punte check`).
    pub fn unlogged_documents(&self) -> Result<Vec<NodeError>> {
        let urls = NodeUrls::new(&self.settings().base_url)?;
        let k = self.settings().disclosure_k;
        let mut found = self.store().read(|conn| {
            let mut found = Vec::new();
            collect_unlogged::<Practice>(conn, &urls, k, &mut found)?;
            collect_unlogged::<Evaluation>(conn, &urls, k, &mut found)?;
            collect_unlogged::<Adaptation>(conn, &urls, k, &mut found)?;
            Ok::<_, NodeError>(found)
        })?;
        // a coordinator's membership list, read from its log and checked against the table
        if let Err(e @ NodeError::Unlogged { .. }) = self.published_membership() {
            found.push(e);
        }
        Ok(found)
    }

    /// Matches document versions stored before migration 0013 with the log entries that
    /// published them: one pass over the log entries not matched yet, in one transaction.
    /// Nothing to do on an up-to-date node.
    pub(crate) fn match_version_entries(&self) -> Result<()> {
        let Some(state) = self.store().read(punte_store::log::state)? else {
            return Ok(());
        };
        let from: u64 = self
            .store()
            .read(|conn| punte_store::meta::get(conn, MATCHED_UP_TO))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if from >= state.size || !self.store().read(docs::versions_without_entry)? {
            return Ok(());
        }
        let urls = NodeUrls::new(&self.settings().base_url)?;
        let prefixes: Vec<(DocKind, String)> = [
            (DocKind::Practice, Practice::OBJECT_KIND),
            (DocKind::Evaluation, Evaluation::OBJECT_KIND),
            (DocKind::Adaptation, Adaptation::OBJECT_KIND),
        ]
        .into_iter()
        .map(|(kind, object)| (kind, urls.object(object.collection(), "")))
        .collect();
        let matched = self.store().write(|tx| {
            let mut matched = 0_u64;
            let mut start = from;
            while start < state.size {
                let end = state.size.min(start + BATCH);
                for e in punte_store::log::entries(tx, start, end)? {
                    let Some(bytes) = &e.activity else { continue };
                    let Ok(activity) = serde_json::from_slice::<Value>(bytes) else {
                        continue;
                    };
                    if !matches!(
                        activity.get("type").and_then(Value::as_str),
                        Some("Create" | "Update")
                    ) {
                        continue;
                    }
                    let object = activity.get("object");
                    let id = object.and_then(|o| o.get("id")).and_then(Value::as_str);
                    let version = object
                        .and_then(|o| o.get("version"))
                        .and_then(Value::as_u64)
                        .and_then(|v| u32::try_from(v).ok());
                    let (Some(id), Some(version)) = (id, version) else {
                        continue;
                    };
                    let Some((kind, local)) = prefixes
                        .iter()
                        .find_map(|(kind, p)| id.strip_prefix(p.as_str()).map(|l| (*kind, l)))
                    else {
                        continue;
                    };
                    match docs::set_version_entry(tx, kind, local, version, e.index) {
                        Ok(()) => matched += 1,
                        Err(punte_store::StoreError::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                start = end;
            }
            punte_store::meta::set(tx, MATCHED_UP_TO, &state.size.to_string())?;
            Ok::<_, NodeError>(matched)
        })?;
        tracing::info!(
            versions = matched,
            "matched earlier document versions with the log entries that published them"
        );
        Ok(())
    }
}

fn collect_unlogged<D: Document>(
    conn: &Connection,
    urls: &NodeUrls,
    k: u64,
    found: &mut Vec<NodeError>,
) -> Result<()> {
    for rec in docs::all_current(conn, D::KIND)? {
        let doc: D = decode(D::KIND, &rec)?;
        let published = doc.for_publication(conn, k)?;
        if let Err(e @ (NodeError::Unlogged { .. } | NodeError::Erased { .. })) =
            check_served(conn, urls, &published)
        {
            found.push(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::NodeSettings;

    fn open(dir: &std::path::Path) -> Node {
        Node::open(NodeSettings {
            data_dir: dir.join("data"),
            base_url: "https://ngo.example.org".into(),
            disclosure_k: 5,
        })
        .unwrap()
    }

    #[test]
    fn versions_of_an_older_node_are_matched_with_their_entries_and_an_edit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let node = open(dir.path());
        let content: punte_model::practice::PracticeContent =
            serde_json::from_value(serde_json::json!({
                "title": {"en": "Mentoring"}, "summary": {"en": "s"}, "problem": {"en": "p"},
                "solution": {"en": "s"}, "originalLanguage": "en", "country": "RO",
                "maturity": "promising"
            }))
            .unwrap();
        let p: Practice = node.create(content.clone()).unwrap();
        let p2: Practice = node.update(&p.id, Some(1), content).unwrap();
        let check = |node: &Node, doc: &Practice| node.store().read(|c| node.check_served(c, doc));
        check(&node, &p).unwrap();
        check(&node, &p2).unwrap();
        // As a database written before migration 0013: no entry recorded.
        node.store()
            .write(|tx| {
                tx.execute_batch(
                    "UPDATE document_versions SET log_index = NULL;
                     DELETE FROM node_meta WHERE key = 'version_entries_matched_up_to';",
                )
                .map_err(punte_store::StoreError::from)
            })
            .unwrap();
        assert!(matches!(check(&node, &p2), Err(NodeError::Unlogged { .. })));
        drop(node);
        let node = open(dir.path());
        check(&node, &p).unwrap();
        check(&node, &p2).unwrap();
        assert!(node.unlogged_documents().unwrap().is_empty());
        // An edit in the database, with no entry: refused, and found.
        node.store()
            .write(|tx| {
                tx.execute_batch(
                    "UPDATE document_versions SET body = json_set(body, '$.title.en', 'Edited')",
                )
                .map_err(punte_store::StoreError::from)
            })
            .unwrap();
        let edited: Practice = node.get(&p.id, None).unwrap();
        assert!(matches!(
            check(&node, &edited),
            Err(NodeError::Unlogged { .. })
        ));
        let found = node.unlogged_documents().unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .to_string()
                .contains(&format!("practice {} version 2", p.id))
        );
    }
}
