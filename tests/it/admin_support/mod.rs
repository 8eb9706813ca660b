//! Test-side client for the operability tests: an independent Tencent CKafka v2 signer (HmacSHA256 over
//! `GET + host + /v2/index.php?` + sorted `k=v` pairs, `_` in keys read as `.`) and admin helpers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

pub const KEY_ID: &str = "AKIDLOCAL";
pub const SECRET: &str = "local-secret";
pub const ACCOUNT: &str = "100000000001";
pub const REGION: &str = "ap-guangzhou";

fn nonce() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    (now % 1_000_000_000_000) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed) % 1000 + 1
}

/// The signed query string of a Tencent v2 GET request.
pub fn signed_query(host: &str, key_id: &str, secret: &str, action: &str, params: &[(&str, &str)]) -> String {
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut all: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Region".into(), REGION.into()),
        ("SecretId".into(), key_id.into()),
        ("Timestamp".into(), timestamp.to_string()),
        ("Nonce".into(), nonce().to_string()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
    ];
    for (k, v) in params {
        all.retain(|(existing, _)| existing != k);
        all.push((k.to_string(), v.to_string()));
    }
    let mut signed: Vec<(String, &str)> = all.iter().map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    signed.sort();
    let joined: Vec<String> = signed.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let to_sign = format!("GET{host}/v2/index.php?{}", joined.join("&"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    all.push(("Signature".into(), signature));
    form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish()
}

/// A signed Tencent CKafka v2 call with the default key; returns the JSON answer.
pub async fn tencent(client: &reqwest::Client, base: &str, host: &str, action: &str, params: &[(&str, &str)]) -> Value {
    tencent_as(client, base, host, KEY_ID, SECRET, action, params).await
}

pub async fn tencent_as(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    key_id: &str,
    secret: &str,
    action: &str,
    params: &[(&str, &str)],
) -> Value {
    let query = signed_query(host, key_id, secret, action, params);
    let response = client.get(format!("{base}/v2/index.php?{query}")).send().await.unwrap();
    assert_eq!(response.status(), 200, "Tencent answers every request with HTTP 200");
    response.json().await.unwrap()
}

/// The default Tencent instance of the default account in the test region.
pub fn default_instance() -> String {
    localyun::tencent::ckafka::default_instance_id(ACCOUNT, REGION)
}

pub async fn create_topic(client: &reqwest::Client, base: &str, host: &str, topic: &str) -> Value {
    let instance = default_instance();
    tencent(
        client,
        base,
        host,
        "CreateTopic",
        &[("instanceId", &instance), ("topicName", topic), ("partitionNum", "3"), ("replicaNum", "2")],
    )
    .await
}

/// The topic names of the default instance.
pub async fn topic_names(client: &reqwest::Client, base: &str, host: &str) -> Vec<String> {
    let instance = default_instance();
    let answer = tencent(client, base, host, "ListTopic", &[("instanceId", &instance), ("limit", "20")]).await;
    assert_eq!(answer["code"], 0, "{answer}");
    answer["topicList"].as_array().unwrap().iter().map(|t| t["topicName"].as_str().unwrap().to_string()).collect()
}
