//! Huawei Cloud EventGrid (EG) REST API under `/v1/{project_id}/...`: channels, event sources,
//! subscriptions with targets, events with real routing, filtering, transforms and asynchronous webhook
//! delivery, traces, connections, endpoints, quotas, the target catalogue and API versions, over the
//! vendor-neutral event bus model. Errors in `error`, wire helpers in `wire`, signatures and tokens in
//! `auth`, delivery in `delivery`, one file per resource family.

mod auth;
mod catalog;
mod certs;
mod channels;
mod delivery;
mod error;
mod events;
pub mod fixture;
mod kafka;
mod misc;
mod replication;
mod schemas;
mod sources;
pub mod spec;
mod streaming;
mod streams;
mod subscriptions;
mod wire;

use crate::engine::eventbus::Millis;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::borrow::Cow;

pub use auth::{canonical_query, canonical_uri, sign, string_to_sign};
pub use delivery::Runtime;
pub use error::EgError;
use spec::ApiSpec;
use wire::{Body, Query};

use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

pub const VENDOR: &str = "huawei-eventgrid";

/// How a served API is executed.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Needs no credentials and no project (API versions, the IAM token endpoint).
    Open(fn(&AppState, &ApiRequest, &mut RequestMeta) -> Result<Reply, EgError>),
    /// Authenticated, inside the project of the path.
    Project(fn(&Ctx<'_>) -> Result<Reply, EgError>),
}

fn list_api_versions(_: &AppState, req: &ApiRequest, _: &mut RequestMeta) -> Result<Reply, EgError> {
    Ok(Reply::Ok(json!({"versions": [misc::version_v1(req)]})))
}

fn show_api_version(_: &AppState, req: &ApiRequest, _: &mut RequestMeta) -> Result<Reply, EgError> {
    Ok(Reply::Ok(json!({"version": misc::version_v1(req)})))
}

/// The served APIs: name (as in `spec/huawei-eventgrid.json`) -> handler. Method, path, parameters and
/// whether the API reads or writes come from the description; an API of the description missing here
/// answers `404 APIGW.0101` as the gateway does for an unpublished API.
pub const SERVED: &[(&str, Handler)] = &[
    ("ListApiVersions", Handler::Open(list_api_versions)),
    ("ShowApiVersion", Handler::Open(show_api_version)),
    ("KeystoneCreateToken", Handler::Open(misc::create_token)),
    ("CreateSubscription", Handler::Project(subscriptions::create)),
    ("ListSubscriptions", Handler::Project(subscriptions::list)),
    ("UpdateSubscription", Handler::Project(subscriptions::update)),
    ("ShowDetailOfSubscription", Handler::Project(subscriptions::show)),
    ("DeleteSubscription", Handler::Project(subscriptions::delete)),
    ("UpdateSubscriptionSource", Handler::Project(subscriptions::update_source)),
    ("CreateSubscriptionTarget", Handler::Project(subscriptions::create_target)),
    ("UpdateSubscriptionTarget", Handler::Project(subscriptions::update_target)),
    ("ShowDetailOfSubscriptionTarget", Handler::Project(subscriptions::show_target)),
    ("DeleteSubscriptionTarget", Handler::Project(subscriptions::delete_target)),
    ("ExecuteSubscriptionOperation", Handler::Project(subscriptions::operate)),
    ("ListObsBuckets", Handler::Project(misc::list_obs_buckets)),
    ("Refurbishobs", Handler::Project(catalog::refurbish_obs)),
    ("CreateChannel", Handler::Project(channels::create)),
    ("ListChannels", Handler::Project(channels::list)),
    ("UpdateChannel", Handler::Project(channels::update)),
    ("ShowDetailOfChannel", Handler::Project(channels::show)),
    ("DeleteChannel", Handler::Project(channels::delete)),
    ("ShowDetailOfEventTrace", Handler::Project(events::show_trace)),
    ("ShowDetailOfEvent", Handler::Project(events::show_event)),
    ("ListTracedEvents", Handler::Project(events::list_traced)),
    ("PutEvents", Handler::Project(events::put_events)),
    ("PutOfficialEvents", Handler::Project(events::put_official_events)),
    ("CheckPutEvents", Handler::Project(events::check_put_events)),
    ("CreateEventSource", Handler::Project(sources::create)),
    ("ListEventSources", Handler::Project(sources::list)),
    ("UpdateEventSource", Handler::Project(sources::update)),
    ("ShowDetailOfEventSource", Handler::Project(sources::show)),
    ("DeleteEventSource", Handler::Project(sources::delete)),
    ("ListEventTarget", Handler::Project(misc::list_targets)),
    ("CreateConnection", Handler::Project(misc::create_connection)),
    ("ListConnections", Handler::Project(misc::list_connections)),
    ("UpdateConnection", Handler::Project(misc::update_connection)),
    ("ShowDetailOfConnection", Handler::Project(misc::show_connection)),
    ("DeleteConnection", Handler::Project(misc::delete_connection)),
    ("ListQuotas", Handler::Project(misc::list_quotas)),
    ("CreateEndpoint", Handler::Project(misc::create_endpoint)),
    ("ListEndpoints", Handler::Project(misc::list_endpoints)),
    ("UpdateEndpoint", Handler::Project(misc::update_endpoint)),
    ("DeleteEndpoint", Handler::Project(misc::delete_endpoint)),
    ("DiscoverEventSchemaFromData", Handler::Project(schemas::discover)),
    ("CreateEventSchema", Handler::Project(schemas::create)),
    ("ListEventSchema", Handler::Project(schemas::list)),
    ("UpdateEventSchema", Handler::Project(schemas::update)),
    ("ShowDetailOfEventSchema", Handler::Project(schemas::show)),
    ("DeleteEventSchema", Handler::Project(schemas::delete)),
    ("CreateEventSchemaVersion", Handler::Project(schemas::create_version)),
    ("ListEventSchemaVersions", Handler::Project(schemas::list_versions)),
    ("ShowDetailOfEventSchemaVersion", Handler::Project(schemas::show_version)),
    ("DeleteEventSchemaVersion", Handler::Project(schemas::delete_version)),
    ("ListAgencies", Handler::Project(catalog::list_agencies)),
    ("CreateAgencies", Handler::Project(catalog::create_agencies)),
    ("ListTriggers", Handler::Project(catalog::list_triggers)),
    ("ListWorkflowTriggers", Handler::Project(catalog::list_workflow_triggers)),
    ("ShowListOfEventSample", Handler::Project(catalog::list_samples)),
    ("CreateEventStreaming", Handler::Project(streams::create_stream)),
    ("ListEventStreaming", Handler::Project(streams::list_streams)),
    ("UpdateEventStreaming", Handler::Project(streams::update_stream)),
    ("ShowEventStreaming", Handler::Project(streams::show_stream)),
    ("DeleteEventStreaming", Handler::Project(streams::delete_stream)),
    ("ResumeEventStreaming", Handler::Project(streams::operate_stream)),
    ("ListAvailabilityZones", Handler::Project(streams::list_zones)),
    ("CreateEventRouterCluster", Handler::Project(streams::create_cluster)),
    ("ListEventRouterClusters", Handler::Project(streams::list_clusters)),
    ("ShowEventRouterCluster", Handler::Project(streams::show_cluster)),
    ("UpdateEventRouterCluster", Handler::Project(streams::update_cluster)),
    ("DeleteEventRouterCluster", Handler::Project(streams::delete_cluster)),
    ("CreateEventRouterJob", Handler::Project(streams::create_job)),
    ("ListEventRouterJobs", Handler::Project(streams::list_jobs)),
    ("ShowEventRouterJob", Handler::Project(streams::show_job)),
    ("UpdateEventRouterJob", Handler::Project(streams::update_job)),
    ("DeleteEventRouterJob", Handler::Project(streams::delete_job)),
    ("ExecuteEventRouterJobOperation", Handler::Project(streams::operate_job)),
    ("ValidateEventRouterJob", Handler::Project(streams::validate_job)),
    ("ShowEventRouterTaskSyncDetail", Handler::Project(streams::sync_detail)),
];

/// The handler of each API of the description, by its index in [`spec::Spec::apis`] (None when not
/// served): looked up once, not by name on every request.
static HANDLERS: std::sync::LazyLock<Vec<Option<Handler>>> = std::sync::LazyLock::new(|| {
    spec::spec().apis().iter().map(|api| SERVED.iter().find(|(n, _)| *n == api.name).map(|(_, h)| *h)).collect()
});

/// A served API matched by method and path: its description, handler and path parameters (borrowed from
/// the path unless they held escapes).
pub struct Route<'p> {
    pub api: &'static ApiSpec,
    pub handler: Handler,
    /// The project of the path (`{project_id}`), when the template has one.
    pub project: Option<Cow<'p, str>>,
    /// The other path parameters in template order.
    pub params: Vec<Cow<'p, str>>,
}

/// Matches method and path against the description; None when no served API has that method and path.
pub fn route<'p>(method: &Method, path: &'p str) -> Option<Route<'p>> {
    let matched = spec::spec().route(method.as_str(), path)?;
    let handler = HANDLERS.get(matched.index).copied().flatten()?;
    let mut project = None;
    let mut params = Vec::new();
    for (name, value) in matched.path_params {
        if name == "project_id" {
            project = Some(value);
        } else {
            params.push(value);
        }
    }
    Some(Route { api: matched.api, handler, project, params })
}

/// The declared operations this facade serves (for the registry, fault injection and the coverage
/// test): every entry of [`SERVED`], read-only when its method is GET.
pub fn operations() -> Vec<crate::registry::OperationInfo> {
    use crate::registry::{Access, OperationInfo};
    SERVED
        .iter()
        .map(|(name, _)| {
            let reads = spec::spec().api(name).is_some_and(ApiSpec::reads_only);
            OperationInfo { name, access: if reads { Access::Read } else { Access::Write } }
        })
        .collect()
}

/// What a handler works with: the caller's account and project, the request and the shared state.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    /// The API's description (for handlers that check nested objects against it).
    pub api: &'static ApiSpec,
    pub req: &'a ApiRequest,
    pub account: String,
    pub project: String,
    /// The path parameters other than the project, in template order.
    pub params: Vec<Cow<'a, str>>,
    pub query: Query<'a>,
    pub request_id: &'a str,
    /// The body as `process` parsed it to check it against the description, handed to the first
    /// `body()` call so that the handler does not parse it again.
    parsed_body: std::cell::RefCell<Option<Body>>,
}

impl Ctx<'_> {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(|p| p.as_ref()).unwrap_or("")
    }

    pub fn body(&self) -> Result<Body, EgError> {
        match self.parsed_body.borrow_mut().take() {
            Some(body) => Ok(body),
            None => Body::parse(&self.req.body),
        }
    }

    /// The request body as a typed input (the description has already checked the top-level fields' types
    /// and enums); a body that does not fit is 400 EG.00513000 naming the defect. An empty body is `{}`.
    pub fn input<T: serde::de::DeserializeOwned>(&self) -> Result<T, EgError> {
        let bytes: &[u8] = if self.req.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &self.req.body };
        serde_json::from_slice(bytes).map_err(|e| EgError::Parameter(format!("request body: {e}")))
    }
}

/// A handler's answer.
pub enum Reply {
    Ok(Value),
    /// A 200 JSON body already serialised (typed answers: no `Value` tree in between).
    Raw(Vec<u8>),
    NoContent,
    /// Any status with a JSON body and extra headers (the token endpoint's 201 + X-Subject-Token).
    Custom(StatusCode, Value, Vec<(&'static str, String)>),
}

impl Reply {
    /// A 200 answer serialised straight from `body` (a typed struct that borrows from the model).
    pub fn json<T: serde::Serialize + ?Sized>(body: &T) -> Reply {
        // Pre-sized for a typical answer (a page of channels is about 500 bytes): no regrowth on the way.
        let mut out = Vec::with_capacity(512);
        if serde_json::to_writer(&mut out, body).is_err() {
            out.clear();
        }
        Reply::Raw(out)
    }
}

/// `<uuid, 32 hex digits>-<now, ms>-localyun`, written into one String (no formatting machinery per request).
fn request_id() -> String {
    let mut id_buf = uuid::Uuid::encode_buffer();
    let uuid = uuid::Uuid::new_v4().simple().encode_lower(&mut id_buf);
    let now = crate::engine::now_ms();
    // Exactly sized: the answer's `x-request-id` header takes this buffer over without a copy.
    let mut out = String::with_capacity(uuid.len() + 1 + decimal_len(now) + REQUEST_ID_SUFFIX.len());
    out.push_str(uuid);
    out.push('-');
    push_decimal(&mut out, now);
    out.push_str(REQUEST_ID_SUFFIX);
    out
}

const REQUEST_ID_SUFFIX: &str = "-localyun";

/// How many characters `push_decimal` writes for `n`.
fn decimal_len(n: i64) -> usize {
    let mut v = n.unsigned_abs();
    let mut len = usize::from(n < 0) + 1;
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    len
}

/// Appends `n` in decimal, as `Display` writes it.
fn push_decimal(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = request_id();
    let result = process(state, &req, &mut meta, &request_id);
    let mut response = match result {
        Ok(Reply::Ok(body)) => json_response(StatusCode::OK, &body),
        Ok(Reply::Raw(bytes)) => bytes_response(StatusCode::OK, bytes),
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
    // `Bytes` from an exactly sized String owns its buffer: no copy, no second allocation.
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(request_id)) {
        response.headers_mut().insert(&X_REQUEST_ID, v);
    }
    with_meta(response, meta)
}

static X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

fn json_response(status: StatusCode, body: &Value) -> Response {
    bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

/// Every answer's content type, shared (a header built from a `&str` copies it on every answer).
static JSON_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/json;charset=UTF-8");

fn bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, JSON_CONTENT_TYPE.clone());
    response
}

fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta, request_id: &str) -> Result<Reply, EgError> {
    let route = route(&req.method, req.path()).ok_or(EgError::NoSuchApi)?;
    meta.action = route.api.name.clone();
    let handler = match route.handler {
        Handler::Open(open) => return open(state, req, meta),
        Handler::Project(handler) => handler,
    };
    let principal = auth::authenticate(state, req, &mut meta.string_to_sign)?;
    meta.account = Some(principal.account.clone());
    let project = route.project.map(Cow::into_owned).unwrap_or_default();
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
    let query = Query::parse(req.query());
    route.api.validate_query(&query.0)?;
    let mut parsed_body = None;
    if !route.api.params.body.is_empty() {
        // Non-JSON bodies are left to the handler, which names the defect as before.
        if let Ok(body) = Body::parse(&req.body) {
            route.api.validate_body(&body.0)?;
            parsed_body = Some(body);
        }
    }
    resolve_project(state, &principal.account, &project)?;
    streaming::restore(state);
    replication::restore(state);
    let ctx = Ctx {
        state,
        api: route.api,
        req,
        account: principal.account,
        project,
        params: route.params,
        query,
        request_id,
        parsed_body: std::cell::RefCell::new(parsed_body),
    };
    handler(&ctx)
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
    state.store.eventbus.write().bind_project(project, account, Millis::now()).map_err(EgError::from)
}

/// Default resources of an account: every project bound to it gets the default channel and official sources.
pub fn provision_defaults(state: &AppState, account: &str) {
    let mut model = state.store.eventbus.write();
    let projects: Vec<String> = model.projects_of(account).cloned().collect();
    for project in projects {
        model.provision_project(&project, Millis::now());
    }
}

/// Binds fixture-declared project ids to an account (and provisions their defaults).
pub fn bind_fixture_projects(state: &AppState, account: &str, project_ids: &[String]) -> Result<(), String> {
    let mut model = state.store.eventbus.write();
    for project in project_ids {
        check_project_id(project).map_err(|e| format!("huawei_project_ids: {}", e.detail()))?;
        model.bind_project(project, account, Millis::now()).map_err(|e| format!("huawei_project_ids: {e}"))?;
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
                model.set_quota(&p.id, quota, *limit).map_err(|e| format!("{at}.quotas: {e}"))?;
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
    route(&req.method, req.path()).map(|r| r.api.name.clone())
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
    fn decimals_are_written_as_display_writes_them() {
        for n in [0, 7, 10, 1_764_547_200_123, -1, -10, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
            assert_eq!(decimal_len(n), out.len());
        }
        let id = request_id();
        assert_eq!(id.len(), id.capacity(), "exactly sized");
        let (uuid, rest) = id.split_at(32);
        assert!(uuid.chars().all(|c| c.is_ascii_hexdigit()) && rest.starts_with('-') && rest.ends_with("-localyun"));
    }

    #[test]
    fn every_served_api_is_described_and_routed() {
        for (name, _) in SERVED {
            let api = spec::spec().api(name).unwrap_or_else(|| panic!("{name} is not in the description"));
            let path = api.path.replace("{project_id}", "p").replace('{', "x").replace('}', "");
            let r = route(&Method::from_bytes(api.method.as_bytes()).unwrap(), &path).unwrap();
            assert_eq!(r.api.name, *name);
        }
        assert_eq!(operations().len(), SERVED.len());
        assert!(route(&Method::GET, "/v1/p/nothing").is_none());
    }
}
