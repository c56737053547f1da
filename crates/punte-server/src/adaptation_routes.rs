//! The adaptation workflow's admin API under `/api/v1` (issue #5, docs/protocol.md §5.7):
//! adaptations of this node's practices received from other organisations, and
//! countersigning one (an `Attestation` in this node's signed log) or declining it with a
//! reason (this node's own record, not published).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use punte_node::Role;
use punte_node::federation::Federation;
use punte_store::adaptations::IncomingAdaptation;

use crate::extract::{Principal, json_body};
use crate::federation_routes::ms_to_rfc3339;
use crate::problem::ApiError;

/// Registered inside the `/api/v1` scope of [`crate::api::configure`], before the
/// `/adaptations/{id}` document routes (which would take `incoming` for an id).
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/adaptations/incoming", web::get().to(list_incoming))
        .route("/adaptations/countersign", web::post().to(countersign))
        .route("/adaptations/decline", web::post().to(decline));
}

/// The JSON of a received adaptation.
pub fn incoming_json(a: &IncomingAdaptation) -> Value {
    json!({
        "adaptation": a.object_id,
        "adopter": a.adopter,
        "practice": a.practice_id,
        "practiceVersion": a.practice_version,
        "version": a.adaptation_version,
        "country": a.country,
        "state": a.state,
        "activity": a.activity_id,
        "receivedAt": ms_to_rfc3339(a.received_ms),
        "updatedAt": ms_to_rfc3339(a.updated_ms),
        "deleted": a.deleted,
        "countersignature": a.countersignature.as_ref().map(|c| json!({
            "logIndex": c.log_index,
            "attestation": c.attestation_id,
            "activity": c.activity_id,
            "at": ms_to_rfc3339(c.countersigned_ms),
        })),
        "decline": a.decline.as_ref().map(|d| json!({
            "at": ms_to_rfc3339(d.declined_ms),
            "version": d.version,
            "reason": d.reason,
        })),
        "object": serde_json::from_str::<Value>(&a.object).unwrap_or(Value::Null),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingQuery {
    /// Include adaptations their adopters deleted.
    #[serde(default)]
    deleted: bool,
}

async fn list_incoming(
    who: Principal,
    query: web::Query<IncomingQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let include_deleted = query.deleted;
    let rows = web::block(move || fed.incoming_adaptations(include_deleted)).await??;
    let items: Vec<Value> = rows.iter().map(incoming_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountersignBody {
    /// The adaptation's URL on the adopter's node.
    adaptation: String,
}

async fn countersign(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: CountersignBody = json_body(&req, payload).await?;
    let row = web::block(move || fed.countersign(&body.adaptation)).await??;
    Ok(HttpResponse::Ok().json(incoming_json(&row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineBody {
    /// The adaptation's URL on the adopter's node.
    adaptation: String,
    /// Why this organisation does not countersign it.
    reason: String,
}

async fn decline(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: DeclineBody = json_body(&req, payload).await?;
    let row = web::block(move || fed.decline(&body.adaptation, &body.reason)).await??;
    Ok(HttpResponse::Ok().json(incoming_json(&row)))
}
