//! Network membership over HTTP (docs/protocol.md §1.10, docs/api.md "Membership"): the
//! public `GET /membership` of a coordinator, the admin API that admits, updates and removes
//! members, and the membership status of any node.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use punte_node::federation::Federation;
use punte_node::membership::{MembershipError, PublishedList};
use punte_node::{Node, Role};
use punte_protocol::multikey;
use punte_protocol::objects::{Member, MembershipList, standalone};

use crate::extract::{Principal, json_body};
use crate::federation_routes::{ACTIVITY_JSON, ms_to_rfc3339};
use crate::problem::ApiError;

/// Header naming the log index of the entry that published the served list.
pub const LOG_INDEX_HEADER: &str = "Punte-Log-Index";

/// Public routes (register before the web UI).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/membership", web::get().to(public_list));
}

/// Routes under `/api/v1`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/membership", web::get().to(published))
        .route("/membership/status", web::get().to(status))
        .route("/membership/admit", web::post().to(admit))
        .route("/membership/update", web::post().to(update))
        .route("/membership/remove", web::post().to(remove));
}

fn problem(e: MembershipError) -> ApiError {
    let detail = e.to_string();
    match e {
        MembershipError::AlreadyMember(_) => ApiError::new(
            StatusCode::CONFLICT,
            "already-a-member",
            "Already a member",
            detail,
        ),
        MembershipError::NotAMember(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not-a-member",
            "Not a current member",
            detail,
        ),
        MembershipError::Unchanged(_) => ApiError::new(
            StatusCode::CONFLICT,
            "keys-unchanged",
            "Nothing to update",
            detail,
        ),
        MembershipError::Unusable(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "member-unusable",
            "Cannot be a member",
            detail,
        ),
        MembershipError::Unreachable { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "member-unreachable",
            "Cannot read the member's node",
            detail,
        ),
        MembershipError::Node(e) => e.into(),
    }
}

fn member_json(m: &Member) -> Value {
    json!({
        "actor": m.actor,
        "name": m.name,
        "country": m.country.as_str(),
        "identityKey": multikey::encode_ed25519_public(&m.identity_key),
        "witnessKey": m.witness_key,
        "joined": m.joined.to_string(),
        "left": m.left.map(|d| d.to_string()),
        "current": m.is_current(),
    })
}

fn list_json(list: &MembershipList, log_index: u64) -> Value {
    json!({
        "id": list.id,
        "coordinator": list.coordinator,
        "version": list.version,
        "published": list.published,
        "logIndex": log_index,
        "change": {"action": list.action.as_str(), "actor": list.changed},
        "members": list.members.iter().map(member_json).collect::<Vec<_>>(),
    })
}

fn published_json(p: &PublishedList) -> Value {
    let mut v = list_json(&p.list, p.log_index);
    if let Some(o) = v.as_object_mut() {
        o.insert("activity".to_owned(), p.activity_id.clone().into());
    }
    v
}

/// `GET /membership`: the latest list this node published, as AS2 JSON exactly as in the
/// logged `Update`, with the entry's index in `Punte-Log-Index`.
async fn public_list(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let published = web::block(move || node.published_membership()).await??;
    let Some(p) = published else {
        return Err(ApiError::not_found(
            "this node publishes no membership list (it is not a network coordinator)",
        ));
    };
    Ok(HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .insert_header((LOG_INDEX_HEADER, p.log_index.to_string()))
        .json(standalone(&p.object)))
}

/// `GET /api/v1/membership`: this node's published list (as a coordinator) and its history.
async fn published(who: Principal, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let (current, history) = web::block(move || {
        Ok::<_, punte_node::NodeError>((node.published_membership()?, node.membership_history()?))
    })
    .await??;
    let history: Vec<Value> = history
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "logIndex": v.log_index,
                "activity": v.activity_id,
                "action": v.action,
                "actor": v.actor,
                "publishedAt": ms_to_rfc3339(v.published_ms),
            })
        })
        .collect();
    let mut body = match &current {
        Some(p) => published_json(p),
        None => json!({"version": null, "logIndex": null, "members": []}),
    };
    if let Some(o) = body.as_object_mut() {
        o.insert("history".to_owned(), Value::Array(history));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/membership/status`: the coordinator, members-only mode, and the list in force.
async fn status(who: Principal, fed: web::Data<Federation>) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let f = fed.clone();
    let (s, in_force) = web::block(move || {
        Ok::<_, punte_node::NodeError>((f.membership_status()?, f.membership_in_force()?))
    })
    .await??;
    Ok(HttpResponse::Ok().json(json!({
        "coordinator": s.coordinator,
        "membersOnly": s.members_only,
        "isCoordinator": s.is_coordinator,
        "version": s.version,
        "logIndex": s.log_index,
        "members": s.members,
        "listed": s.listed,
        "publishedVersion": s.published_version,
        "list": in_force.map(|f| list_json(&f.list, f.log_index)),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdmitBody {
    actor: String,
    /// ISO 3166-1 alpha-2; taken from the member's organisation profile when absent.
    country: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorBody {
    actor: String,
}

async fn admit(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: AdmitBody = json_body(&req, payload).await?;
    let p = fed
        .admit_member(body.actor.trim(), body.country.as_deref())
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(published_json(&p)))
}

async fn update(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: ActorBody = json_body(&req, payload).await?;
    let p = fed
        .update_member(body.actor.trim())
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Ok().json(published_json(&p)))
}

async fn remove(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: ActorBody = json_body(&req, payload).await?;
    let p = web::block(move || fed.remove_member(body.actor.trim()))
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::Ok().json(published_json(&p)))
}
