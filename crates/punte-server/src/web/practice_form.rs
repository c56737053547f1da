//! The forms to add and edit a practice: one group of inputs per language (up to
//! [`MAX_SLOTS`]), the single-value inputs, and the mapping from form fields to the
//! practice's JSON and back, so model errors land next to the input that caused them.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use punte_model::common::{CountryCode, CurrencyCode, Date, Licence, NutsCode, SdgTarget, Theme};
use punte_model::{LangMap, LanguageTag, Maturity, Practice, PracticeContent};
use punte_node::{NodeError, Role};
use punte_store::StoreError;

use super::checked_id;
use super::form::{self, FormData, FormErrors, leading_index, split_path};
use super::{Ctx, WebError, WebResult};

/// Most language groups a practice form handles.
const MAX_SLOTS: usize = 12;

/// Language-map fields of the form: `(name, required)`. Multi-line except the title.
const TEXT_FIELDS: [(&str, bool); 9] = [
    ("title", true),
    ("summary", true),
    ("problem", true),
    ("solution", true),
    ("targetGroup", false),
    ("evidence", false),
    ("difficulties", false),
    ("transferability", false),
    ("resourcesNotes", false),
];
/// Lists of language maps, one item per line.
const LIST_FIELDS: [&str; 2] = ["coreComponents", "adaptableComponents"];
/// Single-value inputs.
const SCALARS: [&str; 13] = [
    "country",
    "region",
    "themes",
    "sdgTargets",
    "maturity",
    "licence",
    "periodStart",
    "periodEnd",
    "staffFte",
    "budgetAmount",
    "budgetCurrency",
    "durationMonths",
    "version",
];

/// One language's texts in the form.
#[derive(Debug, Serialize)]
struct Slot {
    index: usize,
    lang: String,
    method: String,
    texts: BTreeMap<String, String>,
}

impl Slot {
    fn empty(index: usize) -> Self {
        Self {
            index,
            lang: String::new(),
            method: "human".into(),
            texts: TEXT_FIELDS
                .iter()
                .map(|(n, _)| *n)
                .chain(LIST_FIELDS)
                .map(|n| (n.to_string(), String::new()))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct FieldSpec {
    name: &'static str,
    required: bool,
    multiline: bool,
}

#[derive(Debug, Serialize)]
struct PracticeForm {
    action: String,
    editing: bool,
    cancel_href: String,
    slots: Vec<Slot>,
    values: BTreeMap<String, String>,
    text_fields: Vec<FieldSpec>,
    list_fields: Vec<&'static str>,
    maturities: Vec<&'static str>,
    methods: Vec<&'static str>,
    errors: FormErrors,
    stale: bool,
}

impl PracticeForm {
    fn blank(ctx: &Ctx, action: String, cancel_href: String) -> Self {
        let mut values: BTreeMap<String, String> = SCALARS
            .iter()
            .map(|n| (n.to_string(), String::new()))
            .collect();
        values.insert("licence".into(), "CC-BY-4.0".into());
        values.insert("maturity".into(), "innovation".into());
        let mut first = Slot::empty(0);
        first.lang = ctx.lang.code().to_string();
        let mut second = Slot::empty(1);
        second.lang = match ctx.lang.code() {
            "ro" => "en".into(),
            _ => "ro".into(),
        };
        Self {
            action,
            editing: false,
            cancel_href,
            slots: vec![first, second],
            values,
            text_fields: TEXT_FIELDS
                .iter()
                .map(|(name, required)| FieldSpec {
                    name,
                    required: *required,
                    multiline: *name != "title",
                })
                .collect(),
            list_fields: LIST_FIELDS.to_vec(),
            maturities: Maturity::ALL.iter().map(|m| m.as_str()).collect(),
            methods: vec!["human", "machine", "machineReviewed"],
            errors: FormErrors::default(),
            stale: false,
        }
    }

    /// The form as the reader submitted it.
    fn fill_from_submission(&mut self, data: &FormData) {
        let count = data.count("lang", MAX_SLOTS).max(1);
        self.slots = (0..count)
            .map(|i| {
                let mut slot = Slot::empty(i);
                slot.lang = data.get(&format!("lang_{i}")).to_string();
                let method = data.get(&format!("method_{i}"));
                if self.methods.contains(&method) {
                    slot.method = method.to_string();
                }
                for text in slot.texts.iter_mut() {
                    *text.1 = data.raw(&format!("{}_{i}", text.0)).trim().to_string();
                }
                slot
            })
            .collect();
        for name in SCALARS {
            self.values
                .insert(name.to_string(), data.get(name).to_string());
        }
    }

    /// The form filled from a stored practice.
    fn fill_from_practice(&mut self, p: &Practice) {
        let c = &p.content;
        let mut languages: Vec<LanguageTag> = vec![c.original_language.clone()];
        let mut others = BTreeSet::new();
        for (_, map) in lang_maps(c) {
            for l in map.languages() {
                if *l != c.original_language {
                    others.insert(l.clone());
                }
            }
        }
        languages.extend(others);
        self.slots = languages
            .iter()
            .enumerate()
            .map(|(i, lang)| {
                let mut slot = Slot::empty(i);
                slot.lang = lang.to_string();
                if let Some(t) = c.translations.get(lang) {
                    slot.method = serde_json::to_value(t.method)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_else(|| "human".into());
                }
                for (name, map) in lang_maps(c) {
                    if let Some(text) = map.get(lang) {
                        slot.texts.insert(name.to_string(), text.to_string());
                    }
                }
                for (name, list) in [
                    ("coreComponents", &c.core_components),
                    ("adaptableComponents", &c.adaptable_components),
                ] {
                    let lines: Vec<&str> = list.iter().map(|m| m.get(lang).unwrap_or("")).collect();
                    slot.texts
                        .insert(name.to_string(), lines.join("\n").trim_end().to_string());
                }
                slot
            })
            .collect();
        let join = |items: Vec<String>| items.join(", ");
        let v = &mut self.values;
        v.insert("country".into(), c.country.to_string());
        v.insert(
            "region".into(),
            c.region.as_ref().map(|r| r.to_string()).unwrap_or_default(),
        );
        v.insert(
            "themes".into(),
            join(c.themes.iter().map(|t| t.to_string()).collect()),
        );
        v.insert(
            "sdgTargets".into(),
            join(c.sdg_targets.iter().map(|t| t.to_string()).collect()),
        );
        v.insert("maturity".into(), c.maturity.as_str().into());
        v.insert("licence".into(), c.licence.to_string());
        if let Some(period) = &c.period {
            v.insert("periodStart".into(), period.start.to_string());
            v.insert(
                "periodEnd".into(),
                period.end.map(|e| e.to_string()).unwrap_or_default(),
            );
        }
        if let Some(r) = &c.resources {
            let opt = |x: Option<String>| x.unwrap_or_default();
            v.insert("staffFte".into(), opt(r.staff_fte.map(|x| x.to_string())));
            v.insert(
                "budgetAmount".into(),
                opt(r.budget.as_ref().map(|b| b.amount.to_string())),
            );
            v.insert(
                "budgetCurrency".into(),
                opt(r.budget.as_ref().map(|b| b.currency.to_string())),
            );
            v.insert(
                "durationMonths".into(),
                opt(r.duration_months.map(|x| x.to_string())),
            );
        }
        v.insert("version".into(), p.version.to_string());
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// The language of each slot that names a valid one, canonical, and its slot.
    fn slot_languages(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for slot in &self.slots {
            if let Ok(tag) = LanguageTag::parse(&slot.lang) {
                out.entry(tag.to_string()).or_insert(slot.index);
            }
        }
        out
    }

    /// Builds the practice's JSON; problems the form itself can see go into `errors`.
    fn to_json(&self, ctx: &Ctx, errors: &mut FormErrors) -> Json {
        let mut languages: Vec<Option<LanguageTag>> = Vec::new();
        let mut seen = BTreeSet::new();
        for slot in &self.slots {
            let has_text = slot.texts.values().any(|t| !t.is_empty());
            let input = format!("lang_{}", slot.index);
            if slot.lang.is_empty() {
                if has_text || slot.index == 0 {
                    errors.local(ctx, &input, "err_text_without_language");
                }
                languages.push(None);
                continue;
            }
            match LanguageTag::parse(&slot.lang) {
                Ok(tag) if !seen.insert(tag.clone()) => {
                    errors.local(ctx, &input, "err_language_twice");
                    languages.push(None);
                }
                Ok(tag) => languages.push(Some(tag)),
                Err(_) => {
                    errors.local(ctx, &input, "err_language");
                    languages.push(None);
                }
            }
        }
        let mut body = Map::new();
        let lang_map = |name: &str| -> Option<Json> {
            let mut map = Map::new();
            for (slot, lang) in self.slots.iter().zip(&languages) {
                let text = slot.texts.get(name).map(String::as_str).unwrap_or("");
                if let (Some(lang), false) = (lang, text.is_empty()) {
                    map.insert(lang.to_string(), Json::String(text.to_string()));
                }
            }
            (!map.is_empty()).then_some(Json::Object(map))
        };
        for (name, required) in TEXT_FIELDS {
            let original_text = self
                .slots
                .first()
                .and_then(|s| s.texts.get(name))
                .is_some_and(|t| !t.is_empty());
            if required && !original_text {
                errors.local(ctx, &format!("{name}_0"), "err_required");
            }
            if let Some(map) = lang_map(name) {
                if name == "resourcesNotes" {
                    continue;
                }
                body.insert(name.to_string(), map);
            }
        }
        for name in LIST_FIELDS {
            let per_slot: Vec<Vec<&str>> = self
                .slots
                .iter()
                .map(|s| {
                    s.texts
                        .get(name)
                        .map(|t| t.lines().map(str::trim).collect())
                        .unwrap_or_default()
                })
                .collect();
            let rows = per_slot.iter().map(Vec::len).max().unwrap_or(0);
            let mut items = Vec::new();
            for k in 0..rows {
                let mut map = Map::new();
                for (lines, lang) in per_slot.iter().zip(&languages) {
                    if let (Some(lang), Some(line)) = (lang, lines.get(k))
                        && !line.is_empty()
                    {
                        map.insert(lang.to_string(), Json::String(line.to_string()));
                    }
                }
                if !map.is_empty() {
                    items.push(Json::Object(map));
                }
            }
            if !items.is_empty() {
                body.insert(name.to_string(), Json::Array(items));
            }
        }
        if let Some(Some(original)) = languages.first() {
            body.insert("originalLanguage".into(), json!(original.to_string()));
        }
        let mut translations = Map::new();
        for (slot, lang) in self.slots.iter().zip(&languages).skip(1) {
            if let Some(lang) = lang
                && slot.texts.get("title").is_some_and(|t| !t.is_empty())
            {
                translations.insert(lang.to_string(), json!({ "method": slot.method }));
            }
        }
        if !translations.is_empty() {
            body.insert("translations".into(), Json::Object(translations));
        }
        let country = self.value("country");
        if country.is_empty() {
            errors.local(ctx, "country", "err_required");
        } else if CountryCode::parse(country).is_err() {
            errors.local(ctx, "country", "err_country");
        } else {
            body.insert("country".into(), json!(country));
        }
        let region = self.value("region");
        if !region.is_empty() {
            if NutsCode::parse(region).is_err() {
                errors.local(ctx, "region", "err_region");
            }
            body.insert("region".into(), json!(region));
        }
        let licence = self.value("licence");
        if !licence.is_empty() {
            if Licence::parse(licence).is_err() {
                errors.local(ctx, "licence", "err_licence");
            }
            body.insert("licence".into(), json!(licence));
        }
        body.insert("maturity".into(), json!(self.value("maturity")));
        for name in ["themes", "sdgTargets"] {
            let items: Vec<&str> = self
                .value(name)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let bad = match name {
                "themes" => items.iter().any(|t| Theme::parse(t).is_err()),
                _ => items.iter().any(|t| SdgTarget::parse(t).is_err()),
            };
            if bad {
                let key = if name == "themes" {
                    "err_theme"
                } else {
                    "err_sdg"
                };
                errors.local(ctx, name, key);
            }
            if !items.is_empty() {
                body.insert(name.into(), json!(items));
            }
        }
        let (start, end) = (self.value("periodStart"), self.value("periodEnd"));
        for (input, value) in [("periodStart", start), ("periodEnd", end)] {
            if !value.is_empty() && Date::parse(value).is_err() {
                errors.local(ctx, input, "err_date");
            }
        }
        if !start.is_empty() {
            let mut period = Map::new();
            period.insert("start".into(), json!(start));
            if !end.is_empty() {
                period.insert("end".into(), json!(end));
            }
            body.insert("period".into(), Json::Object(period));
        } else if !end.is_empty() {
            errors.local(ctx, "periodStart", "err_required");
        }
        let mut resources = Map::new();
        match form::number(self.value("staffFte")) {
            Some(Ok(v)) => {
                resources.insert("staffFte".into(), json!(v));
            }
            Some(Err(())) => errors.local(ctx, "staffFte", "err_number"),
            None => {}
        }
        let currency = self.value("budgetCurrency");
        if !currency.is_empty() && CurrencyCode::parse(currency).is_err() {
            errors.local(ctx, "budgetCurrency", "err_currency");
        }
        match form::number(self.value("budgetAmount")) {
            Some(Ok(v)) if !currency.is_empty() => {
                resources.insert("budget".into(), json!({"amount": v, "currency": currency}));
            }
            Some(Ok(_)) => errors.local(ctx, "budgetCurrency", "err_required"),
            Some(Err(())) => errors.local(ctx, "budgetAmount", "err_number"),
            None if !currency.is_empty() => errors.local(ctx, "budgetAmount", "err_required"),
            None => {}
        }
        match form::whole(self.value("durationMonths")) {
            Some(Ok(v)) => {
                resources.insert("durationMonths".into(), json!(v));
            }
            Some(Err(())) => errors.local(ctx, "durationMonths", "err_whole_number"),
            None => {}
        }
        if let Some(notes) = lang_map("resourcesNotes") {
            resources.insert("notes".into(), notes);
        }
        if !resources.is_empty() {
            body.insert("resources".into(), Json::Object(resources));
        }
        Json::Object(body)
    }

    /// The input a model error's field path belongs next to.
    fn input_for(&self, field: &str) -> Option<String> {
        let slots = self.slot_languages();
        let slot_of = |lang: &str| -> usize {
            LanguageTag::parse(lang)
                .ok()
                .and_then(|t| slots.get(t.as_str()).copied())
                .unwrap_or(0)
        };
        let (top, rest) = split_path(field);
        let lang_in = |rest: &str| rest.strip_prefix('.').map(slot_of).unwrap_or(0);
        match top {
            "title" | "summary" | "problem" | "solution" | "targetGroup" | "evidence"
            | "difficulties" | "transferability" => Some(format!("{top}_{}", lang_in(rest))),
            "coreComponents" | "adaptableComponents" => {
                let after = leading_index(rest).map(|(_, a)| a).unwrap_or(rest);
                Some(format!("{top}_{}", lang_in(after)))
            }
            "originalLanguage" => Some("lang_0".into()),
            "translations" => Some(format!("lang_{}", lang_in(rest))),
            "country" | "region" | "maturity" | "licence" | "themes" | "sdgTargets" => {
                Some(top.to_string())
            }
            "period" => Some(if rest == ".end" {
                "periodEnd".into()
            } else if rest.is_empty() {
                // "end is before start"
                "periodEnd".into()
            } else {
                "periodStart".into()
            }),
            "resources" => Some(
                match rest {
                    ".staffFte" => "staffFte",
                    ".durationMonths" => "durationMonths",
                    ".budget.currency" => "budgetCurrency",
                    r if r.starts_with(".budget") => "budgetAmount",
                    r if r.starts_with(".notes") => {
                        let lang = r.strip_prefix(".notes").unwrap_or("");
                        return Some(format!("resourcesNotes_{}", lang_in(lang)));
                    }
                    _ => "staffFte",
                }
                .to_string(),
            ),
            _ => None,
        }
    }
}

fn lang_maps(c: &PracticeContent) -> Vec<(&'static str, &LangMap)> {
    let mut out = vec![
        ("title", &c.title),
        ("summary", &c.summary),
        ("problem", &c.problem),
        ("solution", &c.solution),
    ];
    for (name, map) in [
        ("targetGroup", c.target_group.as_ref()),
        ("evidence", c.evidence.as_ref()),
        ("difficulties", c.difficulties.as_ref()),
        ("transferability", c.transferability.as_ref()),
        (
            "resourcesNotes",
            c.resources.as_ref().and_then(|r| r.notes.as_ref()),
        ),
    ] {
        if let Some(m) = map {
            out.push((name, m));
        }
    }
    out
}

pub async fn new_form(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let page = PracticeForm::blank(&ctx, "/practices".into(), "/practices".into());
    ctx.render("practice_form.html", "new", &page).await
}

pub async fn edit_form(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let href = format!("/practices/{id}");
    let practice: Practice = ctx.fetch(move |n| n.get(&id, None)).await?;
    let mut page = PracticeForm::blank(&ctx, format!("{href}/edit"), href);
    page.editing = true;
    page.fill_from_practice(&practice);
    ctx.render("practice_form.html", "practices", &page).await
}

pub async fn create(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let page = PracticeForm::blank(&ctx, "/practices".into(), "/practices".into());
    save(ctx, page, data, None).await
}

pub async fn update(req: HttpRequest, path: web::Path<String>, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Editor) {
        return answer;
    }
    let id = checked_id(&ctx, &path)?;
    let href = format!("/practices/{id}");
    let mut page = PracticeForm::blank(&ctx, format!("{href}/edit"), href);
    page.editing = true;
    save(ctx, page, data, Some(id)).await
}

/// Validates and stores a submitted practice form, or shows it again with its errors.
async fn save(ctx: Ctx, mut page: PracticeForm, data: FormData, id: Option<String>) -> WebResult {
    page.fill_from_submission(&data);
    let section = if id.is_some() { "practices" } else { "new" };
    if data.get("action") == "add_language" {
        if page.slots.len() < MAX_SLOTS {
            page.slots.push(Slot::empty(page.slots.len()));
        }
        return ctx.render("practice_form.html", section, &page).await;
    }
    let mut errors = FormErrors::default();
    let body = page.to_json(&ctx, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "practice_form.html",
                section,
                &page,
            )
            .await;
    }
    let content: PracticeContent = match crate::extract::from_value(body) {
        Ok(c) => c,
        Err(e) => {
            if e.errors.is_empty() {
                errors.add(None, e.detail.clone(), Some("en".into()));
            }
            errors.add_model_errors(&ctx, &e.errors, |f| page.input_for(f));
            page.errors = errors;
            return ctx
                .render_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "practice_form.html",
                    section,
                    &page,
                )
                .await;
        }
    };
    let expected = page.value("version").parse::<u32>().ok();
    let result = match id {
        Some(id) => {
            ctx.run(move |n| n.update::<Practice>(&id, expected, content))
                .await?
        }
        None => ctx.run(move |n| n.create::<Practice>(content)).await?,
    };
    match result {
        Ok(p) => Ok(ctx.redirect(&format!("/practices/{}", p.id))),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| page.input_for(f));
            page.errors = errors;
            ctx.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "practice_form.html",
                section,
                &page,
            )
            .await
        }
        Err(NodeError::Store(StoreError::VersionConflict { current, .. })) => {
            page.stale = true;
            page.values.insert("version".into(), current.to_string());
            ctx.render_status(StatusCode::CONFLICT, "practice_form.html", section, &page)
                .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}
