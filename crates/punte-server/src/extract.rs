//! Request plumbing: bounded JSON bodies with field-naming errors, bearer tokens, If-Match.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use punte_node::{Node, Role, TokenPrincipal};

use crate::problem::ApiError;

/// Limits of this server, shared by handlers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// How long reading one whole body may take.
    pub body_read_timeout: std::time::Duration,
}

/// Reads the whole body, refusing more than the configured limit with 413, and a body not
/// read within the configured time with 408.
pub async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<Bytes, ApiError> {
    let limit = req
        .app_data::<web::Data<Limits>>()
        .map(|l| l.max_body_bytes)
        .unwrap_or(1024 * 1024);
    read_body_within(req, payload, limit).await
}

/// [`read_body`] with the limit `limit`.
pub async fn read_body_within(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let deadline = req
        .app_data::<web::Data<Limits>>()
        .map(|l| l.body_read_timeout)
        .unwrap_or(std::time::Duration::from_secs(20));
    match tokio::time::timeout(deadline, read_limited(req, payload, limit)).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            "Request body too slow",
            format!(
                "the request body was not received within {} s",
                deadline.as_secs()
            ),
        )),
    }
}

async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::too_large(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Checks the request declares `wanted` (e.g. `application/json`) as its content type.
pub fn require_content_type(req: &HttpRequest, wanted: &[&str]) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if wanted.iter().any(|w| *w == essence) {
        Ok(())
    } else if ct.is_empty() {
        Err(ApiError::unsupported_media_type(format!(
            "send the body with Content-Type: {}",
            wanted.join(" or ")
        )))
    } else {
        Err(ApiError::unsupported_media_type(format!(
            "Content-Type '{ct}' is not accepted here; use {}",
            wanted.join(" or ")
        )))
    }
}

/// Parses JSON text; syntax errors are 400 with line and column.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed_json(format!("the body is not valid JSON: {e}")))
}

/// Deserialises a JSON value into `T`; type errors, unknown and missing fields are 422 and
/// name the field by its path (`values[0].n`).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let join = |name: &str| {
            if path == "." {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        let (field, message) = if let Some(rest) = inner.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or("");
            (join(name), "is required".to_string())
        } else if let Some(rest) = inner.strip_prefix("unknown field `") {
            // the path already ends with the unknown key
            let name = rest.split('`').next().unwrap_or("");
            let field = if path.ends_with(name) {
                path.clone()
            } else {
                join(name)
            };
            (
                field,
                format!(
                    "unknown field{}",
                    rest.split_once('`').map(|(_, m)| m).unwrap_or("")
                ),
            )
        } else {
            (if path == "." { String::new() } else { path }, inner)
        };
        ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
    })
}

/// Reads a JSON body into `T` in one go.
pub async fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    require_content_type(req, &["application/json"])?;
    let bytes = read_body(req, payload).await?;
    from_value(parse_json(&bytes)?)
}

/// `If-Match: "3"` as the version the client edited; `*` or absent is `None`.
pub fn if_match(req: &HttpRequest) -> Result<Option<u32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not ASCII"))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u32>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "If-Match '{text}' is not an ETag of this API (e.g. \"3\")"
            ))
        })
}

/// The ETag of a version.
pub fn etag(version: u32) -> header::EntityTag {
    header::EntityTag::new_strong(version.to_string())
}

/// The holder of a valid bearer token. Extracting it answers 401 when there is none.
#[derive(Debug, Clone)]
pub struct Principal(pub TokenPrincipal);

impl Principal {
    /// 403 unless the token's role includes `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.0.role.allows(role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs a token with the {} role; yours is {}",
                role.as_str(),
                self.0.role.as_str()
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let node = req.app_data::<web::Data<Node>>().cloned();
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let node = node.ok_or_else(ApiError::internal)?;
            let token = match header {
                None => {
                    return Err(ApiError::unauthorized(
                        "send a token: Authorization: Bearer <token>",
                    ));
                }
                Some(Err(_)) => {
                    return Err(ApiError::unauthorized(
                        "the Authorization header is not ASCII",
                    ));
                }
                Some(Ok(h)) => match h.split_once(' ') {
                    Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                        token.trim().to_string()
                    }
                    _ => {
                        return Err(ApiError::unauthorized(
                            "use the Bearer scheme: Authorization: Bearer <token>",
                        ));
                    }
                },
            };
            let found = web::block(move || node.authenticate(&token)).await??;
            found
                .map(Principal)
                .ok_or_else(|| ApiError::unauthorized("the token is not valid or was revoked"))
        })
    }
}
