//! The benchmark's view of each vendor API: signers (independent of src/), pre-signed request batches,
//! and helpers that fill localyun with resources through the public APIs.

use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;

use super::LoadResult;

#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub key_id: String,
    pub secret: String,
}

/// Whether a vendor answer body reports success (each vendor has its own envelope).
pub fn is_success(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return false };
    if v.get("error_code").is_some() {
        return false;
    }
    if let Some(s) = v.get("success").or_else(|| v.get("Success")).and_then(Value::as_bool) {
        return s;
    }
    match v.get("code").or_else(|| v.get("Code")) {
        Some(Value::Number(n)) => n.as_i64() == Some(0) || n.as_i64() == Some(200),
        Some(Value::String(s)) => s == "200" || s == "0",
        _ => true,
    }
}

fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (u64::from(std::process::id()) << 40) + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ------------------------------------------------------------------------------------------------ Tencent

fn tencent_request(client: &reqwest::Client, t: &Target, action: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Region".into(), "ap-guangzhou".into()),
        ("SecretId".into(), t.key_id.clone()),
        ("Nonce".into(), nonce().to_string()),
        ("Timestamp".into(), now().to_string()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
    ];
    // An explicit Region in `extra` replaces the default one.
    for (k, v) in extra {
        match params.iter_mut().find(|(pk, _)| pk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => params.push((k.to_string(), v.clone())),
        }
    }
    let mut sorted: Vec<(String, &str)> = params.iter().map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    sorted.sort();
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("POST{}/v2/index.php?{}", t.host, query.join("&"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(t.secret.as_bytes()).expect("hmac key");
    mac.update(sts.as_bytes());
    params.push(("Signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/v2/index.php", t.host)).form(&params).build().expect("request")
}

async fn send_json(client: &reqwest::Client, req: reqwest::Request) -> Value {
    match client.execute(req).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

async fn tencent_instance(client: &reqwest::Client, t: &Target, region: &str) -> String {
    let v = send_json(client, tencent_request(client, t, "ListInstance", &[("Region", region.into())])).await;
    v["instanceList"][0]["instanceId"].as_str().unwrap_or_default().to_string()
}

async fn tencent_topics(client: &reqwest::Client, t: &Target, region: &str, inst: &str, prefix: &str, n: usize) {
    let mut batch = Vec::new();
    for i in 0..n {
        let extra = [
            ("Region", region.to_string()),
            ("instanceId", inst.to_string()),
            ("topicName", format!("{prefix}{i:06}")),
            ("partitionNum", "1".to_string()),
            ("replicaNum", "1".to_string()),
        ];
        batch.push(client.execute(tencent_request(client, t, "CreateTopic", &extra)));
        if batch.len() == 64 {
            futures_join(&mut batch).await;
        }
    }
    futures_join(&mut batch).await;
}

async fn futures_join<F: std::future::Future>(batch: &mut Vec<F>) {
    for f in batch.drain(..) {
        let _ = f.await;
    }
}

// ------------------------------------------------------------------------------------------------ Alibaba Kafka

/// RFC 3986 percent-encoding as the RPC signature wants it (`~` kept, space as `%20`).
fn pct(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn alibaba_request(client: &reqwest::Client, t: &Target, action: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Format".into(), "JSON".into()),
        ("Version".into(), "2019-09-16".into()),
        ("AccessKeyId".into(), t.key_id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), format!("{:x}", nonce())),
        ("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("RegionId".into(), "cn-hangzhou".into()),
    ];
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let mut sorted: Vec<(String, String)> = params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
    sorted.sort();
    let canonical: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("POST&%2F&{}", pct(&canonical.join("&")));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", t.secret).as_bytes()).expect("hmac key");
    mac.update(sts.as_bytes());
    params.push(("Signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/", t.host)).form(&params).build().expect("request")
}

fn alibaba_create_topic(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    let extra = [("InstanceId", inst.to_string()), ("Topic", name.to_string()), ("Remark", "bench".to_string())];
    alibaba_request(client, t, "CreateTopic", &extra)
}

fn alibaba_create_group(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    alibaba_request(
        client,
        t,
        "CreateConsumerGroup",
        &[("InstanceId", inst.to_string()), ("ConsumerId", name.to_string())],
    )
}

// ------------------------------------------------------------------------------------------------ RocketMQ

fn rocketmq_request(client: &reqwest::Client, t: &Target, route: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("_accesskey".into(), t.key_id.clone()),
        ("__preventCache".into(), chrono::Utc::now().timestamp_millis().to_string()),
        ("_regionId".into(), "mq-private".into()),
    ];
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    params.sort();
    let text: String = params.iter().map(|(_, v)| v.as_str()).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(t.secret.as_bytes()).expect("hmac key");
    mac.update(text.as_bytes());
    params.push(("_signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/json/{route}", t.host)).form(&params).build().expect("request")
}

fn rocketmq_create_topic(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    let extra = [
        ("instanceId", inst.to_string()),
        ("topic", name.to_string()),
        ("orderType", "0".to_string()),
        ("remark", "bench".to_string()),
    ];
    rocketmq_request(client, t, "topic/create", &extra)
}

async fn run_batched(client: &reqwest::Client, requests: impl Iterator<Item = reqwest::Request>) {
    let mut batch = Vec::new();
    for req in requests {
        batch.push(client.execute(req));
        if batch.len() == 64 {
            futures_join(&mut batch).await;
        }
    }
    futures_join(&mut batch).await;
}

// ------------------------------------------------------------------------------------------------ scenarios

/// One signed action measured under load.
pub enum Scenario {
    TencentListTopic { inst: String },
    TencentCreateTopic { inst: String },
    AlibabaGetTopicList { inst: String },
    AlibabaCreateTopic { inst: String },
    RocketmqListInPage { inst: String },
    RocketmqCreateTopic { inst: String },
}

impl Scenario {
    pub fn name(&self) -> String {
        match self {
            Scenario::TencentListTopic { .. } => "Tencent ListTopic (read)".into(),
            Scenario::TencentCreateTopic { .. } => "Tencent CreateTopic (write)".into(),
            Scenario::AlibabaGetTopicList { .. } => "Alibaba GetTopicList (read)".into(),
            Scenario::AlibabaCreateTopic { .. } => "Alibaba CreateTopic (write)".into(),
            Scenario::RocketmqListInPage { .. } => "RocketMQ topic/listInPage (read)".into(),
            Scenario::RocketmqCreateTopic { .. } => "RocketMQ topic/create (write)".into(),
        }
    }

    /// `n` distinct signed requests (distinct nonces: the replay cache refuses repeats).
    pub async fn requests(&self, client: &reqwest::Client, t: &Target, n: usize) -> Vec<reqwest::Request> {
        match self {
            Scenario::TencentListTopic { inst } => (0..n)
                .map(|_| {
                    tencent_request(client, t, "ListTopic", &[("instanceId", inst.clone()), ("limit", "20".into())])
                })
                .collect(),
            Scenario::TencentCreateTopic { inst } => {
                let run = nonce();
                (0..n)
                    .map(|i| {
                        let extra = [
                            ("instanceId", inst.clone()),
                            ("topicName", format!("w{run}x{i}")),
                            ("partitionNum", "1".into()),
                            ("replicaNum", "1".into()),
                        ];
                        tencent_request(client, t, "CreateTopic", &extra)
                    })
                    .collect()
            }
            Scenario::AlibabaGetTopicList { inst } => (0..n)
                .map(|_| {
                    let extra = [("InstanceId", inst.clone()), ("CurrentPage", "1".into()), ("PageSize", "20".into())];
                    alibaba_request(client, t, "GetTopicList", &extra)
                })
                .collect(),
            Scenario::AlibabaCreateTopic { inst } => {
                let run = nonce();
                (0..n).map(|i| alibaba_create_topic(client, t, inst, &format!("w{run}x{i}"))).collect()
            }
            Scenario::RocketmqListInPage { inst } => (0..n)
                .map(|_| {
                    let extra = [("instanceId", inst.clone()), ("currentPage", "1".into()), ("pageSize", "20".into())];
                    rocketmq_request(client, t, "topic/listInPage", &extra)
                })
                .collect(),
            Scenario::RocketmqCreateTopic { inst } => {
                let run = nonce();
                (0..n).map(|i| rocketmq_create_topic(client, t, inst, &format!("T_w{run}x{i}"))).collect()
            }
        }
    }
}

/// The scenarios of every vendor, with the resources they read prepared.
pub async fn scenarios(client: &reqwest::Client, t: &Target) -> Vec<Scenario> {
    let inst = tencent_instance(client, t, "ap-guangzhou").await;
    tencent_topics(client, t, "ap-guangzhou", &inst, "read", 100).await;
    // The bench fixtures' roomy instances (see BENCH_FIXTURES).
    let ali = "alikafka_pre-cn-bench0000001".to_string();
    run_batched(client, (0..100).map(|i| alibaba_create_topic(client, t, &ali, &format!("read{i:04}")))).await;
    let rmq = "MQ_INST_100000000001_BENCH".to_string();
    run_batched(client, (0..100).map(|i| rocketmq_create_topic(client, t, &rmq, &format!("T_read{i:04}")))).await;
    vec![
        Scenario::TencentListTopic { inst: inst.clone() },
        Scenario::TencentCreateTopic { inst },
        Scenario::AlibabaGetTopicList { inst: ali.clone() },
        Scenario::AlibabaCreateTopic { inst: ali },
        Scenario::RocketmqListInPage { inst: rmq.clone() },
        Scenario::RocketmqCreateTopic { inst: rmq },
    ]
}

/// List latency for a fixed page as the total grows: (api, [(total, result)]).
pub async fn list_growth(
    client: &reqwest::Client,
    t: &Target,
    samples: usize,
) -> Vec<(String, Vec<(usize, LoadResult)>)> {
    let mut tencent = Vec::new();
    for (region, total) in [("ap-beijing", 100usize), ("ap-shanghai", 1_000), ("ap-hongkong", 10_000)] {
        let inst = tencent_instance(client, t, region).await;
        tencent_topics(client, t, region, &inst, "g", total).await;
        let reqs: Vec<reqwest::Request> = (0..samples)
            .map(|_| {
                let extra = [("Region", region.to_string()), ("instanceId", inst.clone()), ("limit", "20".into())];
                tencent_request(client, t, "ListTopic", &extra)
            })
            .collect();
        tencent.push((total, super::load(client, reqs, 1).await));
    }
    vec![("Tencent ListTopic".into(), tencent)]
}

/// Fills a fresh server with `n` topics (and groups and subscriptions where the vendor APIs allow);
/// returns a description of what was created.
pub async fn fill(client: &reqwest::Client, t: &Target, n: usize) -> String {
    let started = Instant::now();
    let inst = tencent_instance(client, t, "ap-guangzhou").await;
    tencent_topics(client, t, "ap-guangzhou", &inst, "m", n).await;
    let ali = "alikafka_pre-cn-bench0000001".to_string();
    run_batched(client, (0..n).map(|i| alibaba_create_group(client, t, &ali, &format!("group{i:06}")))).await;
    let mut made = format!("{n} topics (Tencent), {n} consumer groups (Alibaba)");
    if let Some(subs) = eventgrid_subscriptions(client, t, n).await {
        made.push_str(&format!(", {subs} subscriptions (EventGrid)"));
    }
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    made
}

/// Creates `n` EventGrid subscriptions, once the EventGrid API is served; returns how many were made.
async fn eventgrid_subscriptions(_client: &reqwest::Client, _t: &Target, _n: usize) -> Option<usize> {
    None
}

/// EventGrid delivery throughput and latency, once the EventGrid API is served.
pub async fn eventgrid_delivery(_client: &reqwest::Client, _t: &Target, _events: usize) -> Option<String> {
    let _ = Duration::ZERO;
    None
}
