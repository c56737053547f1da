//! The web interface for people: server-rendered HTML pages in Romanian and English, readable
//! without JavaScript. Public pages (home, practices) need no sign-in; forms need an editor
//! token. Every POST form carries the session's CSRF token, checked before anything else.
//!
//! Templates (`templates/`), the style sheet (`static/`) and the message catalogues (`i18n/`)
//! are embedded in the binary.

pub mod i18n;
pub mod session;

mod adaptations;
mod compare;
mod evaluation_groups;
mod evaluations;
mod form;
pub mod history;
pub mod live;
mod network;
mod organisation;
mod pages;
mod practice_form;
mod practices;
mod svg;
mod transfer;
mod view;

use std::sync::LazyLock;

use actix_web::cookie::Key;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use punte_model::LanguageTag;
use punte_node::federation::Federation;
use punte_node::{Node, NodeError, Role, TokenPrincipal};
use punte_store::StoreError;

use i18n::UiLang;
use session::{Session, SessionKeys};

/// The templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("home.html", include_str!("../../templates/home.html")),
    (
        "practices.html",
        include_str!("../../templates/practices.html"),
    ),
    (
        "practice.html",
        include_str!("../../templates/practice.html"),
    ),
    ("diff.html", include_str!("../../templates/diff.html")),
    (
        "practice_form.html",
        include_str!("../../templates/practice_form.html"),
    ),
    (
        "evaluation_form.html",
        include_str!("../../templates/evaluation_form.html"),
    ),
    (
        "evaluation_delete.html",
        include_str!("../../templates/evaluation_delete.html"),
    ),
    (
        "adaptation.html",
        include_str!("../../templates/adaptation.html"),
    ),
    (
        "adaptation_card.html",
        include_str!("../../templates/adaptation_card.html"),
    ),
    (
        "evaluation_list.html",
        include_str!("../../templates/evaluation_list.html"),
    ),
    (
        "adaptation_form.html",
        include_str!("../../templates/adaptation_form.html"),
    ),
    ("history.html", include_str!("../../templates/history.html")),
    ("compare.html", include_str!("../../templates/compare.html")),
    (
        "history_entry.html",
        include_str!("../../templates/history_entry.html"),
    ),
    (
        "activity_summary.html",
        include_str!("../../templates/activity_summary.html"),
    ),
    (
        "entry_badge.html",
        include_str!("../../templates/entry_badge.html"),
    ),
    (
        "organisation.html",
        include_str!("../../templates/organisation.html"),
    ),
    (
        "organisation_form.html",
        include_str!("../../templates/organisation_form.html"),
    ),
    ("tokens.html", include_str!("../../templates/tokens.html")),
    ("live.html", include_str!("../../templates/live.html")),
    ("network.html", include_str!("../../templates/network.html")),
    (
        "network_practices.html",
        include_str!("../../templates/network_practices.html"),
    ),
    ("signin.html", include_str!("../../templates/signin.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

const STYLE_CSS: &str = include_str!("../../static/style.css");
const LIVE_JS: &str = include_str!("../../static/live.js");

/// No inline script or style; nothing framed; forms post only here; scripts talk only to
/// this node (the live feed's event stream).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Mounts the web interface on the app (one line in the app builder).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(SessionKeys::default()))
        .app_data(web::Data::new(live::StreamCount::default()))
        .route("/", web::get().to(pages::home))
        .route("/static/style.css", web::get().to(style))
        .route("/static/live.js", web::get().to(live_script))
        .route("/lang/{code}", web::get().to(pages::switch_language))
        .route("/signin", web::get().to(pages::signin_form))
        .route("/signin", web::post().to(pages::signin))
        .route("/signout", web::post().to(pages::signout))
        .route("/practices", web::get().to(practices::list))
        .route("/practices", web::post().to(practice_form::create))
        .route("/practices/new", web::get().to(practice_form::new_form))
        .route("/practices/{id}", web::get().to(practices::show))
        .route(
            "/practices/{id}/edit",
            web::get().to(practice_form::edit_form),
        )
        .route(
            "/practices/{id}/edit",
            web::post().to(practice_form::update),
        )
        .route(
            "/practices/{id}/versions/{version}",
            web::get().to(practices::show_version),
        )
        .route("/practices/{id}/diff", web::get().to(practices::diff))
        .route(
            "/practices/{id}/evaluations/new",
            web::get().to(evaluations::new_form),
        )
        .route(
            "/practices/{id}/evaluations",
            web::post().to(evaluations::create),
        )
        .route(
            "/evaluations/{id}/edit",
            web::get().to(evaluations::edit_form),
        )
        .route(
            "/evaluations/{id}/edit",
            web::post().to(evaluations::update),
        )
        .route(
            "/evaluations/{id}/delete",
            web::get().to(evaluations::delete_form),
        )
        .route(
            "/evaluations/{id}/delete",
            web::post().to(evaluations::delete),
        )
        .route(
            "/practices/{id}/adaptations/new",
            web::get().to(adaptations::new_form),
        )
        .route(
            "/practices/{id}/adaptations",
            web::post().to(adaptations::create),
        )
        .route(
            "/practices/{id}/adaptations/countersign",
            web::post().to(transfer::countersign),
        )
        .route(
            "/practices/{id}/adaptations/decline",
            web::post().to(transfer::decline),
        )
        .route("/adaptations/{id}", web::get().to(transfer::show))
        .route(
            "/adaptations/{id}/edit",
            web::get().to(adaptations::edit_form),
        )
        .route(
            "/adaptations/{id}/edit",
            web::post().to(adaptations::update),
        )
        .route(
            "/adaptations/{id}/evaluations/new",
            web::get().to(evaluations::adaptation_new_form),
        )
        .route(
            "/adaptations/{id}/evaluations",
            web::post().to(evaluations::adaptation_create),
        )
        .route("/history", web::get().to(history::show))
        .route("/history/{index}", web::get().to(history::entry))
        .route("/organisation", web::get().to(organisation::show))
        .route("/organisation/edit", web::get().to(organisation::edit_form))
        .route("/organisation/edit", web::post().to(organisation::update))
        .route("/tokens", web::get().to(organisation::tokens))
        .route("/tokens", web::post().to(organisation::create_token))
        .route(
            "/tokens/{id}/revoke",
            web::post().to(organisation::revoke_token),
        )
        .route("/network", web::get().to(network::show))
        .route("/network/follow", web::post().to(network::follow))
        .route("/network/unfollow", web::post().to(network::unfollow))
        .route(
            "/network/followers/approve",
            web::post().to(network::approve),
        )
        .route("/network/followers/reject", web::post().to(network::reject))
        .route("/network/practices", web::get().to(network::practices))
        .route(
            "/network/practices/adapt",
            web::get().to(adaptations::partner_new_form),
        )
        .route(
            "/network/practices/adapt",
            web::post().to(adaptations::partner_create),
        )
        .route("/compare", web::get().to(compare::show))
        .route("/live", web::get().to(live::page))
        .route("/live/events", web::get().to(live::events));
}

static TEMPLATE_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    match minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        Ok(syntax) => env.set_syntax(syntax),
        Err(e) => tracing::error!(error = %e, "template syntax settings refused"),
    }
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "web template does not parse");
        }
    }
    env
});

/// Renders a template with `ui` (the page frame) and `page` (the page's own data).
pub fn render_template(
    lang: UiLang,
    name: &str,
    ui: &Ui,
    page: &impl Serialize,
) -> Result<String, minijinja::Error> {
    let template = TEMPLATE_ENV.get_template(name)?;
    let t = Value::from_function(move |key: &str| i18n::text(lang, key));
    template.render(minijinja::context! {
        t => t,
        ui => Value::from(Serde(ui)),
        page => Value::from(Serde(page)),
    })
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE_CSS)
}

async fn live_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(LIVE_JS)
}

/// Security headers on every HTML answer.
pub fn secure_headers(builder: &mut HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Cookie, Accept-Language"));
}

/// The frame every page shares: language, who is signed in, navigation.
#[derive(Debug, Serialize)]
pub struct Ui {
    pub lang: &'static str,
    pub site_name: String,
    pub site_name_lang: String,
    /// `home`, `practices`, `network`, `history`, `live`, `organisation`, `tokens`…, for `aria-current`.
    pub section: &'static str,
    pub role: Option<&'static str>,
    pub can_edit: bool,
    pub is_admin: bool,
    pub csrf: Option<String>,
    pub languages: Vec<LanguageLink>,
    pub signin_href: String,
}

#[derive(Debug, Serialize)]
pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

impl Ui {
    fn new(lang: UiLang, path: &str) -> Self {
        let next = form::urlencode(path);
        Self {
            lang: lang.code(),
            site_name: "Punte".into(),
            site_name_lang: "ro".into(),
            section: "",
            role: None,
            can_edit: false,
            is_admin: false,
            csrf: None,
            languages: UiLang::ALL
                .iter()
                .map(|l| LanguageLink {
                    code: l.code(),
                    name: l.native_name(),
                    href: format!("/lang/{}?next={next}", l.code()),
                    current: *l == lang,
                })
                .collect(),
            signin_href: format!("/signin?next={next}"),
        }
    }
}

/// A document id as this node makes them (uuid), else 404.
pub fn checked_id(ctx: &Ctx, id: &str) -> Result<String, WebError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(id.to_string())
    } else {
        Err(WebError::not_found(ctx.lang))
    }
}

/// An error answered as an HTML page in the reader's language.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub lang: UiLang,
    /// Catalogue key of the explanation.
    pub key: &'static str,
}

impl WebError {
    pub fn new(status: StatusCode, lang: UiLang, key: &'static str) -> Self {
        Self { status, lang, key }
    }

    pub fn internal(lang: UiLang) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error_internal")
    }

    pub fn not_found(lang: UiLang) -> Self {
        Self::new(StatusCode::NOT_FOUND, lang, "error_not_found")
    }

    /// Maps a node error; validation errors are handled by the forms before this.
    pub fn from_node(lang: UiLang, error: NodeError) -> Self {
        match error {
            NodeError::Store(StoreError::NotFound { .. }) => Self::not_found(lang),
            NodeError::Store(StoreError::Gone { .. }) => {
                Self::new(StatusCode::GONE, lang, "error_gone")
            }
            NodeError::NotInitialised => {
                Self::new(StatusCode::CONFLICT, lang, "error_not_initialised")
            }
            NodeError::Unlogged { .. } => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error_unlogged")
            }
            NodeError::Erased { .. } => Self::new(StatusCode::GONE, lang, "error_erased"),
            other => {
                tracing::error!(error = %other, "web request failed");
                Self::internal(lang)
            }
        }
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.key)
    }
}

#[derive(Serialize)]
struct ErrorPage {
    status: u16,
    message: String,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let ui = Ui::new(self.lang, "/");
        let page = ErrorPage {
            status: self.status.as_u16(),
            message: i18n::text(self.lang, self.key),
        };
        let body = render_template(self.lang, "error.html", &ui, &page).unwrap_or_else(|e| {
            tracing::error!(error = %e, "error page did not render");
            format!("{} {}", self.status.as_u16(), page.message)
        });
        let mut response = HttpResponse::build(self.status);
        secure_headers(&mut response);
        response.content_type("text/html; charset=utf-8").body(body)
    }
}

pub type WebResult = Result<HttpResponse, WebError>;

/// Everything a handler needs about the request: language, session, who is signed in.
pub struct Ctx {
    pub lang: UiLang,
    pub node: web::Data<Node>,
    /// The federation side (partners, deliveries, replicas); absent only in an app built
    /// without it.
    pub federation: Option<web::Data<Federation>>,
    pub session: Option<Session>,
    pub user: Option<TokenPrincipal>,
    /// Whether cookies get `Secure` (the public base URL is https).
    pub secure: bool,
    /// Path and query of this request, for "come back here" links.
    pub path: String,
    key: Key,
    /// A session to set on the answer (a new sign-in form session).
    new_session: Option<Session>,
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Ctx {
    pub async fn load(req: &HttpRequest) -> Result<Self, WebError> {
        let cookie_lang = req.cookie(i18n::LANG_COOKIE);
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = i18n::negotiate(cookie_lang.as_ref().map(|c| c.value()), accept);
        let node = req
            .app_data::<web::Data<Node>>()
            .cloned()
            .ok_or_else(|| WebError::internal(lang))?;
        let keys = req
            .app_data::<web::Data<SessionKeys>>()
            .cloned()
            .ok_or_else(|| WebError::internal(lang))?;
        let key = keys.get(&node.settings().data_dir).map_err(|e| {
            tracing::error!(error = %e, "no session key");
            WebError::internal(lang)
        })?;
        let secure = node.settings().base_url.starts_with("https://");
        let session = session::read(req, &key, now_unix());
        let user = match session.as_ref().and_then(|s| s.token.clone()) {
            Some(token) => {
                let n = node.clone();
                web::block(move || n.authenticate(&token))
                    .await
                    .map_err(|_| WebError::internal(lang))?
                    .map_err(|e| WebError::from_node(lang, e))?
            }
            None => None,
        };
        let path = match req.uri().path_and_query() {
            Some(pq) => pq.as_str().to_string(),
            None => "/".to_string(),
        };
        let federation = req.app_data::<web::Data<Federation>>().cloned();
        Ok(Self {
            lang,
            node,
            federation,
            session,
            user,
            secure,
            path,
            key,
            new_session: None,
        })
    }

    /// The interface language as a content language tag.
    pub fn content_lang(&self) -> Option<LanguageTag> {
        self.lang.tag()
    }

    pub fn text(&self, key: &str) -> String {
        i18n::text(self.lang, key)
    }

    pub fn error(&self, status: StatusCode, key: &'static str) -> WebError {
        WebError::new(status, self.lang, key)
    }

    /// Runs a node call on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<punte_node::Result<T>, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&Node) -> punte_node::Result<T> + Send + 'static,
    {
        let node = self.node.clone();
        web::block(move || f(node.get_ref()))
            .await
            .map_err(|_| WebError::internal(self.lang))
    }

    /// Like [`Ctx::run`], with node errors turned into error pages.
    pub async fn fetch<T, F>(&self, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&Node) -> punte_node::Result<T> + Send + 'static,
    {
        self.run(f)
            .await?
            .map_err(|e| WebError::from_node(self.lang, e))
    }

    /// Like [`Ctx::run`] on the federation side.
    pub async fn run_federation<T, F>(&self, f: F) -> Result<punte_node::Result<T>, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&Federation) -> punte_node::Result<T> + Send + 'static,
    {
        let federation = self
            .federation
            .clone()
            .ok_or_else(|| WebError::internal(self.lang))?;
        web::block(move || f(federation.get_ref()))
            .await
            .map_err(|_| WebError::internal(self.lang))
    }

    /// Like [`Ctx::fetch`] on the federation side.
    pub async fn fetch_federation<T, F>(&self, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&Federation) -> punte_node::Result<T> + Send + 'static,
    {
        self.run_federation(f)
            .await?
            .map_err(|e| WebError::from_node(self.lang, e))
    }

    /// Makes sure the answer carries a session (for the sign-in form's CSRF token).
    pub fn ensure_session(&mut self) -> Result<(), WebError> {
        if self.session.is_none() {
            let s = Session::new(None, now_unix()).map_err(|_| WebError::internal(self.lang))?;
            self.session = Some(s.clone());
            self.new_session = Some(s);
        }
        Ok(())
    }

    /// Starts a new signed-in session (a new CSRF token too).
    pub fn sign_in(&mut self, token: String, user: TokenPrincipal) -> Result<(), WebError> {
        let s = Session::new(Some(token), now_unix()).map_err(|_| WebError::internal(self.lang))?;
        self.session = Some(s.clone());
        self.new_session = Some(s);
        self.user = Some(user);
        Ok(())
    }

    /// Checks the form's CSRF token against the session's; 403 when absent or wrong.
    pub fn check_csrf(&self, form: &form::FormData) -> Result<(), WebError> {
        match &self.session {
            Some(s) if s.csrf_matches(form.get("csrf")) => Ok(()),
            _ => Err(self.error(StatusCode::FORBIDDEN, "error_csrf")),
        }
    }

    /// `None` when signed in with at least `role`; otherwise the answer: a redirect to
    /// sign-in (not signed in) or a 403 page (role too low).
    pub fn require(&self, role: Role) -> Option<WebResult> {
        match &self.user {
            Some(user) if user.role.allows(role) => None,
            Some(_) => Some(Err(self.error(StatusCode::FORBIDDEN, "error_role"))),
            None => Some(Ok(
                self.redirect(&format!("/signin?next={}", form::urlencode(&self.path)))
            )),
        }
    }

    fn ui(&self, section: &'static str, organisation_name: Option<(String, String)>) -> Ui {
        let mut ui = Ui::new(self.lang, &self.path);
        ui.section = section;
        if let Some((name, lang)) = organisation_name {
            ui.site_name = name;
            ui.site_name_lang = lang;
        }
        ui.role = self.user.as_ref().map(|u| u.role.as_str());
        ui.can_edit = self
            .user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Editor));
        ui.is_admin = self
            .user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Admin));
        ui.csrf = self.session.as_ref().map(|s| s.csrf.clone());
        ui
    }

    /// Renders a page with status 200.
    pub async fn render(
        &self,
        template: &str,
        section: &'static str,
        page: &impl Serialize,
    ) -> WebResult {
        self.render_status(StatusCode::OK, template, section, page)
            .await
    }

    pub async fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        section: &'static str,
        page: &impl Serialize,
    ) -> WebResult {
        let want = self.content_lang();
        let organisation = self.fetch(|n| n.organisation()).await?;
        let name = organisation.map(|o| {
            let shown = view::pick(&o.name, want.as_ref(), o.languages.first());
            (shown.text, shown.lang)
        });
        let ui = self.ui(section, name);
        let body = render_template(self.lang, template, &ui, page).map_err(|e| {
            tracing::error!(template, error = %e, "page did not render");
            WebError::internal(self.lang)
        })?;
        let mut response = HttpResponse::build(status);
        secure_headers(&mut response);
        self.set_cookies(&mut response);
        Ok(response.content_type("text/html; charset=utf-8").body(body))
    }

    /// 303 See Other to a local path.
    pub fn redirect(&self, location: &str) -> HttpResponse {
        let mut response = HttpResponse::SeeOther();
        secure_headers(&mut response);
        self.set_cookies(&mut response);
        let location =
            HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
        response
            .insert_header((header::LOCATION, location))
            .finish()
    }

    fn set_cookies(&self, response: &mut HttpResponseBuilder) {
        if let Some(s) = &self.new_session
            && let Some(c) = session::cookie(s, &self.key, self.secure)
        {
            response.cookie(c);
        }
    }
}
