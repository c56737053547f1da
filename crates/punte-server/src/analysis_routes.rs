//! The comparative analysis and funder exports under `/api/v1` (issue #5): effects, ranking
//! and replication map of one indicator as JSON or CSV, the IATI 2.03 export, and the import
//! of a coordinator's indicator catalogue from its replica.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use punte_model::IndicatorRef;
use punte_model::analysis::{
    AnalysisError, EffectMetric, NETWORK_POOLING, PoolOptions, RankOptions,
};
use punte_node::analysis::{AnalysisFailure, AnalysisReport, csv_text};
use punte_node::iati::IatiOptions;
use punte_node::{Node, Role};

use crate::extract::{Principal, json_body};
use crate::problem::ApiError;

/// Registered inside the `/api/v1` scope of [`crate::api::configure`].
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/analysis/{indicator}/effects",
        web::get().to(analysis::<Effects>),
    )
    .route(
        "/analysis/{indicator}/ranking",
        web::get().to(analysis::<RankingKind>),
    )
    .route(
        "/analysis/{indicator}/replication-map",
        web::get().to(analysis::<MapKind>),
    )
    .route("/export/iati", web::get().to(export_iati))
    .route("/catalogue/import", web::post().to(import_catalogue));
}

/// One of the three analyses: how the node computes it and how its CSV looks.
trait AnalysisKind: 'static {
    type Output: Serialize + Send + 'static;
    fn run(
        node: &Node,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<AnalysisReport<Self::Output>, AnalysisFailure>;
    fn csv_rows(output: &Self::Output) -> Vec<Vec<String>>;
    const NAME: &'static str;
}

struct Effects;
struct RankingKind;
struct MapKind;

impl AnalysisKind for Effects {
    type Output = punte_model::analysis::EffectTable;
    const NAME: &'static str = "effects";
    fn run(
        node: &Node,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        _: RankOptions,
    ) -> Result<AnalysisReport<Self::Output>, AnalysisFailure> {
        node.analysis_effects(indicator, metric)
    }
    fn csv_rows(output: &Self::Output) -> Vec<Vec<String>> {
        output.to_csv_rows()
    }
}

impl AnalysisKind for RankingKind {
    type Output = punte_model::analysis::Ranking;
    const NAME: &'static str = "ranking";
    fn run(
        node: &Node,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<AnalysisReport<Self::Output>, AnalysisFailure> {
        node.analysis_ranking(indicator, metric, options)
    }
    fn csv_rows(output: &Self::Output) -> Vec<Vec<String>> {
        output.to_csv_rows()
    }
}

impl AnalysisKind for MapKind {
    type Output = punte_model::analysis::ReplicationMap;
    const NAME: &'static str = "replication-map";
    fn run(
        node: &Node,
        indicator: &IndicatorRef,
        metric: Option<EffectMetric>,
        options: RankOptions,
    ) -> Result<AnalysisReport<Self::Output>, AnalysisFailure> {
        node.analysis_replication_map(indicator, metric, options)
    }
    fn csv_rows(output: &Self::Output) -> Vec<Vec<String>> {
        output.to_csv_rows()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisQuery {
    format: Option<String>,
    metric: Option<String>,
    /// Pool evaluations of adaptations the origin has not countersigned (default no).
    #[serde(rename = "includeUncountersigned")]
    include_uncountersigned: Option<bool>,
    /// The estimator of τ²: `reml` (default) or `dersimonianLaird`.
    tau: Option<String>,
    /// The interval: `hartungKnapp` (default) or `normal`.
    ci: Option<String>,
}

/// A query value read as one of a serde enum's names, else a 400 naming the choices.
fn choice<T: serde::de::DeserializeOwned>(
    field: &str,
    value: Option<&str>,
    default: T,
    choices: &str,
) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => serde_json::from_value(serde_json::Value::String(v.to_owned())).map_err(|_| {
            ApiError::field(
                StatusCode::BAD_REQUEST,
                field,
                format!("'{v}' is not one of {choices}"),
            )
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// `?format=json|csv` wins; else `Accept: text/csv` asks for CSV; else JSON.
fn format_of(req: &HttpRequest, query: Option<&str>) -> Result<Format, ApiError> {
    match query {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some(other) => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "format",
                format!("'{other}' is not a format (json, csv)"),
            ));
        }
        None => {}
    }
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.split(';').next().map(str::trim) == Some("text/csv"))
        });
    Ok(if wants_csv { Format::Csv } else { Format::Json })
}

fn parse_metric(s: &str) -> Result<EffectMetric, ApiError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "metric",
            format!(
                "'{s}' is not a metric (logRiskRatio, riskDifference, standardisedMeanDifference, meanDifference)"
            ),
        )
    })
}

fn failure(e: AnalysisFailure) -> ApiError {
    match e {
        AnalysisFailure::UnknownIndicator { .. } => ApiError::not_found(e.to_string()),
        AnalysisFailure::Analysis(a @ AnalysisError::MetricMismatch { .. }) => {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "metric", a.to_string())
        }
        AnalysisFailure::Analysis(a) => {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "indicator", a.to_string())
        }
        AnalysisFailure::Node(n) => n.into(),
    }
}

async fn analysis<K: AnalysisKind>(
    req: HttpRequest,
    path: web::Path<String>,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let query: AnalysisQuery = serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "query",
            format!("bad query parameters (format, metric, includeUncountersigned, tau, ci): {e}"),
        )
    })?;
    let format = format_of(&req, query.format.as_deref())?;
    let metric = query.metric.as_deref().map(parse_metric).transpose()?;
    let indicator: IndicatorRef = path.parse().map_err(|e: String| ApiError::not_found(e))?;
    let file = format!("{}-{}", indicator, K::NAME);
    let options = RankOptions {
        include_uncountersigned: query.include_uncountersigned.unwrap_or(false),
        pooling: PoolOptions {
            tau: choice(
                "tau",
                query.tau.as_deref(),
                NETWORK_POOLING.tau,
                "reml, dersimonianLaird",
            )?,
            ci: choice(
                "ci",
                query.ci.as_deref(),
                NETWORK_POOLING.ci,
                "hartungKnapp, normal",
            )?,
        },
    };
    let report = web::block(move || K::run(&node, &indicator, metric, options))
        .await?
        .map_err(failure)?;
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(report)),
        Format::Csv => {
            let text = csv_text(&K::csv_rows(&report.result)).map_err(|e| {
                tracing::error!(error = %e, "cannot write analysis csv");
                ApiError::internal()
            })?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.csv\""),
                ))
                .body(text))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IatiQuery {
    org_ref: Option<String>,
    org_type: Option<String>,
}

async fn export_iati(
    req: HttpRequest,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Reader)?;
    let query: IatiQuery = serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "query",
            format!("bad query parameters (orgRef, orgType): {e}"),
        )
    })?;
    let options = IatiOptions {
        org_ref: query.org_ref.filter(|s| !s.trim().is_empty()),
        org_type: query.org_type.filter(|s| !s.trim().is_empty()),
    };
    let xml = web::block(move || node.export_iati(&options)).await??;
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .body(xml))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueBody {
    actor: String,
}

async fn import_catalogue(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<Node>,
    who: Principal,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Editor)?;
    let body: CatalogueBody = json_body(&req, payload).await?;
    let done = web::block(move || node.import_catalogue(&body.actor)).await??;
    Ok(HttpResponse::Ok().json(done))
}
