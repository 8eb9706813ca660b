//! Test-side EventGrid client: an independent SDK-HMAC-SHA256 signer (written from the extract's section
//! 2.2, not calling into src/) and helpers for the EventGrid integration tests.
#![allow(dead_code)]

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::common::{self, TestServer};

pub mod webhook;
pub use webhook::Webhook;

/// The default account's documented default project (fixtures/default.yaml).
pub const PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

pub struct Eg {
    pub srv: TestServer,
    pub project: String,
    pub ak: String,
    pub sk: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts the documented error envelope and returns the detail.
    pub fn assert_error(&self, status: u16, code: &str, msg: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.body);
        assert_eq!(self.body["error_code"], code, "code of {}", self.body);
        assert_eq!(self.body["error_msg"], msg, "message of {}", self.body);
        let request_id = self.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(!request_id.is_empty(), "X-Request-Id on every answer");
        assert_eq!(self.body["request_id"], request_id);
    }

    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {} {}", self.status, self.body);
        assert!(self.headers.contains_key("x-request-id"));
        &self.body
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Signs like huaweicloudsdkcore: canonical URI with a trailing `/`, sorted encoded query, the given headers.
pub fn authorization(
    ak: &str,
    sk: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, String)],
    body: &[u8],
) -> String {
    let mut uri: String = path.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    q.sort();
    let query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut h: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_lowercase(), v.trim().to_string())).collect();
    h.sort();
    let canonical_headers: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = h.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let date = &h.iter().find(|(k, _)| k == "x-sdk-date").expect("x-sdk-date").1;
    let cr = format!("{method}\n{uri}\n{query}\n{canonical_headers}\n{signed}\n{}", sha256_hex(body));
    let sts = format!("SDK-HMAC-SHA256\n{date}\n{}", sha256_hex(cr.as_bytes()));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(sts.as_bytes());
    format!(
        "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub fn sdk_date_now() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

impl Eg {
    pub async fn start() -> Eg {
        Eg::wrap(common::start().await)
    }

    pub fn wrap(srv: TestServer) -> Eg {
        Eg { srv, project: PROJECT.into(), ak: common::KEY_ID.into(), sk: common::SECRET.into() }
    }

    pub fn as_key(&self, ak: &str, sk: &str, project: &str) -> Eg {
        Eg {
            srv: TestServer {
                addr: self.srv.addr,
                base: self.srv.base.clone(),
                host: self.srv.host.clone(),
                state: self.srv.state.clone(),
                client: self.srv.client.clone(),
            },
            project: project.into(),
            ak: ak.into(),
            sk: sk.into(),
        }
    }

    /// `tail` is the path after `/v1/{project}` (e.g. `/channels`).
    pub async fn call(&self, method: &str, tail: &str, query: &[(&str, &str)], body: Option<&Value>) -> Answer {
        let path = format!("/v1/{}{tail}", self.project);
        self.raw(method, &path, query, body.map(|b| b.to_string().into_bytes()), |_| {}).await
    }

    pub async fn get(&self, tail: &str, query: &[(&str, &str)]) -> Answer {
        self.call("GET", tail, query, None).await
    }
    pub async fn post(&self, tail: &str, body: &Value) -> Answer {
        self.call("POST", tail, &[], Some(body)).await
    }
    pub async fn put(&self, tail: &str, body: &Value) -> Answer {
        self.call("PUT", tail, &[], Some(body)).await
    }
    pub async fn delete(&self, tail: &str) -> Answer {
        self.call("DELETE", tail, &[], None).await
    }

    /// A signed request; `tamper` may change the headers after signing.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        tamper: impl FnOnce(&mut Vec<(&'static str, String)>),
    ) -> Answer {
        let body = body.unwrap_or_default();
        let signed: Vec<(&str, String)> = vec![
            ("content-type", "application/json".into()),
            ("host", self.srv.host.clone()),
            ("x-project-id", self.project.clone()),
            ("x-sdk-date", sdk_date_now()),
        ];
        let auth = authorization(&self.ak, &self.sk, method, path, query, &signed, &body);
        let mut headers: Vec<(&'static str, String)> = signed.into_iter().filter(|(k, _)| *k != "host").collect();
        headers.push(("authorization", auth));
        tamper(&mut headers);
        let mut url = format!("{}{}", self.srv.base, path);
        if !query.is_empty() {
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            url = format!("{url}?{}", q.join("&"));
        }
        let mut req = self.srv.client.request(method.parse().unwrap(), url).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Answer { status, headers, body }
    }

    pub fn default_channel_id(&self) -> String {
        let model = self.srv.state.store.eventbus.read();
        let id = model.channels_of(&self.project).find(|c| c.name == "default").map(|c| c.id.clone());
        id.expect("default channel")
    }

    pub async fn create_channel(&self, name: &str) -> String {
        let r = self.post("/channels", &serde_json::json!({"name": name})).await;
        r.ok()["id"].as_str().unwrap().to_string()
    }

    pub async fn create_source(&self, channel_id: &str, name: &str) -> String {
        let r = self.post("/sources", &serde_json::json!({"name": name, "channel_id": channel_id})).await;
        r.ok()["id"].as_str().unwrap().to_string()
    }
}

/// Polls an event's trace until no delivery target is PENDING (panics after about 5 s).
pub async fn settled_trace(eg: &Eg, channel_id: &str, trace_id: &str) -> Value {
    for _ in 0..200 {
        let trace =
            eg.get(&format!("/events/trace/detail/{trace_id}"), &[("channel_id", channel_id)]).await.ok().clone();
        let pending = trace["deliverList"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["deliverTargetList"].as_array().unwrap().iter())
            .any(|t| t["deliverStatus"] == "PENDING");
        if !pending {
            return trace;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("delivery of {trace_id} did not settle");
}
