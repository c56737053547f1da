//! The network: partner organisations this node follows (with the state of their verified
//! replicas), its followers and the follow requests waiting for an administrator, the form to
//! follow a partner, delivery status per partner host (circuit breaker included), the latest
//! failed deliveries, the latest received activities, and partners' practices with an
//! "adapt this practice" action.
//!
//! Everything here reads what the federation side keeps ([`punte_node::federation`]); the
//! forms call its use-cases (follow, unfollow, approve, reject). Signed-in readers see the
//! pages, as in the admin API; only administrators get the forms.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Serialize;

use punte_model::{Adaptation, OrganisationProfile};
use punte_node::federation::{RemoteError, host_of};
use punte_node::{NodeError, Role};
use punte_store::StoreError;
use punte_store::federation::{
    DeliveryState, FollowRow, FollowState, InboxRow, RecentCursor, ReplicaRow,
};

use super::form::{self, FormData, FormErrors};
use super::history::{ActivitySummary, summarise, time_of};
use super::view::{self, PracticeView, TextView};
use super::{Ctx, WebError, WebResult, now_unix};

/// Failed deliveries and received activities shown.
const LATEST: u32 = 15;
/// Longest follow target accepted (a handle or an actor URL).
const MAX_TARGET_CHARS: usize = 500;
/// Most of this node's adaptations read to find those of partners' practices.
const MAX_ADAPTATIONS: u32 = 500;

/// A partner as the tables show it: its organisation's name and country when known.
#[derive(Debug, Serialize)]
struct PartnerView {
    actor: String,
    /// `name@host`, or the host when the actor has no username.
    handle: String,
    name: Option<TextView>,
    country: Option<String>,
    /// `pending`, `accepted` or `rejected`.
    state: &'static str,
    requested: String,
    decided: Option<String>,
    is_punte: bool,
    replica: Option<ReplicaView>,
}

#[derive(Debug, Serialize)]
struct ReplicaView {
    size: u64,
    checkpoint_size: u64,
    wanted_size: u64,
    up_to_date: bool,
    last_error: Option<String>,
    /// Why verified entries wait (the partner's witness policy is not met yet).
    awaiting: Option<String>,
    last_sync: Option<String>,
    /// The partner's history forked: nothing more of it is applied or cosigned.
    fork: Option<ForkView>,
}

#[derive(Debug, Serialize)]
struct ForkView {
    /// `checkpoint` or `entry`.
    kind: String,
    /// The size or index of the conflict.
    at: u64,
    detected: String,
}

#[derive(Debug, Serialize)]
struct HostView {
    host: String,
    pending: u64,
    delivered: u64,
    failed: u64,
    scheme: Option<String>,
    consecutive_failures: u32,
    /// When the circuit breaker is open: until when deliveries to the host are paused.
    paused_until: Option<String>,
    /// When the next delivery to the host is attempted (its own retry, or the pause), if
    /// any is pending; `None` too when it is due now.
    next_attempt: Option<String>,
    last_success: Option<String>,
    last_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct FailedView {
    log_index: u64,
    href: String,
    activity_id: String,
    host: String,
    recipient: String,
    attempts: u32,
    last_status: Option<u16>,
    last_error: Option<String>,
    time: String,
}

#[derive(Debug, Serialize)]
struct ReceivedView {
    seq: i64,
    kind: String,
    actor: String,
    actor_name: Option<TextView>,
    outcome: String,
    /// `ok` (applied or recorded) or `refused` (the object was refused, not applied).
    outcome_class: &'static str,
    time: String,
    evidence: String,
    summary: ActivitySummary,
}

#[derive(Serialize)]
struct NetworkPage {
    actor: String,
    handle: String,
    following: Vec<PartnerView>,
    requests: Vec<PartnerView>,
    followers: Vec<PartnerView>,
    rejected: Vec<PartnerView>,
    hosts: Vec<HostView>,
    failed: Vec<FailedView>,
    received: Vec<ReceivedView>,
    partner_practices: usize,
    membership: MembershipView,
    values: BTreeMap<String, String>,
    errors: FormErrors,
}

/// The membership section: the coordinator, members-only mode and the list in force.
#[derive(Serialize)]
struct MembershipView {
    coordinator: Option<String>,
    is_coordinator: bool,
    members_only: bool,
    version: Option<u64>,
    log_index: Option<u64>,
    listed: bool,
    members: Vec<MemberView>,
}

#[derive(Serialize)]
struct MemberView {
    actor: String,
    name: Option<String>,
    country: String,
    joined: String,
    left: Option<String>,
}

fn membership_view(
    status: punte_node::membership::MembershipStatus,
    in_force: Option<punte_node::membership::ListInForce>,
) -> MembershipView {
    MembershipView {
        coordinator: status.coordinator,
        is_coordinator: status.is_coordinator,
        members_only: status.members_only,
        version: status.version,
        log_index: status.log_index,
        listed: status.listed,
        members: in_force
            .map(|f| {
                f.list
                    .members
                    .iter()
                    .map(|m| MemberView {
                        actor: m.actor.clone(),
                        name: m.name.clone(),
                        country: m.country.as_str().to_owned(),
                        joined: m.joined.to_string(),
                        left: m.left.map(|d| d.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Everything the network page reads, in one call on the blocking pool.
struct NetworkData {
    following: Vec<FollowRow>,
    followers: Vec<FollowRow>,
    replicas: Vec<ReplicaRow>,
    forks: Vec<punte_store::federation::PartnerFork>,
    profiles: BTreeMap<String, OrganisationProfile>,
    hosts: Vec<(String, u64, u64, u64)>,
    breakers: Vec<punte_store::federation::HostRow>,
    next_attempts: Vec<(String, i64)>,
    failed: Vec<punte_store::federation::DeliveryRow>,
    received: Vec<InboxRow>,
    partner_practices: usize,
    membership: MembershipView,
}

/// `name@host` of a follow row.
fn handle_of(actor: &str, username: Option<&str>) -> String {
    let host = host_of(actor).unwrap_or_else(|| actor.to_string());
    match username {
        Some(u) if !u.is_empty() => format!("{u}@{host}"),
        _ => host,
    }
}

fn partner_name(ctx: &Ctx, profile: Option<&OrganisationProfile>) -> Option<TextView> {
    let want = ctx.content_lang();
    profile.map(|p| view::pick(&p.name, want.as_ref(), p.languages.first()))
}

fn partner_view(
    ctx: &Ctx,
    row: &FollowRow,
    profiles: &BTreeMap<String, OrganisationProfile>,
    replicas: &[ReplicaRow],
    forks: &[punte_store::federation::PartnerFork],
) -> PartnerView {
    let fork = forks.iter().find(|f| f.actor == row.actor);
    let profile = profiles.get(&row.actor);
    PartnerView {
        actor: row.actor.clone(),
        handle: handle_of(&row.actor, row.username.as_deref()),
        name: partner_name(ctx, profile),
        country: profile.map(|p| p.country.to_string()),
        state: row.state.as_str(),
        requested: time_of(row.requested_ms),
        decided: row.decided_ms.map(time_of),
        is_punte: row.is_punte,
        replica: replicas
            .iter()
            .find(|r| r.actor == row.actor)
            .map(|r| ReplicaView {
                size: r.size,
                checkpoint_size: r.checkpoint_size,
                wanted_size: r.wanted_size,
                up_to_date: fork.is_none()
                    && r.last_error.is_none()
                    && r.awaiting.is_none()
                    && r.size >= r.checkpoint_size
                    && r.size >= r.wanted_size,
                last_error: r.last_error.clone(),
                awaiting: r.awaiting.clone(),
                last_sync: r.last_sync_ms.map(time_of),
                fork: fork.map(|f| ForkView {
                    kind: f.kind.clone(),
                    at: f.at,
                    detected: time_of(f.detected_ms),
                }),
            }),
    }
}

async fn network_page(ctx: &Ctx) -> Result<NetworkPage, WebError> {
    let data = ctx
        .fetch_federation(|f| {
            let (hosts, breakers) = f.delivery_hosts()?;
            Ok(NetworkData {
                following: f.following(None)?,
                followers: f.followers(None)?,
                replicas: f.replicas()?,
                forks: f.partner_forks()?,
                profiles: f.partner_profiles()?,
                hosts,
                breakers,
                next_attempts: f.next_attempts()?,
                failed: f.deliveries(Some(DeliveryState::Failed), None, None, None, LATEST)?,
                received: f.inbox_latest(LATEST)?,
                partner_practices: usize::try_from(f.partner_practice_count(None)?)
                    .unwrap_or(usize::MAX),
                membership: membership_view(f.membership_status()?, f.membership_in_force()?),
            })
        })
        .await?;
    let base_url = ctx.node.settings().base_url.clone();
    let username = ctx
        .federation
        .as_ref()
        .map(|f| f.settings().username.clone())
        .unwrap_or_default();
    let actor = format!("{}/actor", base_url.trim_end_matches('/'));
    let now_ms = now_unix().saturating_mul(1000);
    let views = |rows: &[FollowRow], state: FollowState| -> Vec<PartnerView> {
        rows.iter()
            .filter(|r| r.state == state)
            .map(|r| partner_view(ctx, r, &data.profiles, &data.replicas, &data.forks))
            .collect()
    };
    let mut following: Vec<PartnerView> = data
        .following
        .iter()
        .map(|r| partner_view(ctx, r, &data.profiles, &data.replicas, &data.forks))
        .collect();
    following.sort_by(|a, b| a.state.cmp(b.state).then(a.handle.cmp(&b.handle)));
    let mut hosts: Vec<HostView> = Vec::new();
    let mut seen = BTreeSet::new();
    for (host, pending, delivered, failed) in &data.hosts {
        seen.insert(host.clone());
        hosts.push(host_view(
            host,
            (*pending, *delivered, *failed),
            &data,
            now_ms,
        ));
    }
    for b in &data.breakers {
        if !seen.contains(&b.host) {
            hosts.push(host_view(&b.host, (0, 0, 0), &data, now_ms));
        }
    }
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let mut values = BTreeMap::new();
    values.insert("handle".to_string(), String::new());
    Ok(NetworkPage {
        handle: format!("@{username}@{}", host_of(&actor).unwrap_or_default()),
        actor,
        following,
        requests: views(&data.followers, FollowState::Pending),
        followers: views(&data.followers, FollowState::Accepted),
        rejected: views(&data.followers, FollowState::Rejected),
        hosts,
        failed: data
            .failed
            .iter()
            .map(|d| FailedView {
                log_index: d.log_index,
                href: format!("/history/{}", d.log_index),
                activity_id: d.activity_id.clone(),
                host: d.host.clone(),
                recipient: d.recipient.clone().unwrap_or_else(|| d.inbox.clone()),
                attempts: d.attempts,
                last_status: d.last_status,
                last_error: d.last_error.clone(),
                time: time_of(d.done_ms.or(d.last_attempt_ms).unwrap_or(d.created_ms)),
            })
            .collect(),
        received: data
            .received
            .iter()
            .map(|r| received_view(ctx, r, &data.profiles))
            .collect(),
        partner_practices: data.partner_practices,
        membership: data.membership,
        values,
        errors: FormErrors::default(),
    })
}

fn host_view(host: &str, counts: (u64, u64, u64), data: &NetworkData, now_ms: i64) -> HostView {
    let breaker = data.breakers.iter().find(|b| b.host == host);
    HostView {
        host: host.to_string(),
        pending: counts.0,
        delivered: counts.1,
        failed: counts.2,
        scheme: breaker.and_then(|b| b.scheme.clone()),
        consecutive_failures: breaker.map_or(0, |b| b.consecutive_failures),
        paused_until: breaker
            .filter(|b| b.paused_until_ms > now_ms)
            .map(|b| time_of(b.paused_until_ms)),
        next_attempt: data
            .next_attempts
            .iter()
            .find(|(h, at)| h == host && *at > now_ms)
            .map(|(_, at)| time_of(*at)),
        last_success: breaker.and_then(|b| b.last_success_ms.map(time_of)),
        last_error: breaker
            .filter(|b| b.consecutive_failures > 0)
            .and_then(|b| b.last_error.clone()),
    }
}

/// Whether an inbox outcome says the activity was refused rather than applied or recorded.
fn refused(outcome: &str) -> bool {
    outcome.contains("refused") || outcome.starts_with("not applied")
}

fn received_view(
    ctx: &Ctx,
    r: &InboxRow,
    profiles: &BTreeMap<String, OrganisationProfile>,
) -> ReceivedView {
    ReceivedView {
        seq: r.seq,
        kind: r.kind.clone(),
        actor: r.actor.clone(),
        actor_name: partner_name(ctx, profiles.get(&r.actor)),
        outcome: r.outcome.clone(),
        outcome_class: if refused(&r.outcome) { "refused" } else { "ok" },
        time: time_of(r.received_ms),
        evidence: r.evidence.clone(),
        summary: summarise(
            punte_log::EntryKind::Activity as u8,
            Some(&r.body),
            ctx.lang.code(),
        ),
    }
}

/// `GET /network` (signed-in readers).
pub async fn show(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Reader) {
        return answer;
    }
    let page = network_page(&ctx).await?;
    ctx.render("network.html", "network", &page).await
}

/// `POST /network/follow` (administrators): asks a partner to accept this node as follower.
pub async fn follow(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let target = data.get("handle").to_string();
    let mut errors = FormErrors::default();
    let looks_usable = target.starts_with("https://")
        || target.starts_with("http://")
        || target.trim_start_matches('@').contains('@');
    if target.is_empty() {
        errors.local(&ctx, "handle", "err_required");
    } else if target.chars().count() > MAX_TARGET_CHARS || !looks_usable {
        errors.local(&ctx, "handle", "err_follow_target");
    }
    let status = if errors.is_empty() {
        let Some(federation) = ctx.federation.clone() else {
            return Err(WebError::internal(ctx.lang));
        };
        match federation.follow(&target).await {
            Ok(_) => return Ok(ctx.redirect("/network#following")),
            Err(RemoteError::Node(e)) => return Err(WebError::from_node(ctx.lang, e)),
            Err(e) => {
                errors.local(&ctx, "handle", "err_follow_unreachable");
                let lang = (ctx.lang.code() != "en").then(|| "en".to_string());
                errors.add(Some("handle".into()), e.to_string(), lang);
                StatusCode::BAD_GATEWAY
            }
        }
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut page = network_page(&ctx).await?;
    page.values.insert("handle".into(), target);
    page.errors = errors;
    ctx.render_status(status, "network.html", "network", &page)
        .await
}

/// The actor a follower form names: an http(s) URL, else 404.
fn actor_of(ctx: &Ctx, data: &FormData) -> Result<String, WebError> {
    let actor = data.get("actor");
    let ok = (actor.starts_with("https://") || actor.starts_with("http://"))
        && actor.len() <= 2000
        && !actor.chars().any(char::is_control);
    if ok {
        Ok(actor.to_string())
    } else {
        Err(WebError::not_found(ctx.lang))
    }
}

async fn decide(req: HttpRequest, payload: web::Payload, state: FollowState) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let actor = actor_of(&ctx, &data)?;
    let decided = ctx
        .run_federation(move |f| match state {
            FollowState::Rejected => f.reject(&actor),
            _ => f.approve(&actor),
        })
        .await?;
    match decided {
        Ok(_) => Ok(ctx.redirect("/network#followers")),
        Err(NodeError::Store(StoreError::NotFound { .. })) => Err(WebError::not_found(ctx.lang)),
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

/// `POST /network/followers/approve` (administrators): accepts a follow request.
pub async fn approve(req: HttpRequest, payload: web::Payload) -> WebResult {
    decide(req, payload, FollowState::Accepted).await
}

/// `POST /network/followers/reject` (administrators): refuses a follow request, or stops
/// an accepted follower from receiving this node's activity.
pub async fn reject(req: HttpRequest, payload: web::Payload) -> WebResult {
    decide(req, payload, FollowState::Rejected).await
}

/// `POST /network/unfollow` (administrators): withdraws the follow of a partner.
pub async fn unfollow(req: HttpRequest, payload: web::Payload) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let data = form::read(&ctx, &req, payload).await?;
    ctx.check_csrf(&data)?;
    if let Some(answer) = ctx.require(Role::Admin) {
        return answer;
    }
    let actor = actor_of(&ctx, &data)?;
    match ctx.run_federation(move |f| f.unfollow(&actor)).await? {
        Ok(()) => Ok(ctx.redirect("/network#following")),
        Err(NodeError::Store(StoreError::NotFound { .. })) => Err(WebError::not_found(ctx.lang)),
        Err(other) => Err(WebError::from_node(ctx.lang, other)),
    }
}

// ----- partners on the home page -----

/// A partner organisation as the home page names it (the relations are public: the
/// followers and following collections list them).
#[derive(Debug, Serialize)]
pub struct PartnerSummary {
    pub handle: String,
    pub name: Option<TextView>,
    pub country: Option<String>,
}

/// The partners with an accepted relation either way, by name.
pub async fn partner_summaries(ctx: &Ctx) -> Result<Vec<PartnerSummary>, WebError> {
    if ctx.federation.is_none() {
        return Ok(Vec::new());
    }
    let (rows, profiles) = ctx
        .fetch_federation(|f| {
            let accepted = Some(FollowState::Accepted);
            let mut rows = f.following(accepted)?;
            rows.extend(f.followers(accepted)?);
            Ok((rows, f.partner_profiles()?))
        })
        .await?;
    let mut seen = BTreeSet::new();
    let mut out: Vec<PartnerSummary> = rows
        .iter()
        .filter(|r| seen.insert(r.actor.clone()))
        .map(|r| {
            let profile = profiles.get(&r.actor);
            PartnerSummary {
                handle: handle_of(&r.actor, r.username.as_deref()),
                name: partner_name(ctx, profile),
                country: profile.map(|p| p.country.to_string()),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |p: &PartnerSummary| p.name.as_ref().map_or(p.handle.clone(), |n| n.text.clone());
        key(a).cmp(&key(b))
    });
    Ok(out)
}

// ----- partners' practices -----

/// One of this node's adaptations of a partner's practice.
#[derive(Debug, Serialize)]
struct OwnAdaptation {
    id: String,
    title: Option<TextView>,
    context: TextView,
    country: String,
    state: String,
    version: u32,
}

#[derive(Debug, Serialize)]
struct PartnerPracticeCard {
    p: PracticeView,
    url: String,
    anchor: String,
    partner: String,
    partner_handle: String,
    partner_name: Option<TextView>,
    partner_country: Option<String>,
    updated: String,
    adapt_href: String,
    adaptations: Vec<OwnAdaptation>,
}

#[derive(Serialize)]
struct PartnerOption {
    actor: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct PracticesPage {
    practices: Vec<PartnerPracticeCard>,
    partners: Vec<PartnerOption>,
    filtered: bool,
    unreadable: Vec<(String, String)>,
    /// Practices in all pages (of the chosen partner).
    total: u64,
    /// The first page, when this is a later one.
    first_href: Option<String>,
    /// The next page, when there is one.
    next_href: Option<String>,
}

/// Partners' practices per page.
const PRACTICES_PAGE: u32 = 20;

/// The `after_ms` / `after_id` query values of a page after the first one; `None` when
/// absent or malformed (the first page is shown).
fn practices_cursor(query: &FormData) -> Option<RecentCursor> {
    let updated_ms = query.get("after_ms").parse::<i64>().ok()?;
    let object_id = query.get("after_id");
    (!object_id.is_empty() && object_id.len() <= 2048).then(|| RecentCursor {
        updated_ms,
        object_id: object_id.to_string(),
    })
}

/// `/network/practices` with the partner filter and, for a later page, the cursor.
fn practices_href(partner: &str, after: Option<&RecentCursor>) -> String {
    let mut params = Vec::new();
    if !partner.is_empty() {
        params.push(format!("partner={}", form::urlencode(partner)));
    }
    if let Some(c) = after {
        params.push(format!("after_ms={}", c.updated_ms));
        params.push(format!("after_id={}", form::urlencode(&c.object_id)));
    }
    if params.is_empty() {
        "/network/practices".to_owned()
    } else {
        format!("/network/practices?{}", params.join("&"))
    }
}

/// A stable, URL-safe anchor for a practice URL (`p-` and 16 hex digits of its SHA-256).
pub fn anchor_of(url: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("p-{hex}")
}

/// `GET /network/practices?partner=ACTOR[&after_ms=…&after_id=…]` (signed-in readers):
/// partners' practices, most recently received first, [`PRACTICES_PAGE`] per page, in the
/// reader's language when there is a translation, with this node's adaptations of each.
pub async fn practices(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    if let Some(answer) = ctx.require(Role::Reader) {
        return answer;
    }
    let query = FormData::parse(req.query_string());
    let partner = query.get("partner").to_string();
    let filter = (!partner.is_empty()).then(|| partner.clone());
    let after = practices_cursor(&query);
    let later_page = after.is_some();
    let ((listed, next), total, profiles, following) = ctx
        .fetch_federation(move |f| {
            Ok((
                f.partner_practices_page(filter.as_deref(), after.as_ref(), PRACTICES_PAGE)?,
                f.partner_practice_count(filter.as_deref())?,
                f.partner_profiles()?,
                f.following(None)?,
            ))
        })
        .await?;
    let adaptations = ctx
        .fetch(|n| n.list_adaptations(None, MAX_ADAPTATIONS))
        .await?
        .items;
    let want = ctx.content_lang();
    let mut by_origin: BTreeMap<&str, Vec<&Adaptation>> = BTreeMap::new();
    for a in &adaptations {
        by_origin
            .entry(a.content.origin.practice.as_str())
            .or_default()
            .push(a);
    }
    let handles: BTreeMap<&str, String> = following
        .iter()
        .map(|f| (f.actor.as_str(), handle_of(&f.actor, f.username.as_deref())))
        .collect();
    let cards: Vec<PartnerPracticeCard> =
        listed
            .practices
            .iter()
            .map(|pp| {
                let mut p = view::practice(&pp.practice, want.as_ref());
                p.href = pp.url.clone();
                let profile = profiles.get(&pp.actor);
                PartnerPracticeCard {
                    p,
                    anchor: anchor_of(&pp.url),
                    url: pp.url.clone(),
                    partner: pp.actor.clone(),
                    partner_handle: handles
                        .get(pp.actor.as_str())
                        .cloned()
                        .unwrap_or_else(|| handle_of(&pp.actor, None)),
                    partner_name: partner_name(&ctx, profile),
                    partner_country: profile.map(|o| o.country.to_string()),
                    updated: time_of(pp.updated_ms),
                    adapt_href: format!(
                        "/network/practices/adapt?practice={}",
                        form::urlencode(&pp.url)
                    ),
                    adaptations: by_origin
                        .get(pp.url.as_str())
                        .map(|list| {
                            list.iter()
                                .map(|a| {
                                    let original = a.content.context.languages().next().cloned();
                                    OwnAdaptation {
                                        id: a.id.clone(),
                                        title: a.content.title.as_ref().map(|t| {
                                            view::pick(t, want.as_ref(), original.as_ref())
                                        }),
                                        context: view::pick(
                                            &a.content.context,
                                            want.as_ref(),
                                            original.as_ref(),
                                        ),
                                        country: a.content.country.to_string(),
                                        state: serde_json::to_value(a.content.state)
                                            .ok()
                                            .and_then(|v| v.as_str().map(String::from))
                                            .unwrap_or_default(),
                                        version: a.content.origin.version,
                                    }
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
    let mut partners: Vec<PartnerOption> = following
        .iter()
        .filter(|f| f.state == FollowState::Accepted && f.is_punte)
        .map(|f| {
            let name = partner_name(&ctx, profiles.get(&f.actor)).map(|n| n.text);
            let handle = handle_of(&f.actor, f.username.as_deref());
            PartnerOption {
                selected: f.actor == partner,
                actor: f.actor.clone(),
                label: match name {
                    Some(n) => format!("{n} ({handle})"),
                    None => handle,
                },
            }
        })
        .collect();
    partners.sort_by(|a, b| a.label.cmp(&b.label));
    let page = PracticesPage {
        practices: cards,
        partners,
        filtered: !partner.is_empty(),
        unreadable: listed.unreadable,
        total,
        first_href: later_page.then(|| practices_href(&partner, None)),
        next_href: next.map(|c| practices_href(&partner, Some(&c))),
    };
    ctx.render("network_practices.html", "network", &page).await
}

#[cfg(test)]
mod tests;
