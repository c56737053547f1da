//! Comparative analysis of one indicator `code@version` across the network (issue #5,
//! docs/api.md "Comparative analysis and funder exports"): gathers rows from the node's own
//! evaluations and from every verified replica of a partner's log, then runs the pure
//! functions of `punte_model::analysis`.
//!
//! Rows and their evidence:
//! - Own evaluations go in *after disclosure control* (the values as they were published), so
//!   no cell below k reaches an analysis result either. Their [`SourceRef`] is this node's log
//!   origin and the entry that published the evaluation's current version.
//! - Partners' evaluations come from `replica_objects` (already disclosure-controlled at their
//!   origin, and verified against the partner's signed log); their [`SourceRef`] is the
//!   replica's origin, index and activity id. They are not parsed per request: what the
//!   analysis needs of each (per indicator code) was derived into `analysis_values` in the
//!   transaction that replicated it, and only the rows of the requested code are read.
//!   Organisations, practices and adaptations (few) are parsed per request.
//! - One row per evaluation and indicator version: the value without disaggregation (the last
//!   one listed). Values of the same code but another version stay in the table as excluded
//!   rows, never mixed; plans (stage `plan`) have no results and are listed as skipped.
//! - Every object is named by its URL (`BASE/evaluations/ID` …), so the same practice is the
//!   same row key on every node.
//!
//! Countersignatures: an adaptation counts as a replication only with the attestation of its
//! practice's organisation (an `Attestation` entry in that organisation's signed log: this
//! node's own log, or a verified replica), found by
//! [`crate::federation::adaptations::Countersignatures`]; its entry is the adaptation's
//! `countersignature`.
//!
//! Pre-registration: results that name a plan (`plan`, an evaluation of the same organisation)
//! get `followedPlan` and `planDeviations` from [`punte_model::preregistration::compare`]: the
//! plan's current version against the results' current version, and the plan's last entry
//! against the results' first entry in that organisation's log (own log: `log_entries`;
//! partners: the replicated object's entry and `replica_entries`; the plan and the results
//! naming it are read whole from `replica_objects` by id). A plan this node cannot
//! read (not replicated, deleted) gives `followedPlan: false` with `planUnavailable`. Results
//! naming no plan have no `followedPlan`.
//!
//! Why over 800 lines: about 480 of them are the unit tests (the fast path against a
//! from-scratch recomputation), which need the private gathering functions.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use punte_model::analysis::{
    AdaptationInput, AnalysisError, EffectInput, EffectMetric, EffectTable, IndicatorSpec,
    RankOptions, Ranking, ReplicationMap, RowOrigin, SourceRef, evaluation_effects,
    rank_for_replication_with, replication_map_with,
};
use punte_model::evaluation::EvaluationStage;
use punte_model::preregistration::{self, Adherence, PlanRecord, ResultsRecord};
use punte_model::{
    Adaptation, CountryCode, Evaluation, EvaluationContent, EvidenceLevel, IndicatorDefinition,
    IndicatorRef, IndicatorValue, Practice, ValidationErrors,
};
use punte_protocol::objects;
use punte_protocol::urls::{Collection, NodeUrls};
use punte_store::documents::{self as docs, DocKind};
use punte_store::federation::{self as fed_store, ReplicaObject};
use punte_store::{Connection, StoreError};

use crate::Node;
use crate::error::NodeError;
use crate::federation::adaptations::Countersignatures;

/// What `countersignatures` says in every report: how replications are counted.
pub const COUNTERSIGNATURES: &str = "counted: an adaptation is a replication only when its practice's organisation countersigned it (an Attestation entry in that organisation's signed log)";

/// Why an analysis could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisFailure {
    /// The indicator is not in this node's catalogue (at this version).
    #[error("{}", unknown_indicator_message(.requested, .known))]
    UnknownIndicator {
        requested: IndicatorRef,
        /// Versions of the same code the catalogue does hold.
        known: Vec<IndicatorRef>,
    },
    /// The metric does not fit the indicator, or a ranking was asked of a neutral one.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<StoreError> for AnalysisFailure {
    fn from(e: StoreError) -> Self {
        Self::Node(e.into())
    }
}

fn unknown_indicator_message(requested: &IndicatorRef, known: &[IndicatorRef]) -> String {
    if known.is_empty() {
        format!(
            "indicator {requested} is not in this node's catalogue; import the catalogue or define it first"
        )
    } else {
        let known: Vec<String> = known.iter().map(ToString::to_string).collect();
        format!(
            "indicator {requested} is not in this node's catalogue (it holds {}); values of different versions are never mixed",
            known.join(", ")
        )
    }
}

/// An evaluation, adaptation or partner object that gave no row, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    pub reason: String,
}

/// Everything one analysis runs on.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub definition: IndicatorDefinition,
    pub spec: IndicatorSpec,
    pub metric: EffectMetric,
    pub rows: Vec<EffectInput>,
    pub adaptations: Vec<AdaptationInput>,
    pub skipped: Vec<Skipped>,
    pub own_rows: usize,
    pub partners: usize,
}

/// An analysis result with where its rows came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisReport<T: Serialize> {
    #[serde(flatten)]
    pub result: T,
    /// Rows from this node's own log.
    pub own_rows: usize,
    /// Rows from partners' replicas.
    pub replica_rows: usize,
    /// Partners whose replicas were read.
    pub partners: usize,
    pub skipped: Vec<Skipped>,
    pub countersignatures: &'static str,
}

/// The three analyses of one indicator from one gathering ([`Node::analysis_all`]).
#[derive(Debug, Clone)]
pub struct FullAnalysis {
    pub effects: AnalysisReport<EffectTable>,
    pub ranking: Result<Ranking, AnalysisError>,
    pub map: ReplicationMap,
}

impl Gathered {
    fn report<T: Serialize>(self, result: T) -> AnalysisReport<T> {
        AnalysisReport {
            result,
            own_rows: self.own_rows,
            replica_rows: self.rows.len().saturating_sub(self.own_rows),
            partners: self.partners,
            skipped: self.skipped,
            countersignatures: COUNTERSIGNATURES,
        }
    }
}

impl Node {
    /// The per-evaluation effect table of `indicator` over own and replicated evaluations.
    pub fn analysis_effects(
        &self,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
    ) -> Result<AnalysisReport<EffectTable>, AnalysisFailure> {
        let g = self.analysis_rows(indicator, metric)?;
        let table = evaluation_effects(&g.spec, g.metric, &g.rows)?;
        Ok(g.report(table))
    }

    /// Practices ranked for replication by the lower bound of their pooled effect.
    pub fn analysis_ranking(
        &self,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<AnalysisReport<Ranking>, AnalysisFailure> {
        let g = self.analysis_rows(indicator, metric)?;
        let table = evaluation_effects(&g.spec, g.metric, &g.rows)?;
        let ranking = rank_for_replication_with(&table, &g.adaptations, options)?;
        Ok(g.report(ranking))
    }

    /// Origin practices → adopters by country, with the effect each retained.
    pub fn analysis_replication_map(
        &self,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<AnalysisReport<ReplicationMap>, AnalysisFailure> {
        let g = self.analysis_rows(indicator, metric)?;
        let table = evaluation_effects(&g.spec, g.metric, &g.rows)?;
        let map = replication_map_with(&table, &g.adaptations, options.pooling);
        Ok(g.report(map))
    }

    /// The effect table, ranking and replication map of `indicator` from **one** gathering
    /// of rows (the Compare page shows all three). The ranking may be refused (a neutral
    /// indicator) while the table and the map stand.
    pub fn analysis_all(
        &self,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<FullAnalysis, AnalysisFailure> {
        let g = self.analysis_rows(indicator, metric)?;
        let table = evaluation_effects(&g.spec, g.metric, &g.rows)?;
        let ranking = rank_for_replication_with(&table, &g.adaptations, options);
        let map = replication_map_with(&table, &g.adaptations, options.pooling);
        Ok(FullAnalysis {
            effects: g.report(table),
            ranking,
            map,
        })
    }

    /// The rows and adaptations an analysis of `indicator` runs on.
    pub fn analysis_rows(
        &self,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
    ) -> Result<Gathered, AnalysisFailure> {
        let definition = match self.indicator(indicator) {
            Ok(d) => d,
            Err(NodeError::Store(StoreError::NotFound { .. } | StoreError::Gone { .. })) => {
                let known = self
                    .list_indicators(Some(&indicator.code))?
                    .iter()
                    .map(IndicatorDefinition::reference)
                    .filter(|r| r != indicator)
                    .collect();
                return Err(AnalysisFailure::UnknownIndicator {
                    requested: indicator.clone(),
                    known,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let spec = IndicatorSpec::from(&definition);
        let metric = metric.unwrap_or_else(|| EffectMetric::default_for(definition.measure));
        let own_actor_country = self.organisation()?.map(|o| o.country);
        let log_origin = self.log_origin()?;
        let urls = NodeUrls::new(&self.settings.base_url).map_err(NodeError::from)?;
        let k = self.settings.disclosure_k;
        let mut g = Gatherer::new(indicator.clone());
        self.store.read(|conn| -> Result<(), AnalysisFailure> {
            g.countersignatures = Countersignatures::load(conn, &urls, &log_origin)?;
            g.own(conn, &urls, &log_origin, own_actor_country, k)?;
            g.replicas(conn)?;
            g.first_publications(conn)?;
            g.plan_adherence(conn)?;
            Ok(())
        })?;
        let partners = g.partners;
        let (rows, adaptations, skipped, own_rows) = g.finish();
        Ok(Gathered {
            definition,
            spec,
            metric,
            rows,
            adaptations,
            skipped,
            own_rows,
            partners,
        })
    }
}

/// An evaluation waiting for its row: rows are built once every adaptation is known.
struct PendingEvaluation {
    /// The evaluation's id (local to its organisation's node).
    id: String,
    /// Its values: all of them for an own evaluation, the whole-population values of the
    /// indicator's code for a replicated one (`analysis_values`).
    values: Vec<IndicatorValue>,
    is_plan: bool,
    evidence_level: EvidenceLevel,
    subject_practice: Option<String>,
    subject_adaptation: Option<String>,
    /// The plan these results name (an id on the organisation's node).
    plan: Option<String>,
    /// The whole evaluation, kept for own evaluations (a plan is compared in full).
    content: Option<EvaluationContent>,
    /// How the results follow the plan they name: (plan URL, adherence), set for every
    /// evaluation naming a plan before the rows are built.
    adherence: Option<(String, Adherence)>,
    /// For a replicated evaluation: its object id in `replica_objects`.
    object_id: Option<String>,
    organisation: String,
    urls: NodeUrls,
    /// The entry of the current version: for a plan, its last change.
    source: SourceRef,
    /// The index of the entry that first published the evaluation, when known.
    first_published: Option<u64>,
    own: bool,
}

struct AdaptationInfo {
    practice: String,
    country: CountryCode,
}

struct Gatherer {
    indicator: IndicatorRef,
    practices: HashMap<String, CountryCode>,
    /// How many core components each known practice declares (current version), so that an
    /// adaptation's fidelity can be judged.
    core_components: HashMap<String, u32>,
    adaptations: BTreeMap<String, AdaptationInfo>,
    adaptation_inputs: Vec<AdaptationInput>,
    /// Attestations by practices' organisations, in the own log and in replicas.
    countersignatures: Countersignatures,
    organisations: HashMap<String, CountryCode>,
    evaluations: Vec<PendingEvaluation>,
    skipped: Vec<Skipped>,
    own_rows: usize,
    partners: usize,
}

/// A reference as a URL: kept when already one, else the object's URL on `urls`.
fn object_url(urls: &NodeUrls, collection: Collection, reference: &str) -> String {
    if reference.starts_with("https://") || reference.starts_with("http://") {
        reference.to_owned()
    } else {
        urls.object(collection, reference)
    }
}

fn decode_record<D: serde::de::DeserializeOwned>(
    kind: DocKind,
    rec: &docs::DocRecord,
) -> Result<D, NodeError> {
    crate::documents::decode(kind, rec)
}

impl Gatherer {
    fn new(indicator: IndicatorRef) -> Self {
        Self {
            indicator,
            practices: HashMap::new(),
            core_components: HashMap::new(),
            adaptations: BTreeMap::new(),
            adaptation_inputs: Vec::new(),
            countersignatures: Countersignatures::default(),
            organisations: HashMap::new(),
            evaluations: Vec::new(),
            skipped: Vec::new(),
            own_rows: 0,
            partners: 0,
        }
    }

    fn skip(&mut self, object: impl Into<String>, source: Option<SourceRef>, reason: String) {
        self.skipped.push(Skipped {
            object: object.into(),
            source,
            reason,
        });
    }

    fn add_adaptation(
        &mut self,
        adaptation: &Adaptation,
        urls: &NodeUrls,
        organisation: &str,
        source: SourceRef,
    ) {
        let url = urls.adaptation(&adaptation.id);
        let origin = &adaptation.content.origin;
        let practice = object_url(urls, Collection::Practices, &origin.practice);
        let local_practice = urls.local_id(Collection::Practices, &practice).is_some();
        let mut input = AdaptationInput::from_adaptation(
            adaptation,
            organisation.to_owned(),
            source,
            self.countersignatures.of(&url, &practice),
        );
        input.adaptation = url.clone();
        input.practice = practice.clone();
        if input.origin_organisation.is_none() && local_practice {
            input.origin_organisation = Some(organisation.to_owned());
        }
        self.adaptations.insert(
            url,
            AdaptationInfo {
                practice,
                country: adaptation.content.country.clone(),
            },
        );
        self.adaptation_inputs.push(input);
    }

    /// The node's own practices, adaptations and evaluations (values after disclosure
    /// control), each with the log entry of its current version.
    fn own(
        &mut self,
        conn: &Connection,
        urls: &NodeUrls,
        log_origin: &str,
        country: Option<CountryCode>,
        k: u64,
    ) -> Result<(), AnalysisFailure> {
        let actor = urls.actor();
        if let Some(c) = country {
            self.organisations.insert(actor.clone(), c);
        }
        for rec in docs::all_current(conn, DocKind::Practice)? {
            let p: Practice = decode_record(DocKind::Practice, &rec)?;
            self.core_components.insert(
                urls.practice(&p.id),
                u32::try_from(p.content.core_components.len()).unwrap_or(u32::MAX),
            );
            self.practices
                .insert(urls.practice(&p.id), p.content.country.clone());
        }
        let entries = |object_type: &str| -> Result<
            HashMap<String, punte_store::analysis::ObjectEntry>,
            StoreError,
        > {
            Ok(
                punte_store::analysis::latest_object_entries(conn, object_type)?
                    .into_iter()
                    .map(|e| (e.object_id.clone(), e))
                    .collect(),
            )
        };
        let source_of = |entries: &HashMap<String, punte_store::analysis::ObjectEntry>,
                         url: &str,
                         version: u32|
         -> Option<SourceRef> {
            entries
                .get(url)
                .filter(|e| e.version == Some(version))
                .map(|e| SourceRef {
                    origin: log_origin.to_owned(),
                    log_index: e.index,
                    activity_id: e.activity_id.clone(),
                })
        };
        let adaptation_entries = entries(objects::ObjectKind::Adaptation.type_term())?;
        for rec in docs::all_current(conn, DocKind::Adaptation)? {
            let a: Adaptation = decode_record(DocKind::Adaptation, &rec)?;
            let url = urls.adaptation(&a.id);
            match source_of(&adaptation_entries, &url, a.version) {
                Some(source) => self.add_adaptation(&a, urls, &actor, source),
                None => self.skip(
                    url,
                    None,
                    format!(
                        "no log entry publishes version {} of this adaptation (redacted?)",
                        a.version
                    ),
                ),
            }
        }
        let evaluation_entries = entries(objects::ObjectKind::Evaluation.type_term())?;
        for rec in docs::all_current(conn, DocKind::Evaluation)? {
            let mut e: Evaluation = decode_record(DocKind::Evaluation, &rec)?;
            let url = urls.evaluation(&e.id);
            let Some(source) = source_of(&evaluation_entries, &url, e.version) else {
                self.skip(
                    url,
                    None,
                    format!(
                        "no log entry publishes version {} of this evaluation (redacted?)",
                        e.version
                    ),
                );
                continue;
            };
            // Only what may leave the node: the values as published.
            e.content.values = crate::disclosed_evaluation(conn, &e, k)?.values;
            let first_published = evaluation_entries.get(&url).map(|e| e.first_index);
            self.evaluations.push(PendingEvaluation {
                id: e.id,
                values: e.content.values.clone(),
                is_plan: e.content.stage == EvaluationStage::Plan,
                evidence_level: e.content.evidence_level,
                subject_practice: e.content.subject.practice.clone(),
                subject_adaptation: e.content.subject.adaptation.clone(),
                plan: e.content.plan.clone(),
                content: Some(e.content),
                adherence: None,
                object_id: None,
                organisation: actor.clone(),
                urls: urls.clone(),
                source,
                first_published,
                own: true,
            });
        }
        Ok(())
    }

    /// Every partner's replicated organisation, practices, adaptations and evaluations.
    fn replicas(&mut self, conn: &Connection) -> Result<(), AnalysisFailure> {
        let replicas = fed_store::replicas(conn)?;
        self.partners = replicas.len();
        let mut bases = HashMap::new();
        for r in &replicas {
            match NodeUrls::new(&r.base_url) {
                Ok(urls) => {
                    bases.insert(r.actor.clone(), (urls, r.origin.clone()));
                }
                Err(e) => self.skip(
                    r.actor.clone(),
                    None,
                    format!("the replica's base url is unusable: {e}"),
                ),
            }
        }
        let source = |o: &ReplicaObject, origin: &str| SourceRef {
            origin: origin.to_owned(),
            log_index: o.log_index,
            activity_id: o.activity_id.clone(),
        };
        let parse = |o: &ReplicaObject| serde_json::from_str::<serde_json::Value>(&o.object);
        // Organisations, practices and adaptations are few: parsed here. Evaluations are
        // many: their rows were derived when they were replicated (`analysis_values`).
        for kind in ["organisation", "practice", "adaptation"] {
            for o in fed_store::replica_objects(conn, None, Some(kind), false)? {
                let Some((urls, origin)) = bases.get(&o.actor) else {
                    continue;
                };
                let src = source(&o, origin);
                let json = match parse(&o) {
                    Ok(v) => v,
                    Err(e) => {
                        self.skip(o.object_id, Some(src), format!("unreadable object: {e}"));
                        continue;
                    }
                };
                let base = urls.base();
                let outcome: Result<(), String> = match kind {
                    "organisation" => objects::parse_organisation(&json)
                        .map(|p| {
                            self.organisations.insert(o.actor.clone(), p.country);
                        })
                        .map_err(|e| e.to_string()),
                    "practice" => objects::parse_practice(&json, base)
                        .map(|p| {
                            self.core_components.insert(
                                urls.practice(&p.id),
                                u32::try_from(p.content.core_components.len()).unwrap_or(u32::MAX),
                            );
                            self.practices
                                .insert(urls.practice(&p.id), p.content.country);
                        })
                        .map_err(|e| e.to_string()),
                    _ => objects::parse_adaptation(&json, base)
                        .map(|a| self.add_adaptation(&a, urls, &o.actor, src.clone()))
                        .map_err(|e| e.to_string()),
                };
                if let Err(reason) = outcome {
                    self.skip(o.object_id, Some(src), format!("refused: {reason}"));
                }
            }
        }
        for v in
            punte_store::analysis::replica_evaluation_values(conn, self.indicator.code.as_str())?
        {
            let Some((urls, origin)) = bases.get(&v.actor) else {
                continue;
            };
            let src = SourceRef {
                origin: origin.clone(),
                log_index: v.log_index,
                activity_id: v.activity_id,
            };
            match v.evaluation {
                Ok(e) => self.evaluations.push(PendingEvaluation {
                    id: e.id,
                    values: e.values,
                    is_plan: e.is_plan,
                    evidence_level: e.evidence_level,
                    subject_practice: e.practice,
                    subject_adaptation: e.adaptation,
                    plan: e.plan,
                    content: None,
                    adherence: None,
                    object_id: Some(v.object_id),
                    organisation: v.actor,
                    urls: urls.clone(),
                    source: src,
                    // Created and never updated: this entry is the first.
                    first_published: (v.updates <= 1).then_some(v.log_index),
                    own: false,
                }),
                Err(reason) => self.skip(v.object_id, Some(src), reason),
            }
        }
        Ok(())
    }

    /// The first publication of partners' results that name a plan and were updated since
    /// (one query per partner concerned, over its replicated entries).
    fn first_publications(&mut self, conn: &Connection) -> Result<(), AnalysisFailure> {
        let mut by_actor: HashMap<String, HashMap<String, u64>> = HashMap::new();
        for p in &mut self.evaluations {
            if p.own || p.first_published.is_some() || p.plan.is_none() {
                continue;
            }
            let firsts = match by_actor.entry(p.organisation.clone()) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(punte_store::analysis::replica_first_object_entries(
                        conn,
                        &p.organisation,
                        objects::ObjectKind::Evaluation.type_term(),
                    )?)
                }
            };
            p.first_published = firsts.get(&p.urls.evaluation(&p.id)).copied();
        }
        Ok(())
    }

    /// How each evaluation naming a plan follows it ([`preregistration::compare`]): an own
    /// plan is among the own evaluations (all decoded); a partner's plan and the results
    /// naming it are read whole from `replica_objects` by id (few: only results naming a
    /// plan). A plan must be an evaluation of the results' organisation.
    fn plan_adherence(&mut self, conn: &Connection) -> Result<(), AnalysisFailure> {
        let mut pending = std::mem::take(&mut self.evaluations);
        let own_plans: HashMap<String, usize> = pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.own)
            .map(|(i, p)| (p.urls.evaluation(&p.id), i))
            .collect();
        let mut found = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let Some(plan_id) = &p.plan else {
                continue;
            };
            let plan_url = p.urls.evaluation(plan_id);
            let adherence = if p.own {
                let plan = own_plans
                    .get(&plan_url)
                    .and_then(|&j| pending.get(j))
                    .filter(|plan| plan.organisation == p.organisation)
                    .and_then(|plan| Some((plan.content.as_ref()?, plan.source.log_index)));
                Self::compare(plan, p.content.as_ref(), p.first_published)
            } else {
                let results = match &p.object_id {
                    Some(id) => Self::replica_evaluation(conn, id, &p.organisation, &p.urls)?,
                    None => None,
                };
                let plan = Self::replica_evaluation(conn, &plan_url, &p.organisation, &p.urls)?;
                Self::compare(
                    plan.as_ref().map(|(e, index)| (&e.content, *index)),
                    results.as_ref().map(|(e, _)| &e.content),
                    p.first_published,
                )
            };
            found.push((i, (plan_url, adherence)));
        }
        for (i, a) in found {
            if let Some(p) = pending.get_mut(i) {
                p.adherence = Some(a);
            }
        }
        self.evaluations = pending;
        Ok(())
    }

    /// A partner's evaluation `url` as replicated (not deleted) from `actor`, parsed and
    /// validated as on receipt, with the index of the entry of its current version; `None`
    /// when the node has no such valid object.
    fn replica_evaluation(
        conn: &Connection,
        url: &str,
        actor: &str,
        urls: &NodeUrls,
    ) -> Result<Option<(Evaluation, u64)>, AnalysisFailure> {
        let Some(o) = fed_store::replica_object_by_id(conn, url)? else {
            return Ok(None);
        };
        if o.actor != actor || o.kind != "evaluation" || o.deleted {
            return Ok(None);
        }
        let parsed = serde_json::from_str::<serde_json::Value>(&o.object)
            .ok()
            .and_then(|json| objects::parse_evaluation(&json, urls.base()).ok())
            .filter(|e| urls.evaluation(&e.id) == url);
        Ok(parsed.map(|e| (e, o.log_index)))
    }

    /// The adherence of results to their plan: the plan's content and last entry, the
    /// results' content and first entry, when known.
    fn compare(
        plan: Option<(&EvaluationContent, u64)>,
        results: Option<&EvaluationContent>,
        first_published: Option<u64>,
    ) -> Adherence {
        match (plan, results.zip(first_published)) {
            (None, _) => Adherence::plan_unavailable(),
            (Some(_), None) => Adherence::first_publication_unknown(),
            (Some((plan, last)), Some((results, first))) => preregistration::compare(
                PlanRecord {
                    content: plan,
                    last_changed_at: last,
                },
                ResultsRecord {
                    content: results,
                    first_published_at: first,
                },
            ),
        }
    }

    /// The rows (one per evaluation and version of the indicator's code), the adaptations,
    /// what was skipped, and how many rows are the node's own.
    fn finish(mut self) -> (Vec<EffectInput>, Vec<AdaptationInput>, Vec<Skipped>, usize) {
        let mut rows = Vec::new();
        let pending = std::mem::take(&mut self.evaluations);
        for p in &pending {
            let url = p.urls.evaluation(&p.id);
            // The last whole-population value of each version of the indicator's code.
            let mut by_version: BTreeMap<u32, &punte_model::IndicatorValue> = BTreeMap::new();
            for v in &p.values {
                if v.indicator.code == self.indicator.code && v.disaggregation.is_empty() {
                    by_version.insert(v.indicator.version, v);
                }
            }
            if by_version.is_empty() {
                continue;
            }
            if p.is_plan {
                self.skip(
                    url,
                    Some(p.source.clone()),
                    "an evaluation plan: no results yet".to_owned(),
                );
                continue;
            }
            let (practice, adaptation, country) = match (&p.subject_practice, &p.subject_adaptation)
            {
                (_, Some(a)) => {
                    let a_url = object_url(&p.urls, Collection::Adaptations, a);
                    match self.adaptations.get(&a_url) {
                        Some(info) => (
                            info.practice.clone(),
                            Some(a_url),
                            Some(info.country.clone()),
                        ),
                        None => {
                            self.skip(
                                url,
                                Some(p.source.clone()),
                                format!(
                                    "evaluates adaptation {a_url}, which this node does not know"
                                ),
                            );
                            continue;
                        }
                    }
                }
                (Some(practice), None) => {
                    let practice = object_url(&p.urls, Collection::Practices, practice);
                    let country = self.practices.get(&practice).cloned();
                    (practice, None, country)
                }
                (None, None) => {
                    self.skip(url, Some(p.source.clone()), "names no subject".to_owned());
                    continue;
                }
            };
            let country = country.or_else(|| self.organisations.get(&p.organisation).cloned());
            let adherence = &p.adherence;
            for value in by_version.into_values() {
                let origin = RowOrigin {
                    organisation: p.organisation.clone(),
                    country: country.clone(),
                    practice: practice.clone(),
                    adaptation: adaptation.clone(),
                    evaluation: url.clone(),
                    source: p.source.clone(),
                };
                let mut row = EffectInput::from_indicator_value(
                    origin,
                    value,
                    Some(p.evidence_level),
                    adherence.as_ref().map(|(_, a)| a.followed),
                );
                if let Some((plan, a)) = &adherence {
                    row.plan = Some(plan.clone());
                    row.plan_deviations = a.deviations.clone();
                }
                rows.push(row);
                if p.own {
                    self.own_rows += 1;
                }
            }
        }
        for a in &mut self.adaptation_inputs {
            a.origin_core_components = self.core_components.get(&a.practice).copied();
        }
        (rows, self.adaptation_inputs, self.skipped, self.own_rows)
    }
}

// ----- catalogue import -----

/// What [`Node::import_catalogue`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueImport {
    /// Definitions added to the local catalogue.
    pub imported: Vec<IndicatorRef>,
    /// Definitions the catalogue already held, identical.
    pub unchanged: Vec<IndicatorRef>,
}

impl Node {
    /// Copies the indicator definitions replicated from partner `actor` (a coordinator) into
    /// the local catalogue, in one transaction. A definition the catalogue holds under the
    /// same `code@version` must be identical: a changed definition is a new version, so a
    /// difference is refused, naming the field references.
    pub fn import_catalogue(&self, actor: &str) -> Result<CatalogueImport, NodeError> {
        let (replica, objects_) = self.store.read(|conn| -> Result<_, NodeError> {
            Ok((
                fed_store::replica(conn, actor)?,
                fed_store::replica_objects(conn, Some(actor), Some("indicator"), false)?,
            ))
        })?;
        let Some(replica) = replica else {
            return Err(NodeError::Invalid(ValidationErrors::single(
                "actor",
                format!(
                    "no replica of {actor}: follow it and wait until it is approved and synced"
                ),
            )));
        };
        let mut errors = ValidationErrors::new();
        let mut new = Vec::new();
        let mut unchanged = Vec::new();
        for o in &objects_ {
            let definition = serde_json::from_str::<serde_json::Value>(&o.object)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    objects::parse_indicator(&v, &replica.base_url).map_err(|e| e.to_string())
                });
            let definition = match definition {
                Ok(d) => d,
                Err(e) => {
                    errors.add(o.object_id.clone(), e);
                    continue;
                }
            };
            let reference = definition.reference();
            match self.indicator(&reference) {
                Ok(existing) if existing == definition => unchanged.push(reference),
                Ok(_) => errors.add(
                    reference.to_string(),
                    format!(
                        "the local catalogue holds a different definition of {reference}; a changed definition needs a new version"
                    ),
                ),
                Err(NodeError::Store(StoreError::NotFound { .. })) => new.push(definition),
                Err(NodeError::Store(StoreError::Gone { .. })) => errors.add(
                    reference.to_string(),
                    format!("{reference} was withdrawn from the local catalogue"),
                ),
                Err(e) => return Err(e),
            }
        }
        if !errors.is_empty() {
            return Err(NodeError::Invalid(errors));
        }
        let imported = if new.is_empty() {
            Vec::new()
        } else {
            self.import_indicators(new)?
                .iter()
                .map(IndicatorDefinition::reference)
                .collect()
        };
        Ok(CatalogueImport {
            imported,
            unchanged,
        })
    }
}

// ----- CSV -----

/// CSV text of records (the first being the header), as `to_csv_rows()` gives them.
/// Writing to memory fails only if a record cannot be encoded.
pub fn csv_text(records: &[Vec<String>]) -> std::io::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for r in records {
        writer.write_record(r).map_err(std::io::Error::other)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

// ----- pre-registration of the node's own evaluations -----

impl Node {
    /// For each of `evaluations` (this node's own) that names a plan: how it follows that
    /// plan ([`preregistration::compare`], with the plan's last and the results' first entry
    /// in this node's log), keyed by the results' id.
    pub fn plan_adherence(
        &self,
        evaluations: &[Evaluation],
    ) -> Result<BTreeMap<String, Adherence>, NodeError> {
        if evaluations.iter().all(|e| e.content.plan.is_none()) {
            return Ok(BTreeMap::new());
        }
        let urls = NodeUrls::new(&self.settings.base_url)?;
        self.store.read(|conn| -> Result<_, NodeError> {
            let entries: HashMap<String, punte_store::analysis::ObjectEntry> =
                punte_store::analysis::latest_object_entries(
                    conn,
                    objects::ObjectKind::Evaluation.type_term(),
                )?
                .into_iter()
                .map(|e| (e.object_id.clone(), e))
                .collect();
            let mut out = BTreeMap::new();
            for results in evaluations {
                let Some(plan_id) = &results.content.plan else {
                    continue;
                };
                let plan = match docs::get_current(conn, DocKind::Evaluation, plan_id) {
                    Ok(rec) => Some(decode_record::<Evaluation>(DocKind::Evaluation, &rec)?),
                    Err(StoreError::NotFound { .. } | StoreError::Gone { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                let plan_entry = entries
                    .get(&urls.evaluation(plan_id))
                    .filter(|e| plan.as_ref().is_some_and(|p| e.version == Some(p.version)));
                let first = entries
                    .get(&urls.evaluation(&results.id))
                    .map(|e| e.first_index);
                let adherence = match (plan.as_ref().zip(plan_entry), first) {
                    (None, _) => Adherence::plan_unavailable(),
                    (Some(_), None) => Adherence::first_publication_unknown(),
                    (Some((plan, entry)), Some(first)) => preregistration::compare(
                        PlanRecord {
                            content: &plan.content,
                            last_changed_at: entry.index,
                        },
                        ResultsRecord {
                            content: &results.content,
                            first_published_at: first,
                        },
                    ),
                };
                out.insert(results.id.clone(), adherence);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    //! The fast path (rows derived into `analysis_values` as objects are replicated) against
    //! a from-scratch recomputation: every replicated evaluation parsed again, and the whole
    //! table rebuilt from `replica_objects` on reopening.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use serde_json::{Value, json};

    use punte_model::OrganisationProfile;
    use punte_store::analysis::{DerivedEvaluation, ReplicaEvaluationValues};
    use punte_store::federation::{ActorRow, ReplicaRow};

    use super::*;
    use crate::NodeSettings;

    const PARTNER: &str = "https://partner.example.org";

    fn open(dir: &std::path::Path) -> Node {
        Node::open(NodeSettings {
            data_dir: dir.join("data"),
            base_url: "https://coordinator.example.org".into(),
            disclosure_k: 5,
        })
        .unwrap()
    }

    fn definition(version: u32) -> IndicatorDefinition {
        serde_json::from_value(json!({
            "code": "esl-rate", "version": version,
            "label": {"en": "Early school leaving rate"},
            "unit": "%", "measure": "percentage", "direction": "decrease", "aggregation": "mean",
            "disaggregations": [{"dimension": "sex", "categories": ["female", "male"]}]
        }))
        .unwrap()
    }

    fn practice_content() -> Value {
        json!({
            "title": {"en": "Mentoring"}, "summary": {"en": "Homework support"},
            "problem": {"en": "Early school leaving"}, "solution": {"en": "Volunteer mentors"},
            "originalLanguage": "en", "country": "RO", "themes": ["education"],
            "maturity": "promising"
        })
    }

    fn evaluation_content(practice: &str, stage: &str, plan: Option<&str>, values: Value) -> Value {
        let mut c = json!({
            "subject": {"practice": practice, "practiceVersion": 1},
            "evaluator": {"name": "Evaluator", "role": "external"},
            "method": "prePost", "evidenceLevel": 3,
            "period": {"start": "2024-09-01", "end": "2025-06-30"},
            "stage": stage,
            "values": values
        });
        if let Some(p) = plan {
            c["plan"] = json!(p);
        }
        c
    }

    fn value(indicator: &str, baseline: f64, actual: f64, n: u64) -> Value {
        json!({"indicator": indicator, "baseline": baseline, "target": 10.0, "actual": actual, "n": n})
    }

    fn planned(indicator: &str, baseline: f64, target: f64) -> Value {
        json!({"indicator": indicator, "baseline": baseline, "target": target})
    }

    fn partner_object(id: &str, content: Value) -> Value {
        let mut e = content;
        e["id"] = json!(id);
        e["version"] = json!(1);
        e["createdAt"] = json!("2025-07-01T00:00:00Z");
        e["updatedAt"] = json!("2025-07-01T00:00:00Z");
        let e: Evaluation = serde_json::from_value(e).unwrap();
        objects::evaluation_to_object(&e, &NodeUrls::new(PARTNER).unwrap())
    }

    /// The node's own documents: a practice, results with suppressed cells, a plan and
    /// results following it, an updated and a deleted evaluation.
    fn own_documents(node: &Node) {
        node.set_organisation(
            &serde_json::from_value::<OrganisationProfile>(json!({
                "name": {"en": "Coordinator"}, "country": "BE", "languages": ["en"]
            }))
            .unwrap(),
        )
        .unwrap();
        let p: Practice = node
            .create(serde_json::from_value(practice_content()).unwrap())
            .unwrap();
        let eval = |stage, plan: Option<&str>, values| {
            serde_json::from_value(evaluation_content(&p.id, stage, plan, values)).unwrap()
        };
        let cells = json!([
            {"indicator": "esl-rate@1", "baseline": 20.0, "actual": 15.0, "n": 40},
            {"indicator": "esl-rate@1", "baseline": 20.0, "actual": 10.0, "n": 3,
             "disaggregation": {"sex": "female"}},
            {"indicator": "esl-rate@1", "baseline": 20.0, "actual": 16.0, "n": 37,
             "disaggregation": {"sex": "male"}},
            {"indicator": "esl-rate@1", "baseline": 20.0, "actual": 12.0, "n": 2}
        ]);
        let _suppressed: Evaluation = node.create(eval("results", None, cells)).unwrap();
        let plan: Evaluation = node
            .create(eval(
                "plan",
                None,
                json!([planned("esl-rate@1", 20.0, 12.0)]),
            ))
            .unwrap();
        let _followed: Evaluation = node
            .create(eval(
                "results",
                Some(&plan.id),
                json!([value("esl-rate@1", 20.0, 14.0, 100)]),
            ))
            .unwrap();
        let updated: Evaluation = node
            .create(eval(
                "results",
                None,
                json!([value("esl-rate@1", 18.0, 17.0, 60)]),
            ))
            .unwrap();
        let _: Evaluation = node
            .update(
                &updated.id,
                Some(1),
                eval(
                    "results",
                    None,
                    json!([value("esl-rate@1", 18.0, 11.0, 60)]),
                ),
            )
            .unwrap();
        let deleted: Evaluation = node
            .create(eval(
                "results",
                None,
                json!([value("esl-rate@1", 25.0, 5.0, 60)]),
            ))
            .unwrap();
        node.delete::<Evaluation>(&deleted.id, None).unwrap();
    }

    /// A partner's replica written through the store's hooks: created, updated and deleted
    /// evaluations, a plan with results, a refused object, other versions and codes.
    fn partner_replica(node: &Node) {
        let urls = NodeUrls::new(PARTNER).unwrap();
        let actor = urls.actor();
        let practice = urls.practice("p1");
        let e = |id: &str, stage, plan: Option<&str>, values| {
            (
                urls.evaluation(id),
                partner_object(id, evaluation_content(&practice, stage, plan, values)),
            )
        };
        node.store()
            .write(|tx| -> Result<(), StoreError> {
                fed_store::upsert_actor(
                    tx,
                    &ActorRow {
                        id: actor.clone(),
                        host: "partner.example.org".into(),
                        inbox: format!("{PARTNER}/inbox"),
                        shared_inbox: None,
                        username: Some("node".into()),
                        document: b"{}".to_vec(),
                        is_punte: true,
                        fetched_ms: 0,
                    },
                )?;
                fed_store::save_replica(
                    tx,
                    &ReplicaRow {
                        actor: actor.clone(),
                        base_url: PARTNER.into(),
                        origin: "partner.example.org/punte-log".into(),
                        size: 20,
                        root: [0; 32],
                        frontier: Vec::new(),
                        current_key: [0; 32],
                        max_timestamp_ms: None,
                        checkpoint: None,
                        checkpoint_size: 0,
                        wanted_size: 0,
                        last_sync_ms: None,
                        last_error: None,
                        awaiting: None,
                    },
                )?;
                let mut index = 0u64;
                let mut put = |object_id: String, kind: &str, object: Value| {
                    index += 1;
                    fed_store::upsert_replica_object(
                        tx,
                        &ReplicaObject {
                            object_id,
                            actor: actor.clone(),
                            kind: kind.into(),
                            log_index: index,
                            activity_id: format!("{PARTNER}/activities/{index}"),
                            object: object.to_string(),
                            updates: 1,
                            deleted: false,
                            updated_ms: 0,
                        },
                    )?;
                    Ok::<u64, StoreError>(index)
                };
                let mut org = serde_json::Map::new();
                org.insert("id".into(), actor.clone().into());
                org.insert("type".into(), "Organization".into());
                let profile: OrganisationProfile = serde_json::from_value(json!({
                    "name": {"en": "Partner"}, "country": "IT", "languages": ["en"]
                }))
                .unwrap();
                org.extend(objects::organisation_fields(&profile));
                put(actor.clone(), "organisation", org.into())?;
                let mut p: Value = practice_content();
                p["id"] = json!("p1");
                p["version"] = json!(1);
                p["createdAt"] = json!("2025-01-01T00:00:00Z");
                p["updatedAt"] = json!("2025-01-01T00:00:00Z");
                let p: Practice = serde_json::from_value(p).unwrap();
                put(
                    practice.clone(),
                    "practice",
                    objects::practice_to_object(&p, &urls),
                )?;
                for (id, object) in [
                    e(
                        "plain",
                        "results",
                        None,
                        json!([value("esl-rate@1", 20.0, 15.0, 80)]),
                    ),
                    e(
                        "two-versions",
                        "results",
                        None,
                        json!([
                            value("esl-rate@1", 20.0, 15.0, 80),
                            value("esl-rate@2", 21.0, 16.0, 80),
                            value("esl-rate@1", 20.0, 13.0, 90)
                        ]),
                    ),
                    e(
                        "other-code",
                        "results",
                        None,
                        json!([value("neet-rate@1", 20.0, 15.0, 80)]),
                    ),
                    e(
                        "plan",
                        "plan",
                        None,
                        json!([planned("esl-rate@1", 20.0, 12.0)]),
                    ),
                    e(
                        "followed",
                        "results",
                        Some("plan"),
                        json!([value("esl-rate@1", 20.0, 14.0, 100)]),
                    ),
                    e(
                        "deviates",
                        "results",
                        Some("plan"),
                        json!([
                            value("esl-rate@2", 20.0, 14.0, 90),
                            value("esl-rate@1", 21.0, 14.0, 90)
                        ]),
                    ),
                    e(
                        "updated",
                        "results",
                        None,
                        json!([value("esl-rate@1", 18.0, 17.0, 60)]),
                    ),
                    e(
                        "deleted",
                        "results",
                        None,
                        json!([value("esl-rate@1", 25.0, 5.0, 60)]),
                    ),
                ] {
                    put(id, "evaluation", object)?;
                }
                let (id, mut bad) = e(
                    "refused",
                    "results",
                    None,
                    json!([value("esl-rate@1", 20.0, 15.0, 80)]),
                );
                bad["evidenceLevel"] = json!(9);
                put(id, "evaluation", bad)?;
                put(
                    urls.evaluation("garbled"),
                    "evaluation",
                    json!("not an object"),
                )?;
                let (id, object) = e(
                    "updated",
                    "results",
                    None,
                    json!([value("esl-rate@1", 18.0, 11.0, 60)]),
                );
                put(id, "evaluation", object)?;
                index += 1;
                fed_store::delete_replica_object(
                    tx,
                    &actor,
                    &urls.evaluation("deleted"),
                    index,
                    &format!("{PARTNER}/activities/{index}"),
                    0,
                )?;
                Ok(())
            })
            .unwrap();
    }

    /// What `analysis_values` should hold for `code`: every live replicated evaluation
    /// parsed again, as the analysis did before the table existed.
    fn from_scratch(conn: &Connection, code: &str) -> Vec<ReplicaEvaluationValues> {
        let mut out = Vec::new();
        for o in fed_store::replica_objects(conn, None, Some("evaluation"), false).unwrap() {
            let base = fed_store::replica(conn, &o.actor)
                .unwrap()
                .unwrap()
                .base_url;
            let parsed = serde_json::from_str::<Value>(&o.object)
                .map_err(|e| format!("unreadable object: {e}"))
                .and_then(|v| {
                    objects::parse_evaluation(&v, &base).map_err(|e| format!("refused: {e}"))
                });
            let evaluation = match parsed {
                Err(reason) => Err(reason),
                Ok(e) => {
                    let values: Vec<IndicatorValue> = e
                        .content
                        .values
                        .iter()
                        .filter(|v| {
                            v.indicator.code.as_str() == code && v.disaggregation.is_empty()
                        })
                        .cloned()
                        .collect();
                    if values.is_empty() {
                        continue;
                    }
                    Ok(DerivedEvaluation {
                        id: e.id,
                        is_plan: e.content.stage == EvaluationStage::Plan,
                        evidence_level: e.content.evidence_level,
                        practice: e.content.subject.practice,
                        adaptation: e.content.subject.adaptation,
                        plan: e.content.plan,
                        values,
                    })
                }
            };
            out.push(ReplicaEvaluationValues {
                actor: o.actor,
                object_id: o.object_id,
                log_index: o.log_index,
                activity_id: o.activity_id,
                updates: o.updates,
                evaluation,
            });
        }
        out
    }

    fn everything(node: &Node) -> Value {
        let indicator: IndicatorRef = "esl-rate@1".parse().unwrap();
        let all = node
            .analysis_all(&indicator, None, RankOptions::default())
            .unwrap();
        json!({
            "effects": all.effects,
            "ranking": all.ranking.as_ref().ok(),
            "map": all.map,
        })
    }

    #[test]
    fn the_derived_rows_give_the_analysis_a_from_scratch_recomputation_gives() {
        let dir = tempfile::tempdir().unwrap();
        let node = open(dir.path());
        node.create_indicator(definition(1)).unwrap();
        node.create_indicator(definition(2)).unwrap();
        own_documents(&node);
        partner_replica(&node);

        let derived = node
            .store()
            .read(|c| {
                Ok::<_, StoreError>((
                    punte_store::analysis::replica_evaluation_values(c, "esl-rate")?,
                    from_scratch(c, "esl-rate"),
                ))
            })
            .unwrap();
        assert_eq!(derived.0, derived.1);
        let fast = everything(&node);

        // The shape of the set: own rows after disclosure control, the partner's updated
        // version, no deleted evaluation, plans skipped, the refused objects reported.
        let rows = fast["effects"]["rows"].as_array().unwrap();
        let evaluations: Vec<&str> = rows
            .iter()
            .map(|r| r["evaluation"].as_str().unwrap())
            .collect();
        assert!(
            !evaluations.iter().any(|e| e.ends_with("/deleted")),
            "{evaluations:?}"
        );
        assert!(
            !evaluations.iter().any(|e| e.ends_with("/other-code")),
            "{evaluations:?}"
        );
        assert_eq!(fast["effects"]["ownRows"], 3, "{fast:#}");
        let followed: Vec<&Value> = rows.iter().filter(|r| r.get("plan").is_some()).collect();
        // Own and partner results following their plans, and one deviating in two versions.
        assert_eq!(followed.len(), 4, "{rows:#?}");
        assert!(
            followed.iter().any(|r| r["followedPlan"] == false),
            "{followed:#?}"
        );
        assert!(
            followed.iter().any(|r| r["followedPlan"] == true),
            "{followed:#?}"
        );
        let skipped = fast["effects"]["skipped"].to_string();
        for what in [
            "/evaluations/refused",
            "/evaluations/garbled",
            "an evaluation plan",
        ] {
            assert!(skipped.contains(what), "{what}: {skipped}");
        }

        // From scratch: empty the table, mark it for a rebuild, reopen.
        node.store()
            .write(|tx| -> Result<(), StoreError> {
                tx.execute("DELETE FROM analysis_values", [])?;
                punte_store::meta::set(tx, "analysis_values_rebuild", "pending")?;
                Ok(())
            })
            .unwrap();
        drop(node);
        let node = open(dir.path());
        assert_eq!(everything(&node), fast);

        // The rows depend on the replica's base URL too: a changed one re-derives them.
        let actor = NodeUrls::new(PARTNER).unwrap().actor();
        node.store()
            .write(|tx| -> Result<(), StoreError> {
                let mut r = fed_store::replica(tx, &actor)?.unwrap();
                r.base_url = "https://elsewhere.example.org".into();
                fed_store::save_replica(tx, &r)
            })
            .unwrap();
        let (derived, expected) = node
            .store()
            .read(|c| {
                Ok::<_, StoreError>((
                    punte_store::analysis::replica_evaluation_values(c, "esl-rate")?,
                    from_scratch(c, "esl-rate"),
                ))
            })
            .unwrap();
        assert!(
            derived.iter().all(|v| v.evaluation.is_err()),
            "{derived:#?}"
        );
        assert_eq!(derived, expected);
    }
}
