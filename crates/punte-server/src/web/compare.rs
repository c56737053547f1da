//! Compare (issue #6): pick an indicator `code@version` from the catalogue, then see for it
//! the comparison table (one row per evaluation, own and partners', excluded rows with their
//! reason, each linking to the signed log entry it comes from), a forest plot of the effects
//! with the pooled estimate of each practice (server-rendered SVG), the ranking for
//! replication (negative and null results included) and the replication map.
//!
//! Everything is computed by [`punte_node::analysis`]; this page only shows it. Signed-in
//! readers see it, as in the analysis API.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use serde::Serialize;

use punte_model::analysis::{
    AnalysisError, EffectTable, RandomEffects, RankOptions, Ranking, ReplicationMap, SourceRef,
};
use punte_model::{IndicatorDefinition, IndicatorRef, OrganisationProfile, Practice};
use punte_node::analysis::{AnalysisFailure, AnalysisReport};
use punte_node::federation::Federation;
use punte_node::{Node, NodeError, Role};
use punte_protocol::urls::{Collection, NodeUrls};

use super::form::{self, FormData};
use super::i18n::UiLang;
use super::svg::{self, ForestRow, ForestText};
use super::view::{self, TextView};
use super::{Ctx, WebError, WebResult};

/// Longest `indicator` query value looked at.
const MAX_INDICATOR_CHARS: usize = 120;

#[derive(Debug, Serialize)]
struct IndicatorOption {
    value: String,
    label: TextView,
    selected: bool,
}

/// A practice as the tables name it: its title when this node holds it (its own or a
/// partner's replicated practice), else its URL.
#[derive(Debug, Clone, Serialize)]
struct PracticeName {
    url: String,
    title: Option<TextView>,
    href: Option<String>,
}

/// An organisation as the tables name it: this node, a partner by its profile's name, or
/// the actor URL of one this node has no profile of.
#[derive(Debug, Clone, Serialize)]
struct OrgName {
    actor: String,
    own: bool,
    name: Option<TextView>,
}

/// The signed log entry a row comes from.
#[derive(Debug, Serialize)]
struct Evidence {
    /// `/history/{index}` for this node's own entries.
    href: Option<String>,
    origin: String,
    index: u64,
    own: bool,
}

#[derive(Debug, Serialize)]
struct RowView {
    organisation: OrgName,
    country: Option<String>,
    practice: PracticeName,
    adaptation: Option<String>,
    baseline: Option<String>,
    actual: Option<String>,
    change: Option<String>,
    relative_change: Option<String>,
    effect: Option<String>,
    /// The design its cells describe (`design_{design}` in the catalogues).
    design: Option<&'static str>,
    /// The escalc measure that produced the effect (statistical notation).
    measure: Option<&'static str>,
    /// Whether the default correlation (0.5) was assumed.
    default_correlation: bool,
    excluded: Option<String>,
    verdict: &'static str,
    evidence: Evidence,
    /// Whether the results followed the plan they name (none: they name none).
    followed_plan: Option<bool>,
    /// The kinds of their deviations from it (`deviation_{kind}` in the catalogues).
    plan_deviations: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct RankView {
    rank: usize,
    practice: PracticeName,
    pooled: Option<String>,
    /// Where one new implementation's effect is expected (95% prediction interval).
    prediction: Option<String>,
    i2: Option<String>,
    tau2: Option<String>,
    k: usize,
    excluded: usize,
    grade: &'static str,
    replications: usize,
    replication_countries: usize,
    verdict: &'static str,
}

#[derive(Debug, Serialize)]
struct AdopterView {
    organisation: OrgName,
    state: String,
    countersigned: bool,
    counts: bool,
    /// Why it does not count: `compare_not_counted_{kind}` keys of the catalogues.
    reasons: Vec<&'static str>,
    effect: Option<String>,
    verdict: &'static str,
}

#[derive(Debug, Serialize)]
struct CountryView {
    country: String,
    adopters: Vec<AdopterView>,
}

#[derive(Debug, Serialize)]
struct OriginView {
    practice: PracticeName,
    origin_organisation: Option<OrgName>,
    origin_effect: Option<String>,
    origin_verdict: &'static str,
    summary: String,
    countries: Vec<CountryView>,
}

#[derive(Debug, Serialize)]
struct ResultView {
    indicator: String,
    label: TextView,
    unit: String,
    metric: &'static str,
    direction: String,
    rows: Vec<RowView>,
    estimated: usize,
    forest_svg: Option<String>,
    ranking: Option<Vec<RankView>>,
    /// Why there is no ranking (e.g. an indicator without a better direction).
    ranking_note: Option<String>,
    map: Vec<OriginView>,
    own_rows: usize,
    replica_rows: usize,
    partners: usize,
    skipped: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
struct ComparePage {
    indicators: Vec<IndicatorOption>,
    selected: Option<String>,
    /// The coordinator's switch: pool evaluations of adaptations not countersigned.
    include_uncountersigned: bool,
    result: Option<ResultView>,
}

/// What one request reads, in one call on the blocking pool.
struct Analysed {
    effects: AnalysisReport<EffectTable>,
    ranking: Result<Ranking, AnalysisError>,
    map: ReplicationMap,
    definition: IndicatorDefinition,
    log_origin: String,
    actor: String,
    titles: BTreeMap<String, Practice>,
    practice_href: BTreeMap<String, String>,
    /// Partners' organisation profiles by actor.
    profiles: BTreeMap<String, OrganisationProfile>,
}

enum Failure {
    Unknown,
    Refused(String),
    Node(NodeError),
}

impl From<AnalysisFailure> for Failure {
    fn from(e: AnalysisFailure) -> Self {
        match e {
            AnalysisFailure::UnknownIndicator { .. } => Self::Unknown,
            AnalysisFailure::Analysis(a) => Self::Refused(a.to_string()),
            AnalysisFailure::Node(n) => Self::Node(n),
        }
    }
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        Self::Node(e)
    }
}

fn analyse(
    node: &Node,
    federation: Option<&Federation>,
    indicator: &IndicatorRef,
    options: RankOptions,
) -> Result<Analysed, Failure> {
    // One gathering of the rows feeds the table, the ranking and the map.
    let punte_node::analysis::FullAnalysis {
        effects,
        ranking,
        map,
    } = node.analysis_all(indicator, None, options)?;
    let definition = node.indicator(indicator)?;
    let log_origin = node.log_origin()?;
    let urls = NodeUrls::new(&node.settings().base_url).map_err(NodeError::from)?;
    let mut practices: BTreeSet<&str> = effects
        .result
        .rows
        .iter()
        .map(|r| r.origin.practice.as_str())
        .collect();
    practices.extend(map.origins.iter().map(|o| o.practice.as_str()));
    let mut titles = BTreeMap::new();
    let mut practice_href = BTreeMap::new();
    for url in practices {
        if let Some(id) = urls.local_id(Collection::Practices, url) {
            practice_href.insert(
                url.to_string(),
                format!("/practices/{}", form::urlencode(id)),
            );
            match node.get::<Practice>(id, None) {
                Ok(p) => {
                    titles.insert(url.to_string(), p);
                }
                Err(e) => tracing::debug!(practice = url, error = %e, "no title for practice"),
            }
        } else if let Some(fed) = federation
            && let Some(p) = fed.partner_practice(url)?
        {
            // A partner's practice: its title from the replica, linked to its page on the
            // partner's node (object URLs answer browsers with HTML).
            practice_href.insert(url.to_string(), url.to_string());
            titles.insert(url.to_string(), p.practice);
        }
    }
    let profiles = match federation {
        Some(fed) => fed.partner_profiles()?,
        None => BTreeMap::new(),
    };
    Ok(Analysed {
        effects,
        ranking,
        map,
        definition,
        log_origin,
        actor: urls.actor(),
        titles,
        practice_href,
        profiles,
    })
}

/// Two decimals, with a real minus sign.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}").replace('-', "−")
    } else {
        "—".into()
    }
}

fn interval(estimate: f64, lower: f64, upper: f64) -> String {
    format!("{} [{}, {}]", num(estimate), num(lower), num(upper))
}

fn pooled_text(p: &RandomEffects) -> String {
    interval(p.estimate, p.ci_lower, p.ci_upper)
}

fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

struct Names<'a> {
    data: &'a Analysed,
    want: Option<punte_model::LanguageTag>,
    this_node: String,
}

impl Names<'_> {
    fn practice(&self, url: &str) -> PracticeName {
        let title = self.data.titles.get(url).map(|p| {
            view::pick(
                &p.content.title,
                self.want.as_ref(),
                Some(&p.content.original_language),
            )
        });
        PracticeName {
            url: url.to_string(),
            title,
            href: self.data.practice_href.get(url).cloned(),
        }
    }

    fn practice_label(&self, url: &str) -> String {
        self.data
            .titles
            .get(url)
            .map(|p| {
                view::pick(
                    &p.content.title,
                    self.want.as_ref(),
                    Some(&p.content.original_language),
                )
                .text
            })
            .unwrap_or_else(|| url.to_string())
    }

    fn organisation(&self, actor: &str) -> OrgName {
        let own = actor == self.data.actor;
        let name = if own {
            Some(TextView {
                text: self.this_node.clone(),
                lang: String::new(),
                original: true,
            })
        } else {
            self.data
                .profiles
                .get(actor)
                .map(|p| view::pick(&p.name, self.want.as_ref(), p.languages.first()))
        };
        OrgName {
            actor: actor.to_string(),
            own,
            name,
        }
    }

    /// The organisation's name for a plot label.
    fn organisation_label(&self, actor: &str) -> String {
        let o = self.organisation(actor);
        o.name.map_or(o.actor, |n| n.text)
    }

    fn evidence(&self, source: &SourceRef) -> Evidence {
        let own = source.origin == self.data.log_origin;
        Evidence {
            href: own.then(|| format!("/history/{}", source.log_index)),
            origin: source.origin.clone(),
            index: source.log_index,
            own,
        }
    }
}

fn result_view(ctx: &Ctx, data: &Analysed) -> ResultView {
    let lang = ctx.lang;
    let names = Names {
        data,
        want: ctx.content_lang(),
        this_node: ctx.text("compare_this_node"),
    };
    let table = &data.effects.result;
    let rows: Vec<RowView> = table
        .rows
        .iter()
        .map(|r| {
            let effect = r.effect();
            RowView {
                organisation: names.organisation(&r.origin.organisation),
                country: r.origin.country.as_ref().map(|c| c.as_str().to_string()),
                practice: names.practice(&r.origin.practice),
                adaptation: r.origin.adaptation.clone(),
                baseline: r.baseline.map(num),
                actual: r.actual.map(num),
                change: r.change.map(num),
                relative_change: r.relative_change.map(|x| format!("{} %", num(x * 100.0))),
                effect: effect.map(|e| interval(e.estimate, e.ci_lower, e.ci_upper)),
                design: r.design.map(|d| d.as_str()),
                measure: r.formula.map(|f| f.escalc_measure()),
                default_correlation: r.sensitivity.is_some(),
                excluded: r.exclusion().map(ToString::to_string),
                verdict: r.verdict.as_str(),
                evidence: names.evidence(&r.origin.source),
                followed_plan: r.followed_plan,
                plan_deviations: r.plan_deviations.iter().map(|d| d.kind()).collect(),
            }
        })
        .collect();
    let estimated = table.rows.iter().filter(|r| r.effect().is_some()).count();

    let (ranking, ranking_note) = match &data.ranking {
        Ok(ranking) => (
            Some(
                ranking
                    .practices
                    .iter()
                    .map(|p| RankView {
                        rank: p.rank,
                        practice: names.practice(&p.practice),
                        pooled: p.pooled.as_ref().map(pooled_text),
                        prediction: p
                            .pooled
                            .as_ref()
                            .map(|x| interval(x.estimate, x.pi_lower, x.pi_upper)),
                        i2: p
                            .pooled
                            .as_ref()
                            .and_then(|x| x.i2)
                            // I² is already a percentage (0 to 100)
                            .map(|i2| format!("{:.0} %", i2)),
                        tau2: p.pooled.as_ref().map(|x| format!("{:.3}", x.tau2)),
                        k: p.evaluations,
                        excluded: p.excluded,
                        grade: p.evidence_grade.as_str(),
                        replications: p.replications.organisations,
                        replication_countries: p.replications.countries,
                        verdict: p.verdict.as_str(),
                    })
                    .collect(),
            ),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };

    // Forest plot: each practice's evaluations, then its pooled estimate.
    let mut forest = Vec::new();
    let mut by_practice: BTreeMap<&str, Vec<ForestRow>> = BTreeMap::new();
    for r in &table.rows {
        if let Some(e) = r.effect() {
            let who = names.organisation_label(&r.origin.organisation);
            by_practice
                .entry(r.origin.practice.as_str())
                .or_default()
                .push(ForestRow {
                    label: format!("{who} · {}", names.practice_label(&r.origin.practice)),
                    estimate: e.estimate,
                    lower: e.ci_lower,
                    upper: e.ci_upper,
                    pooled: false,
                });
        }
    }
    let pooled_of: BTreeMap<&str, &RandomEffects> = match &data.ranking {
        Ok(r) => r
            .practices
            .iter()
            .filter_map(|p| p.pooled.as_ref().map(|x| (p.practice.as_str(), x)))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    let pooled_word = ctx.text("compare_pooled");
    for (practice, rows) in by_practice {
        forest.extend(rows);
        if let Some(p) = pooled_of.get(practice) {
            forest.push(ForestRow {
                label: format!("{pooled_word}: {}", names.practice_label(practice)),
                estimate: p.estimate,
                lower: p.ci_lower,
                upper: p.ci_upper,
                pooled: true,
            });
        }
    }
    let metric = table.metric.as_str();
    let indicator = table.indicator.to_string();
    let label = view::pick(&data.definition.label, ctx.content_lang().as_ref(), None);
    let forest_svg = svg::forest_plot(
        &forest,
        &ForestText {
            id: "forest".into(),
            title: ctx
                .text("compare_forest_title")
                .replace("{indicator}", &format!("{} ({indicator})", label.text)),
            description: ctx.text("compare_forest_desc"),
            axis: format!(
                "{} — {}",
                i18n_metric(lang, metric),
                ctx.text("compare_axis_better")
            ),
        },
    );

    let map = data
        .map
        .origins
        .iter()
        .map(|o| OriginView {
            practice: names.practice(&o.practice),
            origin_organisation: o
                .origin_organisation
                .as_deref()
                .map(|a| names.organisation(a)),
            origin_effect: o.origin_effect.as_ref().map(pooled_text),
            origin_verdict: o.origin_verdict.as_str(),
            summary: o.summary.clone(),
            countries: o
                .countries
                .iter()
                .map(|c| CountryView {
                    country: c.country.as_str().to_string(),
                    adopters: c
                        .adopters
                        .iter()
                        .map(|a| AdopterView {
                            organisation: names.organisation(&a.organisation),
                            state: serde_name(&a.state),
                            countersigned: a.countersigned,
                            counts: a.counts_as_replication,
                            reasons: a.replication.reasons().iter().map(|r| r.as_str()).collect(),
                            effect: a.effect.as_ref().map(pooled_text),
                            verdict: a.verdict.as_str(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();

    ResultView {
        indicator,
        label,
        unit: data.definition.unit.clone(),
        metric,
        direction: serde_name(&data.definition.direction),
        rows,
        estimated,
        forest_svg,
        ranking,
        ranking_note,
        map,
        own_rows: data.effects.own_rows,
        replica_rows: data.effects.replica_rows,
        partners: data.effects.partners,
        skipped: data
            .effects
            .skipped
            .iter()
            .map(|s| (s.object.clone(), s.reason.clone()))
            .collect(),
    }
}

fn i18n_metric(lang: UiLang, metric: &str) -> String {
    super::i18n::text(lang, &format!("compare_metric_{metric}"))
}

/// `GET /compare?indicator=code@version`.
pub async fn show(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Reader) {
        return answer;
    }
    let query = FormData::parse(req.query_string());
    let wanted = query.get("indicator").to_string();
    let options = RankOptions {
        include_uncountersigned: query.get("uncountersigned") == "include",
        ..RankOptions::default()
    };
    let definitions = ctx.fetch(|n| n.list_indicators(None)).await?;
    let want = ctx.content_lang();
    let indicators = definitions
        .iter()
        .map(|d| {
            let value = d.reference().to_string();
            IndicatorOption {
                selected: value == wanted,
                label: view::pick(&d.label, want.as_ref(), None),
                value,
            }
        })
        .collect();
    if wanted.is_empty() {
        let page = ComparePage {
            indicators,
            selected: None,
            include_uncountersigned: false,
            result: None,
        };
        return ctx.render("compare.html", "compare", &page).await;
    }
    let reference: Option<IndicatorRef> = if wanted.chars().count() > MAX_INDICATOR_CHARS {
        None
    } else {
        wanted.parse().ok()
    };
    let Some(reference) = reference else {
        return Err(ctx.error(StatusCode::NOT_FOUND, "compare_unknown_indicator"));
    };
    let node = ctx.node.clone();
    let federation = ctx.federation.clone();
    let analysed = actix_web::web::block(move || {
        analyse(
            &node,
            federation.as_ref().map(|f| f.get_ref()),
            &reference,
            options,
        )
    })
    .await
    .map_err(|_| WebError::internal(ctx.lang))?;
    let data = match analysed {
        Ok(d) => d,
        Err(Failure::Unknown) => {
            return Err(ctx.error(StatusCode::NOT_FOUND, "compare_unknown_indicator"));
        }
        Err(Failure::Refused(reason)) => {
            tracing::debug!(reason, "comparison refused");
            return Err(ctx.error(StatusCode::UNPROCESSABLE_ENTITY, "compare_refused"));
        }
        Err(Failure::Node(e)) => return Err(WebError::from_node(ctx.lang, e)),
    };
    let page = ComparePage {
        indicators,
        selected: Some(wanted),
        include_uncountersigned: options.include_uncountersigned,
        result: Some(result_view(&ctx, &data)),
    };
    ctx.render("compare.html", "compare", &page).await
}
