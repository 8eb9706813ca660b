//! Huawei Cloud EventGrid (EG) REST API under `/v1/{project_id}/...`: channels, event sources,
//! subscriptions with targets, events with real routing, filtering, transforms and asynchronous webhook
//! delivery, traces, connections, endpoints, quotas, the target catalogue and API versions, over the
//! vendor-neutral event bus model. Errors in `error`, wire helpers in `wire`, signatures and tokens in
//! `auth`, delivery in `delivery`, one file per resource family.

mod auth;
mod channels;
mod delivery;
mod error;
mod events;
pub mod fixture;
mod misc;
mod sources;
mod subscriptions;
mod wire;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

pub use auth::{canonical_query, canonical_uri, sign, string_to_sign};
pub use delivery::Runtime;
pub use error::EgError;
use wire::{Body, Query};

use crate::engine::now_ms;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

pub const VENDOR: &str = "huawei-eventgrid";

/// Every API this facade serves (the names are the SDK's operation names).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Api {
    ListApiVersions,
    ShowApiVersion,
    KeystoneCreateToken,
    CreateSubscription,
    ListSubscriptions,
    UpdateSubscription,
    ShowDetailOfSubscription,
    DeleteSubscription,
    UpdateSubscriptionSource,
    CreateSubscriptionTarget,
    UpdateSubscriptionTarget,
    ShowDetailOfSubscriptionTarget,
    DeleteSubscriptionTarget,
    ExecuteSubscriptionOperation,
    ListObsBuckets,
    CreateChannel,
    ListChannels,
    UpdateChannel,
    ShowDetailOfChannel,
    DeleteChannel,
    ShowDetailOfEventTrace,
    ShowDetailOfEvent,
    ListTracedEvents,
    PutEvents,
    PutOfficialEvents,
    CheckPutEvents,
    CreateEventSource,
    ListEventSources,
    UpdateEventSource,
    ShowDetailOfEventSource,
    DeleteEventSource,
    ListEventTarget,
    CreateConnection,
    ListConnections,
    UpdateConnection,
    ShowDetailOfConnection,
    DeleteConnection,
    ListQuotas,
    CreateEndpoint,
    ListEndpoints,
    UpdateEndpoint,
    DeleteEndpoint,
}

impl Api {
    pub fn name(self) -> String {
        format!("{self:?}")
    }

    fn needs_auth(self) -> bool {
        !matches!(self, Api::ListApiVersions | Api::ShowApiVersion | Api::KeystoneCreateToken)
    }
}

/// A routed request: the API, the project of the path and the other path parameters in order.
pub struct Route {
    pub api: Api,
    pub project: Option<String>,
    pub params: Vec<String>,
}

/// Matches method and path. Literal segments are tried before `{id}` segments (`subscriptions/operation`,
/// `subscriptions/obsbuckets`, `events/check`, ...), which slice patterns give in arm order.
pub fn route(method: &Method, path: &str) -> Option<Route> {
    let decoded: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    let m = method.as_str();
    let simple = |api| Some(Route { api, project: None, params: Vec::new() });
    match (m, segs.as_slice()) {
        ("GET", []) => return simple(Api::ListApiVersions),
        ("GET", ["v1"]) => return simple(Api::ShowApiVersion),
        ("POST", ["v3", "auth", "tokens"]) => return simple(Api::KeystoneCreateToken),
        _ => {}
    }
    let ["v1", project, rest @ ..] = segs.as_slice() else { return None };
    use Api::*;
    let (api, params): (Api, Vec<&str>) = match (m, rest) {
        ("POST", ["subscriptions", "operation"]) => (ExecuteSubscriptionOperation, vec![]),
        ("GET", ["subscriptions", "obsbuckets"]) => (ListObsBuckets, vec![]),
        ("POST", ["subscriptions"]) => (CreateSubscription, vec![]),
        ("GET", ["subscriptions"]) => (ListSubscriptions, vec![]),
        ("PUT", ["subscriptions", id]) => (UpdateSubscription, vec![id]),
        ("GET", ["subscriptions", id]) => (ShowDetailOfSubscription, vec![id]),
        ("DELETE", ["subscriptions", id]) => (DeleteSubscription, vec![id]),
        ("PUT", ["subscriptions", id, "sources", sid]) => (UpdateSubscriptionSource, vec![id, sid]),
        ("POST", ["subscriptions", id, "targets"]) => (CreateSubscriptionTarget, vec![id]),
        ("PUT", ["subscriptions", id, "targets", tid]) => (UpdateSubscriptionTarget, vec![id, tid]),
        ("GET", ["subscriptions", id, "targets", tid]) => (ShowDetailOfSubscriptionTarget, vec![id, tid]),
        ("DELETE", ["subscriptions", id, "targets", tid]) => (DeleteSubscriptionTarget, vec![id, tid]),
        ("POST", ["channels"]) => (CreateChannel, vec![]),
        ("GET", ["channels"]) => (ListChannels, vec![]),
        ("PUT", ["channels", id]) => (UpdateChannel, vec![id]),
        ("GET", ["channels", id]) => (ShowDetailOfChannel, vec![id]),
        ("DELETE", ["channels", id]) => (DeleteChannel, vec![id]),
        ("POST", ["channels", id, "events"]) => (PutEvents, vec![id]),
        ("GET", ["events", "trace", "detail", id]) => (ShowDetailOfEventTrace, vec![id]),
        ("GET", ["events", "detail", id]) => (ShowDetailOfEvent, vec![id]),
        ("POST", ["events", "check"]) => (CheckPutEvents, vec![]),
        ("GET", ["traced-events"]) => (ListTracedEvents, vec![]),
        ("POST", ["official", "sources", name, "events"]) => (PutOfficialEvents, vec![name]),
        ("POST", ["sources"]) => (CreateEventSource, vec![]),
        ("GET", ["sources"]) => (ListEventSources, vec![]),
        ("PUT", ["sources", id]) => (UpdateEventSource, vec![id]),
        ("GET", ["sources", id]) => (ShowDetailOfEventSource, vec![id]),
        ("DELETE", ["sources", id]) => (DeleteEventSource, vec![id]),
        ("GET", ["target-catalogs"]) => (ListEventTarget, vec![]),
        ("POST", ["connections"]) => (CreateConnection, vec![]),
        ("GET", ["connections"]) => (ListConnections, vec![]),
        ("PUT", ["connections", id]) => (UpdateConnection, vec![id]),
        ("GET", ["connections", id]) => (ShowDetailOfConnection, vec![id]),
        ("DELETE", ["connections", id]) => (DeleteConnection, vec![id]),
        ("GET", ["quotas"]) => (ListQuotas, vec![]),
        ("POST", ["endpoints"]) => (CreateEndpoint, vec![]),
        ("GET", ["endpoints"]) => (ListEndpoints, vec![]),
        ("PUT", ["endpoints", id]) => (UpdateEndpoint, vec![id]),
        ("DELETE", ["endpoints", id]) => (DeleteEndpoint, vec![id]),
        _ => return None,
    };
    Some(Route { api, project: Some(project.to_string()), params: params.into_iter().map(str::to_string).collect() })
}

/// What a handler works with: the caller's account and project, the request and the shared state.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub req: &'a ApiRequest,
    pub account: String,
    pub project: String,
    pub params: Vec<String>,
    pub query: Query,
    pub request_id: String,
}

impl Ctx<'_> {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn body(&self) -> Result<Body, EgError> {
        Body::parse(&self.req.body)
    }
}

/// A handler's answer.
pub enum Reply {
    Ok(Value),
    NoContent,
    /// Any status with a JSON body and extra headers (the token endpoint's 201 + X-Subject-Token).
    Custom(StatusCode, Value, Vec<(&'static str, String)>),
}

fn request_id() -> String {
    format!("{}-{}-localyun", uuid::Uuid::new_v4().simple(), now_ms())
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = request_id();
    let result = process(state, &req, &mut meta, &request_id);
    let mut response = match result {
        Ok(Reply::Ok(body)) => json_response(StatusCode::OK, &body),
        Ok(Reply::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Ok(Reply::Custom(status, body, headers)) => {
            let mut r = json_response(status, &body);
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    r.headers_mut().insert(name, v);
                }
            }
            r
        }
        Err(e) => {
            tracing::debug!(code = e.code(), detail = e.detail(), "eventgrid request rejected");
            meta.error_code = Some(e.code().to_string());
            json_response(e.status(), &e.to_json(&request_id))
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    with_meta(response, meta)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], bytes).into_response()
}

fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta, request_id: &str) -> Result<Reply, EgError> {
    let route = route(&req.method, req.path()).ok_or(EgError::NoSuchApi)?;
    meta.action = route.api.name();
    if !route.api.needs_auth() {
        return match route.api {
            Api::KeystoneCreateToken => misc::create_token(state, req, meta),
            Api::ShowApiVersion => Ok(Reply::Ok(json!({"version": misc::version_v1(req)}))),
            _ => Ok(Reply::Ok(json!({"versions": [misc::version_v1(req)]}))),
        };
    }
    let principal = auth::authenticate(state, req, &mut meta.string_to_sign)?;
    meta.account = Some(principal.account.clone());
    let project = route.project.unwrap_or_default();
    check_project_id(&project)?;
    if let Some(header_project) = req.header("x-project-id") {
        if header_project != project {
            return Err(EgError::Parameter(format!(
                "X-Project-Id {header_project} does not match the project {project} in the path"
            )));
        }
    }
    if let Some(token_project) = &principal.token_project {
        if *token_project != project {
            return Err(EgError::NoPermission(format!(
                "the token is scoped to project {token_project}, not {project}"
            )));
        }
    }
    resolve_project(state, &principal.account, &project)?;
    let ctx = Ctx {
        state,
        req,
        account: principal.account,
        project,
        params: route.params,
        query: Query(req.query_pairs()),
        request_id: request_id.to_string(),
    };
    dispatch(route.api, &ctx)
}

fn dispatch(api: Api, ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    use Api::*;
    match api {
        CreateSubscription => subscriptions::create(ctx),
        ListSubscriptions => subscriptions::list(ctx),
        UpdateSubscription => subscriptions::update(ctx),
        ShowDetailOfSubscription => subscriptions::show(ctx),
        DeleteSubscription => subscriptions::delete(ctx),
        UpdateSubscriptionSource => subscriptions::update_source(ctx),
        CreateSubscriptionTarget => subscriptions::create_target(ctx),
        UpdateSubscriptionTarget => subscriptions::update_target(ctx),
        ShowDetailOfSubscriptionTarget => subscriptions::show_target(ctx),
        DeleteSubscriptionTarget => subscriptions::delete_target(ctx),
        ExecuteSubscriptionOperation => subscriptions::operate(ctx),
        ListObsBuckets => misc::list_obs_buckets(ctx),
        CreateChannel => channels::create(ctx),
        ListChannels => channels::list(ctx),
        UpdateChannel => channels::update(ctx),
        ShowDetailOfChannel => channels::show(ctx),
        DeleteChannel => channels::delete(ctx),
        ShowDetailOfEventTrace => events::show_trace(ctx),
        ShowDetailOfEvent => events::show_event(ctx),
        ListTracedEvents => events::list_traced(ctx),
        PutEvents => events::put_events(ctx),
        PutOfficialEvents => events::put_official_events(ctx),
        CheckPutEvents => events::check_put_events(ctx),
        CreateEventSource => sources::create(ctx),
        ListEventSources => sources::list(ctx),
        UpdateEventSource => sources::update(ctx),
        ShowDetailOfEventSource => sources::show(ctx),
        DeleteEventSource => sources::delete(ctx),
        ListEventTarget => misc::list_targets(ctx),
        CreateConnection => misc::create_connection(ctx),
        ListConnections => misc::list_connections(ctx),
        UpdateConnection => misc::update_connection(ctx),
        ShowDetailOfConnection => misc::show_connection(ctx),
        DeleteConnection => misc::delete_connection(ctx),
        ListQuotas => misc::list_quotas(ctx),
        CreateEndpoint => misc::create_endpoint(ctx),
        ListEndpoints => misc::list_endpoints(ctx),
        UpdateEndpoint => misc::update_endpoint(ctx),
        DeleteEndpoint => misc::delete_endpoint(ctx),
        ListApiVersions | ShowApiVersion | KeystoneCreateToken => Err(EgError::NoSuchApi),
    }
}

/// Project ids: any path segment of letters, digits, `-` and `_` up to 64 characters (the seed's ids are
/// 32 hex characters, one example uses `123`).
fn check_project_id(project: &str) -> Result<(), EgError> {
    let ok = !project.is_empty()
        && project.len() <= 64
        && project.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(EgError::Parameter(format!("project id {project:?}: letters, digits, '-' and '_', at most 64")));
    }
    Ok(())
}

/// A project seen for the first time in an authenticated request is bound to the caller's account; one
/// bound to another account is refused.
fn resolve_project(state: &AppState, account: &str, project: &str) -> Result<(), EgError> {
    if let Some(owner) = state.store.eventbus.read().project_owner(project) {
        if owner == account {
            return Ok(());
        }
        return Err(EgError::NoPermission(format!("project {project} belongs to another account")));
    }
    state.store.eventbus.write().bind_project(project, account, now_ms()).map_err(EgError::from)
}

/// Default resources of an account: every project bound to it gets the default channel and official sources.
pub fn provision_defaults(state: &AppState, account: &str) {
    let mut model = state.store.eventbus.write();
    let projects: Vec<String> = model.projects_of(account).cloned().collect();
    for project in projects {
        model.provision_project(&project, now_ms());
    }
}

/// Binds fixture-declared project ids to an account (and provisions their defaults).
pub fn bind_fixture_projects(state: &AppState, account: &str, project_ids: &[String]) -> Result<(), String> {
    let mut model = state.store.eventbus.write();
    for project in project_ids {
        check_project_id(project).map_err(|e| format!("huawei_project_ids: {}", e.detail()))?;
        model.bind_project(project, account, now_ms()).map_err(|e| format!("huawei_project_ids: {e}"))?;
    }
    Ok(())
}

/// The `eventgrid:` section of a fixture file:
///
/// ```yaml
/// eventgrid:
///   projects:
///     - id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9   # bound to `account` (default: the default account)
///       account: "100000000001"
///       quotas: {SUBSCRIPTION: 10}            # optional per-project quota overrides
///       channels:
///         - name: orders
///           description: order events
///           sources:
///             - name: order-service
///       subscriptions:                         # the CreateSubscription body, channel by name
///         - name: orders-to-hook
///           channel: orders                    # or `default`
///           sources: [{name: order-service, provider_type: CUSTOM, filter: {source: [{op: StringIn, values: [order-service]}]}}]
///           targets: [{name: WEBHOOK, provider_type: CUSTOM, detail: {url: "http://127.0.0.1:8080/hook"}, transform: {type: ORIGINAL}}]
/// ```
pub fn apply_fixtures(state: &AppState, section: &Value) -> Result<(), String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        #[serde(default)]
        projects: Vec<ProjectFixture>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ProjectFixture {
        id: String,
        #[serde(default)]
        account: Option<String>,
        #[serde(default)]
        quotas: std::collections::BTreeMap<String, u32>,
        #[serde(default)]
        channels: Vec<ChannelFixture>,
        #[serde(default)]
        subscriptions: Vec<Value>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ChannelFixture {
        name: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        sources: Vec<SourceFixture>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SourceFixture {
        name: String,
        #[serde(default)]
        description: String,
    }
    let section: Section = serde_json::from_value(section.clone()).map_err(|e| e.to_string())?;
    let default_account = state.credentials.read().default_account().to_string();
    for (n, p) in section.projects.into_iter().enumerate() {
        let at = format!("projects[{n}]");
        let account = p.account.unwrap_or_else(|| default_account.clone());
        bind_fixture_projects(state, &account, std::slice::from_ref(&p.id)).map_err(|e| format!("{at}: {e}"))?;
        {
            let mut model = state.store.eventbus.write();
            for (quota, limit) in &p.quotas {
                if !crate::engine::eventbus::QUOTAS.iter().any(|(q, _, _)| q == quota) {
                    return Err(format!("{at}.quotas: unknown quota type {quota}"));
                }
                model.quota_overrides.entry(p.id.clone()).or_default().insert(quota.clone(), *limit);
            }
        }
        for (c, ch) in p.channels.into_iter().enumerate() {
            let at = format!("{at}.channels[{c}]");
            let channel_id = channels::ensure(state, &p.id, &ch.name, &ch.description)
                .map_err(|e| format!("{at}: {}", e.detail()))?;
            for (s, src) in ch.sources.into_iter().enumerate() {
                sources::ensure(state, &p.id, &channel_id, &src.name, &src.description)
                    .map_err(|e| format!("{at}.sources[{s}]: {}", e.detail()))?;
            }
        }
        for (s, sub) in p.subscriptions.into_iter().enumerate() {
            let at = format!("{at}.subscriptions[{s}]");
            subscriptions::ensure_fixture(state, &p.id, &sub)
                .map_err(|e| format!("{at}: {} {}", e.message(), e.detail()))?;
        }
    }
    Ok(())
}

/// The API a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    route(&req.method, req.path()).map(|r| r.api.name())
}

/// An error in this API's envelope with an arbitrary code (admin fault injection). The status follows the
/// code when it is one of the seed's, else 500.
pub fn error_response(code: &str, message: &str) -> Response {
    let status = match code {
        c if c.starts_with("EG.00513") || c.starts_with("EGS.") => StatusCode::BAD_REQUEST,
        "EG.00512000" | "EG.00512001" | "EG.00512002" | "EG.00512003" | "EG.00514003" | "EG.00514004" => {
            StatusCode::FORBIDDEN
        }
        "EG.00514001" => StatusCode::NOT_FOUND,
        "EG.00514002" | "EG.00514005" => StatusCode::CONFLICT,
        "EG.00511001" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let request_id = request_id();
    let mut response =
        json_response(status, &json!({"error_code": code, "error_msg": message, "request_id": request_id}));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    with_meta(response, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_routes_win() {
        let r = route(&Method::GET, "/v1/p/subscriptions/obsbuckets").unwrap();
        assert_eq!(r.api, Api::ListObsBuckets);
        let r = route(&Method::GET, "/v1/p/subscriptions/abc").unwrap();
        assert_eq!((r.api, r.params), (Api::ShowDetailOfSubscription, vec!["abc".to_string()]));
        assert_eq!(
            route(&Method::POST, "/v1/p/subscriptions/operation").unwrap().api,
            Api::ExecuteSubscriptionOperation
        );
        assert_eq!(route(&Method::POST, "/v1/p/events/check").unwrap().api, Api::CheckPutEvents);
        assert_eq!(route(&Method::GET, "/v1/p/events/trace/detail/t1").unwrap().api, Api::ShowDetailOfEventTrace);
        assert_eq!(route(&Method::GET, "/").unwrap().api, Api::ListApiVersions);
        assert!(route(&Method::PATCH, "/v1/p/channels").is_none());
        assert!(route(&Method::GET, "/v1/p/nothing").is_none());
        assert_eq!(route(&Method::GET, "/v1/p/channels/").unwrap().api, Api::ListChannels);
    }
}
