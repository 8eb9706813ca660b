//! Test-side client of the RocketMQ `/json` Open API with its own signer (written from the seed, section 2.3.1,
//! independently of `src/`): values of every parameter but `_signature`, in ascending key order, concatenated,
//! HmacSHA1 with the SecretKey, Base64.
#![allow(dead_code)]

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;

use crate::common::{self, TestServer};

pub const REGION: &str = "mq-private";
pub const ACCOUNT_B: &str = "200000000002";
pub const KEY_B: &str = "AKIDTEAMB";
pub const SECRET_B: &str = "team-b-secret";

pub fn seed_signature(secret: &str, pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "_signature").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined: String = sorted.iter().map(|(_, v)| v.as_str()).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(joined.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

pub struct Api {
    pub srv: TestServer,
}

/// How to sign and send one request.
#[derive(Clone)]
pub struct Call<'a> {
    pub key: &'a str,
    pub secret: &'a str,
    pub post: bool,
    /// Add `_regionId=mq-private` unless the parameters name one.
    pub region: bool,
    /// Replace the computed signature.
    pub signature: Option<&'a str>,
    /// Leave these common parameters out.
    pub omit: &'a [&'a str],
    pub path_prefix: &'a str,
}

impl Default for Call<'_> {
    fn default() -> Self {
        Call {
            key: common::KEY_ID,
            secret: common::SECRET,
            post: false,
            region: true,
            signature: None,
            omit: &[],
            path_prefix: "/json/",
        }
    }
}

impl Api {
    pub async fn start() -> Api {
        let config = localyun::Config {
            credentials: Some(format!("{KEY_B}:{SECRET_B}@{ACCOUNT_B}")),
            ..localyun::Config::default()
        };
        Api { srv: common::start_with(config).await }
    }

    pub async fn with_config(config: localyun::Config) -> Api {
        Api { srv: common::start_with(config).await }
    }

    /// Signed GET as the default account; returns (HTTP status, body).
    pub async fn get(&self, route: &str, params: &[(&str, &str)]) -> (u16, Value) {
        self.send(route, params, Call::default()).await
    }

    /// Signed GET as account B.
    pub async fn get_b(&self, route: &str, params: &[(&str, &str)]) -> (u16, Value) {
        self.send(route, params, Call { key: KEY_B, secret: SECRET_B, ..Call::default() }).await
    }

    pub async fn send(&self, route: &str, params: &[(&str, &str)], call: Call<'_>) -> (u16, Value) {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut common_params = vec![("_accesskey", call.key.to_string()), ("__preventCache", now_ms().to_string())];
        if call.region && !params.iter().any(|(k, _)| *k == "_regionId") {
            common_params.push(("_regionId", REGION.to_string()));
        }
        for (k, v) in common_params {
            if !call.omit.contains(&k) {
                pairs.push((k.to_string(), v));
            }
        }
        pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let signature = call.signature.map(str::to_string).unwrap_or_else(|| seed_signature(call.secret, &pairs));
        if !call.omit.contains(&"_signature") {
            pairs.push(("_signature".into(), signature));
        }
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let url = format!("{}{}{route}", self.srv.base, call.path_prefix);
        let response = if call.post {
            self.srv
                .client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
                .send()
                .await
                .unwrap()
        } else {
            self.srv.client.get(format!("{url}?{encoded}")).send().await.unwrap()
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// The default account's default instance id (the one without a namespace).
    pub fn default_instance(&self) -> String {
        self.instance_of(common::ACCOUNT)
    }

    pub fn instance_of(&self, account: &str) -> String {
        self.srv.state.store.rocketmq.read().resolve_instance(account, REGION, None).unwrap()
    }

    /// Creates a namespaced instance through the API and returns its id.
    pub async fn new_instance(&self, name: &str) -> String {
        let (_, body) = self
            .get(
                "instance/create",
                &[
                    ("cluster", "localyun-cluster"),
                    ("instanceName", name),
                    ("independentNaming", "true"),
                    ("maxSendTps", "1000"),
                    ("maxReceiveTps", "1000"),
                ],
            )
            .await;
        assert_ok(&body);
        body["data"]["instanceId"].as_str().unwrap().to_string()
    }

    pub async fn create_topic(&self, instance: &str, topic: &str, order_type: &str) {
        let (_, body) =
            self.get("topic/create", &[("instanceId", instance), ("topic", topic), ("orderType", order_type)]).await;
        assert_ok(&body);
    }

    pub async fn create_group(&self, instance: &str, group: &str) {
        let (_, body) = self.get("group/create", &[("instanceId", instance), ("groupId", group)]).await;
        assert_ok(&body);
    }
}

const ENVELOPE_FIELDS: [&str; 12] = [
    "code",
    "currentPage",
    "data",
    "dynamicCode",
    "dynamicMessage",
    "helpUrl",
    "message",
    "pageSize",
    "requestId",
    "status",
    "success",
    "total",
];

fn assert_envelope(body: &Value) {
    let obj = body.as_object().unwrap_or_else(|| panic!("not an object: {body}"));
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, ENVELOPE_FIELDS.to_vec(), "envelope fields of {body}");
    assert!(body["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(body["helpUrl"].is_null());
}

/// A success envelope, as the seed documents it.
#[track_caller]
pub fn assert_ok(body: &Value) {
    assert_envelope(body);
    assert_eq!(body["code"], 200, "{body}");
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert_eq!(body["message"], "operation success", "{body}");
    assert_eq!(body["dynamicCode"], "", "{body}");
    assert_eq!(body["dynamicMessage"], "", "{body}");
}

/// A business error: HTTP 200, the error code in `dynamicCode` and `message`, a non-200 `code`.
#[track_caller]
pub fn assert_err(response: &(u16, Value), code: &str) {
    let (status, body) = response;
    assert_eq!(*status, 200, "business errors are HTTP 200: {body}");
    assert_error_body(body, code);
}

#[track_caller]
pub fn assert_error_body(body: &Value, code: &str) {
    assert_envelope(body);
    assert_eq!(body["dynamicCode"], code, "{body}");
    assert_eq!(body["message"], code, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["status"], "FAIL", "{body}");
    assert!(body["data"].is_null());
    assert_ne!(body["code"], 200);
    assert!(body["dynamicMessage"].as_str().is_some_and(|m| !m.is_empty()));
}

/// An authentication failure: HTTP 403 and AUTH_FAILED.
#[track_caller]
pub fn assert_auth_failed(response: &(u16, Value)) {
    let (status, body) = response;
    assert_eq!(*status, 403, "{body}");
    assert_error_body(body, "AUTH_FAILED");
    assert_eq!(body["code"], 403);
}

/// Every route of seed section 2.6.
pub const ALL_ROUTES: [&str; 38] = [
    "region/list",
    "cluster/list",
    "vpcTunnel/tunnelSwitch",
    "instance/baseInfo",
    "instance/create",
    "instance/delete",
    "instance/list",
    "instance/update",
    "topic/create",
    "topic/delete",
    "topic/get",
    "topic/listInPage",
    "topic/update",
    "topic/listNames",
    "topic/subDetail",
    "group/create",
    "group/delete",
    "group/list",
    "group/subDetail",
    "group/consumerUpdate",
    "consumer/accumulate",
    "consumer/status",
    "consumer/getConnection",
    "consumer/timespan",
    "consumer/resetOffset",
    "message/trace",
    "message/getById",
    "message/getByKey",
    "message/getByPagedTopic",
    "trend/topicInputTps",
    "trend/groupOutputTps",
    "empower/create",
    "empower/createBySub",
    "empower/delete",
    "empower/list",
    "message/getByIdInDLQ",
    "message/getByPagedDLQ",
    "message/resendByIdInDLQ",
];
