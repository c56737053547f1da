//! Witnessing over HTTP (docs/protocol.md §6): the C2SP `tlog-witness` submission endpoint,
//! the witness key, the monitoring view of what this node cosigned, the evidence it kept,
//! the node's own witnesses, and the witness status of the admin API.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use punte_node::federation::Federation;
use punte_node::witness::{MAX_REQUEST_BYTES, TLOG_SIZE, WitnessPolicy, WitnessRefusal};
use punte_node::{Node, Role};

use crate::extract::{Principal, read_body};
use crate::problem::ApiError;

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// Registers the witness routes; `policy` is the `[witness]` config section.
pub fn configure(policy: WitnessPolicy) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(policy))
            .service(
                web::resource("/witness/add-checkpoint")
                    .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
                    .route(web::post().to(add_checkpoint)),
            )
            .route("/witness/key", web::get().to(key))
            .route("/witness/checkpoints", web::get().to(checkpoints))
            .route("/witness/evidence", web::get().to(evidence))
            .route("/log/witnesses", web::get().to(log_witnesses))
            .route("/api/v1/witness/status", web::get().to(status))
            .route("/api/v1/witness/clear-guard", web::post().to(clear_guard));
    }
}

fn refusal(r: WitnessRefusal) -> Result<HttpResponse, ApiError> {
    let problem = |status, kind, title, detail: String| ApiError::new(status, kind, title, detail);
    Err(match r {
        WitnessRefusal::Conflict { size, reason } => {
            tracing::info!(reason, "witness: 409");
            return Ok(HttpResponse::Conflict()
                .content_type(TLOG_SIZE)
                .body(format!("{size}\n")));
        }
        WitnessRefusal::BadRequest(d) => ApiError::bad_request(d),
        WitnessRefusal::UnknownOrigin(o) => ApiError::not_found(format!(
            "this node witnesses only the Punte partners it follows; {o} is not one"
        )),
        WitnessRefusal::Forbidden(d) => ApiError::forbidden(d),
        WitnessRefusal::BadProof(d) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-proof",
            "Consistency proof does not verify",
            d,
        ),
        WitnessRefusal::Membership(r) => membership_problem(&r),
        WitnessRefusal::Node(e) => e.into(),
    })
}

/// The problem of a members-only refusal of a checkpoint.
pub(crate) fn membership_problem(r: &punte_node::membership::MembershipRefusal) -> ApiError {
    use punte_node::membership::MembershipRefusal;
    match r {
        MembershipRefusal::Internal(e) => {
            tracing::error!(error = %e, "membership list unreadable");
            ApiError::internal()
        }
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            r.code(),
            "Not accepted: this node accepts only network members",
            r.to_string(),
        ),
    }
}

async fn add_checkpoint(
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload).await?;
    if body.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::too_large(MAX_REQUEST_BYTES));
    }
    match fed.add_checkpoint(&body).await {
        Ok(lines) => Ok(HttpResponse::Ok().content_type(TEXT_PLAIN).body(lines)),
        Err(r) => refusal(r),
    }
}

async fn key(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let vkey = web::block(move || node.witness_vkey()).await??;
    Ok(HttpResponse::Ok()
        .content_type(TEXT_PLAIN)
        .body(format!("{vkey}\n")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginQuery {
    origin: Option<String>,
}

async fn checkpoints(
    query: web::Query<OriginQuery>,
    node: web::Data<Node>,
) -> Result<HttpResponse, ApiError> {
    let origin = query.into_inner().origin;
    let rows = web::block(move || node.witnessed_checkpoints(origin.as_deref())).await??;
    let items: Vec<_> = rows
        .iter()
        .map(|s| {
            json!({
                "origin": s.origin,
                "actor": s.actor,
                "size": s.size,
                "root": punte_log::Hash(s.root).to_base64(),
                "checkpoint": s.checkpoint,
                "cosignedMs": s.cosigned_ms,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(json!({ "items": items })))
}

async fn evidence(
    query: web::Query<OriginQuery>,
    node: web::Data<Node>,
) -> Result<HttpResponse, ApiError> {
    let origin = query.into_inner().origin;
    let rows = web::block(move || node.witness_evidence(origin.as_deref(), 1000)).await??;
    let items: Vec<_> = rows
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "origin": e.origin,
                "actor": e.actor,
                "kind": e.kind,
                "cosigned": e.cosigned,
                "submitted": e.submitted,
                "oldSize": e.old_size,
                "proof": e.proof,
                "receivedMs": e.received_ms,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn log_witnesses(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let rows = web::block(move || node.log_witnesses()).await??;
    let items: Vec<_> = rows
        .iter()
        .map(|w| {
            json!({
                "actor": w.actor,
                "url": w.url,
                "vkey": w.vkey,
                "country": w.country,
                "size": w.size,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn status(
    who: Principal,
    fed: web::Data<Federation>,
    policy: web::Data<WitnessPolicy>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let policy = **policy;
    let status = web::block(move || fed.witness_status(policy)).await??;
    Ok(HttpResponse::Ok().json(status))
}

async fn clear_guard(who: Principal, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let cleared = web::block(move || node.clear_append_guard()).await??;
    Ok(HttpResponse::Ok().json(json!({ "cleared": cleared })))
}
