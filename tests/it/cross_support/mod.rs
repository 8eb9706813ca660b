//! Test support for the cross-vendor tests: independent signers for all four vendor APIs (written from the
//! seeds, not calling into src/), a running-binary harness that cleans up after itself, and one scenario
//! that creates and checks resources of every vendor through their signed APIs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const KEY_ID: &str = "AKIDLOCAL";
pub const SECRET: &str = "local-secret";
pub const ACCOUNT: &str = "100000000001";
/// A second account, given to the server with `--credentials` / `Config::credentials`.
pub const ACCOUNT_B: &str = "200000000002";
pub const KEY_B: &str = "AKIDCROSSB";
pub const SECRET_B: &str = "cross-secret-b";
/// `Config::credentials` / `--credentials` value that adds account B.
pub const CREDENTIALS_B: &str = "AKIDCROSSB:cross-secret-b@200000000002";

pub const TENCENT_REGION: &str = "ap-guangzhou";
pub const ALIBABA_REGION: &str = "cn-hangzhou";
pub const ROCKETMQ_REGION: &str = "mq-private";
/// The default account's documented default Huawei project (fixtures/default.yaml).
pub const DEFAULT_PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
/// A project id no fixture declares: a signed request binds it to the caller's account.
pub const RUNTIME_PROJECT: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";

/// A key pair that signs requests.
#[derive(Clone, Copy)]
pub struct Key {
    pub id: &'static str,
    pub secret: &'static str,
}

pub const DEFAULT_KEY: Key = Key { id: KEY_ID, secret: SECRET };
pub const KEY_OF_B: Key = Key { id: KEY_B, secret: SECRET_B };

/// Where a localyun listens.
#[derive(Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`, the Host header.
    pub host: String,
    pub client: reqwest::Client,
}

impl Endpoint {
    pub fn new(host: &str) -> Endpoint {
        Endpoint {
            base: format!("http://{host}"),
            host: host.to_string(),
            client: reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap(),
        }
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}/_localyun/{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(format!("{}/_localyun/{path}", self.base)).json(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    (now % 1_000_000_000_000) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed) % 1000 + 1
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// RFC 3986 unreserved characters kept, everything else `%XX` (upper case).
fn percent(s: &str) -> String {
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

// ---- Tencent CKafka v2 (HmacSHA256, GET) ----

/// A signed Tencent CKafka v2 GET; Tencent answers every request with HTTP 200.
pub async fn tencent(ep: &Endpoint, key: Key, action: &str, params: &[(&str, &str)]) -> Value {
    let mut all: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Region".into(), TENCENT_REGION.into()),
        ("SecretId".into(), key.id.into()),
        ("Timestamp".into(), unix_now().to_string()),
        ("Nonce".into(), (unique() % 4_000_000_000 + 1).to_string()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
    ];
    for (k, v) in params {
        all.retain(|(existing, _)| existing != k);
        all.push((k.to_string(), v.to_string()));
    }
    // The seed: `_` in keys reads as `.`, pairs sorted, raw values.
    let mut signed: Vec<(String, &str)> = all.iter().map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    signed.sort();
    let joined: Vec<String> = signed.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let to_sign = format!("GET{}/v2/index.php?{}", ep.host, joined.join("&"));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    all.push(("Signature".into(), base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
    let response = ep.client.get(format!("{}/v2/index.php?{query}", ep.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "Tencent answers every request with HTTP 200");
    response.json().await.unwrap()
}

pub fn tencent_instance(account: &str) -> String {
    localyun::tencent::ckafka::default_instance_id(account, TENCENT_REGION)
}

/// The topic names of an instance (the default account).
pub async fn tencent_topics(ep: &Endpoint, key: Key, instance: &str) -> Vec<String> {
    let answer = tencent(ep, key, "ListTopic", &[("instanceId", instance), ("limit", "20")]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    let mut names: Vec<String> =
        answer["topicList"].as_array().unwrap().iter().map(|t| t["topicName"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

// ---- Alibaba Kafka RPC OpenAPI (signature v1, HMAC-SHA1) ----

/// A signed Alibaba Kafka RPC call (2018-10-15, JSON, POST with the query as aliyunsdkcore sends it).
pub async fn alikafka(ep: &Endpoint, key: Key, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("Action", action.to_string()),
        ("Version", "2018-10-15".to_string()),
        ("Format", "JSON".to_string()),
        ("AccessKeyId", key.id.to_string()),
        ("SignatureMethod", "HMAC-SHA1".to_string()),
        ("SignatureVersion", "1.0".to_string()),
        ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
        ("Timestamp", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    ] {
        p.insert(k.into(), v);
    }
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    let canonical: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect();
    let to_sign = format!("POST&%2F&{}", percent(&canonical.join("&")));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", key.secret).as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    p.insert("Signature".into(), base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&p).finish();
    let response = ep.client.post(format!("{}/?{query}", ep.base)).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

pub fn alibaba_instance(account: &str) -> String {
    localyun::alibaba::kafka::default_instance_id(account, ALIBABA_REGION)
}

/// A successful Alibaba call's body.
#[track_caller]
pub fn alibaba_ok(answer: &(u16, Value)) -> &Value {
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["Success"], true, "{}", answer.1);
    &answer.1
}

pub async fn alibaba_topics(ep: &Endpoint, key: Key, instance: &str) -> Vec<String> {
    let answer = alikafka(ep, key, "GetTopicList", &[("InstanceId", instance), ("RegionId", ALIBABA_REGION)]).await;
    let body = alibaba_ok(&answer);
    let mut names: Vec<String> =
        body["TopicList"]["TopicVO"].as_array().unwrap().iter().map(|t| t["Topic"].as_str().unwrap().into()).collect();
    names.sort();
    names
}

pub async fn alibaba_groups(ep: &Endpoint, key: Key, instance: &str) -> Vec<String> {
    let answer = alikafka(ep, key, "GetConsumerList", &[("InstanceId", instance), ("RegionId", ALIBABA_REGION)]).await;
    let body = alibaba_ok(&answer);
    let mut names: Vec<String> = body["ConsumerList"]["ConsumerVO"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["ConsumerId"].as_str().unwrap().into())
        .collect();
    names.sort();
    names
}

// ---- Alibaba RocketMQ /json (values of sorted keys concatenated, HmacSHA1) ----

/// A signed RocketMQ `/json/<route>` GET in region mq-private.
pub async fn rocketmq(ep: &Endpoint, key: Key, route: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let mut pairs: Vec<(String, String)> = vec![
        ("_accesskey".into(), key.id.into()),
        ("__preventCache".into(), now_ms.to_string()),
        ("_regionId".into(), ROCKETMQ_REGION.into()),
    ];
    pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined: String = sorted.iter().map(|(_, v)| v.as_str()).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.secret.as_bytes()).unwrap();
    mac.update(joined.as_bytes());
    pairs.push(("_signature".into(), base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let response = ep.client.get(format!("{}/json/{route}?{query}", ep.base)).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

pub fn rocketmq_instance(account: &str) -> String {
    localyun::alibaba::rocketmq::default_instance_id(account)
}

/// A RocketMQ success envelope's body.
#[track_caller]
pub fn rocketmq_ok(answer: &(u16, Value)) -> &Value {
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["success"], true, "{}", answer.1);
    assert_eq!(answer.1["code"], 200, "{}", answer.1);
    &answer.1
}

pub async fn rocketmq_topics(ep: &Endpoint, key: Key, instance: Option<&str>) -> Vec<String> {
    let params: Vec<(&str, &str)> = instance.map(|i| vec![("instanceId", i)]).unwrap_or_default();
    let answer = rocketmq(ep, key, "topic/listNames", &params).await;
    let body = rocketmq_ok(&answer);
    let mut names: Vec<String> = match &body["data"] {
        Value::Array(items) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string).unwrap_or_else(|| t["topic"].as_str().unwrap().to_string()))
            .collect(),
        other => panic!("topic/listNames data: {other}"),
    };
    names.sort();
    names
}

pub async fn rocketmq_groups(ep: &Endpoint, key: Key, instance: Option<&str>) -> Vec<String> {
    let params: Vec<(&str, &str)> = instance.map(|i| vec![("instanceId", i)]).unwrap_or_default();
    let answer = rocketmq(ep, key, "group/list", &params).await;
    let body = rocketmq_ok(&answer);
    let mut names: Vec<String> =
        body["data"].as_array().unwrap().iter().map(|g| g["groupId"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

// ---- Huawei EventGrid (SDK-HMAC-SHA256) ----

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A signed EventGrid call: `tail` follows `/v1/{project}`; query pairs are appended and signed.
pub async fn eventgrid(
    ep: &Endpoint,
    key: Key,
    method: &str,
    project: &str,
    tail: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let path = format!("/v1/{project}{tail}");
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    // Canonical request as huaweicloudsdkcore builds it: URI with a trailing `/`, sorted encoded query,
    // lower-case sorted headers.
    let mut uri: String = path.split('/').map(percent).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (percent(k), percent(v))).collect();
    q.sort();
    let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let headers = [
        ("content-type", "application/json".to_string()),
        ("host", ep.host.clone()),
        ("x-project-id", project.to_string()),
        ("x-sdk-date", date.clone()),
    ];
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical = format!("{method}\n{uri}\n{canonical_query}\n{canonical_headers}\n{signed}\n{}", sha256_hex(&body));
    let to_sign = format!("SDK-HMAC-SHA256\n{date}\n{}", sha256_hex(canonical.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let authorization = format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders={signed}, Signature={}",
        key.id,
        hex::encode(mac.finalize().into_bytes())
    );
    let mut url = format!("{}{path}", ep.base);
    if !canonical_query.is_empty() {
        url = format!("{url}?{canonical_query}");
    }
    let mut request = ep.client.request(method.parse().unwrap(), url).body(body);
    for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
        request = request.header(*k, v);
    }
    let response = request.header("authorization", authorization).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

#[track_caller]
pub fn eventgrid_ok(answer: &(u16, Value)) -> &Value {
    assert_eq!(answer.0, 200, "{}", answer.1);
    &answer.1
}

/// `(name, id)` of the items of an EventGrid list (channels, sources, subscriptions), sorted by name.
pub async fn eventgrid_items(ep: &Endpoint, key: Key, project: &str, tail: &str) -> Vec<(String, String)> {
    let answer = eventgrid(ep, key, "GET", project, tail, &[("limit", "100")], None).await;
    let body = eventgrid_ok(&answer);
    let mut items: Vec<(String, String)> = body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_string(), i["id"].as_str().unwrap().to_string()))
        .collect();
    items.sort();
    items
}

pub async fn eventgrid_names(ep: &Endpoint, key: Key, project: &str, tail: &str) -> Vec<String> {
    eventgrid_items(ep, key, project, tail).await.into_iter().map(|(name, _)| name).collect()
}

pub fn webhook_subscription(name: &str, channel_id: &str, source: &str) -> Value {
    json!({
        "name": name,
        "channel_id": channel_id,
        "sources": [{"name": source, "provider_type": "CUSTOM",
                     "filter": {"source": [{"op": "StringIn", "values": [source]}]}}],
        "targets": [{"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": "http://127.0.0.1:9/hook"},
                     "transform": {"type": "ORIGINAL"}}],
    })
}

// ---- one scenario over every vendor ----

/// What `create_everything` made (ids the server chose) and deleted.
#[derive(Debug, Clone)]
pub struct Everything {
    pub channel_id: String,
    pub source_id: String,
    pub subscription_id: String,
    pub runtime_channel_id: String,
}

/// Creates, as the default account through each signed API: a Tencent topic (and one deleted again), an
/// Alibaba Kafka topic and consumer group (and a deleted group), a RocketMQ topic and group (and a deleted
/// group), an EventGrid custom channel, source and subscription (and a deleted source) in the default
/// project, and a channel in a project bound at runtime by the first signed request naming it.
pub async fn create_everything(ep: &Endpoint) -> Everything {
    let key = DEFAULT_KEY;
    let tencent_inst = tencent_instance(ACCOUNT);
    for topic in ["cross-orders", "cross-doomed"] {
        let answer = tencent(
            ep,
            key,
            "CreateTopic",
            &[("instanceId", &tencent_inst), ("topicName", topic), ("partitionNum", "2"), ("replicaNum", "1")],
        )
        .await;
        assert_eq!(answer["code"], 0, "{answer}");
    }
    let answer = tencent(ep, key, "DeleteTopic", &[("instanceId", &tencent_inst), ("topicName", "cross-doomed")]).await;
    assert_eq!(answer["code"], 0, "{answer}");

    let ali_inst = alibaba_instance(ACCOUNT);
    let region = ("RegionId", ALIBABA_REGION);
    alibaba_ok(
        &alikafka(
            ep,
            key,
            "CreateTopic",
            &[("InstanceId", &ali_inst), region, ("Topic", "ali-orders"), ("Remark", "r")],
        )
        .await,
    );
    for group in ["CID-billing", "CID-doomed"] {
        alibaba_ok(
            &alikafka(ep, key, "CreateConsumerGroup", &[("InstanceId", &ali_inst), region, ("ConsumerId", group)])
                .await,
        );
    }
    alibaba_ok(
        &alikafka(ep, key, "DeleteConsumerGroup", &[("InstanceId", &ali_inst), region, ("ConsumerId", "CID-doomed")])
            .await,
    );

    rocketmq_ok(&rocketmq(ep, key, "topic/create", &[("topic", "T_cross"), ("orderType", "0"), ("remark", "x")]).await);
    for group in ["GID_cross", "GID_doomed"] {
        rocketmq_ok(
            &rocketmq(ep, key, "group/create", &[("instanceId", &rocketmq_instance(ACCOUNT)), ("groupId", group)])
                .await,
        );
    }
    rocketmq_ok(&rocketmq(ep, key, "group/delete", &[("groupId", "GID_doomed")]).await);

    let created =
        eventgrid(ep, key, "POST", DEFAULT_PROJECT, "/channels", &[], Some(&json!({"name": "cross-channel"}))).await;
    let channel_id = eventgrid_ok(&created)["id"].as_str().unwrap().to_string();
    let mut source_id = String::new();
    for name in ["cross-source", "doomed-source"] {
        let body = json!({"name": name, "channel_id": channel_id});
        let created = eventgrid(ep, key, "POST", DEFAULT_PROJECT, "/sources", &[], Some(&body)).await;
        let id = eventgrid_ok(&created)["id"].as_str().unwrap().to_string();
        if name == "cross-source" {
            source_id = id;
        } else {
            let deleted = eventgrid(ep, key, "DELETE", DEFAULT_PROJECT, &format!("/sources/{id}"), &[], None).await;
            assert_eq!(deleted.0, 204, "{}", deleted.1);
        }
    }
    let body = webhook_subscription("cross-sub", &channel_id, "cross-source");
    let created = eventgrid(ep, key, "POST", DEFAULT_PROJECT, "/subscriptions", &[], Some(&body)).await;
    let subscription_id = eventgrid_ok(&created)["id"].as_str().unwrap().to_string();

    // A project no fixture declares: this signed request binds it to the default account.
    let created =
        eventgrid(ep, key, "POST", RUNTIME_PROJECT, "/channels", &[], Some(&json!({"name": "runtime-channel"}))).await;
    let runtime_channel_id = eventgrid_ok(&created)["id"].as_str().unwrap().to_string();
    Everything { channel_id, source_id, subscription_id, runtime_channel_id }
}

/// Asserts, through each vendor's API, that what `create_everything` made is there and what it deleted is not.
pub async fn assert_everything(ep: &Endpoint, made: &Everything) {
    let key = DEFAULT_KEY;
    assert_eq!(tencent_topics(ep, key, &tencent_instance(ACCOUNT)).await, vec!["cross-orders"]);

    let ali_inst = alibaba_instance(ACCOUNT);
    assert_eq!(alibaba_topics(ep, key, &ali_inst).await, vec!["ali-orders"]);
    assert_eq!(alibaba_groups(ep, key, &ali_inst).await, vec!["CID-billing"]);

    let topic = rocketmq(ep, key, "topic/get", &[("topic", "T_cross")]).await;
    assert_eq!(rocketmq_ok(&topic)["data"]["instanceId"], rocketmq_instance(ACCOUNT));
    assert_eq!(rocketmq_groups(ep, key, None).await, vec!["GID_cross"]);

    let channels = eventgrid_items(ep, key, DEFAULT_PROJECT, "/channels").await;
    assert!(channels.contains(&("cross-channel".to_string(), made.channel_id.clone())), "{channels:?}");
    let sources = eventgrid_items(ep, key, DEFAULT_PROJECT, "/sources").await;
    assert!(sources.contains(&("cross-source".to_string(), made.source_id.clone())), "{sources:?}");
    assert!(!sources.iter().any(|(name, _)| name == "doomed-source"), "a deleted source stays deleted: {sources:?}");
    let subscriptions = eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await;
    assert_eq!(subscriptions, vec![("cross-sub".to_string(), made.subscription_id.clone())]);
    let shown =
        eventgrid(ep, key, "GET", DEFAULT_PROJECT, &format!("/subscriptions/{}", made.subscription_id), &[], None)
            .await;
    assert_eq!(eventgrid_ok(&shown)["channel_id"], made.channel_id.as_str());

    let runtime = eventgrid_items(ep, key, RUNTIME_PROJECT, "/channels").await;
    assert!(runtime.contains(&("runtime-channel".to_string(), made.runtime_channel_id.clone())), "{runtime:?}");
}

// ---- the real binary ----

/// A temporary folder, removed on drop (even when the test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("localyun-cross-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with a free port, no TLS, quiet logs and no inherited LOCALYUN_* settings.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localyun"));
    cmd.args(["--port", "0", "--no-tls", "--log-level", "warn"]).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("LOCALYUN_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A running localyun process; killed with SIGKILL on drop.
pub struct Running {
    child: Option<Child>,
    pub ep: Endpoint,
}

impl Running {
    /// Starts the binary and waits for the address it prints.
    pub fn spawn(args: &[&str]) -> Running {
        let mut child = command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut address = None;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.trim().strip_prefix("http:") {
                address = Some(rest.trim().trim_start_matches("http://").to_string());
                break;
            }
        }
        let Some(host) = address else {
            let out = child.wait_with_output().unwrap();
            panic!("localyun did not start: {}", String::from_utf8_lossy(&out.stderr));
        };
        // Keep draining both pipes so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        }
        Running { child: Some(child), ep: Endpoint::new(&host) }
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the binary expecting it to exit by itself (a refused start) within a few seconds; a process still
/// running then is killed and the test fails. stdout and stderr go through files in `scratch`.
pub fn run_to_exit(args: &[&str], scratch: &Path) -> Output {
    let out_path = scratch.join(format!("stdout-{}", uuid::Uuid::new_v4()));
    let err_path = scratch.join(format!("stderr-{}", uuid::Uuid::new_v4()));
    let mut child = command(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("localyun {args:?} kept running; expected it to refuse the start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output =
        Output { status, stdout: std::fs::read(&out_path).unwrap(), stderr: std::fs::read(&err_path).unwrap() };
    let _ = std::fs::remove_file(out_path);
    let _ = std::fs::remove_file(err_path);
    output
}

/// Account B's resources in every vendor: a Tencent topic, an Alibaba group, a RocketMQ group and an
/// EventGrid channel in `project` (bound to B by this signed request).
pub async fn create_for_b(ep: &Endpoint, project: &str) {
    let answer = tencent(
        ep,
        KEY_OF_B,
        "CreateTopic",
        &[
            ("instanceId", &tencent_instance(ACCOUNT_B)),
            ("topicName", "b-topic"),
            ("partitionNum", "1"),
            ("replicaNum", "1"),
        ],
    )
    .await;
    assert_eq!(answer["code"], 0, "{answer}");
    let ali_b = alibaba_instance(ACCOUNT_B);
    alibaba_ok(
        &alikafka(
            ep,
            KEY_OF_B,
            "CreateConsumerGroup",
            &[("InstanceId", &ali_b), ("RegionId", ALIBABA_REGION), ("ConsumerId", "CID-b")],
        )
        .await,
    );
    rocketmq_ok(
        &rocketmq(ep, KEY_OF_B, "group/create", &[("instanceId", &rocketmq_instance(ACCOUNT_B)), ("groupId", "GID_b")])
            .await,
    );
    let created = eventgrid(ep, KEY_OF_B, "POST", project, "/channels", &[], Some(&json!({"name": "b-ch"}))).await;
    eventgrid_ok(&created);
}
