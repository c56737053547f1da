//! Errors as RFC 9457 `application/problem+json`, naming the offending field where there is one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use punte_model::{FieldError, ValidationErrors};
use punte_node::NodeError;
use punte_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://w3id.org/punte/problems#";

/// One error answer. `kind` becomes the problem `type` (`…#validation`).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// For 412: the current version, so the client can refetch.
    pub current_version: Option<u32>,
    /// For 503 and 429: seconds the client should wait (`Retry-After`).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: Vec<FieldErrorBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<u32>,
}

#[derive(Serialize)]
struct FieldErrorBody<'a> {
    field: &'a str,
    message: &'a str,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.title,
            self.detail
        )
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            current_version: None,
            retry_after: None,
        }
    }

    /// The error with a `Retry-After` of `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(status, ValidationErrors::single(field, message))
    }

    pub fn validation(status: StatusCode, errors: ValidationErrors) -> Self {
        Self {
            status,
            kind: "validation",
            title: "Invalid input",
            detail: errors.to_string(),
            errors: errors.0,
            current_version: None,
            retry_after: None,
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the node could not complete the request; the operator's log has the details",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ProblemBody {
            kind: format!("{TYPE_BASE}{}", self.kind),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: self
                .errors
                .iter()
                .map(|e| FieldErrorBody {
                    field: &e.field,
                    message: &e.message,
                })
                .collect(),
            current_version: self.current_version,
        };
        let mut response = HttpResponse::build(self.status);
        response.content_type(PROBLEM_JSON);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"punte\""));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(body)
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        match error {
            NodeError::Invalid(errors) => {
                ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, errors)
            }
            NodeError::Store(e) => e.into(),
            NodeError::LogRange(detail) => ApiError::bad_request(detail),
            NodeError::NotInitialised => ApiError::new(
                StatusCode::CONFLICT,
                "not-initialised",
                "Node not set up",
                error.to_string(),
            ),
            NodeError::Unlogged { .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "unlogged-change",
                "Not what the signed history says",
                error.to_string(),
            ),
            NodeError::Erased { .. } => ApiError::new(
                StatusCode::GONE,
                "erased",
                "Erased from the signed history",
                error.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            StoreError::Gone { what } => ApiError::new(
                StatusCode::GONE,
                "gone",
                "Deleted",
                format!("{what} was deleted"),
            ),
            StoreError::VersionConflict { expected, current } => {
                let mut e = ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "stale-version",
                    "Edit based on a stale version",
                    format!(
                        "you edited version {expected} but the current version is {current}; fetch it and edit again"
                    ),
                );
                e.current_version = Some(current);
                e
            }
            StoreError::Conflict(detail) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        tracing::error!("blocking task was cancelled");
        ApiError::internal()
    }
}
