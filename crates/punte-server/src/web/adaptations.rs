//! The form to record and edit an adaptation of a practice: the local context, what changed
//! and why (FRAME: nature, timing, planned or not, who decided, reason category and reason,
//! whether the core stays intact), which core components are kept, how it is scaled and where
//! it stands. Adaptations are listed on the practice page and each of this node's has its own
//! page (`transfer.rs`). Editing keeps the texts in languages the form does not show and, like
//! the API's If-Match, refuses to overwrite a version saved by someone else since the form
//! opened.
//!
//! The same form adapts a partner's practice (replicated from a followed node): its origin is
//! then the practice's URL, the version replicated, and the partner's actor as organisation
//! (the model's `origin {practice, version, organisation?}`); such adaptations are listed on
//! the partners' practices page.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use punte_model::common::CountryCode;
use punte_model::{Adaptation, AdaptationContent, LanguageTag, Practice};
use punte_node::{NodeError, Role};
use punte_protocol::urls::{Collection, NodeUrls};
use punte_store::StoreError;

use super::checked_id;
use super::form::{self, FormData, FormErrors, leading_index, split_path};
use super::network::anchor_of;
use super::view::{self, TextView};
use super::{Ctx, WebError, WebResult};

/// Modification rows a new form starts with.
const START_ROWS: usize = 1;
/// Most modification rows one form handles (the model allows 200).
const MAX_ROWS: usize = 200;

pub const STATES: [&str; 5] = [
    "intended",
    "piloting",
    "implemented",
    "scaled",
    "discontinued",
];
pub const SCALINGS: [&str; 4] = ["none", "horizontal", "vertical", "functional"];
pub const NATURES: [&str; 11] = [
    "tailoring",
    "adding",
    "removing",
    "shortening",
    "lengthening",
    "substituting",
    "reordering",
    "integrating",
    "repeating",
    "loosening",
    "departing",
];
pub const WHENS: [&str; 4] = [
    "preImplementation",
    "implementation",
    "scaleUp",
    "maintenance",
];
pub const REASONS: [&str; 4] = ["sociopolitical", "organisational", "provider", "recipient"];

const SCALARS: [&str; 8] = [
    "lang",
    "title",
    "context",
    "country",
    "scaling",
    "state",
    "fidelityNotes",
    "originVersion",
];
const ROW_FIELDS: [&str; 8] = [
    "what",
    "nature",
    "when",
    "planned",
    "decidedBy",
    "reasonCategory",
    "reason",
    "consistent",
];

#[derive(Serialize)]
struct CoreOption {
    index: usize,
    text: TextView,
    kept: bool,
}

/// The practice an adaptation starts from.
#[derive(Debug, Clone)]
enum Source {
    /// A practice of this node, by id.
    Local(String),
    /// A partner's practice as replicated, by its URL; `actor` is the partner.
    Partner { url: String, actor: String },
}

impl Source {
    /// The `origin` of the adaptation, without the version.
    fn origin(&self, version: u64) -> Json {
        match self {
            Self::Local(id) => json!({ "practice": id, "version": version }),
            Self::Partner { url, actor } => {
                json!({ "practice": url, "version": version, "organisation": actor })
            }
        }
    }
}

impl Source {
    /// Where the origin practice `practice` of a stored adaptation is: one of this node's
    /// (named by its id or its URL here) or a partner's (its URL; `organisation` is the
    /// origin's organisation when the adaptation names it).
    fn of_origin(urls: &NodeUrls, practice: &str, organisation: Option<&str>) -> Self {
        if !practice.contains("://") {
            return Self::Local(practice.to_owned());
        }
        if let Some(id) = urls.local_id(Collection::Practices, practice) {
            return Self::Local(id.to_owned());
        }
        let actor = organisation.map(str::to_owned).unwrap_or_else(|| {
            punte_protocol::urls::origin_of(practice)
                .map(|base| format!("{base}/actor"))
                .unwrap_or_default()
        });
        Self::Partner {
            url: practice.to_owned(),
            actor,
        }
    }
}

/// Whose practice a partner adaptation starts from, for the form's note.
#[derive(Serialize)]
struct PartnerNote {
    url: String,
    actor: String,
    name: Option<TextView>,
}

#[derive(Serialize)]
struct AdaptationForm {
    action: String,
    /// Editing a stored adaptation (else recording one).
    editing: bool,
    /// The stored version was changed by someone else since the form was opened.
    stale: bool,
    /// Where Cancel goes: the practice, or the adaptation's page when editing.
    cancel_href: String,
    practice_href: String,
    practice_title: TextView,
    partner: Option<PartnerNote>,
    versions: Vec<u32>,
    values: BTreeMap<String, String>,
    core: Vec<CoreOption>,
    rows: Vec<BTreeMap<String, String>>,
    states: Vec<&'static str>,
    scalings: Vec<&'static str>,
    natures: Vec<&'static str>,
    whens: Vec<&'static str>,
    reasons: Vec<&'static str>,
    errors: FormErrors,
}

impl AdaptationForm {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    fn empty_row() -> BTreeMap<String, String> {
        let mut row: BTreeMap<String, String> = ROW_FIELDS
            .iter()
            .chain(&["from"])
            .map(|f| (f.to_string(), String::new()))
            .collect();
        row.insert("nature".into(), "tailoring".into());
        row.insert("when".into(), "preImplementation".into());
        row.insert("planned".into(), "yes".into());
        row.insert("reasonCategory".into(), "recipient".into());
        row.insert("consistent".into(), "yes".into());
        row
    }

    /// A row is left out when neither what changed nor why is written.
    fn row_is_empty(row: &BTreeMap<String, String>) -> bool {
        ["what", "reason", "decidedBy"]
            .iter()
            .all(|k| row.get(*k).is_none_or(String::is_empty))
    }

    /// The adaptation's JSON and, per modification, the form row it came from.
    fn to_json(&self, ctx: &Ctx, source: &Source, errors: &mut FormErrors) -> (Json, Vec<usize>) {
        let mut body = Map::new();
        let lang = self.value("lang");
        let tag = match LanguageTag::parse(lang) {
            Ok(t) => Some(t.to_string()),
            Err(_) => {
                errors.local(
                    ctx,
                    "lang",
                    if lang.is_empty() {
                        "err_required"
                    } else {
                        "err_language"
                    },
                );
                None
            }
        };
        let text = |s: &str| -> Json {
            match &tag {
                Some(t) => json!({ t.clone(): s }),
                None => json!({}),
            }
        };
        let version = match form::whole(self.value("originVersion")) {
            Some(Ok(v)) if u32::try_from(v).is_ok_and(|v| self.versions.contains(&v)) => v,
            _ => {
                errors.local(ctx, "originVersion", "err_version");
                0
            }
        };
        body.insert("origin".into(), source.origin(version));
        let title = self.value("title");
        if !title.is_empty() {
            body.insert("title".into(), text(title));
        }
        let context = self.value("context");
        if context.is_empty() {
            errors.local(ctx, "context", "err_required");
        }
        body.insert("context".into(), text(context));
        let country = self.value("country");
        if country.is_empty() {
            errors.local(ctx, "country", "err_required");
        } else if CountryCode::parse(country).is_err() {
            errors.local(ctx, "country", "err_country");
        }
        body.insert("country".into(), json!(country));
        body.insert("scaling".into(), json!(self.value("scaling")));
        body.insert("state".into(), json!(self.value("state")));
        let kept: Vec<usize> = self
            .core
            .iter()
            .filter(|c| c.kept)
            .map(|c| c.index)
            .collect();
        let mut fidelity = Map::new();
        fidelity.insert("coreComponentsKept".into(), json!(kept));
        let notes = self.value("fidelityNotes");
        if !notes.is_empty() {
            fidelity.insert("notes".into(), text(notes));
        }
        body.insert("fidelity".into(), Json::Object(fidelity));
        let mut modifications = Vec::new();
        let mut origin = Vec::new();
        for (i, row) in self.rows.iter().enumerate() {
            if Self::row_is_empty(row) {
                continue;
            }
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            for required in ["what", "reason"] {
                if get(required).is_empty() {
                    errors.local(ctx, &format!("{required}_{i}"), "err_required");
                }
            }
            let mut m = Map::new();
            m.insert("what".into(), text(get("what")));
            m.insert("nature".into(), json!(get("nature")));
            m.insert("when".into(), json!(get("when")));
            m.insert("planned".into(), json!(get("planned") == "yes"));
            if !get("decidedBy").is_empty() {
                m.insert("decidedBy".into(), json!(get("decidedBy")));
            }
            m.insert("reasonCategory".into(), json!(get("reasonCategory")));
            m.insert("reason".into(), text(get("reason")));
            m.insert(
                "fidelityConsistent".into(),
                json!(get("consistent") == "yes"),
            );
            modifications.push(Json::Object(m));
            origin.push(i);
        }
        if !modifications.is_empty() {
            body.insert("modifications".into(), Json::Array(modifications));
        }
        (Json::Object(body), origin)
    }

    /// The input a model error's field path belongs next to.
    fn input_for(field: &str, origin: &[usize]) -> Option<String> {
        let (top, rest) = split_path(field);
        match top {
            "origin" => Some("originVersion".into()),
            "title" | "context" | "country" | "scaling" | "state" => Some(top.into()),
            "fidelity" if rest.starts_with(".notes") => Some("fidelityNotes".into()),
            "fidelity" => Some("kept".into()),
            "modifications" => {
                let (index, after) = leading_index(rest)?;
                let row = origin.get(index)?;
                let input = match after.trim_start_matches('.').split(['.', '[']).next() {
                    Some("nature") => "nature",
                    Some("when") => "when",
                    Some("planned") => "planned",
                    Some("decidedBy") => "decidedBy",
                    Some("reasonCategory") => "reasonCategory",
                    Some("reason") => "reason",
                    Some("fidelityConsistent") => "consistent",
                    _ => "what",
                };
                Some(format!("{input}_{row}"))
            }
            _ => None,
        }
    }
}

async fn blank_form(ctx: &Ctx, source: &Source) -> Result<AdaptationForm, WebError> {
    let (practice, versions, organisation, action, practice_href, partner) = match source {
        Source::Local(id) => {
            let lookup = id.clone();
            let (practice, versions, organisation) = ctx
                .fetch(move |n| {
                    let p: Practice = n.get(&lookup, None)?;
                    let versions = n.versions::<Practice>(&lookup)?;
                    Ok((p, versions, n.organisation()?))
                })
                .await?;
            let versions: Vec<u32> = versions.iter().rev().map(|v| v.version).collect();
            let action = format!("/practices/{id}/adaptations");
            let href = format!("/practices/{id}");
            (practice, versions, organisation, action, href, None)
        }
        Source::Partner { url, actor } => {
            let (lookup, of) = (url.clone(), actor.clone());
            let (found, profiles) = ctx
                .fetch_federation(move |f| {
                    Ok((f.partner_practice(&lookup)?, f.partner_profiles()?))
                })
                .await?;
            let Some(found) = found.filter(|p| p.actor == of) else {
                return Err(WebError::not_found(ctx.lang));
            };
            let organisation = ctx.fetch(|n| n.organisation()).await?;
            let want = ctx.content_lang();
            let partner = PartnerNote {
                url: url.clone(),
                actor: actor.clone(),
                name: profiles
                    .get(actor)
                    .map(|o| view::pick(&o.name, want.as_ref(), o.languages.first())),
            };
            // Only the version replicated can be adapted: it is the one this node has read.
            let versions = vec![found.practice.version];
            let action = format!("/network/practices/adapt?practice={}", form::urlencode(url));
            let href = format!("/network/practices#{}", anchor_of(url));
            (
                found.practice,
                versions,
                organisation,
                action,
                href,
                Some(partner),
            )
        }
    };
    let want = ctx.content_lang();
    let original = Some(&practice.content.original_language);
    let mut values: BTreeMap<String, String> = SCALARS
        .iter()
        .map(|n| (n.to_string(), String::new()))
        .collect();
    values.insert("lang".into(), ctx.lang.code().into());
    values.insert("scaling".into(), "none".into());
    values.insert("state".into(), "intended".into());
    values.insert("originVersion".into(), practice.version.to_string());
    if let Some(o) = organisation {
        values.insert("country".into(), o.country.to_string());
    }
    Ok(AdaptationForm {
        action,
        editing: false,
        stale: false,
        cancel_href: practice_href.clone(),
        practice_href,
        practice_title: view::pick(&practice.content.title, want.as_ref(), original),
        partner,
        versions,
        values,
        core: practice
            .content
            .core_components
            .iter()
            .enumerate()
            .map(|(index, m)| CoreOption {
                index,
                text: view::pick(m, want.as_ref(), original),
                kept: true,
            })
            .collect(),
        rows: (0..START_ROWS)
            .map(|_| AdaptationForm::empty_row())
            .collect(),
        states: STATES.to_vec(),
        scalings: SCALINGS.to_vec(),
        natures: NATURES.to_vec(),
        whens: WHENS.to_vec(),
        reasons: REASONS.to_vec(),
        errors: FormErrors::default(),
    })
}

fn fill(page: &mut AdaptationForm, data: &FormData) {
    for name in SCALARS.iter().chain(&["version"]) {
        page.values
            .insert(name.to_string(), data.get(name).to_string());
    }
    for c in page.core.iter_mut() {
        c.kept = !data.get(&format!("kept_{}", c.index)).is_empty();
    }
    let rows = data.count("what", MAX_ROWS).max(1);
    page.rows = (0..rows)
        .map(|i| {
            ROW_FIELDS
                .iter()
                .chain(&["from"])
                .map(|f| (f.to_string(), data.get(&format!("{f}_{i}")).to_string()))
                .collect()
        })
        .collect();
}

pub async fn new_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let page = blank_form(&ctx, &Source::Local(id)).await?;
    ctx.render("adaptation_form.html", "practices", &page).await
}

pub async fn create(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    save(ctx, &data, Source::Local(id)).await
}

/// The partner practice a `?practice=URL` names: one this node replicated, else 404.
async fn partner_source(ctx: &Ctx, req: &HttpRequest) -> Result<Source, WebError> {
    let query = FormData::parse(req.query_string());
    let url = query.get("practice").to_string();
    let plausible = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && !url.chars().any(char::is_control);
    if !plausible {
        return Err(WebError::not_found(ctx.lang));
    }
    let lookup = url.clone();
    let found = ctx
        .fetch_federation(move |f| f.partner_practice(&lookup))
        .await?
        .ok_or_else(|| WebError::not_found(ctx.lang))?;
    Ok(Source::Partner {
        url,
        actor: found.actor,
    })
}

/// `GET /network/practices/adapt?practice=URL` (editors): the form, to adapt a partner's
/// practice.
pub async fn partner_new_form(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let source = partner_source(&ctx, &req).await?;
    let page = blank_form(&ctx, &source).await?;
    ctx.render("adaptation_form.html", "network", &page).await
}

/// `POST /network/practices/adapt?practice=URL` (editors).
pub async fn partner_create(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let source = partner_source(&ctx, &req).await?;
    save(ctx, &data, source).await
}

/// Checks and records a submitted adaptation form, or shows it again with its errors.
async fn save(ctx: Ctx, data: &FormData, source: Source) -> WebResult {
    let section = match source {
        Source::Local(_) => "practices",
        Source::Partner { .. } => "network",
    };
    let mut page = blank_form(&ctx, &source).await?;
    fill(&mut page, data);
    if data.get("action") == "add_row" {
        if page.rows.len() < MAX_ROWS {
            page.rows.push(AdaptationForm::empty_row());
        }
        return ctx.render("adaptation_form.html", section, &page).await;
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::default();
    let (body, origin) = page.to_json(&ctx, &source, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(unprocessable, "adaptation_form.html", section, &page)
            .await;
    }
    let content: AdaptationContent = match crate::extract::from_value(body) {
        Ok(c) => c,
        Err(e) => {
            if e.errors.is_empty() {
                errors.add(None, e.detail.clone(), Some("en".into()));
            }
            errors.add_model_errors(&ctx, &e.errors, |f| AdaptationForm::input_for(f, &origin));
            page.errors = errors;
            return ctx
                .render_status(unprocessable, "adaptation_form.html", section, &page)
                .await;
        }
    };
    match ctx.run(move |n| n.create::<Adaptation>(content)).await? {
        Ok(a) => Ok(ctx.redirect(&match &source {
            Source::Local(id) => format!("/practices/{id}#adaptation-{}", a.id),
            Source::Partner { .. } => format!("/network/practices#adaptation-{}", a.id),
        })),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| AdaptationForm::input_for(f, &origin));
            page.errors = errors;
            ctx.render_status(unprocessable, "adaptation_form.html", section, &page)
                .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

/// The form filled from a stored adaptation, in the language of its context (the first one
/// when it has several), plus one empty modification row.
fn fill_from_adaptation(page: &mut AdaptationForm, a: &Adaptation) {
    let c = &a.content;
    let lang = c.context.languages().next().cloned();
    // Only the texts in the form's language: one in another language stays as it is (it is
    // put back on save) rather than be relabelled.
    let text = |m: Option<&punte_model::LangMap>| -> String {
        match (m, &lang) {
            (Some(m), Some(l)) => m.get(l).unwrap_or_default().to_owned(),
            _ => String::new(),
        }
    };
    let enum_text = |v: Json| v.as_str().map(String::from).unwrap_or_default();
    let v = &mut page.values;
    v.insert(
        "lang".into(),
        lang.as_ref().map(|l| l.to_string()).unwrap_or_default(),
    );
    v.insert("title".into(), text(c.title.as_ref()));
    v.insert("context".into(), text(Some(&c.context)));
    v.insert("country".into(), c.country.to_string());
    v.insert("scaling".into(), enum_text(json!(c.scaling)));
    v.insert("state".into(), enum_text(json!(c.state)));
    v.insert("fidelityNotes".into(), text(c.fidelity.notes.as_ref()));
    v.insert("originVersion".into(), c.origin.version.to_string());
    v.insert("version".into(), a.version.to_string());
    if !page.versions.contains(&c.origin.version) {
        page.versions.push(c.origin.version);
    }
    for core in page.core.iter_mut() {
        core.kept =
            u32::try_from(core.index).is_ok_and(|i| c.fidelity.core_components_kept.contains(&i));
    }
    page.rows = c
        .modifications
        .iter()
        .take(MAX_ROWS.saturating_sub(1))
        .enumerate()
        .map(|(i, m)| {
            let mut row = AdaptationForm::empty_row();
            row.insert("what".into(), text(Some(&m.what)));
            row.insert("nature".into(), enum_text(json!(m.nature)));
            row.insert("when".into(), enum_text(json!(m.when)));
            row.insert(
                "planned".into(),
                if m.planned { "yes" } else { "no" }.into(),
            );
            row.insert("decidedBy".into(), m.decided_by.clone().unwrap_or_default());
            row.insert("reasonCategory".into(), enum_text(json!(m.reason_category)));
            row.insert("reason".into(), text(Some(&m.reason)));
            row.insert(
                "consistent".into(),
                if m.fidelity_consistent { "yes" } else { "no" }.into(),
            );
            row.insert("from".into(), i.to_string());
            row
        })
        .collect();
    page.rows.push(AdaptationForm::empty_row());
}

/// Puts back into an edited adaptation's JSON the texts in languages the form did not show
/// (per modification through its row's `from`), and the origin's organisation as stored.
fn keep_other_languages(
    body: &mut Json,
    stored: &Adaptation,
    rows: &[BTreeMap<String, String>],
    origin: &[usize],
) {
    let Ok(Json::Object(old)) = serde_json::to_value(&stored.content) else {
        return;
    };
    let Json::Object(new) = body else {
        return;
    };
    fn merge(new: Option<&mut Json>, old: Option<&Json>) {
        if let (Some(Json::Object(new)), Some(Json::Object(old))) = (new, old) {
            for (lang, text) in old {
                new.entry(lang.clone()).or_insert_with(|| text.clone());
            }
        }
    }
    merge(new.get_mut("title"), old.get("title"));
    merge(new.get_mut("context"), old.get("context"));
    merge(
        new.get_mut("fidelity").and_then(|f| f.get_mut("notes")),
        old.get("fidelity").and_then(|f| f.get("notes")),
    );
    if let (Some(Json::Object(o)), Some(Json::Object(stored_origin))) =
        (new.get_mut("origin"), old.get("origin"))
        && let Some(org) = stored_origin.get("organisation")
    {
        o.insert("organisation".into(), org.clone());
    }
    let old_mods = old.get("modifications").and_then(Json::as_array);
    if let Some(Json::Array(mods)) = new.get_mut("modifications") {
        for (m, row) in mods.iter_mut().zip(origin) {
            let from = rows
                .get(*row)
                .and_then(|r| r.get("from"))
                .and_then(|f| f.parse::<usize>().ok());
            let Some(before) = from.and_then(|f| old_mods.and_then(|o| o.get(f))) else {
                continue;
            };
            merge(m.get_mut("what"), before.get("what"));
            merge(m.get_mut("reason"), before.get("reason"));
        }
    }
}

/// The stored adaptation `id` and the form to edit it.
async fn edit_page(ctx: &Ctx, id: &str) -> Result<(Adaptation, Source, AdaptationForm), WebError> {
    let lookup = id.to_string();
    let stored: Adaptation = ctx.fetch(move |n| n.get(&lookup, None)).await?;
    let urls =
        NodeUrls::new(&ctx.node.settings().base_url).map_err(|_| WebError::internal(ctx.lang))?;
    let origin = &stored.content.origin;
    let source = Source::of_origin(&urls, &origin.practice, origin.organisation.as_deref());
    let mut page = blank_form(ctx, &source).await?;
    page.action = format!("/adaptations/{id}/edit");
    page.editing = true;
    page.cancel_href = format!("/adaptations/{id}");
    fill_from_adaptation(&mut page, &stored);
    Ok((stored, source, page))
}

/// `GET /adaptations/{id}/edit` (editors).
pub async fn edit_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let (_, _, page) = edit_page(&ctx, &id).await?;
    ctx.render("adaptation_form.html", "practices", &page).await
}

/// `POST /adaptations/{id}/edit` (editors): a new version of the adaptation.
pub async fn update(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let (stored, source, mut page) = edit_page(&ctx, &id).await?;
    fill(&mut page, &data);
    if data.get("action") == "add_row" {
        if page.rows.len() < MAX_ROWS {
            page.rows.push(AdaptationForm::empty_row());
        }
        return ctx.render("adaptation_form.html", "practices", &page).await;
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::default();
    let (mut body, origin) = page.to_json(&ctx, &source, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(unprocessable, "adaptation_form.html", "practices", &page)
            .await;
    }
    keep_other_languages(&mut body, &stored, &page.rows, &origin);
    let content: AdaptationContent = match crate::extract::from_value(body) {
        Ok(c) => c,
        Err(e) => {
            if e.errors.is_empty() {
                errors.add(None, e.detail.clone(), Some("en".into()));
            }
            errors.add_model_errors(&ctx, &e.errors, |f| AdaptationForm::input_for(f, &origin));
            page.errors = errors;
            return ctx
                .render_status(unprocessable, "adaptation_form.html", "practices", &page)
                .await;
        }
    };
    let expected = page.value("version").parse::<u32>().ok();
    let update_id = id.clone();
    match ctx
        .run(move |n| n.update::<Adaptation>(&update_id, expected, content))
        .await?
    {
        Ok(_) => Ok(ctx.redirect(&format!("/adaptations/{id}"))),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| AdaptationForm::input_for(f, &origin));
            page.errors = errors;
            ctx.render_status(unprocessable, "adaptation_form.html", "practices", &page)
                .await
        }
        Err(NodeError::Store(StoreError::VersionConflict { current, .. })) => {
            page.stale = true;
            page.values.insert("version".into(), current.to_string());
            ctx.render_status(
                StatusCode::CONFLICT,
                "adaptation_form.html",
                "practices",
                &page,
            )
            .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}
