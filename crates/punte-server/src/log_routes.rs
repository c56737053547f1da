//! The public, read-only views of the signed history (docs/protocol.md §3): the checkpoint,
//! entry pages, inclusion and consistency proofs, the key history, the ActivityPub outbox
//! paged by log index, and single activities as their exact stored bytes. No token needed.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::json;

use punte_log::tree::format_proof;
use punte_node::Node;

use crate::problem::ApiError;

/// Media type of ActivityStreams documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/log/checkpoint", web::get().to(checkpoint))
        .route("/log/entries", web::get().to(entries))
        .route("/log/proof/inclusion", web::get().to(inclusion))
        .route("/log/proof/consistency", web::get().to(consistency))
        .route("/log/key", web::get().to(key))
        .route("/outbox", web::get().to(outbox))
        .route("/activities/{uuid}", web::get().to(activity));
}

/// Reads exactly the named unsigned integer parameters; anything else is a 400.
fn query_numbers<const N: usize>(
    req: &HttpRequest,
    names: [&str; N],
) -> Result<[Option<u64>; N], ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
    let mut out = [None; N];
    for (name, value) in pairs {
        let slot = names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| out.get_mut(i))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown query parameter '{name}' (expected {})",
                    names.join(", ")
                ))
            })?;
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter '{name}' is given twice"
            )));
        }
        let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        let number = value.parse::<u64>().ok().filter(|_| ok).ok_or_else(|| {
            ApiError::bad_request(format!("'{name}' must be a whole number, got '{value}'"))
        })?;
        *slot = Some(number);
    }
    Ok(out)
}

fn required(value: Option<u64>, name: &str) -> Result<u64, ApiError> {
    value.ok_or_else(|| ApiError::bad_request(format!("query parameter '{name}' is required")))
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TEXT_PLAIN)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[derive(Deserialize)]
struct CheckpointQuery {
    /// The largest checkpoint with at least this many cosignatures instead of the latest.
    cosigned: Option<u32>,
}

async fn checkpoint(
    query: web::Query<CheckpointQuery>,
    node: web::Data<Node>,
) -> Result<HttpResponse, ApiError> {
    let Some(min) = query.into_inner().cosigned else {
        let note = web::block(move || node.log_checkpoint()).await??;
        return Ok(text(note));
    };
    match web::block(move || node.cosigned_checkpoint(min)).await?? {
        Some(note) => Ok(text(note)),
        None => Err(ApiError::not_found(format!(
            "no checkpoint has {min} cosignatures"
        ))),
    }
}

#[derive(Serialize)]
struct EntriesBody {
    start: u64,
    end: u64,
    size: u64,
    entries: Vec<EntryBody>,
}

#[derive(Serialize)]
struct EntryBody {
    index: u64,
    entry: String,
    activity: Option<String>,
}

async fn entries(req: HttpRequest, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let [start, end] = query_numbers(&req, ["start", "end"])?;
    let (start, end) = (required(start, "start")?, required(end, "end")?);
    let page = web::block(move || node.log_entries(start, end)).await??;
    let body = EntriesBody {
        start: page.start,
        end: page.end,
        size: page.size,
        entries: page
            .entries
            .iter()
            .map(|e| EntryBody {
                index: e.index,
                entry: BASE64.encode(&e.entry),
                activity: e.activity.as_ref().map(|a| BASE64.encode(a)),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}

async fn inclusion(req: HttpRequest, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let [index, size] = query_numbers(&req, ["index", "size"])?;
    let (index, size) = (required(index, "index")?, required(size, "size")?);
    let proof = web::block(move || node.inclusion_proof(index, size)).await??;
    Ok(text(format_proof(&proof)))
}

async fn consistency(req: HttpRequest, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let [old, new] = query_numbers(&req, ["old", "new"])?;
    let (old, new) = (required(old, "old")?, required(new, "new")?);
    let proof = web::block(move || node.consistency_proof(old, new)).await??;
    Ok(text(format_proof(&proof)))
}

async fn key(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let keys = web::block(move || node.log_verifier_keys()).await??;
    Ok(text(keys.iter().map(|k| format!("{k}\n")).collect()))
}

fn activity_json(value: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().content_type(ACTIVITY_JSON).json(value)
}

async fn outbox(
    req: HttpRequest,
    node: web::Data<Node>,
    _signed: crate::federation_routes::SignedFetch,
) -> Result<HttpResponse, ApiError> {
    let [page] = query_numbers(&req, ["page"])?;
    let outbox = format!("{}/outbox", node.settings().base_url.trim_end_matches('/'));
    let page_url = |n: u64| format!("{outbox}?page={n}");
    let Some(page) = page else {
        let total = web::block(move || node.outbox_total()).await??;
        let last = total.div_ceil(punte_node::OUTBOX_PAGE_SIZE).max(1);
        return Ok(activity_json(&json!({
            "@context": AS_CONTEXT,
            "id": outbox,
            "type": "OrderedCollection",
            "totalItems": total,
            // newest first (ActivityPub §5.1): the first page is the newest; page numbers
            // count from the oldest, so a page's address keeps its items as the log grows
            "first": page_url(last),
            "last": page_url(1),
        })));
    };
    let found = web::block(move || node.outbox_page(page)).await??;
    let mut body = serde_json::Map::new();
    body.insert("@context".into(), AS_CONTEXT.into());
    body.insert("id".into(), page_url(found.page).into());
    body.insert("type".into(), "OrderedCollectionPage".into());
    body.insert("partOf".into(), outbox.clone().into());
    body.insert("totalItems".into(), found.total.into());
    // `next` goes to older activities, `prev` to newer ones; items newest first
    if found.page > 1 {
        body.insert("next".into(), page_url(found.page - 1).into());
    }
    if found.page < found.last_page {
        body.insert("prev".into(), page_url(found.page + 1).into());
    }
    let mut items = found.items;
    items.reverse();
    body.insert("orderedItems".into(), items.into());
    let body = serde_json::Value::Object(body);
    Ok(activity_json(&body))
}

async fn activity(
    path: web::Path<String>,
    node: web::Data<Node>,
) -> Result<HttpResponse, ApiError> {
    let uuid = path.into_inner();
    if uuid::Uuid::parse_str(&uuid).is_err() {
        return Err(ApiError::not_found(format!(
            "'{uuid}' is not an activity of this node"
        )));
    }
    let bytes = web::block(move || node.activity_bytes(&uuid)).await??;
    Ok(HttpResponse::Ok().content_type(ACTIVITY_JSON).body(bytes))
}
