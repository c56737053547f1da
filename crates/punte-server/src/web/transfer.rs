//! The transfer loop in the browser: every adaptation of a practice on its page, with its
//! countersignature and whether it counts as a replication; the origin organisation
//! countersigns or declines (with a reason) a received adaptation there; each of this node's
//! adaptations has its page, where it is edited and evaluated (the forms are in
//! `adaptations.rs` and `evaluations.rs`).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, web};
use serde::Serialize;

use punte_model::{Adaptation, Evaluation, LangMap, OrganisationProfile, Practice};
use punte_node::Role;
use punte_node::federation::transfer::{TransferRow, TransferSource};
use punte_protocol::urls::{Collection, NodeUrls};

use super::checked_id;
use super::form;
use super::network::anchor_of;
use super::view::{self, AdaptationView, EvaluationView, TextView};
use super::{Ctx, WebError, WebResult};

/// A decline as the page shows it.
#[derive(Debug, Serialize)]
pub struct DeclineView {
    pub at: String,
    pub reason: String,
}

/// One adaptation with where it stands in the transfer loop.
#[derive(Debug, Serialize)]
pub struct TransferView {
    #[serde(flatten)]
    pub a: AdaptationView,
    /// The adaptation's URL.
    pub url: String,
    /// Where its page is: this node's page for its own, the adopter's node otherwise.
    pub href: String,
    /// `own`, `received` or `replica`.
    pub source: &'static str,
    pub adopter: String,
    pub adopter_name: Option<TextView>,
    pub countersigned: bool,
    /// The countersignature's entry in this node's signed history, when it is there.
    pub countersign_href: Option<String>,
    pub declined: Option<DeclineView>,
    pub counts: bool,
    /// Why it does not count (`compare_not_counted_{kind}` messages).
    pub reasons: Vec<&'static str>,
    pub evaluations: u64,
    pub can_countersign: bool,
}

fn source_str(s: TransferSource) -> &'static str {
    match s {
        TransferSource::Own => "own",
        TransferSource::Received => "received",
        TransferSource::Replica => "replica",
    }
}

/// The view of `row`; `core` are the origin practice's core components (for the kept ones'
/// texts), `own_origin` this node's log origin (a countersignature there links to its entry).
pub fn transfer_view(
    ctx: &Ctx,
    row: &TransferRow,
    core: &[LangMap],
    own_origin: Option<&str>,
    profiles: &BTreeMap<String, OrganisationProfile>,
) -> TransferView {
    let want = ctx.content_lang();
    let mut a = view::adaptation(&row.adaptation, core, want.as_ref());
    if row.source != TransferSource::Own {
        // a partner's adaptation is named by its URL on this page (its id is the adopter's)
        a.id = anchor_of(&row.url);
    }
    TransferView {
        href: match row.source {
            TransferSource::Own => format!("/adaptations/{}", row.adaptation.id),
            _ => row.url.clone(),
        },
        url: row.url.clone(),
        source: source_str(row.source),
        adopter_name: profiles
            .get(&row.adopter)
            .map(|o| view::pick(&o.name, want.as_ref(), o.languages.first())),
        adopter: row.adopter.clone(),
        countersigned: row.countersignature.is_some(),
        countersign_href: row
            .countersignature
            .as_ref()
            .filter(|c| Some(c.origin.as_str()) == own_origin)
            .map(|c| format!("/history/{}", c.log_index)),
        declined: row
            .decline
            .as_ref()
            .filter(|_| row.countersignature.is_none())
            .map(|d| DeclineView {
                at: view::date_time(&crate::federation_routes::ms_to_rfc3339(d.declined_ms)),
                reason: d.reason.clone(),
            }),
        counts: row.replication.counts(),
        reasons: row
            .replication
            .reasons()
            .iter()
            .map(|r| r.as_str())
            .collect(),
        evaluations: row.evaluations,
        can_countersign: row.can_countersign(),
        a,
    }
}

/// Every adaptation of this node's practice `id`, for its page (own first, then partners').
pub async fn practice_adaptations(
    ctx: &Ctx,
    id: &str,
    core: &[LangMap],
) -> Result<Vec<TransferView>, WebError> {
    if ctx.federation.is_none() {
        return Ok(Vec::new());
    }
    let lookup = id.to_string();
    let (rows, profiles, origin) = ctx
        .fetch_federation(move |f| {
            let rows = f.practice_transfer(&lookup)?;
            Ok((rows, f.partner_profiles()?, f.log_origin()?))
        })
        .await?;
    Ok(rows
        .iter()
        .map(|r| transfer_view(ctx, r, core, Some(&origin), &profiles))
        .collect())
}

/// `POST /practices/{id}/adaptations/countersign` (admins): countersigns the received
/// adaptation the form names, then back to the practice page.
pub async fn countersign(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let url = received_adaptation(&ctx, &id, data.get("adaptation")).await?;
    ctx.fetch_federation(move |f| f.countersign(&url)).await?;
    Ok(ctx.redirect(&format!("/practices/{id}#adaptations")))
}

/// `POST /practices/{id}/adaptations/decline` (admins): records that the organisation does
/// not countersign it, with the reason typed.
pub async fn decline(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let url = received_adaptation(&ctx, &id, data.get("adaptation")).await?;
    let reason = data.get("reason").trim().to_string();
    if reason.is_empty() {
        return Err(ctx.error(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "transfer_decline_reason_required",
        ));
    }
    ctx.fetch_federation(move |f| f.decline(&url, &reason))
        .await?;
    Ok(ctx.redirect(&format!("/practices/{id}#adaptations")))
}

/// The adaptation URL a form names, when it is one received for practice `id`; else 404.
async fn received_adaptation(ctx: &Ctx, id: &str, url: &str) -> Result<String, WebError> {
    let (practice, url) = (id.to_string(), url.to_string());
    let found = ctx
        .fetch_federation(move |f| {
            Ok(f.incoming_adaptations(false)?
                .into_iter()
                .find(|a| a.object_id == url && a.practice_id == practice)
                .map(|a| a.object_id))
        })
        .await?;
    found.ok_or_else(|| WebError::not_found(ctx.lang))
}

#[derive(Serialize)]
struct AdaptationPage {
    title: TextView,
    practice_href: String,
    practice_title: TextView,
    a: TransferView,
    /// The adaptation card shows no heading of its own.
    single: bool,
    transfer_action: String,
    evaluations: Vec<EvaluationView>,
    disclosure_k: u64,
    published_values: bool,
}

/// `GET /adaptations/{id}`: one of this node's adaptations, where it stands in the transfer
/// loop, and its evaluations.
pub async fn show(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let id = checked_id(&ctx, &path)?;
    let published_values = ctx.user.is_none();
    let lookup = id.clone();
    let (row, origin_practice, profiles, origin) = ctx
        .fetch_federation(move |f| {
            let row = f.adaptation_transfer(&lookup)?;
            let urls = NodeUrls::new(&f.node().settings().base_url)?;
            let practice = &row.adaptation.content.origin.practice;
            let local = urls
                .local_id(Collection::Practices, practice)
                .map(str::to_owned)
                .or_else(|| (!practice.contains("://")).then(|| practice.clone()));
            let origin_practice = match local {
                Some(local) => f
                    .node()
                    .get::<Practice>(&local, None)
                    .ok()
                    .map(|p| (format!("/practices/{local}"), p)),
                None => f.partner_practice(practice)?.map(|p| {
                    (
                        format!("/network/practices#{}", anchor_of(practice)),
                        p.practice,
                    )
                }),
            };
            Ok((row, origin_practice, f.partner_profiles()?, f.log_origin()?))
        })
        .await?;
    let (evaluations, definitions) = {
        let lookup = id.clone();
        ctx.fetch(move |n| {
            let mut shown: Vec<Evaluation> = Vec::new();
            for e in n.evaluations_of_adaptation(&lookup)? {
                let (published, _) = n.evaluation_disclosure(&e.id)?;
                shown.push(if published_values { published } else { e });
            }
            let definitions: BTreeMap<String, _> = n
                .list_indicators(None)?
                .into_iter()
                .map(|d| (d.reference().to_string(), d))
                .collect();
            Ok((shown, definitions))
        })
        .await?
    };
    let want = ctx.content_lang();
    let core: Vec<LangMap> = origin_practice
        .as_ref()
        .map(|(_, p)| p.content.core_components.clone())
        .unwrap_or_default();
    let (practice_href, practice_title) = match &origin_practice {
        Some((href, p)) => (
            href.clone(),
            view::pick(
                &p.content.title,
                want.as_ref(),
                Some(&p.content.original_language),
            ),
        ),
        None => (
            row.adaptation.content.origin.practice.clone(),
            TextView {
                text: row.adaptation.content.origin.practice.clone(),
                lang: String::new(),
                original: true,
            },
        ),
    };
    let adaptation: &Adaptation = &row.adaptation;
    let page = AdaptationPage {
        title: view::adaptation_title(adaptation, want.as_ref()),
        practice_href,
        practice_title,
        a: transfer_view(&ctx, &row, &core, Some(&origin), &profiles),
        single: true,
        transfer_action: String::new(),
        evaluations: evaluations
            .iter()
            .map(|e| view::evaluation(e, &definitions, want.as_ref()))
            .collect(),
        disclosure_k: ctx.node.settings().disclosure_k,
        published_values,
    };
    ctx.render("adaptation.html", "practices", &page).await
}
