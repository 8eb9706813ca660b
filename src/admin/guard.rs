//! Who may drive the admin API: no web page and no DNS-rebound name (issue 13, item 3).
//!
//! - `Host` must name this machine: `localhost` (and `*.localhost`), a loopback address, the address
//!   localyun listens on, or a name listed in `LOCALYUN_ADMIN_HOSTS` (comma-separated, e.g. the service
//!   name other containers use). A rebound name such as `attacker.example` is refused.
//! - An `Origin` header, when present, must be one of those hosts too (`Origin: null` is refused): browsers
//!   send it on every cross-site write, so a page elsewhere cannot post here.
//! - A write (`POST`, `PUT`, `PATCH`) with a body or a `Content-Type` must say `application/json`, which a
//!   browser cannot send cross-site without a CORS preflight (that localyun never grants). `DELETE` always
//!   needs a preflight in browsers.
//! - When `LOCALYUN_ADMIN_TOKEN` is set, every admin request but `GET /_localyun/health` (the container's
//!   health probe) must carry it: `Authorization: Bearer <token>` or `X-Localyun-Admin-Token: <token>`.
//!
//! Refusals are `403` (`401` for a missing or wrong token, `415` for a wrong content type) with the admin
//! API's `{"error": "..."}` body.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::credentials::signatures_match;
use crate::state::AppState;

/// Environment variable: extra host names the admin API answers to (comma-separated).
pub const ADMIN_HOSTS_ENV: &str = "LOCALYUN_ADMIN_HOSTS";
/// Environment variable: the admin token (unset or empty: no token required).
pub const ADMIN_TOKEN_ENV: &str = "LOCALYUN_ADMIN_TOKEN";

/// The admin API's access rules (see the module documentation).
#[derive(Clone, Default)]
pub struct AdminPolicy {
    /// Host names accepted besides the local ones (lower case, no port).
    pub extra_hosts: Vec<String>,
    /// The token every admin request but health must carry, if any.
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("AdminPolicy")
            .field("extra_hosts", &self.extra_hosts)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl AdminPolicy {
    /// The policy from `LOCALYUN_ADMIN_HOSTS` and `LOCALYUN_ADMIN_TOKEN`.
    pub fn from_env() -> AdminPolicy {
        let hosts = std::env::var(ADMIN_HOSTS_ENV).unwrap_or_default();
        let token = std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.is_empty());
        AdminPolicy::new(hosts.split(',').map(str::to_string).collect(), token)
    }

    /// A policy with extra host names (trimmed, lower-cased; empty entries dropped) and an optional token.
    pub fn new(extra_hosts: Vec<String>, token: Option<String>) -> AdminPolicy {
        let extra_hosts = extra_hosts
            .into_iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        AdminPolicy { extra_hosts, token }
    }

    /// Whether `host` (a `Host` value or an origin's host, port allowed) names this machine.
    pub fn host_allowed(&self, host: &str, listen: Option<IpAddr>) -> bool {
        let name = strip_port(host.trim()).trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        if name == "localhost" || name.ends_with(".localhost") || self.extra_hosts.contains(&name) {
            return true;
        }
        match name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || listen.is_some_and(|l| !l.is_unspecified() && l == ip),
            Err(_) => false,
        }
    }

    /// Checks a request's headers; the refusal's status and reason on failure.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        authority: Option<&str>,
        listen: Option<IpAddr>,
    ) -> Result<(), (StatusCode, String)> {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).or(authority);
        match host {
            Some(h) if self.host_allowed(h, listen) => {}
            Some(h) => {
                return Err((
                    StatusCode::FORBIDDEN,
                    format!(
                        "the admin API answers only to local host names; {h:?} is not one (add it to {ADMIN_HOSTS_ENV})"
                    ),
                ))
            }
            None => return Err((StatusCode::FORBIDDEN, "the admin API needs a Host header".into())),
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let allowed = origin.to_str().ok().and_then(origin_host).is_some_and(|h| self.host_allowed(h, listen));
            if !allowed {
                return Err((
                    StatusCode::FORBIDDEN,
                    format!("the admin API refuses requests from web pages of other origins ({origin:?})"),
                ));
            }
        }
        if let Some(expected) = &self.token {
            let exempt = method == Method::GET && path == "/_localyun/health";
            if !exempt && !token_matches(headers, expected) {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    format!("the admin API needs the token of {ADMIN_TOKEN_ENV}: Authorization: Bearer <token>"),
                ));
            }
        }
        if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            let content_type = headers.get(header::CONTENT_TYPE);
            let has_body = headers.get(header::TRANSFER_ENCODING).is_some()
                || headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
            let is_json = content_type.and_then(|v| v.to_str().ok()).is_some_and(is_json_type);
            if (has_body || content_type.is_some()) && !is_json {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "admin writes take Content-Type: application/json".into(),
                ));
            }
        }
        Ok(())
    }
}

/// `application/json`, parameters (`; charset=utf-8`) and case aside.
fn is_json_type(value: &str) -> bool {
    value.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The host of an origin (`scheme://host[:port]`); None for `null` and anything else.
fn origin_host(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// `name:port` → `name`, `[v6]:port` → `[v6]`, a bare IPv6 address stays whole.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

fn token_matches(headers: &HeaderMap, expected: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let given = bearer.or_else(|| headers.get("x-localyun-admin-token").and_then(|v| v.to_str().ok()));
    given.is_some_and(|g| signatures_match(expected.as_bytes(), g.as_bytes()))
}

/// The middleware in front of every admin route.
pub async fn guard(
    State((state, policy)): State<(AppState, Arc<AdminPolicy>)>,
    request: Request,
    next: Next,
) -> Response {
    let listen = Some(state.config.host);
    let checked = policy.check(
        request.method(),
        request.uri().path(),
        request.headers(),
        request.uri().authority().map(|a| a.as_str()),
        listen,
    );
    match checked {
        Ok(()) => next.run(request).await,
        Err((status, message)) => {
            tracing::warn!(status = status.as_u16(), path = request.uri().path(), "admin request refused");
            super::error(status, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn check(policy: &AdminPolicy, method: Method, pairs: &[(&str, &str)]) -> Result<(), StatusCode> {
        policy.check(&method, "/_localyun/state", &headers(pairs), None, None).map_err(|(s, _)| s)
    }

    #[test]
    fn local_host_names_pass_and_rebound_names_do_not() {
        let p = AdminPolicy::new(vec![" LocalYun ".into(), String::new()], None);
        for host in [
            "localhost",
            "localhost:4588",
            "127.0.0.1:4588",
            "127.8.9.1",
            "[::1]:4588",
            "::1",
            "app.localhost",
            "localyun:4588",
            "LOCALHOST.",
        ] {
            assert!(p.host_allowed(host, None), "{host}");
        }
        for host in [
            "attacker.example",
            "attacker.example:4588",
            "localhost.attacker.example",
            "0.0.0.0:4588",
            "10.0.0.5",
            "",
            "[::]:4588",
        ] {
            assert!(!p.host_allowed(host, None), "{host}");
        }
        // The address localyun listens on is local too, unless it is the unspecified one.
        let lan: IpAddr = "10.0.0.5".parse().unwrap();
        assert!(p.host_allowed("10.0.0.5:4588", Some(lan)));
        assert!(!p.host_allowed("0.0.0.0", Some("0.0.0.0".parse().unwrap())));
    }

    #[test]
    fn foreign_origins_and_non_json_writes_are_refused() {
        let p = AdminPolicy::default();
        let local = ("host", "127.0.0.1:4588");
        assert_eq!(check(&p, Method::GET, &[local]), Ok(()));
        assert_eq!(check(&p, Method::GET, &[("host", "attacker.example")]), Err(StatusCode::FORBIDDEN));
        assert_eq!(check(&p, Method::GET, &[]), Err(StatusCode::FORBIDDEN));
        assert_eq!(check(&p, Method::GET, &[local, ("origin", "http://evil.example")]), Err(StatusCode::FORBIDDEN));
        assert_eq!(check(&p, Method::GET, &[local, ("origin", "null")]), Err(StatusCode::FORBIDDEN));
        assert_eq!(check(&p, Method::GET, &[local, ("origin", "http://localhost:3000")]), Ok(()));
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(check(&p, Method::POST, &[local, json, ("content-length", "2")]), Ok(()));
        assert_eq!(
            check(&p, Method::POST, &[local, ("content-type", "text/plain"), ("content-length", "2")]),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            check(&p, Method::POST, &[local, ("content-type", "application/x-www-form-urlencoded")]),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(check(&p, Method::POST, &[local, ("content-length", "5")]), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        // A write without a body or a content type (`curl -X POST .../reset`) carries nothing to smuggle.
        assert_eq!(check(&p, Method::POST, &[local, ("content-length", "0")]), Ok(()));
        assert_eq!(check(&p, Method::DELETE, &[local]), Ok(()));
    }

    #[test]
    fn the_token_is_required_when_set_except_for_health() {
        let p = AdminPolicy::new(vec![], Some("s3cret".into()));
        let local = ("host", "localhost");
        assert_eq!(check(&p, Method::GET, &[local]), Err(StatusCode::UNAUTHORIZED));
        assert_eq!(check(&p, Method::GET, &[local, ("authorization", "Bearer wrong")]), Err(StatusCode::UNAUTHORIZED));
        assert_eq!(check(&p, Method::GET, &[local, ("authorization", "Bearer s3cret")]), Ok(()));
        assert_eq!(check(&p, Method::GET, &[local, ("x-localyun-admin-token", "s3cret")]), Ok(()));
        let health = p.check(&Method::GET, "/_localyun/health", &headers(&[local]), None, None);
        assert!(health.is_ok());
        assert!(!format!("{p:?}").contains("s3cret"), "the token never prints");
    }
}
