//! The admin API: health, reset (all / vendor / account), state export and import, the request log with
//! the signature-failure explanation, and fault injection as a real signed request sees it.

use crate::admin_support;
use crate::common;

use std::time::{Duration, Instant};

use admin_support::*;
use localyun::engine::kafka::Scope;
use localyun::Config;
use serde_json::{json, Value};

async fn get(s: &common::TestServer, path: &str) -> (u16, Value) {
    let r = s.client.get(format!("{}{path}", s.base)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn post(s: &common::TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s.client.post(format!("{}{path}", s.base)).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn delete(s: &common::TestServer, path: &str) -> (u16, Value) {
    let r = s.client.delete(format!("{}{path}", s.base)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn topics(s: &common::TestServer) -> Vec<String> {
    topic_names(&s.client, &s.base, &s.host).await
}

async fn create(s: &common::TestServer, topic: &str) -> Value {
    create_topic(&s.client, &s.base, &s.host, topic).await
}

#[tokio::test]
async fn health_reports_version_services_and_uptime() {
    let s = common::start().await;
    let (status, body) = get(&s, "/_localyun/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["services"],
        json!([
            "tencent-ckafka",
            "tencent-ckafka-v3",
            "alibaba-kafka",
            "alibaba-rocketmq",
            "huawei-eventgrid",
            "alibaba-ons",
            "alibaba-rocketmq-http"
        ])
    );
    assert!(body["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["persistence"], Value::Null);
}

#[tokio::test]
async fn reset_everything_restores_the_start_up_state() {
    let s = common::start().await;
    assert_eq!(create(&s, "orders").await["code"], 0);
    assert_eq!(topics(&s).await, vec!["orders"]);
    let (status, body) = post(&s, "/_localyun/reset", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reset"], json!({"vendor": null, "account": null}));
    assert!(topics(&s).await.is_empty());
    // The defaults are back: the default instance answers (ListTopic above succeeded on it).
    let (_, log) = get(&s, "/_localyun/requests").await;
    assert_eq!(log["requests"].as_array().unwrap().len(), 1, "the log restarts at the reset: {log}");
}

#[tokio::test]
async fn reset_one_vendor_and_reject_unknown_scopes() {
    let s = common::start().await;
    assert_eq!(create(&s, "orders").await["code"], 0);
    let (status, _) = post(&s, "/_localyun/reset?vendor=tencent-ckafka", json!({})).await;
    assert_eq!(status, 200);
    assert!(topics(&s).await.is_empty());
    assert!(s.state.store.kafka.read().contains_instance(&default_instance()));

    let (status, body) = post(&s, "/_localyun/reset", json!({"vendor": "nosuchcloud"})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown vendor"), "{body}");
    let (status, body) = post(&s, "/_localyun/reset", json!({"account": "999"})).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("unknown account"), "{body}");
    let (status, _) = post(&s, "/_localyun/reset", json!({"acount": "x"})).await;
    assert_eq!(status, 400, "unknown fields are refused");
}

#[tokio::test]
async fn reset_one_account_leaves_the_others_alone() {
    let s = common::start_with(Config { credentials: Some("AKIDB:secret-b@200000000002".into()), ..Config::default() })
        .await;
    assert_eq!(create(&s, "mine").await["code"], 0);
    let other_instance = localyun::tencent::ckafka::default_instance_id("200000000002", REGION);
    let created = tencent_as(
        &s.client,
        &s.base,
        &s.host,
        "AKIDB",
        "secret-b",
        "CreateTopic",
        &[("instanceId", &other_instance), ("topicName", "theirs"), ("partitionNum", "1"), ("replicaNum", "1")],
    )
    .await;
    assert_eq!(created["code"], 0, "{created}");

    let (status, body) = post(&s, "/_localyun/reset", json!({"account": "200000000002"})).await;
    assert_eq!(status, 200, "{body}");
    let model = s.state.store.kafka.read();
    let theirs = model.instance(Scope::ANY, &other_instance).unwrap();
    assert!(theirs.read().topics().is_empty(), "the account's default instance is provisioned again, empty");
    assert!(model.instance(Scope::ANY, &default_instance()).unwrap().read().topics().contains_key("mine"));
}

#[tokio::test]
async fn state_export_and_import_round_trip_exactly() {
    let s = common::start().await;
    assert_eq!(create(&s, "orders").await["code"], 0);
    let (status, exported) = get(&s, "/_localyun/state").await;
    assert_eq!(status, 200);
    assert_eq!(exported["localyun_state_format"], 1);
    for model in ["kafka", "rocketmq", "eventbus", "accounts"] {
        assert!(exported["models"].get(model).is_some(), "{model} missing");
    }

    post(&s, "/_localyun/reset", json!({})).await;
    assert!(topics(&s).await.is_empty());
    let (status, body) = post(&s, "/_localyun/state", exported.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(topics(&s).await, vec!["orders"]);
    let (_, again) = get(&s, "/_localyun/state").await;
    assert_eq!(again, exported);

    // A bad document changes nothing.
    for (bad, expected) in [
        (json!({"models": {}}), "localyun_state_format"),
        (json!({"localyun_state_format": 99, "models": {}}), "not supported"),
        (json!({"localyun_state_format": 1, "models": {"nosuch": {}}}), "unknown model"),
        (json!({"localyun_state_format": 1, "models": {"kafka": {"instances": 5}}}), "models.kafka"),
    ] {
        let (status, body) = post(&s, "/_localyun/state", bad).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains(expected), "{body}");
    }
    let r = s
        .client
        .post(format!("{}/_localyun/state", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(topics(&s).await, vec!["orders"]);
}

#[tokio::test]
async fn request_log_explains_signature_failures_without_secrets() {
    let s = common::start().await;
    assert!(topics(&s).await.is_empty());
    // Signed with the wrong secret: the server's string to sign is logged for the user to diff.
    let query = signed_query(&s.host, KEY_ID, "wrong-secret", "ListTopic", &[("instanceId", &default_instance())]);
    let answer: Value =
        s.client.get(format!("{}/v2/index.php?{query}", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["code"], 4100);

    let (status, body) = get(&s, "/_localyun/requests").await;
    assert_eq!(status, 200);
    let entries = body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let ok = &entries[0];
    assert_eq!(ok["vendor"], "tencent-ckafka");
    assert_eq!(ok["action"], "ListTopic");
    assert_eq!(ok["account"], ACCOUNT);
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["error_code"], Value::Null);
    assert!(ok["latency_us"].as_u64().is_some());
    assert!(ok.get("string_to_sign").is_none());

    let failed = &entries[1];
    assert_eq!(failed["error_code"], "4100");
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.replace('_', "."), v))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(failed["string_to_sign"], format!("GET{}/v2/index.php?{}", s.host, joined.join("&")));
    let text = body.to_string();
    assert!(!text.contains(SECRET) && !text.contains("wrong-secret"), "no secret in the log");

    let (_, last) = get(&s, "/_localyun/requests?limit=1").await;
    assert_eq!(last["requests"].as_array().unwrap().len(), 1);
    assert_eq!(last["requests"][0]["error_code"], "4100");
    let (_, none) = get(&s, "/_localyun/requests?vendor=alibaba-rocketmq").await;
    assert!(none["requests"].as_array().unwrap().is_empty());
    let (status, _) = get(&s, "/_localyun/requests?vendor=nope").await;
    assert_eq!(status, 400);
    let (status, _) = delete(&s, "/_localyun/requests").await;
    assert_eq!(status, 204);
    let (_, cleared) = get(&s, "/_localyun/requests").await;
    assert!(cleared["requests"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_counted_error_fault_hits_real_requests_then_expires() {
    let s = common::start().await;
    let (status, fault) = post(
        &s,
        "/_localyun/faults",
        json!({"vendor": "tencent-ckafka", "action": "CreateTopic", "error_code": "5100", "message": "try again", "count": 1}),
    )
    .await;
    assert_eq!(status, 201, "{fault}");
    assert_eq!(fault["remaining"], 1);

    // Other actions are untouched.
    assert!(topics(&s).await.is_empty());
    let first = create(&s, "orders").await;
    assert_eq!(first["code"], 5100, "{first}");
    assert_eq!(first["message"], "try again");
    assert!(
        s.state.store.kafka.read().instance(Scope::ANY, &default_instance()).unwrap().read().topics().is_empty(),
        "the fault replaced the call"
    );
    let retried = create(&s, "orders").await;
    assert_eq!(retried["code"], 0, "{retried}");

    let (_, log) = get(&s, "/_localyun/requests").await;
    let entries = log["requests"].as_array().unwrap();
    assert_eq!(entries[1]["action"], "CreateTopic");
    assert_eq!(entries[1]["error_code"], "5100");
    assert_eq!(entries[2]["error_code"], Value::Null);
    let (_, faults) = get(&s, "/_localyun/faults").await;
    assert!(faults["faults"].as_array().unwrap().is_empty(), "a used-up fault disappears");
}

#[tokio::test]
async fn delay_and_percentage_faults_and_delete() {
    let s = common::start().await;
    let (status, _) =
        post(&s, "/_localyun/faults", json!({"vendor": "tencent", "action": "ListTopic", "delay_ms": 300})).await;
    assert_eq!(status, 201);
    let started = Instant::now();
    assert!(topics(&s).await.is_empty(), "a delay-only fault lets the real answer through");
    assert!(started.elapsed() >= Duration::from_millis(300));

    let (status, _) =
        post(&s, "/_localyun/faults", json!({"vendor": "tencent-ckafka", "error_code": "6000", "percentage": 100.0}))
            .await;
    assert_eq!(status, 201);
    for _ in 0..3 {
        assert_eq!(create(&s, "t").await["code"], 6000);
    }
    let (_, listed) = get(&s, "/_localyun/faults").await;
    assert_eq!(listed["faults"].as_array().unwrap().len(), 2);
    assert_eq!(listed["faults"][1]["fired"], 3);

    let (status, body) = delete(&s, "/_localyun/faults").await;
    assert_eq!(status, 200);
    assert_eq!(body["removed"], 2);
    assert_eq!(create(&s, "t").await["code"], 0);

    let (status, _) =
        post(&s, "/_localyun/faults", json!({"vendor": "tencent-ckafka", "error_code": "6000", "percentage": 0.0}))
            .await;
    assert_eq!(status, 201);
    assert_eq!(create(&s, "u").await["code"], 0, "0% never fires");
}

#[tokio::test]
async fn invalid_faults_are_refused() {
    let s = common::start().await;
    for (bad, expected) in [
        (json!({"vendor": "nope", "error_code": "1"}), "vendor must be one of"),
        (json!({"vendor": "tencent-ckafka"}), "error_code, a delay_ms"),
        (json!({"vendor": "tencent-ckafka", "error_code": "1", "count": 0}), "count"),
        (json!({"vendor": "tencent-ckafka", "error_code": "1", "percentage": 150}), "percentage"),
        (json!({"vendor": "tencent-ckafka", "error_code": "1", "colour": "red"}), "unknown field"),
    ] {
        let (status, body) = post(&s, "/_localyun/faults", bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(expected), "{body}");
    }
    let (status, _) = delete(&s, "/_localyun/faults?vendor=nope").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn state_export_and_request_log_hold_no_secret_or_signature() {
    let s = common::start_with(Config {
        credentials: Some("AKIDEXTRA:extra-secret-value@200000000002".into()),
        ..Config::default()
    })
    .await;
    let query = signed_query(&s.host, "AKIDEXTRA", "extra-secret-value", "ListInstance", &[]);
    let answer: Value =
        s.client.get(format!("{}/v2/index.php?{query}", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["code"], 0, "{answer}");
    let signature = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "Signature").unwrap().1.into_owned();

    let state = s.client.get(format!("{}/_localyun/state", s.base)).send().await.unwrap().text().await.unwrap();
    let requests = s.client.get(format!("{}/_localyun/requests", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(requests.contains("ListInstance"), "{requests}");
    for text in [&state, &requests] {
        assert!(!text.contains(SECRET) && !text.contains("extra-secret-value"), "a secret leaked: {text}");
        assert!(!text.contains(&signature), "a request signature leaked: {text}");
    }
}

/// Issue 13 item 3: the browser-sendable `text/plain` import from a foreign page must not wipe the state, and
/// a DNS-rebound Host name must not read it.
#[tokio::test]
async fn web_pages_and_foreign_host_names_cannot_drive_the_admin_api() {
    let s = common::start().await;
    create(&s, "orders").await;
    let wipe = r#"{"localyun_state_format":1,"models":{}}"#;
    // The issue's curl: text/plain from http://evil.example.
    let r = s
        .client
        .post(format!("{}/_localyun/state", s.base))
        .header("content-type", "text/plain")
        .header("origin", "http://evil.example")
        .body(wipe)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("origin"), "{body}");
    // Same page origin, JSON type: still refused for the Origin alone.
    let r = s
        .client
        .post(format!("{}/_localyun/reset", s.base))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // No Origin, but not JSON (a form or text/plain post): 415.
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let r = s
            .client
            .post(format!("{}/_localyun/state", s.base))
            .header("content-type", content_type)
            .body(wipe)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{content_type}");
    }
    // DNS rebinding: a foreign Host is refused on reads too.
    let r =
        s.client.get(format!("{}/_localyun/state", s.base)).header("host", "attacker.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .client
        .get(format!("{}/_localyun/requests", s.base))
        .header("host", "attacker.example:4588")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Nothing was wiped; local names and local origins still work.
    assert_eq!(topics(&s).await, vec!["orders"]);
    for host in ["localhost:4588", "127.0.0.1", "[::1]:4588"] {
        let r = s.client.get(format!("{}/_localyun/health", s.base)).header("host", host).send().await.unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    let r = s
        .client
        .post(format!("{}/_localyun/reset", s.base))
        .header("origin", "http://localhost:3000")
        .json(&json!({"vendor": "tencent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(topics(&s).await.is_empty());
    // The vendor APIs are not the admin API: they answer any Host (SDKs use vendor host names).
    let r =
        s.client.get(format!("{}/v1", s.base)).header("host", "eg.cn-north-4.myhuaweicloud.com").send().await.unwrap();
    assert_ne!(r.status(), 403);
}

/// The optional admin token (`LOCALYUN_ADMIN_TOKEN`) and extra host names (`LOCALYUN_ADMIN_HOSTS`).
#[tokio::test]
async fn the_admin_token_and_configured_host_names() {
    use localyun::admin::guard::AdminPolicy;
    let (_, state) = localyun::app_from_config(Config::default()).unwrap();
    let app = localyun::app_with_admin_policy(state, AdminPolicy::new(vec!["localyun".into()], Some("tok-123".into())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // Health stays open for the container's probe.
    assert_eq!(client.get(format!("{base}/_localyun/health")).send().await.unwrap().status(), 200);
    let r = client.get(format!("{base}/_localyun/state")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client.post(format!("{base}/_localyun/reset")).bearer_auth("wrong").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r =
        client.post(format!("{base}/_localyun/reset")).bearer_auth("tok-123").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/_localyun/requests"))
        .header("x-localyun-admin-token", "tok-123")
        .header("host", "localyun:4588")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/_localyun/requests"))
        .header("x-localyun-admin-token", "tok-123")
        .header("host", "other:4588")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// A fault for an action the vendor API does not declare would never fire: refused with the list.
#[tokio::test]
async fn a_fault_for_an_undeclared_action_is_refused() {
    let s = common::start().await;
    let (status, body) =
        post(&s, "/_localyun/faults", json!({"vendor": "tencent", "action": "CreateTopc", "error_code": "4000"})).await;
    assert_eq!(status, 400);
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("CreateTopc") && message.contains("CreateTopic"), "{message}");
    let (status, _) =
        post(&s, "/_localyun/faults", json!({"vendor": "rocketmq", "action": "topic/create", "error_code": "X"})).await;
    assert_eq!(status, 201);
    let (status, _) = post(&s, "/_localyun/faults", json!({"vendor": "eventgrid", "action": "*", "delay_ms": 1})).await;
    assert_eq!(status, 201);
}

/// Issue 13 item 15: every admin example of the README (`curl ... localhost:4588/_localyun/...`) works on a
/// default start, with the headers the example sends (no 404 for an account the start does not know, no
/// 415 for a missing JSON content type).
#[tokio::test]
async fn the_readmes_admin_examples_work_on_a_default_start() {
    let readme = include_str!("../../README.md");
    let s = common::start().await;
    let mut tried = 0;
    // Commands, continuation lines (`\`) joined.
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in readme.lines().map(|l| l.trim().trim_start_matches("$ ")) {
        if pending.is_empty() && !line.starts_with("curl ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    for line in commands.iter().filter(|c| c.contains("localhost:4588/_localyun/")) {
        let after = &line[line.find("localhost:4588").unwrap() + "localhost:4588".len()..];
        let path: String = after.chars().take_while(|c| !c.is_whitespace() && *c != '\'' && *c != '"').collect();
        let method = if line.contains("-X POST") {
            reqwest::Method::POST
        } else if line.contains("-X DELETE") {
            reqwest::Method::DELETE
        } else {
            reqwest::Method::GET
        };
        let mut request = s.client.request(method, format!("{}{path}", s.base));
        if line.contains("-H \"$J\"") || line.contains("Content-Type: application/json") {
            request = request.header("content-type", "application/json");
        }
        if let Some(start) = line.find("-d '") {
            let body = &line[start + 4..];
            request = request.body(body[..body.find('\'').unwrap()].to_string());
        }
        if line.contains("--data-binary @snapshot.json") {
            let snapshot =
                s.client.get(format!("{}/_localyun/state", s.base)).send().await.unwrap().text().await.unwrap();
            request = request.body(snapshot);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert!((200..300).contains(&status), "README example answered {status}: {line}");
        tried += 1;
    }
    assert!(tried >= 12, "the README's admin examples were found ({tried})");
}
