//! The organisation page (its profile, node address and public keys, for anyone), the
//! profile form for administrators, and the access tokens page for administrators: list,
//! create (the secret is shown once, on the answer to the form) and revoke.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use punte_model::common::{CountryCode, NutsCode};
use punte_model::{LanguageTag, OrganisationProfile};
use punte_node::{NodeError, Role};
use punte_store::StoreError;

use super::form::{self, FormData, FormErrors, split_path};
use super::view::{self, TextView};
use super::{Ctx, WebError, WebResult};

/// Most language groups the profile form handles.
const MAX_SLOTS: usize = 12;
/// Longest token label.
const MAX_LABEL_CHARS: usize = 100;

#[derive(Serialize)]
struct OrganisationPage {
    set_up: bool,
    name: Option<TextView>,
    names: Vec<(String, String)>,
    summaries: Vec<(String, String)>,
    country: Option<String>,
    region: Option<String>,
    languages: Vec<String>,
    base_url: String,
    actor: String,
    origin: String,
    identity_vkey: String,
    identity_multikey: String,
    witness_vkey: String,
    is_admin: bool,
}

/// `GET /organisation`: the profile, where the node is and how to verify it.
pub async fn show(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let (profile, keys, origin) = ctx
        .fetch(|n| Ok((n.organisation()?, n.keys_summary()?, n.log_origin()?)))
        .await?;
    let want = ctx.content_lang();
    let base_url = ctx.node.settings().base_url.clone();
    let pairs = |m: &punte_model::LangMap| -> Vec<(String, String)> {
        m.iter()
            .map(|(l, t)| (l.to_string(), t.to_string()))
            .collect()
    };
    let page = OrganisationPage {
        set_up: profile.is_some(),
        name: profile
            .as_ref()
            .map(|o| view::pick(&o.name, want.as_ref(), o.languages.first())),
        names: profile.as_ref().map(|o| pairs(&o.name)).unwrap_or_default(),
        summaries: profile
            .as_ref()
            .and_then(|o| o.summary.as_ref().map(pairs))
            .unwrap_or_default(),
        country: profile.as_ref().map(|o| o.country.to_string()),
        region: profile
            .as_ref()
            .and_then(|o| o.region.as_ref().map(|r| r.to_string())),
        languages: profile
            .as_ref()
            .map(|o| o.languages.iter().map(|l| l.to_string()).collect())
            .unwrap_or_default(),
        actor: format!("{}/actor", base_url.trim_end_matches('/')),
        base_url,
        origin,
        identity_vkey: keys.identity_vkey,
        identity_multikey: keys.identity_multikey,
        witness_vkey: keys.witness_vkey,
        is_admin: ctx
            .user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Admin)),
    };
    ctx.render("organisation.html", "organisation", &page).await
}

/// One language's name and summary in the profile form.
#[derive(Debug, Serialize)]
struct Slot {
    index: usize,
    lang: String,
    name: String,
    summary: String,
}

#[derive(Debug, Serialize)]
struct ProfileForm {
    slots: Vec<Slot>,
    values: BTreeMap<String, String>,
    errors: FormErrors,
}

impl ProfileForm {
    fn blank(ctx: &Ctx) -> Self {
        let other = if ctx.lang.code() == "ro" { "en" } else { "ro" };
        let mut values = BTreeMap::new();
        for name in ["country", "region", "languages"] {
            values.insert(name.to_string(), String::new());
        }
        values.insert("languages".into(), format!("{}, {other}", ctx.lang.code()));
        Self {
            slots: [ctx.lang.code(), other]
                .iter()
                .enumerate()
                .map(|(index, lang)| Slot {
                    index,
                    lang: lang.to_string(),
                    name: String::new(),
                    summary: String::new(),
                })
                .collect(),
            values,
            errors: FormErrors::default(),
        }
    }

    fn fill_from_profile(&mut self, o: &OrganisationProfile) {
        let mut languages: Vec<LanguageTag> = o.languages.clone();
        for l in o
            .name
            .languages()
            .chain(o.summary.iter().flat_map(|s| s.languages()))
        {
            if !languages.contains(l) {
                languages.push(l.clone());
            }
        }
        self.slots = languages
            .iter()
            .enumerate()
            .map(|(index, l)| Slot {
                index,
                lang: l.to_string(),
                name: o.name.get(l).unwrap_or("").to_string(),
                summary: o
                    .summary
                    .as_ref()
                    .and_then(|s| s.get(l))
                    .unwrap_or("")
                    .to_string(),
            })
            .collect();
        self.values.insert("country".into(), o.country.to_string());
        self.values.insert(
            "region".into(),
            o.region.as_ref().map(|r| r.to_string()).unwrap_or_default(),
        );
        self.values.insert(
            "languages".into(),
            o.languages
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }

    fn fill_from_submission(&mut self, data: &FormData) {
        let count = data.count("lang", MAX_SLOTS).max(1);
        self.slots = (0..count)
            .map(|index| Slot {
                index,
                lang: data.get(&format!("lang_{index}")).to_string(),
                name: data.get(&format!("name_{index}")).to_string(),
                summary: data.raw(&format!("summary_{index}")).trim().to_string(),
            })
            .collect();
        for name in ["country", "region", "languages"] {
            self.values
                .insert(name.to_string(), data.get(name).to_string());
        }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    fn to_json(&self, ctx: &Ctx, errors: &mut FormErrors) -> Json {
        let mut names = Map::new();
        let mut summaries = Map::new();
        for slot in &self.slots {
            let input = format!("lang_{}", slot.index);
            let has_text = !slot.name.is_empty() || !slot.summary.is_empty();
            if slot.lang.is_empty() {
                if has_text {
                    errors.local(ctx, &input, "err_text_without_language");
                }
                continue;
            }
            match LanguageTag::parse(&slot.lang) {
                Ok(tag)
                    if names.contains_key(tag.as_str()) || summaries.contains_key(tag.as_str()) =>
                {
                    errors.local(ctx, &input, "err_language_twice");
                }
                Ok(tag) => {
                    if !slot.name.is_empty() {
                        names.insert(tag.to_string(), json!(slot.name));
                    }
                    if !slot.summary.is_empty() {
                        summaries.insert(tag.to_string(), json!(slot.summary));
                    }
                }
                Err(_) => errors.local(ctx, &input, "err_language"),
            }
        }
        if names.is_empty() {
            errors.local(ctx, "name_0", "err_required");
        }
        let mut body = Map::new();
        body.insert("name".into(), Json::Object(names));
        if !summaries.is_empty() {
            body.insert("summary".into(), Json::Object(summaries));
        }
        let country = self.value("country");
        if country.is_empty() {
            errors.local(ctx, "country", "err_required");
        } else if CountryCode::parse(country).is_err() {
            errors.local(ctx, "country", "err_country");
        }
        body.insert("country".into(), json!(country));
        let region = self.value("region");
        if !region.is_empty() {
            if NutsCode::parse(region).is_err() {
                errors.local(ctx, "region", "err_region");
            }
            body.insert("region".into(), json!(region));
        }
        let languages: Vec<&str> = self
            .value("languages")
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if languages.is_empty() {
            errors.local(ctx, "languages", "err_required");
        } else if languages.iter().any(|l| LanguageTag::parse(l).is_err()) {
            errors.local(ctx, "languages", "err_languages");
        }
        body.insert("languages".into(), json!(languages));
        Json::Object(body)
    }

    /// The input a model error's field path belongs next to.
    fn input_for(&self, field: &str) -> Option<String> {
        let (top, rest) = split_path(field);
        let slot_of = |lang: &str| {
            self.slots
                .iter()
                .find(|s| s.lang == lang)
                .map_or(0, |s| s.index)
        };
        match top {
            "name" | "summary" => Some(format!("{top}_{}", slot_of(rest.trim_start_matches('.')))),
            "country" | "region" | "languages" => Some(top.to_string()),
            _ => None,
        }
    }
}

/// `GET /organisation/edit` (administrators).
pub async fn edit_form(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let profile = ctx.fetch(|n| n.organisation()).await?;
    let mut page = ProfileForm::blank(&ctx);
    if let Some(o) = &profile {
        page.fill_from_profile(o);
    }
    ctx.render("organisation_form.html", "organisation", &page)
        .await
}

/// `POST /organisation/edit` (administrators): saves the profile and publishes it.
pub async fn update(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let mut page = ProfileForm::blank(&ctx);
    page.fill_from_submission(&data);
    if data.get("action") == "add_language" {
        if page.slots.len() < MAX_SLOTS {
            page.slots.push(Slot {
                index: page.slots.len(),
                lang: String::new(),
                name: String::new(),
                summary: String::new(),
            });
        }
        return ctx
            .render("organisation_form.html", "organisation", &page)
            .await;
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::default();
    let body = page.to_json(&ctx, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return ctx
            .render_status(
                unprocessable,
                "organisation_form.html",
                "organisation",
                &page,
            )
            .await;
    }
    let profile: OrganisationProfile = match crate::extract::from_value(body) {
        Ok(p) => p,
        Err(e) => {
            if e.errors.is_empty() {
                errors.add(None, e.detail.clone(), Some("en".into()));
            }
            errors.add_model_errors(&ctx, &e.errors, |f| page.input_for(f));
            page.errors = errors;
            return ctx
                .render_status(
                    unprocessable,
                    "organisation_form.html",
                    "organisation",
                    &page,
                )
                .await;
        }
    };
    match ctx.run(move |n| n.set_organisation(&profile)).await? {
        Ok(()) => Ok(ctx.redirect("/organisation")),
        Err(NodeError::Invalid(e)) => {
            errors.add_model_errors(&ctx, &e.0, |f| page.input_for(f));
            page.errors = errors;
            ctx.render_status(
                unprocessable,
                "organisation_form.html",
                "organisation",
                &page,
            )
            .await
        }
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

// ----- access tokens -----

#[derive(Serialize)]
struct TokenRow {
    id: String,
    role: String,
    label: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    /// The token this session is signed in with.
    yours: bool,
}

#[derive(Serialize)]
struct TokensPage {
    tokens: Vec<TokenRow>,
    roles: Vec<&'static str>,
    values: BTreeMap<String, String>,
    errors: FormErrors,
    /// A token just created: shown once, never stored in clear.
    created: Option<CreatedToken>,
}

#[derive(Serialize)]
struct CreatedToken {
    id: String,
    role: String,
    label: String,
    secret: String,
}

async fn tokens_page(ctx: &Ctx) -> Result<TokensPage, WebError> {
    let tokens = ctx.fetch(|n| n.list_tokens()).await?;
    let yours = ctx.user.as_ref().map(|u| u.token_id.clone());
    let mut values = BTreeMap::new();
    values.insert("role".to_string(), "editor".to_string());
    values.insert("label".to_string(), String::new());
    Ok(TokensPage {
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                yours: yours.as_deref() == Some(t.id.as_str()),
                id: t.id,
                role: t.role,
                label: t.label,
                created_at: view::date_time(&t.created_at),
                last_used_at: t.last_used_at.as_deref().map(view::date_time),
                revoked_at: t.revoked_at.as_deref().map(view::date_time),
            })
            .collect(),
        roles: vec!["reader", "editor", "admin"],
        values,
        errors: FormErrors::default(),
        created: None,
    })
}

/// `GET /tokens` (administrators).
pub async fn tokens(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let page = tokens_page(&ctx).await?;
    ctx.render("tokens.html", "tokens", &page).await
}

/// `POST /tokens` (administrators): creates a token and shows its secret this once.
pub async fn create_token(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let role = Role::parse(data.get("role"));
    let label = data.get("label").to_string();
    let mut errors = FormErrors::default();
    if role.is_none() {
        errors.local(&ctx, "role", "err_role");
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        errors.local(&ctx, "label", "err_label_length");
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        let mut page = tokens_page(&ctx).await?;
        page.values.insert("role".into(), data.get("role").into());
        page.values.insert("label".into(), label);
        page.errors = errors;
        return ctx
            .render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "tokens.html",
                "tokens",
                &page,
            )
            .await;
    };
    let stored_label = label.clone();
    let (id, secret) = ctx
        .fetch(move |n| n.create_token(role, &stored_label))
        .await?;
    let mut page = tokens_page(&ctx).await?;
    page.created = Some(CreatedToken {
        id,
        role: role.as_str().to_string(),
        label,
        secret,
    });
    ctx.render_status(StatusCode::CREATED, "tokens.html", "tokens", &page)
        .await
}

/// `POST /tokens/{id}/revoke` (administrators).
pub async fn revoke_token(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let id = path.into_inner();
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(WebError::not_found(ctx.lang));
    }
    let yours = ctx.user.as_ref().is_some_and(|u| u.token_id == id);
    match ctx.run(move |n| n.revoke_token(&id)).await? {
        Ok(()) if yours => Ok(ctx.redirect("/")),
        Ok(()) => Ok(ctx.redirect("/tokens")),
        Err(NodeError::Store(StoreError::NotFound { .. })) => Err(WebError::not_found(ctx.lang)),
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}
