//! The home page, the language switcher, and signing in and out.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;

use punte_node::PracticeFilter;

use super::form::{self, FormErrors};
use super::i18n::{self, UiLang};
use super::view::{self, PracticeView, TextView};
use super::{Ctx, WebResult, session};

#[derive(Serialize)]
struct HomePage {
    organisation: Option<OrganisationView>,
    recent: Vec<PracticeView>,
    partners: Vec<super::network::PartnerSummary>,
}

#[derive(Serialize)]
struct OrganisationView {
    name: TextView,
    summary: Option<TextView>,
    country: String,
    region: Option<String>,
    languages: Vec<String>,
}

pub async fn home(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let want = ctx.content_lang();
    let (profile, recent) = ctx
        .fetch(|n| {
            let profile = n.organisation()?;
            let recent = n.list_practices(&PracticeFilter::default(), None, 5)?;
            Ok((profile, recent.items))
        })
        .await?;
    let organisation = profile.map(|o| {
        let first = o.languages.first();
        OrganisationView {
            name: view::pick(&o.name, want.as_ref(), first),
            summary: o
                .summary
                .as_ref()
                .map(|s| view::pick(s, want.as_ref(), first)),
            country: o.country.to_string(),
            region: o.region.as_ref().map(|r| r.to_string()),
            languages: o.languages.iter().map(|l| l.to_string()).collect(),
        }
    });
    let partners = super::network::partner_summaries(&ctx).await?;
    let page = HomePage {
        partners,
        organisation,
        recent: recent
            .iter()
            .map(|p| view::practice(p, want.as_ref()))
            .collect(),
    };
    ctx.render("home.html", "home", &page).await
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /lang/{code}?next=/path`: remembers the choice for a year and goes back.
pub async fn switch_language(
    req: HttpRequest,
    path: web::Path<String>,
    query: Option<web::Query<NextQuery>>,
) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let next = query
        .as_ref()
        .and_then(|q| q.next.as_deref())
        .map(form::local_path)
        .unwrap_or("/")
        .to_string();
    let Some(lang) = UiLang::parse(&path).filter(|l| l.code() == path.as_str()) else {
        return Err(ctx.error(StatusCode::NOT_FOUND, "error_not_found"));
    };
    let cookie = Cookie::build(i18n::LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(ctx.secure)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    let mut response = ctx.redirect(&next);
    response
        .add_cookie(&cookie)
        .map_err(|_| super::WebError::internal(ctx.lang))?;
    Ok(response)
}

#[derive(Serialize)]
struct SigninPage {
    next: String,
    errors: FormErrors,
}

pub async fn signin_form(req: HttpRequest, query: Option<web::Query<NextQuery>>) -> WebResult {
    let mut ctx = Ctx::load(&req).await?;
    ctx.ensure_session()?;
    let next = query
        .as_ref()
        .and_then(|q| q.next.as_deref())
        .map(form::local_path)
        .unwrap_or("/")
        .to_string();
    let page = SigninPage {
        next,
        errors: FormErrors::default(),
    };
    ctx.render("signin.html", "signin", &page).await
}

pub async fn signin(req: HttpRequest, payload: web::Payload) -> WebResult {
    let mut ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    let next = form::local_path(data.get("next")).to_string();
    let token = data.get("token").to_string();
    let found = if token.is_empty() {
        None
    } else {
        let t = token.clone();
        ctx.fetch(move |n| n.authenticate(&t)).await?
    };
    match found {
        Some(user) => {
            ctx.sign_in(token, user)?;
            Ok(ctx.redirect(&next))
        }
        None => {
            let mut errors = FormErrors::default();
            let key = if token.is_empty() {
                "err_required"
            } else {
                "signin_bad_token"
            };
            errors.local(&ctx, "token", key);
            let page = SigninPage { next, errors };
            ctx.render_status(StatusCode::UNAUTHORIZED, "signin.html", "signin", &page)
                .await
        }
    }
}

pub async fn signout(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    let mut response = ctx.redirect("/");
    response
        .add_cookie(&session::removal(ctx.secure))
        .map_err(|_| super::WebError::internal(ctx.lang))?;
    Ok(response)
}
