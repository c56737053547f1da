//! Punte's use-cases: everything an organisation does with its node, independent of HTTP.
//!
//! [`Node`] owns the store and the keys. Each change runs in one store transaction; the HTTP
//! server and the CLI both call these methods, so both obey the same rules.

pub mod analysis;
mod documents;
mod error;
pub mod federation;
pub mod iati;
mod indicators;
pub mod keys;
mod log;
mod logged;
pub mod publish;
#[cfg(test)]
mod published_tests;
mod self_check;
mod served;
mod tokens;
pub mod views;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use punte_model::{
    Adaptation, Evaluation, EvaluationContent, OrganisationProfile, Practice, Validate,
    ValidationErrors,
};
use punte_store::Store;
use punte_store::documents as docs;

pub use documents::Document;
pub use error::{NodeError, Result};
// membership and witnessing are federation services; their paths stay where callers know them
pub use federation::{membership, witness};
pub use indicators::parse_indicator_csv;
pub use keys::NodeKeys;
pub use log::{EntriesPage, KeysSummary, MAX_ENTRIES_PAGE, OUTBOX_PAGE_SIZE, OutboxPage, Rotated};
pub use punte_store::documents::{DocKind, EvaluationFilter, Page, PracticeFilter, VersionInfo};
pub use punte_store::log::StoredEntry;
pub use self_check::{LogCheck, SELF_CHECK};
pub use tokens::{Role, TokenPrincipal};

/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "punte.db";
/// Folder of key files inside the data directory.
pub const KEYS_DIR: &str = "keys";
/// Lock file held by a running `punte serve`.
pub const SERVE_LOCK_FILE: &str = "serve.lock";
/// Most items in one page of a list.
pub const MAX_PAGE: u32 = 200;

/// What a node needs to open.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub data_dir: PathBuf,
    /// The public URL ids are built on, without a trailing slash (`https://ngo.example.org`).
    pub base_url: String,
    /// Disclosure-control threshold: cells below `k` never leave the node.
    pub disclosure_k: u64,
}

/// One organisation's node.
#[derive(Debug)]
pub struct Node {
    settings: NodeSettings,
    store: Store,
    /// Behind a lock because `punte keys rotate` replaces the identity key.
    keys: RwLock<NodeKeys>,
    /// Woken after a change queued deliveries.
    delivery_wakeup: tokio::sync::Notify,
}

/// Creates the data directory with mode 0700 if missing.
fn prepare_data_dir(dir: &Path) -> Result<()> {
    let err = |source| NodeError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(err)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        }
    }
    Ok(())
}

const META_ORGANISATION: &str = "organisation";
/// When the organisation profile last changed (RFC 3339), for the IATI export.
const META_ORGANISATION_UPDATED: &str = "organisation_updated_at";
const META_BASE_URL: &str = "base_url";

/// The public base URL stored by `punte init`, if any (read before opening a node).
pub fn stored_base_url(data_dir: &Path) -> Result<Option<String>> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let store = Store::open(&path)?;
    let url = store.read(|conn| punte_store::meta::get(conn, META_BASE_URL))?;
    Ok(url)
}

impl Node {
    /// Opens the node in `settings.data_dir`, creating the directory, keys and database on
    /// first use and applying database migrations.
    pub fn open(settings: NodeSettings) -> Result<Self> {
        prepare_data_dir(&settings.data_dir)?;
        let keys = NodeKeys::load_or_create(&settings.data_dir.join(KEYS_DIR))?;
        let store = Store::open(&settings.data_dir.join(DATABASE_FILE))?;
        let node = Self {
            settings,
            store,
            keys: RwLock::new(keys),
            delivery_wakeup: tokio::sync::Notify::new(),
        };
        node.finish_interrupted_rotation()?;
        node.record_unrecorded_evaluations()?;
        node.match_version_entries()?;
        Ok(node)
    }

    /// Records how each evaluation version stored by an older node was published (decided
    /// again, in order, with the current `k`), so that every later read and every next
    /// version uses one fixed record. One transaction; nothing to do on an up-to-date node.
    fn record_unrecorded_evaluations(&self) -> Result<()> {
        let k = self.settings.disclosure_k;
        let pending = self.store.read(docs::unrecorded_evaluation_versions)?;
        if pending.is_empty() {
            return Ok(());
        }
        self.store.write(|tx| {
            for (id, version) in &pending {
                let rec = docs::get_version(tx, DocKind::Evaluation, id, *version)?;
                let evaluation: Evaluation = documents::decode(DocKind::Evaluation, &rec)?;
                publish_evaluation(tx, &evaluation, k)?;
            }
            Ok::<_, NodeError>(())
        })?;
        tracing::info!(
            versions = pending.len(),
            "recorded how earlier evaluation versions were published"
        );
        Ok(())
    }

    /// Takes the data directory's serve lock: one `punte serve` per data directory. The lock
    /// is released when the returned file is dropped (or the process dies).
    pub fn lock_for_serving(&self) -> Result<File> {
        let path = self.settings.data_dir.join(SERVE_LOCK_FILE);
        let file = File::create(&path).map_err(|source| NodeError::DataDir {
            path: path.display().to_string(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(NodeError::Locked(
                self.settings.data_dir.display().to_string(),
            )),
            Err(std::fs::TryLockError::Error(source)) => Err(NodeError::DataDir {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn settings(&self) -> &NodeSettings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn keys(&self) -> RwLockReadGuard<'_, NodeKeys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a change in one write transaction together with its log entries: `f` writes the
    /// change and appends its activities to the [`publish::LogWriter`]; the new tree state
    /// and checkpoint are written before the commit. Any error rolls everything back.
    pub(crate) fn change<T>(
        &self,
        f: impl FnOnce(&punte_store::Transaction<'_>, &mut publish::LogWriter<'_>) -> Result<T>,
    ) -> Result<T> {
        self.change_as(f)
    }

    /// [`Node::change`] with the caller's error type.
    pub(crate) fn change_as<T, E>(
        &self,
        f: impl FnOnce(&punte_store::Transaction<'_>, &mut publish::LogWriter<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<NodeError> + From<punte_store::StoreError>,
    {
        let now = self.now();
        self.store
            .write(|tx| {
                witness::check_append_allowed(tx)?;
                let key = self.signing_key_for(tx)?;
                let mut log = publish::LogWriter::open(tx, key, &self.settings.base_url, now)?;
                let value = f(tx, &mut log)?;
                let deliveries = log.has_deliveries();
                log.finish()?;
                Ok((value, deliveries))
            })
            .map(|(value, deliveries)| {
                if deliveries {
                    self.wake_delivery();
                }
                value
            })
    }

    /// Wakes the delivery worker (new deliveries were committed).
    pub fn wake_delivery(&self) {
        self.delivery_wakeup.notify_one();
    }

    /// Waits until [`Node::wake_delivery`] is called (or was, since the last wait).
    pub async fn delivery_woken(&self) {
        self.delivery_wakeup.notified().await;
    }

    /// Closes the database cleanly (checkpointing the WAL).
    pub fn close(self) -> Result<()> {
        Ok(self.store.close()?)
    }

    pub(crate) fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    // ----- organisation -----

    /// When the organisation profile last changed (RFC 3339); none when it was set before
    /// the node recorded it.
    pub fn organisation_updated_at(&self) -> Result<Option<String>> {
        self.store
            .read(|conn| Ok(punte_store::meta::get(conn, META_ORGANISATION_UPDATED)?))
    }

    pub fn organisation(&self) -> Result<Option<OrganisationProfile>> {
        self.store.read(|conn| {
            let Some(json) = punte_store::meta::get(conn, META_ORGANISATION)? else {
                return Ok(None);
            };
            serde_json::from_str(&json)
                .map(Some)
                .map_err(|source| NodeError::Decode {
                    what: "organisation profile".into(),
                    source,
                })
        })
    }

    /// Records the public base URL `punte serve` uses when none is configured.
    pub fn set_base_url(&self, url: &str) -> Result<()> {
        self.store
            .write(|tx| Ok(punte_store::meta::set(tx, META_BASE_URL, url)?))
    }

    pub fn set_organisation(&self, profile: &OrganisationProfile) -> Result<()> {
        profile.validate()?;
        documents::check_text(profile)?;
        let json = serde_json::to_string(profile).map_err(|source| NodeError::Encode {
            what: "organisation",
            source,
        })?;
        let updated = punte_store::timestamp(self.now());
        self.change(|tx, log| {
            punte_store::meta::set(tx, META_ORGANISATION, &json)?;
            punte_store::meta::set(tx, META_ORGANISATION_UPDATED, &updated)?;
            let mut object = serde_json::Map::new();
            object.insert("id".into(), log.urls().actor().into());
            object.insert("type".into(), "Organization".into());
            object.extend(punte_protocol::objects::organisation_fields(profile));
            log.activity(publish::Verb::Update, object.into())?;
            Ok(())
        })
    }

    // ----- lists (create, edit, delete and read are generic: `create::<Practice>` etc.) -----

    pub fn list_practices(
        &self,
        filter: &PracticeFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<Practice>> {
        let page = self
            .store
            .read(|conn| docs::list_practices(conn, filter, after, limit.clamp(1, MAX_PAGE)))?;
        Self::decode_page(page)
    }

    pub fn list_evaluations(
        &self,
        filter: &EvaluationFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<Evaluation>> {
        let page = self
            .store
            .read(|conn| docs::list_evaluations(conn, filter, after, limit.clamp(1, MAX_PAGE)))?;
        Self::decode_page(page)
    }

    pub fn list_adaptations(&self, after: Option<i64>, limit: u32) -> Result<Page<Adaptation>> {
        let page = self
            .store
            .read(|conn| docs::list_adaptations(conn, after, limit.clamp(1, MAX_PAGE)))?;
        Self::decode_page(page)
    }

    /// An evaluation as it may leave the node: disclosure control applied to its values.
    pub fn evaluation_for_publication(&self, id: &str) -> Result<Evaluation> {
        Ok(self.evaluation_disclosure(id)?.0)
    }

    /// [`Node::evaluation_for_publication`] with, per value, why it is blank (for the
    /// organisation's own pages only: the reasons name small sizes).
    pub fn evaluation_disclosure(
        &self,
        id: &str,
    ) -> Result<(Evaluation, Vec<Option<punte_model::disclosure::Reason>>)> {
        let mut evaluation: Evaluation = self.get(id, None)?;
        let k = self.settings.disclosure_k;
        let disclosure = self
            .store
            .read(|conn| disclosed_evaluation(conn, &evaluation, k))?;
        evaluation.content.values = disclosure.values;
        Ok((evaluation, disclosure.reasons))
    }

    /// What partners would see of `content` published as a new evaluation, or as the next
    /// version of evaluation `id`, and why each blank value is blank. Nothing is stored.
    pub fn preview_evaluation(
        &self,
        id: Option<&str>,
        mut content: punte_model::evaluation::EvaluationContent,
    ) -> Result<DisclosurePreview> {
        use punte_model::Validate as _;
        content.validate()?;
        let k = self.settings.disclosure_k;
        let now = punte_store::timestamp(self.now());
        self.store.read(|conn| {
            check_evaluation(conn, &mut content)?;
            let (id, version) = match id {
                Some(id) => (
                    id.to_string(),
                    docs::current_version(conn, DocKind::Evaluation, id, None)? + 1,
                ),
                None => (String::new(), 1),
            };
            let evaluation = Evaluation {
                id,
                version,
                content,
                created_at: now.clone(),
                updated_at: now,
            };
            let disclosure = disclosed_evaluation(conn, &evaluation, k)?;
            Ok(DisclosurePreview {
                k,
                version,
                values: disclosure.values,
                reasons: disclosure.reasons,
            })
        })
    }

    // ----- export -----

    /// The whole node as one JSON document: organisation, indicators, and the current version
    /// of every practice, evaluation and adaptation.
    pub fn export(&self) -> Result<serde_json::Value> {
        let organisation = self.organisation()?;
        let (practices, evaluations, adaptations, indicators) =
            self.store.read(|conn| -> Result<_> {
                let parse = |kind| -> Result<Vec<serde_json::Value>> {
                    docs::all_current(conn, kind)?
                        .iter()
                        .map(|r| documents::decode(kind, r))
                        .collect()
                };
                let indicators = indicators::all(conn)?;
                Ok((
                    parse(DocKind::Practice)?,
                    parse(DocKind::Evaluation)?,
                    parse(DocKind::Adaptation)?,
                    indicators,
                ))
            })?;
        Ok(serde_json::json!({
            "format": "punte-export/v1",
            "baseUrl": self.settings.base_url,
            "exportedAt": punte_store::timestamp(self.now()),
            "organisation": organisation,
            "indicators": indicators,
            "practices": practices,
            "evaluations": evaluations,
            "adaptations": adaptations,
        }))
    }
}

/// What [`Node::preview_evaluation`] answers: the values as partners would receive them
/// (version `version`, threshold `k`) and, per value, why it is blank.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosurePreview {
    pub k: u64,
    pub version: u32,
    pub values: Vec<punte_model::evaluation::IndicatorValue>,
    pub reasons: Vec<Option<punte_model::disclosure::Reason>>,
}

/// How `evaluation` leaves the node under threshold `k`: the values as published and why each
/// blank one is blank. A version already published is read as it was published (table
/// `published_evaluations`, with the `k` of that day); a new version is decided against every
/// earlier version as it was published.
pub(crate) fn disclosed_evaluation(
    conn: &punte_store::Connection,
    evaluation: &punte_model::evaluation::Evaluation,
    k: u64,
) -> Result<punte_model::disclosure::Disclosure> {
    // (a preview of a new evaluation has no id, so no record)
    if let Some((published, reasons)) = published_version(conn, &evaluation.id, evaluation.version)?
    {
        return Ok(punte_model::disclosure::Disclosure {
            values: published.content.values,
            reasons,
        });
    }
    let mut earlier: Vec<punte_model::evaluation::Evaluation> = Vec::new();
    for version in 1..evaluation.version {
        let e = match published_version(conn, &evaluation.id, version)? {
            Some((published, _)) => published,
            // stored before published versions were recorded: decide it again
            None => {
                let rec = docs::get_version(conn, DocKind::Evaluation, &evaluation.id, version)?;
                let mut e: punte_model::evaluation::Evaluation =
                    documents::decode(DocKind::Evaluation, &rec)?;
                e.content.values = disclose_against(conn, &e, k, &earlier)?.values;
                e
            }
        };
        earlier.push(e);
    }
    disclose_against(conn, evaluation, k, &earlier)
}

/// [`punte_model::disclosure::disclose`] of `evaluation` against its `earlier` versions as
/// they were published.
fn disclose_against(
    conn: &punte_store::Connection,
    evaluation: &punte_model::evaluation::Evaluation,
    k: u64,
    earlier: &[punte_model::evaluation::Evaluation],
) -> Result<punte_model::disclosure::Disclosure> {
    use punte_model::disclosure::{Published, disclose};
    let definitions = indicators::definitions_for(conn, &evaluation.content.values)?;
    let published: Vec<Published<'_>> = earlier.iter().map(Published::of).collect();
    Ok(disclose(
        &evaluation.content.values,
        k,
        Some(&evaluation.content.period),
        &published,
        |r| definitions.get(r).map(|d| d.measure),
    ))
}

/// Version `version` of evaluation `id` as it was published, and its reasons.
fn published_version(
    conn: &punte_store::Connection,
    id: &str,
    version: u32,
) -> Result<
    Option<(
        punte_model::evaluation::Evaluation,
        Vec<Option<punte_model::disclosure::Reason>>,
    )>,
> {
    let Some(row) = docs::published_evaluation(conn, id, version)? else {
        return Ok(None);
    };
    let what = || format!("published evaluation {id} version {version}");
    let evaluation = serde_json::from_str(&row.body).map_err(|source| NodeError::Decode {
        what: what(),
        source,
    })?;
    let reasons = serde_json::from_str(&row.reasons).map_err(|source| NodeError::Decode {
        what: what(),
        source,
    })?;
    Ok(Some((evaluation, reasons)))
}

/// Decides how a new evaluation version leaves the node and records it, in the transaction
/// that stores the version and appends its log entry.
pub(crate) fn publish_evaluation(
    tx: &punte_store::Connection,
    evaluation: &punte_model::evaluation::Evaluation,
    k: u64,
) -> Result<punte_model::evaluation::Evaluation> {
    let disclosure = disclosed_evaluation(tx, evaluation, k)?;
    let mut published = evaluation.clone();
    published.content.values = disclosure.values;
    let encode = |source| NodeError::Encode {
        what: "published evaluation",
        source,
    };
    let row = punte_store::documents::PublishedEvaluation {
        k,
        body: serde_json::to_string(&published).map_err(encode)?,
        reasons: serde_json::to_string(&disclosure.reasons).map_err(encode)?,
    };
    docs::insert_published_evaluation(tx, &evaluation.id, evaluation.version, &row)?;
    Ok(published)
}

/// Checks an evaluation's subject exists (pinning the practice's current version when none is
/// given), the plan it names (if any), and every indicator value against its `code@version`
/// definition.
pub(crate) fn check_evaluation(
    conn: &punte_store::Connection,
    content: &mut EvaluationContent,
) -> Result<()> {
    let mut errors = ValidationErrors::new();
    if let Some(practice) = &content.subject.practice {
        match content.subject.practice_version {
            Some(v) => {
                if let Err(e) = docs::get_version(conn, DocKind::Practice, practice, v) {
                    errors.add("subject.practiceVersion", e.to_string());
                }
            }
            None => match docs::current_version(conn, DocKind::Practice, practice, None) {
                Ok(v) => content.subject.practice_version = Some(v),
                Err(e) => errors.add("subject.practice", e.to_string()),
            },
        }
    }
    if let Some(adaptation) = &content.subject.adaptation
        && let Err(e) = docs::current_version(conn, DocKind::Adaptation, adaptation, None)
    {
        errors.add("subject.adaptation", e.to_string());
    }
    if let Some(plan) = &content.plan {
        check_plan(conn, content, plan, &mut errors)?;
    }
    let definitions = indicators::definitions_for(conn, &content.values)?;
    if let Err(e) = content.validate_against(|r| definitions.get(r)) {
        errors.0.extend(e.0);
    }
    errors.into_result().map_err(NodeError::Invalid)
}

/// The plan results name must be a current evaluation of this node, at stage `plan`, with the
/// same subject (practice or adaptation; the practice version may have moved on).
fn check_plan(
    conn: &punte_store::Connection,
    content: &EvaluationContent,
    plan: &str,
    errors: &mut ValidationErrors,
) -> Result<()> {
    use punte_model::evaluation::EvaluationStage;
    let record = match docs::get_current(conn, DocKind::Evaluation, plan) {
        Ok(r) => r,
        Err(
            e @ (punte_store::StoreError::NotFound { .. } | punte_store::StoreError::Gone { .. }),
        ) => {
            errors.add(
                "plan",
                format!("{e}; name a plan (stage 'plan') of this node"),
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let planned: Evaluation = documents::decode(DocKind::Evaluation, &record)?;
    if planned.content.stage != EvaluationStage::Plan {
        errors.add(
            "plan",
            format!("evaluation {plan} reports results; name an evaluation at stage 'plan'"),
        );
    }
    let (p, r) = (&planned.content.subject, &content.subject);
    if p.practice != r.practice || p.adaptation != r.adaptation {
        errors.add(
            "plan",
            format!("plan {plan} evaluates another subject; a plan and its results evaluate the same practice or adaptation"),
        );
    }
    Ok(())
}
