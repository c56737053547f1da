//! The admin JSON API under `/api/v1`: practices, evaluations, adaptations, indicators,
//! tokens, the organisation profile and export. Every route needs a bearer token.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use punte_model::{
    Adaptation, Evaluation, IndicatorDefinition, IndicatorRef, OrganisationProfile, Practice,
};
use punte_node::{Document, EvaluationFilter, Node, Page, PracticeFilter, Role};

use crate::extract::{
    Principal, etag, from_value, if_match, json_body, parse_json, read_body, require_content_type,
};
use crate::problem::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/organisation", web::get().to(get_organisation))
            .route("/organisation", web::put().to(put_organisation))
            .route("/practices", web::get().to(list_practices))
            .route("/evaluations", web::get().to(list_evaluations))
            .route("/adaptations", web::get().to(list_adaptations))
            .route("/evaluations/preview", web::post().to(preview_evaluation))
            .route(
                "/evaluations/{id}/preview",
                web::post().to(preview_evaluation_version),
            )
            .configure(crate::adaptation_routes::configure_api)
            .configure(document_routes::<Practice>)
            .configure(document_routes::<Evaluation>)
            .configure(document_routes::<Adaptation>)
            .route("/indicators", web::get().to(list_indicators))
            .route("/indicators", web::post().to(create_indicator))
            .route("/indicators/import", web::post().to(import_indicators))
            .route("/indicators/{reference}", web::get().to(get_indicator))
            .route(
                "/indicators/{reference}",
                web::delete().to(delete_indicator),
            )
            .route("/tokens", web::get().to(list_tokens))
            .route("/tokens", web::post().to(create_token))
            .route("/tokens/{id}", web::delete().to(revoke_token))
            .route("/export", web::get().to(export))
            .configure(crate::federation_routes::configure_api)
            .configure(crate::membership_routes::configure_api)
            .configure(crate::analysis_routes::configure_api),
    );
}

/// A document kind as the API exposes it: its collection's path segment (`practices`).
pub trait Resource: Document + Serialize + Send + 'static {
    const COLLECTION: &'static str;
}

impl Resource for Practice {
    const COLLECTION: &'static str = "practices";
}

impl Resource for Evaluation {
    const COLLECTION: &'static str = "evaluations";
}

impl Resource for Adaptation {
    const COLLECTION: &'static str = "adaptations";
}

fn document_routes<D: Resource>(cfg: &mut web::ServiceConfig)
where
    D::Content: Send + serde::de::DeserializeOwned,
{
    let c = D::COLLECTION;
    cfg.route(&format!("/{c}"), web::post().to(create_document::<D>))
        .route(&format!("/{c}/{{id}}"), web::get().to(get_document::<D>))
        .route(&format!("/{c}/{{id}}"), web::put().to(update_document::<D>))
        .route(
            &format!("/{c}/{{id}}"),
            web::delete().to(delete_document::<D>),
        )
        .route(
            &format!("/{c}/{{id}}/versions"),
            web::get().to(list_versions::<D>),
        )
        .route(
            &format!("/{c}/{{id}}/versions/{{version}}"),
            web::get().to(get_version::<D>),
        );
}

fn document_response<D: Resource>(status: StatusCode, doc: &D) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header(header::ETag(etag(doc.version())));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!("/api/v1/{}/{}", D::COLLECTION, doc.id()),
        ));
    }
    response.json(doc)
}

fn checked_id(id: &str) -> Result<String, ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(id.to_string())
    } else {
        Err(ApiError::not_found(format!(
            "'{id}' is not an id of this node"
        )))
    }
}

async fn create_document<D: Resource>(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError>
where
    D::Content: Send + serde::de::DeserializeOwned,
{
    who.require(Role::Editor)?;
    let content: D::Content = json_body(&req, payload).await?;
    let doc: D = web::block(move || node.create::<D>(content)).await??;
    Ok(document_response(StatusCode::CREATED, &doc))
}

/// Read-only fields a client may send back unchanged in a PUT (`id`, `version`, timestamps).
/// `version` then serves as If-Match when the header is absent.
fn strip_read_only(value: &mut serde_json::Value, id: &str) -> Result<Option<u32>, ApiError> {
    let Some(object) = value.as_object_mut() else {
        return Ok(None);
    };
    if let Some(sent) = object.remove("id")
        && sent.as_str() != Some(id)
    {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
            "does not match the id in the URL",
        ));
    }
    object.remove("createdAt");
    object.remove("updatedAt");
    match object.remove("version") {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "version",
                    "must be a whole number",
                )
            }),
    }
}

async fn update_document<D: Resource>(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError>
where
    D::Content: Send + serde::de::DeserializeOwned,
{
    who.require(Role::Editor)?;
    let id = checked_id(&path)?;
    require_content_type(&req, &["application/json"])?;
    let mut value = parse_json(&read_body(&req, payload).await?)?;
    let body_version = strip_read_only(&mut value, &id)?;
    let expected = if_match(&req)?.or(body_version);
    let content: D::Content = from_value(value)?;
    let doc: D = web::block(move || node.update::<D>(&id, expected, content)).await??;
    Ok(document_response(StatusCode::OK, &doc))
}

/// What partners would see of an evaluation before it is published: the body of a POST (or,
/// with an id, of a PUT) in, the disclosed values and the reasons out. Nothing is stored.
async fn preview_evaluation(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let content: punte_model::evaluation::EvaluationContent = json_body(&req, payload).await?;
    let preview = web::block(move || node.preview_evaluation(None, content)).await??;
    Ok(HttpResponse::Ok().json(preview))
}

async fn preview_evaluation_version(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let id = checked_id(&path)?;
    require_content_type(&req, &["application/json"])?;
    let mut value = parse_json(&read_body(&req, payload).await?)?;
    strip_read_only(&mut value, &id)?;
    let content: punte_model::evaluation::EvaluationContent = from_value(value)?;
    let preview = web::block(move || node.preview_evaluation(Some(&id), content)).await??;
    Ok(HttpResponse::Ok().json(preview))
}

async fn delete_document<D: Resource>(
    req: HttpRequest,
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let id = checked_id(&path)?;
    let expected = if_match(&req)?;
    web::block(move || node.delete::<D>(&id, expected)).await??;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_document<D: Resource>(
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let id = checked_id(&path)?;
    let doc: D = web::block(move || node.get::<D>(&id, None)).await??;
    Ok(document_response(StatusCode::OK, &doc))
}

async fn get_version<D: Resource>(
    path: web::Path<(String, String)>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let (id, version) = path.into_inner();
    let id = checked_id(&id)?;
    let version = version
        .parse::<u32>()
        .map_err(|_| ApiError::not_found(format!("'{version}' is not a version number")))?;
    let doc: D = web::block(move || node.get::<D>(&id, Some(version))).await??;
    Ok(document_response(StatusCode::OK, &doc))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionBody {
    version: u32,
    created_at: String,
    href: String,
}

async fn list_versions<D: Resource>(
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let id = checked_id(&path)?;
    let base = format!("/api/v1/{}/{id}/versions", D::COLLECTION);
    let versions = web::block(move || node.versions::<D>(&id)).await??;
    let items: Vec<VersionBody> = versions
        .into_iter()
        .map(|v| VersionBody {
            href: format!("{base}/{}", v.version),
            version: v.version,
            created_at: v.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

// ----- lists -----

/// Query parameters of every list; unknown parameters are refused so typos do not silently
/// return everything.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    after: Option<i64>,
    country: Option<String>,
    theme: Option<String>,
    sdg: Option<String>,
    language: Option<String>,
    maturity: Option<String>,
    q: Option<String>,
    practice: Option<String>,
    indicator: Option<String>,
}

const DEFAULT_PAGE: u32 = 50;

fn parse_query(req: &HttpRequest, allowed: &[&str]) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).map_err(|e| {
            ApiError::field(
                StatusCode::BAD_REQUEST,
                "query",
                format!("bad query string: {e}"),
            )
        })?;
    for (k, _) in pairs {
        if !allowed.contains(&k.as_str()) && !["limit", "after"].contains(&k.as_str()) {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                k.clone(),
                format!(
                    "'{k}' is not a filter of this list (filters: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let query: ListQuery = serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "query",
            format!("bad query parameters: {e}"),
        )
    })?;
    if let Some(limit) = query.limit
        && !(1..=punte_node::MAX_PAGE).contains(&limit)
    {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "limit",
            format!("must be 1 to {}", punte_node::MAX_PAGE),
        ));
    }
    Ok(query)
}

fn page_response<T: Serialize>(req: &HttpRequest, page: Page<T>, limit: u32) -> HttpResponse {
    let next = page.next_after.map(|after| {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        pairs.retain(|(k, _)| k != "after" && k != "limit");
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("after".into(), after.to_string()));
        format!(
            "{}?{}",
            req.path(),
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    HttpResponse::Ok().json(serde_json::json!({ "items": page.items, "next": next }))
}

async fn list_practices(
    req: HttpRequest,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let q = parse_query(
        &req,
        &["country", "theme", "sdg", "language", "maturity", "q"],
    )?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    let filter = PracticeFilter {
        country: q.country,
        theme: q.theme,
        sdg_target: q.sdg,
        language: q.language,
        maturity: q.maturity,
        query: q.q,
    };
    let after = q.after;
    let page = web::block(move || node.list_practices(&filter, after, limit)).await??;
    Ok(page_response(&req, page, limit))
}

async fn list_evaluations(
    req: HttpRequest,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let q = parse_query(&req, &["practice", "indicator"])?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    let indicator = match q.indicator {
        None => None,
        Some(s) => {
            let r: IndicatorRef = s
                .parse()
                .map_err(|e: String| ApiError::field(StatusCode::BAD_REQUEST, "indicator", e))?;
            Some((r.code.as_str().to_string(), r.version))
        }
    };
    let filter = EvaluationFilter {
        practice: q.practice,
        indicator,
    };
    let after = q.after;
    let page = web::block(move || node.list_evaluations(&filter, after, limit)).await??;
    Ok(page_response(&req, page, limit))
}

async fn list_adaptations(
    req: HttpRequest,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let q = parse_query(&req, &[])?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    let after = q.after;
    let page = web::block(move || node.list_adaptations(after, limit)).await??;
    Ok(page_response(&req, page, limit))
}

// ----- indicators -----

fn parse_reference(s: &str) -> Result<IndicatorRef, ApiError> {
    s.parse().map_err(|e: String| ApiError::not_found(e))
}

async fn list_indicators(
    req: HttpRequest,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    parse_query(&req, &[])?;
    let items = web::block(move || node.list_indicators(None)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn create_indicator(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let definition: IndicatorDefinition = json_body(&req, payload).await?;
    let created = web::block(move || node.create_indicator(definition)).await??;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/indicators/{}", created.reference()),
        ))
        .json(created))
}

/// `text/csv` (see `parse_indicator_csv`) or a JSON array of definitions; all or nothing.
async fn import_indicators(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    require_content_type(&req, &["text/csv", "application/json"])?;
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let body = read_body(&req, payload).await?;
    let definitions: Vec<IndicatorDefinition> = if is_csv {
        punte_node::parse_indicator_csv(body.as_ref())
            .map_err(|e| ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, e))?
    } else {
        from_value(parse_json(&body)?)?
    };
    let created = web::block(move || node.import_indicators(definitions)).await??;
    Ok(HttpResponse::Created().json(serde_json::json!({ "items": created })))
}

async fn get_indicator(
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let reference = parse_reference(&path)?;
    let definition = web::block(move || node.indicator(&reference)).await??;
    Ok(HttpResponse::Ok().json(definition))
}

async fn delete_indicator(
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let reference = parse_reference(&path)?;
    web::block(move || node.delete_indicator(&reference)).await??;
    Ok(HttpResponse::NoContent().finish())
}

// ----- organisation, tokens, export -----

async fn get_organisation(node: web::Data<Node>, who: Principal) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let base_url = node.settings().base_url.clone();
    let profile = web::block(move || node.organisation()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "baseUrl": base_url, "profile": profile })))
}

async fn put_organisation(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let profile: OrganisationProfile = json_body(&req, payload).await?;
    let saved = profile.clone();
    web::block(move || node.set_organisation(&profile)).await??;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: String,
    #[serde(default)]
    label: String,
}

async fn create_token(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let new: NewToken = json_body(&req, payload).await?;
    let role = Role::parse(&new.role).ok_or_else(|| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
            "must be admin, editor or reader",
        )
    })?;
    if new.label.chars().count() > 100 {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "label",
            "at most 100 characters",
        ));
    }
    let (id, token) = web::block(move || node.create_token(role, &new.label)).await??;
    Ok(HttpResponse::Created()
        .json(serde_json::json!({ "id": id, "role": role.as_str(), "token": token })))
}

async fn list_tokens(node: web::Data<Node>, who: Principal) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let tokens = web::block(move || node.list_tokens()).await??;
    let items: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id, "role": t.role, "label": t.label, "createdAt": t.created_at,
                "lastUsedAt": t.last_used_at, "revokedAt": t.revoked_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn revoke_token(
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let id = path.into_inner();
    web::block(move || node.revoke_token(&id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

async fn export(node: web::Data<Node>, who: Principal) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let value = web::block(move || node.export()).await??;
    Ok(HttpResponse::Ok().json(value))
}
