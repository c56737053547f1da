//! ActivityPub routes (docs/protocol.md §5): the actor, WebFinger, NodeInfo,
//! the inbox, followers/following, AS2 object URLs, and the admin API for follows,
//! deliveries and replicas.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, guard, web};
use serde::Deserialize;
use serde_json::{Value, json};

use punte_model::{Adaptation, Evaluation, Practice};
use punte_node::federation::Federation;
use punte_node::federation::inbox::{InboundRequest, InboxRefusal, MAX_INBOX_BYTES};
use punte_node::{Node, Role};
use punte_protocol::actor::NodeActor;
use punte_protocol::nodeinfo::{NodeInfo, NodeInfoDiscovery, Usage, UsageUsers};
use punte_protocol::urls::NodeUrls;
use punte_protocol::webfinger::{Acct, Jrd};
use punte_store::federation::{DeliveryState, FollowRow, FollowState};

use crate::extract::{Principal, json_body};
use crate::problem::ApiError;

/// `application/activity+json`.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// Routes served to other servers. Register before the web UI: the object routes take
/// requests that ask for AS2 and leave the rest to the HTML pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let as2 = || guard::fn_guard(|ctx| wants_as2(ctx.head().headers()));
    cfg.route("/actor", web::get().to(actor))
        .route("/.well-known/webfinger", web::get().to(webfinger))
        .route("/.well-known/nodeinfo", web::get().to(nodeinfo_discovery))
        .route("/nodeinfo/2.1", web::get().to(nodeinfo))
        .service(
            web::resource("/inbox")
                .app_data(web::PayloadConfig::new(MAX_INBOX_BYTES))
                .route(web::post().to(inbox)),
        )
        .route("/followers", web::get().to(followers_collection))
        .route("/following", web::get().to(following_collection))
        .route(
            "/federation/checkpoints",
            web::get().to(partner_checkpoints),
        )
        .route(
            "/practices/{id}",
            web::get().guard(as2()).to(object::<Practice>),
        )
        .route(
            "/evaluations/{id}",
            web::get().guard(as2()).to(object::<Evaluation>),
        )
        .route(
            "/adaptations/{id}",
            web::get().guard(as2()).to(object::<Adaptation>),
        )
        .route("/indicators/{reference}", web::get().to(indicator_object));
}

/// `GET BASE/indicators/{code}@{version}`: an indicator definition of the catalogue, the id of
/// its `IndicatorDefinition` object, as AS2 JSON (there is no HTML page of one definition).
async fn indicator_object(
    path: web::Path<String>,
    node: web::Data<Node>,
) -> Result<HttpResponse, ApiError> {
    let reference: punte_model::IndicatorRef = path
        .into_inner()
        .parse()
        .map_err(|e: String| ApiError::not_found(e))?;
    let urls = urls(&node)?;
    let definition = web::block(move || node.indicator(&reference)).await??;
    Ok(as2(&punte_protocol::objects::standalone(
        &punte_protocol::objects::indicator_to_object(&definition, &urls),
    )))
}

/// The admin API for federation, under `/api/v1`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/followers", web::get().to(list_followers))
        .route("/followers/approve", web::post().to(approve_follower))
        .route("/followers/reject", web::post().to(reject_follower))
        .route("/following", web::get().to(list_following))
        .route("/following", web::post().to(follow))
        .route("/following", web::delete().to(unfollow))
        .route("/deliveries", web::get().to(list_deliveries))
        .route("/delivery-hosts", web::get().to(list_hosts))
        .route("/replicas", web::get().to(list_replicas))
        .route("/replicas/sync", web::post().to(sync_replica))
        .route("/replicated", web::get().to(list_replicated))
        .route("/inbox", web::get().to(list_inbox));
}

/// Whether the request asks for ActivityStreams JSON.
pub fn wants_as2(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.contains("application/activity+json")
                || (v.contains("application/ld+json") && v.contains("activitystreams"))
        })
}

fn as2(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .insert_header(("Vary", "Accept"))
        .json(value)
}

/// `Retry-After` of the inbox while the node refuses to append.
const INBOX_RETRY_AFTER_SECS: u64 = 300;

fn refusal(r: &InboxRefusal) -> ApiError {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let InboxRefusal::Unavailable(why) = r {
        // a node that refuses to append takes nothing in; senders retry later
        return ApiError::new(
            status,
            r.code(),
            "temporarily unavailable",
            format!("this node takes no activity in for now: {why}"),
        )
        .retry_after(INBOX_RETRY_AFTER_SECS);
    }
    if status.is_server_error() {
        tracing::error!(error = %r, "inbox failed");
        return ApiError::internal();
    }
    ApiError::new(status, r.code(), "activity refused", r.to_string())
}

fn urls(node: &Node) -> Result<NodeUrls, ApiError> {
    NodeUrls::new(&node.settings().base_url).map_err(|_| ApiError::internal())
}

/// The absolute URI a request was addressed to: the public base URL + path and query (the
/// node may sit behind a proxy that changes the scheme and host).
fn target_uri(node: &Node, req: &HttpRequest) -> String {
    let base = node.settings().base_url.trim_end_matches('/');
    let pq = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    format!("{base}{pq}")
}

fn headers_of(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

// ----- actor and discovery -----

async fn actor(
    req: HttpRequest,
    node: web::Data<Node>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    if !wants_as2(req.headers()) {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .insert_header(("Vary", "Accept"))
            .finish());
    }
    let profile = {
        let node = node.clone();
        web::block(move || node.organisation()).await??
    };
    let urls = urls(&node)?;
    let keys = node.keys();
    let ed = keys.identity.verifying_key();
    let rsa = keys.rsa.to_public_key();
    let document = NodeActor {
        urls: &urls,
        username: &fed.settings().username,
        profile: profile.as_ref(),
        ed25519: &ed,
        rsa: Some(&rsa),
        manually_approves_followers: !fed.settings().auto_approve_follows,
    }
    .to_document()
    .map_err(|_| ApiError::internal())?;
    Ok(as2(&document))
}

#[derive(Deserialize)]
struct WebFingerQuery {
    resource: Option<String>,
}

async fn webfinger(
    query: web::Query<WebFingerQuery>,
    node: web::Data<Node>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let resource = query
        .resource
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("the resource parameter is required"))?;
    let urls = urls(&node)?;
    let actor = urls.actor();
    let host = punte_node::federation::host_of(urls.base()).ok_or_else(ApiError::internal)?;
    let own = Acct {
        user: fed.settings().username.clone(),
        host: host.clone(),
    };
    let matches = if resource == actor || resource == format!("{}/", urls.base()) {
        true
    } else {
        match Acct::parse_uri(resource) {
            Ok(acct) => {
                acct.user.eq_ignore_ascii_case(&own.user) && acct.host.eq_ignore_ascii_case(&host)
            }
            Err(_) => false,
        }
    };
    if !matches {
        return Err(ApiError::not_found(format!(
            "this node is {} ({actor}); nothing known as {resource}",
            own.to_uri()
        )));
    }
    let jrd = Jrd::for_actor(&own, &actor, Some(&format!("{}/", urls.base())));
    Ok(HttpResponse::Ok()
        .content_type("application/jrd+json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(jrd))
}

async fn nodeinfo_discovery(node: web::Data<Node>) -> HttpResponse {
    let base = node.settings().base_url.trim_end_matches('/').to_owned();
    HttpResponse::Ok().json(NodeInfoDiscovery::v2_1(format!("{base}/nodeinfo/2.1")))
}

async fn nodeinfo(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let posts = web::block(move || node.outbox_total()).await??;
    let info = NodeInfo::v2_1(
        "punte",
        env!("CARGO_PKG_VERSION"),
        Usage {
            users: UsageUsers {
                total: Some(1),
                active_month: Some(1),
                active_halfyear: Some(1),
            },
            local_posts: Some(posts),
        },
    );
    Ok(HttpResponse::Ok()
        .content_type(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        )
        .json(info))
}

// ----- inbox -----

async fn inbox(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    // the body within the inbox limit and the read deadline (a dribbled body is cut: 408)
    let body = crate::extract::read_body_within(&req, payload, MAX_INBOX_BYTES + 1)
        .await
        .map_err(|e| match e.status {
            StatusCode::PAYLOAD_TOO_LARGE => refusal(&InboxRefusal::TooLarge(MAX_INBOX_BYTES)),
            _ => e,
        })?;
    let request = InboundRequest {
        method: req.method().as_str().to_owned(),
        target_uri: target_uri(&node, &req),
        headers: headers_of(&req),
        body: body.to_vec(),
    };
    let fed = fed.into_inner();
    match fed.receive(request).await {
        Ok(received) => {
            tracing::info!(activity = %received.activity_id, outcome = %received.outcome, new = received.new, "inbox");
            Ok(HttpResponse::Accepted().json(json!({
                "id": received.activity_id,
                "new": received.new,
                "outcome": received.outcome,
            })))
        }
        Err(r) => {
            tracing::info!(code = r.code(), error = %r, "inbox refused an activity");
            Err(refusal(&r))
        }
    }
}

// ----- authorized fetch -----

/// Passes when authorized fetch is off, or the GET carries a valid signature of some actor;
/// in members-only mode, of the coordinator or of a current member by its pinned key
/// (`403` with the members-only problem codes otherwise).
pub struct SignedFetch;

impl FromRequest for SignedFetch {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let fed = req.app_data::<web::Data<Federation>>().cloned();
        let node = req.app_data::<web::Data<Node>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let (Some(fed), Some(node)) = (fed, node) else {
                return Ok(SignedFetch);
            };
            if !fed.settings().authorized_fetch {
                return Ok(SignedFetch);
            }
            let target = target_uri(&node, &req);
            fed.verify_signed_get(&target, &headers_of(&req))
                .await
                .map(|_| SignedFetch)
                .map_err(|r| match r {
                    InboxRefusal::Internal(_) => ApiError::internal(),
                    InboxRefusal::Membership(m) => crate::witness_routes::membership_problem(&m),
                    other => ApiError::unauthorized(format!(
                        "this node requires signed fetches: {other}"
                    )),
                })
        })
    }
}

fn collection(id: String, items: Vec<String>) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    })
}

async fn followers_collection(
    _signed: SignedFetch,
    node: web::Data<Node>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let urls = urls(&node)?;
    let rows = web::block(move || fed.followers(Some(FollowState::Accepted))).await??;
    Ok(as2(&collection(
        urls.followers(),
        rows.into_iter().map(|r| r.actor).collect(),
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginQuery {
    origin: Option<String>,
}

/// Partners' signed checkpoints as they arrived here (docs/protocol.md §5.9): public, for
/// auditors comparing what a node showed its partners with what it serves.
async fn partner_checkpoints(
    query: web::Query<OriginQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let origin = query.into_inner().origin;
    let rows = web::block(move || fed.partner_checkpoints(origin.as_deref(), 1000)).await??;
    let items: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "origin": c.origin,
                "actor": c.actor,
                "size": c.size,
                "root": punte_log::Hash(c.root).to_base64(),
                "checkpoint": c.note,
                "via": c.via,
                "receivedMs": c.received_ms,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .json(json!({ "items": items })))
}

async fn following_collection(
    _signed: SignedFetch,
    node: web::Data<Node>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let urls = urls(&node)?;
    let rows = web::block(move || fed.following(Some(FollowState::Accepted))).await??;
    Ok(as2(&collection(
        urls.following(),
        rows.into_iter().map(|r| r.actor).collect(),
    )))
}

async fn object<D: punte_node::Document + Send + 'static>(
    id: web::Path<String>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let document = web::block(move || fed.object_document::<D>(&id)).await??;
    Ok(as2(&document))
}

// ----- admin API -----

fn follow_json(f: &FollowRow) -> Value {
    json!({
        "actor": f.actor,
        "username": f.username,
        "followId": f.follow_id,
        "state": f.state.as_str(),
        "inbox": f.inbox,
        "punte": f.is_punte,
        "requestedAt": ms_to_rfc3339(f.requested_ms),
        "decidedAt": f.decided_ms.map(ms_to_rfc3339),
    })
}

/// RFC 3339 UTC with milliseconds.
pub fn ms_to_rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(punte_store::timestamp)
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    state: Option<String>,
}

fn follow_state(s: Option<&str>) -> Result<Option<FollowState>, ApiError> {
    s.map(|s| {
        FollowState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state must be pending, accepted or rejected, not {s:?}"
            ))
        })
    })
    .transpose()
}

async fn list_followers(
    who: Principal,
    query: web::Query<StateQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let state = follow_state(query.state.as_deref())?;
    let rows = web::block(move || fed.followers(state)).await??;
    Ok(HttpResponse::Ok()
        .json(json!({ "items": rows.iter().map(follow_json).collect::<Vec<_>>() })))
}

async fn list_following(
    who: Principal,
    query: web::Query<StateQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let state = follow_state(query.state.as_deref())?;
    let rows = web::block(move || fed.following(state)).await??;
    Ok(HttpResponse::Ok()
        .json(json!({ "items": rows.iter().map(follow_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorBody {
    actor: String,
}

async fn approve_follower(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: ActorBody = json_body(&req, payload).await?;
    let row = web::block(move || fed.approve(&body.actor)).await??;
    Ok(HttpResponse::Ok().json(follow_json(&row)))
}

async fn reject_follower(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: ActorBody = json_body(&req, payload).await?;
    let row = web::block(move || fed.reject(&body.actor)).await??;
    Ok(HttpResponse::Ok().json(follow_json(&row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowBody {
    /// `@name@host`, `acct:name@host` or an actor URL.
    target: String,
}

async fn follow(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: FollowBody = json_body(&req, payload).await?;
    match fed.follow(&body.target).await {
        Ok(row) => Ok(HttpResponse::Accepted().json(follow_json(&row))),
        Err(punte_node::federation::RemoteError::Node(e)) => Err(e.into()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "remote-unavailable",
            "cannot reach the partner",
            e.to_string(),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorQuery {
    actor: String,
}

async fn unfollow(
    who: Principal,
    query: web::Query<ActorQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let actor = query.into_inner().actor;
    web::block(move || fed.unfollow(&actor)).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    state: Option<String>,
    index: Option<u64>,
    host: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

async fn list_deliveries(
    who: Principal,
    query: web::Query<DeliveriesQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let q = query.into_inner();
    let state = q
        .state
        .as_deref()
        .map(|s| {
            DeliveryState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "state must be pending, delivered or failed, not {s:?}"
                ))
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    let (rows, hosts) = web::block(move || {
        Ok::<_, punte_node::NodeError>((
            fed.deliveries(state, q.index, q.host.as_deref(), q.before, limit)?,
            fed.delivery_breakers()?,
        ))
    })
    .await??;
    // the real next attempt of a pending row: its own retry time, or its host's pause
    let next_attempt = |d: &punte_store::federation::DeliveryRow| {
        let paused = hosts
            .iter()
            .find(|h| h.host == d.host)
            .map_or(0, |h| h.paused_until_ms);
        d.next_attempt_ms.max(paused)
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "logIndex": d.log_index,
                "activity": d.activity_id,
                "inbox": d.inbox,
                "host": d.host,
                "recipient": d.recipient,
                "state": d.state.as_str(),
                "attempts": d.attempts,
                "createdAt": ms_to_rfc3339(d.created_ms),
                "nextAttemptAt": (d.state == DeliveryState::Pending).then(|| ms_to_rfc3339(next_attempt(d))),
                "lastAttemptAt": d.last_attempt_ms.map(ms_to_rfc3339),
                "lastStatus": d.last_status,
                "lastError": d.last_error,
                "doneAt": d.done_ms.map(ms_to_rfc3339),
            })
        })
        .collect();
    let next = rows.last().map(|d| d.id);
    Ok(HttpResponse::Ok().json(json!({ "items": items, "before": next })))
}

async fn list_hosts(who: Principal, fed: web::Data<Federation>) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let (summary, hosts) = web::block(move || fed.delivery_hosts()).await??;
    let items: Vec<Value> = summary
        .iter()
        .map(|(host, pending, delivered, failed)| {
            let h = hosts.iter().find(|h| &h.host == host);
            json!({
                "host": host,
                "pending": pending,
                "delivered": delivered,
                "failed": failed,
                "scheme": h.and_then(|h| h.scheme.clone()),
                "consecutiveFailures": h.map_or(0, |h| h.consecutive_failures),
                "pausedUntil": h.filter(|h| h.paused_until_ms > 0).map(|h| ms_to_rfc3339(h.paused_until_ms)),
                "lastSuccessAt": h.and_then(|h| h.last_success_ms).map(ms_to_rfc3339),
                "lastError": h.and_then(|h| h.last_error.clone()),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn list_replicas(
    who: Principal,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let (rows, forks) =
        web::block(move || Ok::<_, punte_node::NodeError>((fed.replicas()?, fed.partner_forks()?)))
            .await??;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let fork = forks.iter().find(|f| f.actor == r.actor).map(|f| {
                json!({
                    "kind": f.kind, "at": f.at, "held": f.held, "received": f.received,
                    "via": f.via, "detectedAt": ms_to_rfc3339(f.detected_ms),
                })
            });
            json!({
                "actor": r.actor,
                "origin": r.origin,
                "size": r.size,
                "root": hex_of(&r.root),
                "checkpointSize": r.checkpoint_size,
                "wantedSize": r.wanted_size,
                "upToDate": fork.is_none() && r.size >= r.wanted_size && r.size == r.checkpoint_size,
                "lastSyncAt": r.last_sync_ms.map(ms_to_rfc3339),
                "lastError": r.last_error,
                "awaiting": r.awaiting,
                "fork": fork,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn sync_replica(
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let body: ActorBody = json_body(&req, payload).await?;
    match fed.sync_replica(&body.actor).await {
        Ok(r) => Ok(HttpResponse::Ok().json(json!({
            "actor": r.actor, "from": r.from, "to": r.to, "checkpointSize": r.checkpoint_size,
        }))),
        Err(punte_node::federation::RemoteError::Node(e)) => Err(e.into()),
        Err(e @ punte_node::federation::RemoteError::Forked(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "log-fork",
            "the partner's signed history forked",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "sync-failed",
            "replica sync failed",
            e.to_string(),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicatedQuery {
    kind: Option<String>,
    actor: Option<String>,
}

async fn list_replicated(
    who: Principal,
    query: web::Query<ReplicatedQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let q = query.into_inner();
    if let Some(k) = &q.kind
        && !matches!(
            k.as_str(),
            "practice"
                | "evaluation"
                | "indicator"
                | "adaptation"
                | "attestation"
                | "organisation"
                | "membership"
        )
    {
        return Err(ApiError::bad_request(format!(
            "kind must be practice, evaluation, indicator, adaptation, attestation, organisation or membership, not {k:?}"
        )));
    }
    let rows =
        web::block(move || fed.replica_objects(q.actor.as_deref(), q.kind.as_deref())).await??;
    let items: Vec<Value> = rows
        .iter()
        .map(|o| {
            json!({
                "id": o.object_id,
                "actor": o.actor,
                "kind": o.kind,
                "logIndex": o.log_index,
                "activity": o.activity_id,
                "updates": o.updates,
                "updatedAt": ms_to_rfc3339(o.updated_ms),
                "object": serde_json::from_str::<Value>(&o.object).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<u32>,
}

async fn list_inbox(
    who: Principal,
    query: web::Query<LimitQuery>,
    fed: web::Data<Federation>,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let limit = query.limit.unwrap_or(50);
    let rows = web::block(move || fed.inbox_latest(limit)).await??;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "id": r.activity_id,
                "actor": r.actor,
                "type": r.kind,
                "receivedAt": ms_to_rfc3339(r.received_ms),
                "outcome": r.outcome,
                "evidence": serde_json::from_str::<Value>(&r.evidence).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
