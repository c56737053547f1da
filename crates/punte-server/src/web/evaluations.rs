//! The form to add an evaluation of a practice, with rows of indicator values.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use punte_model::common::Date;
use punte_model::{Evaluation, EvaluationContent, Practice};
use punte_node::{NodeError, Role};

use super::form::{self, FormData, FormErrors, leading_index, split_path};
use super::practices::checked_id;
use super::view::{self, TextView};
use super::{Ctx, WebError, WebResult};

/// Rows a new form starts with.
const START_ROWS: usize = 3;
/// Most rows one form handles.
const MAX_ROWS: usize = 200;
/// Inputs of one indicator value row.
const ROW_FIELDS: [&str; 8] = [
    "indicator",
    "baseline",
    "target",
    "actual",
    "n",
    "ciLower",
    "ciUpper",
    "group",
];
const SCALARS: [&str; 8] = [
    "evaluatorName",
    "evaluatorRole",
    "evaluatorOrganisation",
    "method",
    "evidenceLevel",
    "stage",
    "periodStart",
    "periodEnd",
];
const ROLES: [&str; 5] = ["internal", "external", "peer", "participatory", "funder"];
const METHODS: [&str; 9] = [
    "monitoring",
    "qualitative",
    "caseStudy",
    "prePost",
    "comparisonGroup",
    "differenceInDifferences",
    "regressionDiscontinuity",
    "rct",
    "mixed",
];

#[derive(Serialize)]
struct IndicatorOption {
    reference: String,
    label: TextView,
    unit: String,
}

#[derive(Serialize)]
struct EvaluationForm {
    action: String,
    practice_href: String,
    practice_title: TextView,
    values: BTreeMap<String, String>,
    rows: Vec<BTreeMap<String, String>>,
    indicators: Vec<IndicatorOption>,
    roles: Vec<&'static str>,
    methods: Vec<&'static str>,
    errors: FormErrors,
}

impl EvaluationForm {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    fn empty_row() -> BTreeMap<String, String> {
        ROW_FIELDS
            .iter()
            .map(|f| (f.to_string(), String::new()))
            .collect()
    }

    fn row_is_empty(row: &BTreeMap<String, String>) -> bool {
        row.values().all(String::is_empty)
    }

    /// The JSON of the evaluation and, per value index, the form row it came from.
    fn to_json(&self, ctx: &Ctx, practice: &str, errors: &mut FormErrors) -> (Json, Vec<usize>) {
        let mut body = Map::new();
        body.insert("subject".into(), json!({ "practice": practice }));
        let name = self.value("evaluatorName");
        if name.is_empty() {
            errors.local(ctx, "evaluatorName", "err_required");
        }
        let mut evaluator = Map::new();
        evaluator.insert("name".into(), json!(name));
        evaluator.insert("role".into(), json!(self.value("evaluatorRole")));
        let org = self.value("evaluatorOrganisation");
        if !org.is_empty() {
            evaluator.insert("organisation".into(), json!(org));
        }
        body.insert("evaluator".into(), Json::Object(evaluator));
        body.insert("method".into(), json!(self.value("method")));
        match form::whole(self.value("evidenceLevel")) {
            Some(Ok(v)) => {
                body.insert("evidenceLevel".into(), json!(v));
            }
            Some(Err(())) => errors.local(ctx, "evidenceLevel", "err_whole_number"),
            None => errors.local(ctx, "evidenceLevel", "err_required"),
        }
        body.insert("stage".into(), json!(self.value("stage")));
        let start = self.value("periodStart");
        if start.is_empty() {
            errors.local(ctx, "periodStart", "err_required");
        } else if Date::parse(start).is_err() {
            errors.local(ctx, "periodStart", "err_date");
        }
        let mut period = Map::new();
        period.insert("start".into(), json!(start));
        let end = self.value("periodEnd");
        if !end.is_empty() && Date::parse(end).is_err() {
            errors.local(ctx, "periodEnd", "err_date");
        }
        if !end.is_empty() {
            period.insert("end".into(), json!(end));
        }
        body.insert("period".into(), Json::Object(period));
        let mut values = Vec::new();
        let mut origin = Vec::new();
        for (i, row) in self.rows.iter().enumerate() {
            if Self::row_is_empty(row) {
                continue;
            }
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            let mut v = Map::new();
            if get("indicator").is_empty() {
                errors.local(ctx, &format!("indicator_{i}"), "err_required");
            }
            v.insert("indicator".into(), json!(get("indicator")));
            for field in ["baseline", "target", "actual"] {
                match form::number(get(field)) {
                    Some(Ok(x)) => {
                        v.insert(field.into(), json!(x));
                    }
                    Some(Err(())) => errors.local(ctx, &format!("{field}_{i}"), "err_number"),
                    None => {}
                }
            }
            match form::whole(get("n")) {
                Some(Ok(x)) => {
                    v.insert("n".into(), json!(x));
                }
                Some(Err(())) => errors.local(ctx, &format!("n_{i}"), "err_whole_number"),
                None => {}
            }
            match (form::number(get("ciLower")), form::number(get("ciUpper"))) {
                (None, None) => {}
                (Some(Ok(lower)), Some(Ok(upper))) => {
                    v.insert("ci".into(), json!({"lower": lower, "upper": upper}));
                }
                (lower, _) if !matches!(lower, Some(Ok(_))) => {
                    errors.local(ctx, &format!("ciLower_{i}"), "err_number");
                }
                _ => errors.local(ctx, &format!("ciUpper_{i}"), "err_number"),
            }
            let group = get("group");
            if !group.is_empty() {
                let mut d = Map::new();
                for part in group.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match part.split_once('=') {
                        Some((k, val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                            d.insert(k.trim().into(), json!(val.trim()));
                        }
                        _ => errors.local(ctx, &format!("group_{i}"), "err_disaggregation"),
                    }
                }
                v.insert("disaggregation".into(), Json::Object(d));
            }
            values.push(Json::Object(v));
            origin.push(i);
        }
        if !values.is_empty() {
            body.insert("values".into(), Json::Array(values));
        }
        (Json::Object(body), origin)
    }

    fn input_for(field: &str, origin: &[usize]) -> Option<String> {
        let (top, rest) = split_path(field);
        match top {
            "evaluator" => Some(
                match rest {
                    ".role" => "evaluatorRole",
                    ".organisation" => "evaluatorOrganisation",
                    _ => "evaluatorName",
                }
                .into(),
            ),
            "method" | "stage" | "evidenceLevel" => Some(top.into()),
            "period" => Some(if rest == ".start" {
                "periodStart".into()
            } else {
                "periodEnd".into()
            }),
            "values" => {
                let (index, after) = leading_index(rest)?;
                let row = origin.get(index)?;
                let input = match after.trim_start_matches('.').split(['.', '[']).next() {
                    Some("baseline") => "baseline",
                    Some("target") => "target",
                    Some("actual" | "numerator" | "denominator") => "actual",
                    Some("n") => "n",
                    Some("ci") => "ciLower",
                    Some("disaggregation") => "group",
                    _ => "indicator",
                };
                Some(format!("{input}_{row}"))
            }
            _ => None,
        }
    }
}

async fn blank_form(ctx: &Ctx, id: String) -> Result<EvaluationForm, WebError> {
    let lookup = id.clone();
    let (practice, definitions) = ctx
        .fetch(move |n| {
            let p: Practice = n.get(&lookup, None)?;
            Ok((p, n.list_indicators(None)?))
        })
        .await?;
    let want = ctx.content_lang();
    let mut values: BTreeMap<String, String> = SCALARS
        .iter()
        .map(|n| (n.to_string(), String::new()))
        .collect();
    values.insert("evaluatorRole".into(), "internal".into());
    values.insert("method".into(), "monitoring".into());
    values.insert("evidenceLevel".into(), "1".into());
    values.insert("stage".into(), "results".into());
    Ok(EvaluationForm {
        action: format!("/practices/{id}/evaluations"),
        practice_href: format!("/practices/{id}"),
        practice_title: view::pick(
            &practice.content.title,
            want.as_ref(),
            Some(&practice.content.original_language),
        ),
        values,
        rows: (0..START_ROWS)
            .map(|_| EvaluationForm::empty_row())
            .collect(),
        indicators: definitions
            .iter()
            .map(|d| IndicatorOption {
                reference: d.reference().to_string(),
                label: view::pick(&d.label, want.as_ref(), None),
                unit: d.unit.clone(),
            })
            .collect(),
        roles: ROLES.to_vec(),
        methods: METHODS.to_vec(),
        errors: FormErrors::default(),
    })
}

pub async fn new_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let page = blank_form(&ctx, id).await?;
    ctx.render("evaluation_form.html", "practices", &page).await
}

pub async fn create(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let mut page = blank_form(&ctx, id.clone()).await?;
    fill(&mut page, &data);
    if data.get("action") == "add_row" {
        if page.rows.len() < MAX_ROWS {
            page.rows.push(EvaluationForm::empty_row());
        }
        return ctx.render("evaluation_form.html", "practices", &page).await;
    }
    let mut errors = FormErrors::default();
    let (body, origin) = page.to_json(&ctx, &id, &mut errors);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(unprocessable, "evaluation_form.html", "practices", &page)
            .await;
    }
    let content: EvaluationContent = match crate::extract::from_value(body) {
        Ok(c) => c,
        Err(e) => {
            if e.errors.is_empty() {
                errors.add(None, e.detail.clone(), Some("en".into()));
            }
            errors.add_model_errors(&ctx, &e.errors, |f| EvaluationForm::input_for(f, &origin));
            page.errors = errors;
            return ctx
                .render_status(unprocessable, "evaluation_form.html", "practices", &page)
                .await;
        }
    };
    match ctx.run(move |n| n.create::<Evaluation>(content)).await? {
        Ok(_) => Ok(ctx.redirect(&format!("/practices/{id}#evaluations"))),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| EvaluationForm::input_for(f, &origin));
            page.errors = errors;
            ctx.render_status(unprocessable, "evaluation_form.html", "practices", &page)
                .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

fn fill(page: &mut EvaluationForm, data: &FormData) {
    for name in SCALARS {
        page.values
            .insert(name.to_string(), data.get(name).to_string());
    }
    let rows = data.count("indicator", MAX_ROWS).max(1);
    page.rows = (0..rows)
        .map(|i| {
            ROW_FIELDS
                .iter()
                .map(|f| (f.to_string(), data.get(&format!("{f}_{i}")).to_string()))
                .collect()
        })
        .collect();
}
