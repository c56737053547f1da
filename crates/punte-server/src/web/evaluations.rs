//! The forms to add, edit and delete an evaluation of a practice or of one of this node's
//! adaptations ([`Subject`]), with rows of indicator values. Editing keeps what the form does not show (titles, DAC ratings, numerators and
//! denominators, per-value periods, the practice version evaluated) and, like the API's
//! If-Match, refuses to overwrite a version saved by someone else since the form was opened.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use punte_model::common::Date;
use punte_model::evaluation::EvaluationStage;
use punte_model::{Adaptation, Evaluation, EvaluationContent, Practice};
use punte_node::{NodeError, Role};
use punte_store::StoreError;

use super::checked_id;
use super::evaluation_groups as groups;
use super::form::{self, FormData, FormErrors, leading_index, split_path};
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
const SCALARS: [&str; 9] = [
    "evaluatorName",
    "evaluatorRole",
    "evaluatorOrganisation",
    "method",
    "evidenceLevel",
    "stage",
    "plan",
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

/// What an evaluation made on the web evaluates: a practice or an adaptation of this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Practice(String),
    Adaptation(String),
}

impl Subject {
    /// The subject of a stored evaluation, when it is one of this node's documents (an
    /// evaluation of a practice keeps its practice, even when it also names an adaptation).
    fn of(e: &Evaluation) -> Option<Self> {
        let s = &e.content.subject;
        match (&s.practice, &s.adaptation) {
            (Some(p), _) => Some(Self::Practice(p.clone())),
            (None, Some(a)) => Some(Self::Adaptation(a.clone())),
            (None, None) => None,
        }
    }

    fn json(&self) -> Json {
        match self {
            Self::Practice(id) => json!({ "practice": id }),
            Self::Adaptation(id) => json!({ "adaptation": id }),
        }
    }

    /// The page the evaluation is shown on.
    fn href(&self) -> String {
        match self {
            Self::Practice(id) => format!("/practices/{id}"),
            Self::Adaptation(id) => format!("/adaptations/{id}"),
        }
    }

    /// Where the form to add one posts.
    fn action(&self) -> String {
        format!("{}/evaluations", self.href())
    }
}

#[derive(Serialize)]
struct IndicatorOption {
    reference: String,
    label: TextView,
    unit: String,
}

/// A registered plan of the practice that results can name.
#[derive(Serialize)]
struct PlanOption {
    id: String,
    label: String,
}

#[derive(Serialize)]
struct EvaluationForm {
    action: String,
    /// Editing a stored evaluation (else adding one).
    editing: bool,
    /// The stored version was changed by someone else since the form was opened.
    stale: bool,
    delete_href: Option<String>,
    practice_href: String,
    practice_title: TextView,
    values: BTreeMap<String, String>,
    rows: Vec<BTreeMap<String, String>>,
    indicators: Vec<IndicatorOption>,
    /// The practice's plans (stage `plan`), for results to name the one they follow.
    plans: Vec<PlanOption>,
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
            .map(|f| f.to_string())
            .chain(groups::inputs())
            .map(|f| (f, String::new()))
            .collect()
    }

    /// A row with nothing typed (its hidden `from` does not count): left out.
    fn row_is_empty(row: &BTreeMap<String, String>) -> bool {
        row.iter().all(|(k, v)| k == "from" || v.is_empty())
    }

    /// The JSON of the evaluation and, per value index, the form row it came from.
    fn to_json(&self, ctx: &Ctx, subject: &Subject, errors: &mut FormErrors) -> (Json, Vec<usize>) {
        let mut body = Map::new();
        body.insert("subject".into(), subject.json());
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
        let plan = self.value("plan");
        if !plan.is_empty() {
            body.insert("plan".into(), json!(plan));
        }
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
            if let Some(groups) = groups::to_json(ctx, i, &get, errors) {
                v.insert("groups".into(), groups);
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
            "method" | "stage" | "evidenceLevel" | "plan" => Some(top.into()),
            "period" => Some(if rest == ".start" {
                "periodStart".into()
            } else {
                "periodEnd".into()
            }),
            "values" => {
                let (index, after) = leading_index(rest)?;
                let row = origin.get(index)?;
                if let Some(input) = groups::input_for(after) {
                    return Some(format!("{input}_{row}"));
                }
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

/// A form for an evaluation of `subject`, with the usual defaults and empty rows.
async fn blank_form(ctx: &Ctx, subject: Subject) -> Result<EvaluationForm, WebError> {
    let want = ctx.content_lang();
    let lookup = subject.clone();
    let (title, definitions, plans) = ctx
        .fetch(move |n| {
            let is_plan = |e: &Evaluation| e.content.stage == EvaluationStage::Plan;
            let (title, plans) = match &lookup {
                Subject::Practice(id) => {
                    let p: Practice = n.get(id, None)?;
                    let filter = punte_node::EvaluationFilter {
                        practice: Some(id.clone()),
                        indicator: None,
                    };
                    let plans: Vec<Evaluation> = n
                        .list_evaluations(&filter, None, punte_node::MAX_PAGE)?
                        .items
                        .into_iter()
                        .filter(|e| is_plan(e) && e.content.subject.practice.as_deref() == Some(id))
                        .collect();
                    let title = view::pick(
                        &p.content.title,
                        want.as_ref(),
                        Some(&p.content.original_language),
                    );
                    (title, plans)
                }
                Subject::Adaptation(id) => {
                    let a: Adaptation = n.get(id, None)?;
                    let plans: Vec<Evaluation> = n
                        .evaluations_of_adaptation(id)?
                        .into_iter()
                        .filter(|e| is_plan(e) && e.content.subject.practice.is_none())
                        .collect();
                    let title = view::adaptation_title(&a, want.as_ref());
                    (title, plans)
                }
            };
            Ok((title, n.list_indicators(None)?, plans))
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
    values.insert("version".into(), String::new());
    Ok(EvaluationForm {
        action: subject.action(),
        editing: false,
        stale: false,
        delete_href: None,
        practice_href: subject.href(),
        practice_title: title,
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
        plans: plans
            .iter()
            .map(|e| PlanOption {
                id: e.id.clone(),
                label: format!(
                    "{} · {} · {}",
                    e.content
                        .title
                        .as_ref()
                        .map(|t| view::pick(t, want.as_ref(), None).text)
                        .unwrap_or_else(|| e.content.evaluator.name.clone()),
                    e.content.period.start,
                    e.created_at.get(..10).unwrap_or(&e.created_at),
                ),
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
    let page = blank_form(&ctx, Subject::Practice(id)).await?;
    ctx.render("evaluation_form.html", "practices", &page).await
}

/// `GET /adaptations/{id}/evaluations/new`: the form to evaluate one of this node's
/// adaptations.
pub async fn adaptation_new_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let page = blank_form(&ctx, Subject::Adaptation(id)).await?;
    ctx.render("evaluation_form.html", "practices", &page).await
}

pub async fn create(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let id = checked_id(&ctx, &path)?;
    create_for(ctx, &req, payload, Subject::Practice(id)).await
}

/// `POST /adaptations/{id}/evaluations`.
pub async fn adaptation_create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let id = checked_id(&ctx, &path)?;
    create_for(ctx, &req, payload, Subject::Adaptation(id)).await
}

async fn create_for(
    ctx: Ctx,
    req: &HttpRequest,
    payload: web::Payload,
    subject: Subject,
) -> WebResult {
    let data = form::read(&ctx, req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let mut page = blank_form(&ctx, subject.clone()).await?;
    fill(&mut page, &data);
    if data.get("action") == "add_row" {
        if page.rows.len() < MAX_ROWS {
            page.rows.push(EvaluationForm::empty_row());
        }
        return ctx.render("evaluation_form.html", "practices", &page).await;
    }
    let mut errors = FormErrors::default();
    let (body, origin) = page.to_json(&ctx, &subject, &mut errors);
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
        Ok(_) => Ok(ctx.redirect(&format!("{}#evaluations", subject.href()))),
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
    for name in SCALARS.iter().chain(&["version"]) {
        page.values
            .insert(name.to_string(), data.get(name).to_string());
    }
    let rows = data.count("indicator", MAX_ROWS).max(1);
    page.rows = (0..rows)
        .map(|i| {
            ROW_FIELDS
                .iter()
                .chain(&["from"])
                .map(|f| f.to_string())
                .chain(groups::inputs())
                .map(|f| {
                    let text = data.get(&format!("{f}_{i}")).to_string();
                    (f, text)
                })
                .collect()
        })
        .collect();
}

/// Numbers as a person would type them back (`12.5`, `10`).
fn number_text(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The form filled from a stored evaluation, plus one empty row to add a value.
fn fill_from_evaluation(page: &mut EvaluationForm, e: &Evaluation) {
    let c = &e.content;
    let enum_text = |v: Json| v.as_str().map(String::from).unwrap_or_default();
    let v = &mut page.values;
    v.insert("evaluatorName".into(), c.evaluator.name.clone());
    v.insert("evaluatorRole".into(), enum_text(json!(c.evaluator.role)));
    v.insert(
        "evaluatorOrganisation".into(),
        c.evaluator.organisation.clone().unwrap_or_default(),
    );
    v.insert("method".into(), enum_text(json!(c.method)));
    v.insert("evidenceLevel".into(), c.evidence_level.get().to_string());
    v.insert("stage".into(), enum_text(json!(c.stage)));
    v.insert("plan".into(), c.plan.clone().unwrap_or_default());
    // An evaluation does not follow itself; a plan no longer listed stays selectable.
    page.plans.retain(|p| p.id != e.id);
    if let Some(plan) = &c.plan
        && !page.plans.iter().any(|p| &p.id == plan)
    {
        page.plans.push(PlanOption {
            id: plan.clone(),
            label: plan.clone(),
        });
    }
    v.insert("periodStart".into(), c.period.start.to_string());
    v.insert(
        "periodEnd".into(),
        c.period.end.map(|d| d.to_string()).unwrap_or_default(),
    );
    v.insert("version".into(), e.version.to_string());
    page.rows = c
        .values
        .iter()
        .take(MAX_ROWS.saturating_sub(1))
        .enumerate()
        .map(|(i, value)| {
            let mut row = EvaluationForm::empty_row();
            row.insert("indicator".into(), value.indicator.to_string());
            row.insert("baseline".into(), number_text(value.baseline));
            row.insert("target".into(), number_text(value.target));
            row.insert("actual".into(), number_text(value.actual));
            row.insert(
                "n".into(),
                value.n.map(|n| n.to_string()).unwrap_or_default(),
            );
            if let Some(ci) = &value.ci {
                row.insert("ciLower".into(), ci.lower.to_string());
                row.insert("ciUpper".into(), ci.upper.to_string());
            }
            row.insert(
                "group".into(),
                value
                    .disaggregation
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if let Some(g) = &value.groups {
                groups::fill(&mut row, g, number_text);
            }
            row.insert("from".into(), i.to_string());
            row
        })
        .collect();
    page.rows.push(EvaluationForm::empty_row());
}

/// Puts back into an edited evaluation's JSON what the form does not show: the subject as
/// stored (with the practice version evaluated), title, summary, DAC ratings, and per value
/// its period, numerator, denominator and interval level (matched through the row's `from`).
fn keep_hidden_fields(
    body: &mut Json,
    stored: &Evaluation,
    rows: &[BTreeMap<String, String>],
    origin: &[usize],
) {
    let Ok(Json::Object(old)) = serde_json::to_value(&stored.content) else {
        return;
    };
    let Json::Object(new) = body else {
        return;
    };
    for key in ["subject", "title", "summary", "dac"] {
        match old.get(key) {
            Some(v) => {
                new.insert(key.to_string(), v.clone());
            }
            None => {
                new.remove(key);
            }
        }
    }
    let old_values = old.get("values").and_then(Json::as_array);
    let Some(Json::Array(values)) = new.get_mut("values") else {
        return;
    };
    for (value, row) in values.iter_mut().zip(origin) {
        let from = rows
            .get(*row)
            .and_then(|r| r.get("from"))
            .and_then(|f| f.parse::<usize>().ok());
        let (Some(Json::Object(before)), Json::Object(after)) =
            (from.and_then(|f| old_values.and_then(|v| v.get(f))), value)
        else {
            continue;
        };
        for key in ["period", "numerator", "denominator"] {
            if let (Some(v), false) = (before.get(key), after.contains_key(key)) {
                after.insert(key.to_string(), v.clone());
            }
        }
        if let (Some(level), Some(Json::Object(ci))) = (
            before.get("ci").and_then(|c| c.get("level")),
            after.get_mut("ci"),
        ) {
            ci.insert("level".into(), level.clone());
        }
        groups::keep_cell_intervals(before, after);
    }
}

/// The stored evaluation `id` and the form to edit it. An evaluation whose subject is not
/// one of this node's documents (the form cannot show it) is 404.
async fn edit_page(ctx: &Ctx, id: &str) -> Result<(Evaluation, EvaluationForm), WebError> {
    let lookup = id.to_string();
    let stored: Evaluation = ctx.fetch(move |n| n.get(&lookup, None)).await?;
    let subject = match Subject::of(&stored) {
        Some(Subject::Practice(p)) => Subject::Practice(checked_id(ctx, &p)?),
        Some(Subject::Adaptation(a)) => Subject::Adaptation(checked_id(ctx, &a)?),
        None => return Err(WebError::not_found(ctx.lang)),
    };
    let mut page = blank_form(ctx, subject).await?;
    page.action = format!("/evaluations/{id}/edit");
    page.editing = true;
    page.delete_href = Some(format!("/evaluations/{id}/delete"));
    Ok((stored, page))
}

pub async fn edit_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let (stored, mut page) = edit_page(&ctx, &id).await?;
    fill_from_evaluation(&mut page, &stored);
    ctx.render("evaluation_form.html", "practices", &page).await
}

pub async fn update(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let (stored, mut page) = edit_page(&ctx, &id).await?;
    fill(&mut page, &data);
    if data.get("action") == "add_row" {
        if page.rows.len() < MAX_ROWS {
            page.rows.push(EvaluationForm::empty_row());
        }
        return ctx.render("evaluation_form.html", "practices", &page).await;
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::default();
    let subject = Subject::of(&stored).unwrap_or_else(|| Subject::Practice(String::new()));
    let (mut body, origin) = page.to_json(&ctx, &subject, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(unprocessable, "evaluation_form.html", "practices", &page)
            .await;
    }
    keep_hidden_fields(&mut body, &stored, &page.rows, &origin);
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
    let expected = page.value("version").parse::<u32>().ok();
    let update_id = id.clone();
    match ctx
        .run(move |n| n.update::<Evaluation>(&update_id, expected, content))
        .await?
    {
        Ok(_) => Ok(ctx.redirect(&format!("{}#evaluation-{id}", page.practice_href))),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| EvaluationForm::input_for(f, &origin));
            page.errors = errors;
            ctx.render_status(unprocessable, "evaluation_form.html", "practices", &page)
                .await
        }
        Err(NodeError::Store(StoreError::VersionConflict { current, .. })) => {
            page.stale = true;
            page.values.insert("version".into(), current.to_string());
            ctx.render_status(
                StatusCode::CONFLICT,
                "evaluation_form.html",
                "practices",
                &page,
            )
            .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

#[derive(Serialize)]
struct DeletePage {
    action: String,
    practice_href: String,
    practice_title: TextView,
    evaluation: view::EvaluationView,
    version: u32,
    stale: bool,
}

async fn delete_page(ctx: &Ctx, id: &str) -> Result<DeletePage, WebError> {
    let (stored, page) = edit_page(ctx, id).await?;
    let want = ctx.content_lang();
    Ok(DeletePage {
        action: format!("/evaluations/{id}/delete"),
        practice_href: page.practice_href,
        practice_title: page.practice_title,
        evaluation: view::evaluation(&stored, &BTreeMap::new(), want.as_ref()),
        version: stored.version,
        stale: false,
    })
}

/// `GET /evaluations/{id}/delete`: asks before deleting.
pub async fn delete_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let page = delete_page(&ctx, &id).await?;
    ctx.render("evaluation_delete.html", "practices", &page)
        .await
}

/// `POST /evaluations/{id}/delete`: deletes the version the reader confirmed, not a newer one.
pub async fn delete(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let mut page = delete_page(&ctx, &id).await?;
    let expected = data.get("version").parse::<u32>().ok();
    let delete_id = id.clone();
    match ctx
        .run(move |n| n.delete::<Evaluation>(&delete_id, expected))
        .await?
    {
        Ok(()) => Ok(ctx.redirect(&format!("{}#evaluations", page.practice_href))),
        Err(NodeError::Store(StoreError::VersionConflict { .. })) => {
            page.stale = true;
            ctx.render_status(
                StatusCode::CONFLICT,
                "evaluation_delete.html",
                "practices",
                &page,
            )
            .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}
