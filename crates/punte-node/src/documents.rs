//! Create, edit, delete and read versioned documents: one generic path for practices,
//! evaluations and adaptations, each change in one transaction with its signed activity
//! (Create, Update, Delete with a Tombstone) and log entry.

use serde::Serialize;
use serde::de::DeserializeOwned;

use punte_model::{
    Adaptation, AdaptationContent, Evaluation, EvaluationContent, Practice, PracticeContent,
    Validate,
};
use punte_store::documents::{self as docs, DocKind, DocRecord, Page, VersionInfo};
use punte_store::{Connection, timestamp};

use crate::Node;
use crate::error::{NodeError, Result};
use crate::publish::{Audience, LogWriter, Verb};
use punte_protocol::activity::tombstone;
use punte_protocol::objects::{self, ObjectKind};
use punte_protocol::urls::NodeUrls;

/// A versioned document kind: how to build a stored version and keep its indexes.
pub trait Document: Serialize + DeserializeOwned + Clone {
    type Content: Validate + Serialize;
    const KIND: DocKind;
    /// The kind of ActivityStreams object it is published as.
    const OBJECT_KIND: ObjectKind;
    /// The published object (built by `punte_protocol::objects`).
    fn to_object(&self, urls: &NodeUrls) -> serde_json::Value;
    fn build(
        id: String,
        version: u32,
        content: Self::Content,
        created_at: String,
        updated_at: String,
    ) -> Self;
    fn content(&self) -> &Self::Content;
    fn id(&self) -> &str;
    fn version(&self) -> u32;
    fn index(conn: &Connection, id: &str, content: &Self::Content) -> punte_store::Result<()>;
    fn unindex(conn: &Connection, id: &str) -> punte_store::Result<()>;
    /// Checks run inside the write transaction before a version is stored (e.g. that an
    /// evaluation's indicators exist); may fill in defaults.
    fn check(_conn: &Connection, _content: &mut Self::Content) -> Result<()> {
        Ok(())
    }
    /// The document as it may leave the node (disclosure control for evaluations); the
    /// stored version is not changed.
    fn for_publication(&self, _conn: &Connection, _k: u64) -> Result<Self> {
        Ok(self.clone())
    }
    /// [`Document::for_publication`] of a version being published, inside its write
    /// transaction: an evaluation also records how it left the node.
    fn publish(&self, tx: &Connection, k: u64) -> Result<Self> {
        self.for_publication(tx, k)
    }
    /// Who gets this document's activities besides the followers: an adaptation also goes
    /// to the organisation whose practice it adapts.
    fn extra_audience(
        _conn: &Connection,
        _urls: &NodeUrls,
        _content: &Self::Content,
    ) -> Result<Option<Audience>> {
        Ok(None)
    }
    /// [`Document::extra_audience`] of the stored current version of `id` (for its Delete).
    fn extra_audience_of(
        _conn: &Connection,
        _urls: &NodeUrls,
        _id: &str,
    ) -> Result<Option<Audience>> {
        Ok(None)
    }
}

/// The parts of [`Document`] that are the same for every versioned record: building a
/// version from its fields and reading them back.
macro_rules! record_accessors {
    ($content:ty) => {
        fn build(
            id: String,
            version: u32,
            content: $content,
            created_at: String,
            updated_at: String,
        ) -> Self {
            Self {
                id,
                version,
                content,
                created_at,
                updated_at,
            }
        }
        fn content(&self) -> &$content {
            &self.content
        }
        fn id(&self) -> &str {
            &self.id
        }
        fn version(&self) -> u32 {
            self.version
        }
    };
}

impl Document for Practice {
    type Content = PracticeContent;
    const KIND: DocKind = DocKind::Practice;
    const OBJECT_KIND: ObjectKind = ObjectKind::Practice;
    fn to_object(&self, urls: &NodeUrls) -> serde_json::Value {
        objects::practice_to_object(self, urls)
    }
    record_accessors!(PracticeContent);
    fn index(conn: &Connection, id: &str, content: &PracticeContent) -> punte_store::Result<()> {
        docs::index_practice(conn, id, content)
    }
    fn unindex(conn: &Connection, id: &str) -> punte_store::Result<()> {
        docs::unindex_practice(conn, id)
    }
}

impl Document for Evaluation {
    type Content = EvaluationContent;
    const KIND: DocKind = DocKind::Evaluation;
    const OBJECT_KIND: ObjectKind = ObjectKind::Evaluation;
    fn to_object(&self, urls: &NodeUrls) -> serde_json::Value {
        objects::evaluation_to_object(self, urls)
    }
    record_accessors!(EvaluationContent);
    fn index(conn: &Connection, id: &str, content: &EvaluationContent) -> punte_store::Result<()> {
        docs::index_evaluation(conn, id, content)
    }
    fn unindex(conn: &Connection, id: &str) -> punte_store::Result<()> {
        docs::unindex_evaluation(conn, id)
    }
    fn check(conn: &Connection, content: &mut EvaluationContent) -> Result<()> {
        crate::check_evaluation(conn, content)
    }
    fn for_publication(&self, conn: &Connection, k: u64) -> Result<Self> {
        let mut published = self.clone();
        published.content.values = crate::disclosed_evaluation(conn, self, k)?.values;
        Ok(published)
    }
    fn publish(&self, tx: &Connection, k: u64) -> Result<Self> {
        crate::publish_evaluation(tx, self, k)
    }
}

impl Document for Adaptation {
    type Content = AdaptationContent;
    const KIND: DocKind = DocKind::Adaptation;
    const OBJECT_KIND: ObjectKind = ObjectKind::Adaptation;
    fn to_object(&self, urls: &NodeUrls) -> serde_json::Value {
        objects::adaptation_to_object(self, urls)
    }
    record_accessors!(AdaptationContent);
    fn index(_: &Connection, _: &str, _: &AdaptationContent) -> punte_store::Result<()> {
        Ok(())
    }
    fn unindex(_: &Connection, _: &str) -> punte_store::Result<()> {
        Ok(())
    }
    fn extra_audience(
        conn: &Connection,
        urls: &NodeUrls,
        content: &AdaptationContent,
    ) -> Result<Option<Audience>> {
        crate::federation::adaptations::origin_audience(conn, urls, content)
    }
    fn extra_audience_of(conn: &Connection, urls: &NodeUrls, id: &str) -> Result<Option<Audience>> {
        let current: Adaptation = decode(Self::KIND, &docs::get_current(conn, Self::KIND, id)?)?;
        Self::extra_audience(conn, urls, &current.content)
    }
}

/// Refuses `content` when any of its strings (keys included) holds a character XML 1.0 forbids,
/// naming each by its JSON path ([`punte_model::lang::check_json_text_chars`]): such text
/// could not be exported (IATI XML) nor shown faithfully. Run on input, never on stored data.
pub(crate) fn check_text<T: Serialize>(content: &T) -> Result<()> {
    let value = serde_json::to_value(content).map_err(|source| NodeError::Encode {
        what: "document",
        source,
    })?;
    Ok(punte_model::lang::check_json_text_chars(&value)?)
}

pub(crate) fn decode<D: DeserializeOwned>(kind: DocKind, rec: &DocRecord) -> Result<D> {
    serde_json::from_str(&rec.body).map_err(|source| NodeError::Decode {
        what: format!("{} {} version {}", kind.as_str(), rec.id, rec.version),
        source,
    })
}

impl Node {
    /// Stores version 1 of a new document.
    pub fn create<D: Document>(&self, mut content: D::Content) -> Result<D> {
        content.validate()?;
        check_text(&content)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = timestamp(self.now());
        self.change(|tx, log| {
            D::check(tx, &mut content)?;
            let doc = D::build(id.clone(), 1, content, now.clone(), now.clone());
            let body = serde_json::to_string(&doc).map_err(|source| NodeError::Encode {
                what: "document",
                source,
            })?;
            docs::insert_new(tx, D::KIND, &id, &body, &now)?;
            D::index(tx, &id, doc.content())?;
            self.publish_document(tx, log, Verb::Create, &doc)?;
            Ok(doc)
        })
    }

    /// Creates many documents in **one** transaction (a bulk import): all or none, each with
    /// its own signed activity and log entry, one checkpoint at the end.
    pub fn create_many<D: Document>(&self, contents: Vec<D::Content>) -> Result<Vec<D>> {
        for content in &contents {
            content.validate()?;
            check_text(content)?;
        }
        let now = timestamp(self.now());
        self.change(|tx, log| {
            let mut created = Vec::with_capacity(contents.len());
            for mut content in contents {
                let id = uuid::Uuid::now_v7().to_string();
                D::check(tx, &mut content)?;
                let doc = D::build(id.clone(), 1, content, now.clone(), now.clone());
                let body = serde_json::to_string(&doc).map_err(|source| NodeError::Encode {
                    what: "document",
                    source,
                })?;
                docs::insert_new(tx, D::KIND, &id, &body, &now)?;
                D::index(tx, &id, doc.content())?;
                self.publish_document(tx, log, Verb::Create, &doc)?;
                created.push(doc);
            }
            Ok(created)
        })
    }

    /// Stores a new version; `expected` is the version the editor saw (If-Match).
    pub fn update<D: Document>(
        &self,
        id: &str,
        expected: Option<u32>,
        mut content: D::Content,
    ) -> Result<D> {
        content.validate()?;
        check_text(&content)?;
        let now = timestamp(self.now());
        self.change(|tx, log| {
            let current = docs::current_version(tx, D::KIND, id, expected)?;
            let first = docs::get_version(tx, D::KIND, id, 1)?;
            D::check(tx, &mut content)?;
            let doc = D::build(
                id.to_string(),
                current + 1,
                content,
                first.created_at,
                now.clone(),
            );
            let body = serde_json::to_string(&doc).map_err(|source| NodeError::Encode {
                what: "document",
                source,
            })?;
            docs::insert_version(tx, D::KIND, id, current + 1, &body, &now)?;
            D::index(tx, id, doc.content())?;
            self.publish_document(tx, log, Verb::Update, &doc)?;
            Ok(doc)
        })
    }

    /// Marks a document deleted; its versions stay.
    pub fn delete<D: Document>(&self, id: &str, expected: Option<u32>) -> Result<()> {
        let now = timestamp(self.now());
        self.change(|tx, log| {
            let extra = D::extra_audience_of(tx, log.urls(), id)?;
            docs::mark_deleted(tx, D::KIND, id, expected, &now)?;
            D::unindex(tx, id)?;
            let url = log.urls().object(D::OBJECT_KIND.collection(), id);
            let former = D::OBJECT_KIND.former_type();
            let deleted = log.published();
            let (appended, _) = log.activity(Verb::Delete, tombstone(&url, &former, &deleted))?;
            if let Some(audience) = extra {
                log.also_deliver(appended.index, audience)?;
            }
            Ok(())
        })
    }

    /// The current version, or `version` when given (also of a deleted document).
    pub fn get<D: Document>(&self, id: &str, version: Option<u32>) -> Result<D> {
        self.store.read(|conn| {
            let rec = match version {
                Some(v) => docs::get_version(conn, D::KIND, id, v)?,
                None => docs::get_current(conn, D::KIND, id)?,
            };
            decode(D::KIND, &rec)
        })
    }

    pub fn versions<D: Document>(&self, id: &str) -> Result<Vec<VersionInfo>> {
        self.store
            .read(|conn| Ok(docs::list_versions(conn, D::KIND, id)?))
    }

    /// Appends the Create or Update activity of `doc` (as it may leave the node).
    fn publish_document<D: Document>(
        &self,
        tx: &Connection,
        log: &mut LogWriter<'_>,
        verb: Verb,
        doc: &D,
    ) -> Result<()> {
        let published = doc.publish(tx, self.settings.disclosure_k)?;
        let (appended, _) = log.activity(verb, published.to_object(log.urls()))?;
        docs::set_version_entry(tx, D::KIND, doc.id(), doc.version(), appended.index)?;
        if let Some(audience) = D::extra_audience(tx, log.urls(), doc.content())? {
            log.also_deliver(appended.index, audience)?;
        }
        Ok(())
    }

    pub(crate) fn decode_page<D: Document>(page: Page<DocRecord>) -> Result<Page<D>> {
        let items = page
            .items
            .iter()
            .map(|r| decode(D::KIND, r))
            .collect::<Result<Vec<D>>>()?;
        Ok(Page {
            items,
            next_after: page.next_after,
        })
    }
}
