//! Practice pages: the list with filters and search, one practice with its versions, what
//! changed between two versions and its evaluations. The forms to add and edit practices
//! are in `practice_form.rs`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::Value as Json;

use punte_model::{Maturity, Practice};
use punte_node::{EvaluationFilter, PracticeFilter};

use super::form::{self, FormData};
use super::transfer::{self, TransferView};
use super::view::{self, DiffRow, EvaluationView, PracticeView};
use super::{Ctx, WebError, WebResult, checked_id};

/// Practices per page of the list.
const PAGE_SIZE: u32 = 20;

fn query_pairs(req: &HttpRequest) -> FormData {
    FormData::parse(req.query_string())
}

#[derive(Serialize)]
struct ListPage {
    filters: BTreeMap<&'static str, String>,
    maturities: Vec<&'static str>,
    practices: Vec<PracticeView>,
    next_href: Option<String>,
    first_href: Option<String>,
    filtered: bool,
}

const FILTERS: [&str; 6] = ["q", "country", "theme", "sdg", "language", "maturity"];

pub async fn list(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let query = query_pairs(&req);
    let mut filters = BTreeMap::new();
    for name in FILTERS {
        let value: String = query.get(name).chars().take(200).collect();
        filters.insert(name, value);
    }
    let some = |name: &str| {
        filters
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    };
    let filter = PracticeFilter {
        country: some("country"),
        theme: some("theme"),
        sdg_target: some("sdg"),
        language: some("language"),
        maturity: some("maturity").filter(|m| Maturity::ALL.iter().any(|x| x.as_str() == m)),
        query: some("q"),
    };
    let after = query.get("after").parse::<i64>().ok();
    let page = ctx
        .fetch(move |n| n.list_practices(&filter, after, PAGE_SIZE))
        .await?;
    let want = ctx.content_lang();
    let filter_query: String = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}&", form::urlencode(v)))
        .collect();
    let view = ListPage {
        maturities: Maturity::ALL.iter().map(|m| m.as_str()).collect(),
        practices: page
            .items
            .iter()
            .map(|p| view::practice(p, want.as_ref()))
            .collect(),
        next_href: page
            .next_after
            .map(|a| format!("/practices?{filter_query}after={a}")),
        first_href: after.map(|_| format!("/practices?{}", filter_query.trim_end_matches('&'))),
        filtered: !filter_query.is_empty(),
        filters,
    };
    ctx.render("practices.html", "practices", &view).await
}

#[derive(Serialize)]
struct VersionLink {
    version: u32,
    created_at: String,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct PracticePage {
    p: PracticeView,
    current_version: u32,
    viewing_old: bool,
    versions: Vec<VersionLink>,
    diff_from: u32,
    diff_to: u32,
    evaluations: Vec<EvaluationView>,
    /// Cells below this many people are suppressed when published.
    disclosure_k: u64,
    /// Whether the values shown are the published ones (suppressed cells blank).
    published_values: bool,
    /// Every adaptation of the practice, this node's and partners'.
    adaptations: Vec<TransferView>,
    /// Where the countersign and decline forms post.
    transfer_action: String,
    single: bool,
}

pub async fn show(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let id = checked_id(&ctx, &path)?;
    practice_page(&ctx, id, None).await
}

pub async fn show_version(req: HttpRequest, path: web::Path<(String, String)>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let (id, version) = path.into_inner();
    let id = checked_id(&ctx, &id)?;
    let version = version
        .parse::<u32>()
        .map_err(|_| WebError::not_found(ctx.lang))?;
    practice_page(&ctx, id, Some(version)).await
}

async fn practice_page(ctx: &Ctx, id: String, version: Option<u32>) -> WebResult {
    // Signed-in people of the organisation see every value, with the cells disclosure
    // control hides marked; everyone else sees the values as they are published.
    let published_values = ctx.user.is_none();
    let practice_id = id.clone();
    let (practice, current, versions, (evaluations, adherence, reasons), definitions) = ctx
        .fetch(move |n| {
            let current: Practice = n.get(&id, None)?;
            let practice: Practice = match version {
                Some(v) if v != current.version => n.get(&id, Some(v))?,
                _ => current.clone(),
            };
            // what the page shows is what the signed history says, or nothing
            n.store().read(|conn| n.check_served(conn, &practice))?;
            let versions = n.versions::<Practice>(&id)?;
            let filter = EvaluationFilter {
                practice: Some(id.clone()),
                indicator: None,
            };
            let mut evaluations = Vec::new();
            let mut reasons = BTreeMap::new();
            for e in n.list_evaluations(&filter, None, 100)?.items {
                let (published, why) = n.evaluation_disclosure(&e.id)?;
                n.store().read(|conn| n.check_served(conn, &published))?;
                evaluations.push(if published_values {
                    published
                } else {
                    reasons.insert(e.id.clone(), why);
                    mark_suppressed(e, &published)
                });
            }
            let definitions: BTreeMap<String, _> = n
                .list_indicators(None)?
                .into_iter()
                .map(|d| (d.reference().to_string(), d))
                .collect();
            let adherence = n.plan_adherence(&evaluations)?;
            Ok((
                practice,
                current,
                versions,
                (evaluations, adherence, reasons),
                definitions,
            ))
        })
        .await?;
    let adaptations =
        transfer::practice_adaptations(ctx, &practice_id, &current.content.core_components).await?;
    let want = ctx.content_lang();
    let shown = practice.version;
    let page = PracticePage {
        versions: versions
            .iter()
            .rev()
            .map(|v| VersionLink {
                version: v.version,
                created_at: view::date_time(&v.created_at),
                href: if v.version == current.version {
                    format!("/practices/{}", practice.id)
                } else {
                    format!("/practices/{}/versions/{}", practice.id, v.version)
                },
                current: v.version == shown,
            })
            .collect(),
        current_version: current.version,
        viewing_old: shown != current.version,
        diff_from: shown.saturating_sub(1).max(1),
        diff_to: shown,
        evaluations: evaluations
            .iter()
            .map(|e| {
                let mut v = view::evaluation(e, &definitions, want.as_ref());
                v.plan = view::plan(e, adherence.get(&e.id));
                for (value, why) in v
                    .values
                    .iter_mut()
                    .zip(reasons.get(&e.id).into_iter().flatten())
                {
                    value.why = why.as_ref().map(view::WhyView::of);
                }
                v
            })
            .collect(),
        disclosure_k: ctx.node.settings().disclosure_k,
        published_values,
        adaptations,
        transfer_action: format!("/practices/{}/adaptations", practice.id),
        single: false,
        p: view::practice(&practice, want.as_ref()),
    };
    ctx.render("practice.html", "practices", &page).await
}

/// The stored evaluation with each value marked as disclosure control marks it in
/// `published` (the same values, in the same order).
fn mark_suppressed(
    mut stored: punte_model::Evaluation,
    published: &punte_model::Evaluation,
) -> punte_model::Evaluation {
    for (value, out) in stored
        .content
        .values
        .iter_mut()
        .zip(&published.content.values)
    {
        value.suppressed = out.suppressed;
    }
    stored
}

#[derive(Serialize)]
struct DiffPage {
    id: String,
    title: view::TextView,
    from: u32,
    to: u32,
    versions: Vec<u32>,
    rows: Vec<DiffRow>,
}

pub async fn diff(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let id = checked_id(&ctx, &path)?;
    let query = query_pairs(&req);
    let from = query.get("from").parse::<u32>().ok();
    let to = query.get("to").parse::<u32>().ok();
    let (before, after, versions) = ctx
        .fetch(move |n| {
            let current: Practice = n.get(&id, None)?;
            let to = to.unwrap_or(current.version);
            let from = from.unwrap_or(to.saturating_sub(1).max(1));
            let before: Practice = n.get(&id, Some(from))?;
            let after: Practice = n.get(&id, Some(to))?;
            let versions = n.versions::<Practice>(&id)?;
            Ok((before, after, versions))
        })
        .await?;
    let encode = |p: &Practice| serde_json::to_value(&p.content).unwrap_or(Json::Null);
    let want = ctx.content_lang();
    let page = DiffPage {
        title: view::pick(
            &after.content.title,
            want.as_ref(),
            Some(&after.content.original_language),
        ),
        rows: view::diff(&encode(&before), &encode(&after), ctx.lang),
        from: before.version,
        to: after.version,
        versions: versions.iter().map(|v| v.version).collect(),
        id: after.id,
    };
    ctx.render("diff.html", "practices", &page).await
}
