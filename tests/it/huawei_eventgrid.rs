//! Huawei EventGrid REST API: every API's success, validation failure, unknown resource, duplicate, bad
//! signature and wrong project paths, with the documented status, code and envelope.

use crate::common;
use crate::huawei_support;

use huawei_support::{Eg, PROJECT};
use localyun::Config;
use serde_json::{json, Value};

fn webhook_target(url: &str) -> Value {
    json!({"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": url}, "transform": {"type": "ORIGINAL"}})
}

fn subscription_body(name: &str, channel_id: &str, source: &str) -> Value {
    json!({
        "name": name,
        "channel_id": channel_id,
        "sources": [{"name": source, "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": [source]}]}}],
        "targets": [webhook_target("http://127.0.0.1:9/hook")],
    })
}

/// A channel with one custom source, for the tests that need them.
async fn channel_with_source(eg: &Eg, channel: &str, source: &str) -> String {
    let channel_id = eg.create_channel(channel).await;
    eg.create_source(&channel_id, source).await;
    channel_id
}

#[tokio::test]
async fn api_versions_without_auth() {
    let eg = Eg::start().await;
    let r = eg.srv.client.get(format!("{}/", eg.srv.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["versions"][0]["id"], "v1");
    assert_eq!(body["versions"][0]["status"], "CURRENT");
    assert_eq!(body["versions"][0]["links"][0]["href"], format!("http://{}/v1", eg.srv.host));
    let body: Value = eg.srv.client.get(format!("{}/v1", eg.srv.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["version"]["id"], "v1");
}

#[tokio::test]
async fn unknown_api_is_the_gateway_404() {
    let eg = Eg::start().await;
    let r = eg.get("/nothing-here", &[]).await;
    r.assert_error(404, "APIGW.0101", "The API does not exist or has not been published in the environment");
    let r = eg.call("PATCH", "/channels", &[], None).await;
    r.assert_error(404, "APIGW.0101", "The API does not exist or has not been published in the environment");
}

#[tokio::test]
async fn signatures_are_verified() {
    let eg = Eg::start().await;
    eg.get("/channels", &[]).await.ok();
    let path = format!("/v1/{PROJECT}/channels");
    // Wrong secret.
    let r = eg.as_key(common::KEY_ID, "wrong", PROJECT).get("/channels", &[]).await;
    r.assert_error(401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail");
    let logged = eg.srv.state.requests.last(1);
    assert!(logged[0].string_to_sign.as_deref().unwrap_or("").starts_with("SDK-HMAC-SHA256\n"));
    // Unknown key.
    let r = eg.as_key("AKNOBODY", "x", PROJECT).get("/channels", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error_code"], "APIGW.0301");
    // A tampered header after signing.
    let r = eg
        .raw("GET", &path, &[], None, |h| {
            h.iter_mut().for_each(|(k, v)| {
                if *k == "x-project-id" {
                    *v = "ffffffffffffffffffffffffffffffff".into()
                }
            })
        })
        .await;
    assert_eq!(r.status, 401);
    // A signed query (sorted, %20-encoded) verifies; the same signature over a changed query does not.
    let r = eg.raw("GET", &path, &[("limit", "5"), ("fuzzy_name", "a b~*")], None, |_| {}).await;
    r.ok();
    let date = huawei_support::sdk_date_now();
    let signed = [("host", eg.srv.host.clone()), ("x-sdk-date", date.clone())];
    let auth =
        huawei_support::authorization(common::KEY_ID, common::SECRET, "GET", &path, &[("limit", "5")], &signed, b"");
    let changed = eg
        .srv
        .client
        .get(format!("{}{path}?limit=6", eg.srv.base))
        .header("x-sdk-date", &date)
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 401);
    let unchanged = eg
        .srv
        .client
        .get(format!("{}{path}?limit=5", eg.srv.base))
        .header("x-sdk-date", &date)
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 200, "only host and x-sdk-date signed is enough");
    // Stale X-Sdk-Date: outside the replay window.
    let r = eg
        .raw("GET", &path, &[], None, |h| {
            h.iter_mut().for_each(|(k, v)| {
                if *k == "x-sdk-date" {
                    *v = "20200101T000000Z".into()
                }
            })
        })
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body["error_msg"].as_str().unwrap().contains("signature expired"), "{}", r.body);
    // Malformed date.
    let r = eg
        .raw("GET", &path, &[], None, |h| {
            h.iter_mut().for_each(|(k, v)| {
                if *k == "x-sdk-date" {
                    *v = "2020-01-01".into()
                }
            })
        })
        .await;
    assert_eq!(r.status, 401);
    // No credentials at all.
    let r = eg.raw("GET", &path, &[], None, |h| h.retain(|(k, _)| *k != "authorization")).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
    // Malformed Authorization.
    let r = eg
        .raw("GET", &path, &[], None, |h| {
            h.iter_mut().for_each(|(k, v)| {
                if *k == "authorization" {
                    *v = "SDK-HMAC-SHA256 nonsense".into()
                }
            })
        })
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn stale_dates_are_refused_and_lenient_mode_skips_only_the_hmac() {
    let eg =
        Eg::wrap(common::start_with(Config { auth: localyun::config::AuthMode::Lenient, ..Config::default() }).await);
    let r = eg.as_key("ANYKEY", "any", PROJECT).get("/channels", &[]).await;
    r.ok();
    let path = format!("/v1/{PROJECT}/channels");
    let r = eg.raw("GET", &path, &[], None, |h| h.retain(|(k, _)| *k != "x-sdk-date")).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
}

#[tokio::test]
async fn x_project_id_must_match_the_path() {
    let eg = Eg::start().await;
    let path = format!("/v1/{PROJECT}/channels");
    // Sign with a different X-Project-Id than the path names.
    let other = eg.as_key(common::KEY_ID, common::SECRET, "ffffffffffffffffffffffffffffffff");
    let r = other.raw("GET", &path, &[], None, |_| {}).await;
    r.assert_error(400, "EG.00513000", "Parameter error");
}

#[tokio::test]
async fn projects_belong_to_accounts() {
    let config = Config { credentials: Some("AKTEAMB:team-b@200000000002".into()), ..Config::default() };
    let eg = Eg::wrap(common::start_with(config).await);
    // Team B may not use the default account's project.
    let b_on_a = eg.as_key("AKTEAMB", "team-b", PROJECT);
    b_on_a.get("/channels", &[]).await.assert_error(403, "EG.00512000", "no permission to operate");
    // Team B's own project is bound at first use, with its own default channel and official sources.
    let b = eg.as_key("AKTEAMB", "team-b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    let channels = b.get("/channels", &[]).await;
    assert_eq!(channels.ok()["total"], 1);
    let id = b.create_channel("team-b-channel").await;
    // The default account cannot see it, neither through its own project nor through B's.
    let a = eg.as_key(common::KEY_ID, common::SECRET, PROJECT);
    a.get(&format!("/channels/{id}"), &[]).await.assert_error(404, "EG.00514001", "resource not found");
    let a_on_b = eg.as_key(common::KEY_ID, common::SECRET, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    a_on_b.get("/channels", &[]).await.assert_error(403, "EG.00512000", "no permission to operate");
    // Invalid project ids are parameter errors.
    let bad = eg.as_key(common::KEY_ID, common::SECRET, "bad~project");
    assert_eq!(bad.get("/channels", &[]).await.status, 400);
}

#[tokio::test]
async fn token_auth() {
    let eg = Eg::start().await;
    let url = format!("{}/v3/auth/tokens", eg.srv.base);
    let token_body = |password: &str, project: Value| json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": common::KEY_ID, "password": password, "domain": {"name": "d"}}}}, "scope": {"project": project}}});
    let r = eg.srv.client.post(&url).json(&token_body(common::SECRET, json!({"id": PROJECT}))).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["project"]["id"], PROJECT);
    assert_eq!(body["token"]["methods"][0], "password");
    let list = eg
        .srv
        .client
        .get(format!("{}/v1/{PROJECT}/channels", eg.srv.base))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    // The token is scoped to its project.
    let other = eg
        .srv
        .client
        .get(format!("{}/v1/cccccccccccccccccccccccccccccccc/channels", eg.srv.base))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    // Unknown token.
    let bad = eg
        .srv
        .client
        .get(format!("{}/v1/{PROJECT}/channels", eg.srv.base))
        .header("x-auth-token", "MIIbogus")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0301");
    // Wrong password, and a token request without a project scope.
    let r = eg.srv.client.post(&url).json(&token_body("nope", json!({"id": PROJECT}))).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = eg.srv.client.post(&url).json(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": common::KEY_ID, "password": common::SECRET}}}}})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // A project named by name gets a stable id.
    let r =
        eg.srv.client.post(&url).json(&token_body(common::SECRET, json!({"name": "cn-north-4"}))).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["project"]["id"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn channels() {
    let eg = Eg::start().await;
    let list = eg.get("/channels", &[]).await;
    let default = &list.ok()["items"][0];
    assert_eq!((default["name"].as_str(), default["provider_type"].as_str()), (Some("default"), Some("OFFICIAL")));
    let default_id = eg.default_channel_id();

    let created = eg
        .post("/channels", &json!({"name": "orders", "description": "first channel", "provider_type": "CUSTOM"}))
        .await;
    let c = created.ok().clone();
    assert_eq!(
        (c["name"].as_str(), c["provider_type"].as_str(), c["description"].as_str()),
        (Some("orders"), Some("CUSTOM"), Some("first channel"))
    );
    assert_eq!(c["created_time"].as_str().unwrap().len(), 19);
    let id = c["id"].as_str().unwrap();

    eg.post("/channels", &json!({"name": "orders"})).await.assert_error(400, "EG.00513001", "name duplicated");
    eg.post("/channels", &json!({"name": "default"})).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/channels", &json!({"name": "_bad"})).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/channels", &json!({})).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/channels", &json!({"name": "x", "provider_type": "OFFICIAL"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    let r = eg.raw("POST", &format!("/v1/{PROJECT}/channels"), &[], Some(b"{not json".to_vec()), |_| {}).await;
    r.assert_error(400, "EG.00513000", "Parameter error");

    let shown = eg.get(&format!("/channels/{id}"), &[]).await;
    assert_eq!(shown.ok()["name"], "orders");
    eg.get("/channels/nope", &[]).await.assert_error(404, "EG.00514001", "resource not found");

    let updated = eg.put(&format!("/channels/{id}"), &json!({"description": "changed"})).await;
    assert_eq!(updated.ok()["description"], "changed");
    eg.put("/channels/nope", &json!({"description": "x"})).await.assert_error(404, "EG.00514001", "resource not found");
    eg.put(&format!("/channels/{default_id}"), &json!({"description": "x"})).await.assert_error(
        403,
        "EG.00514004",
        "resource not modified",
    );
    eg.put(&format!("/channels/{id}"), &json!({"description": 5})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );

    // Filters and paging.
    eg.create_channel("payments").await;
    let fuzzy = eg.get("/channels", &[("fuzzy_name", "PAY")]).await;
    assert_eq!(fuzzy.ok()["total"], 1);
    let custom = eg.get("/channels", &[("provider_type", "CUSTOM"), ("sort", "name:asc"), ("limit", "1")]).await;
    let custom = custom.ok();
    assert_eq!((custom["total"].as_i64(), custom["size"].as_i64()), (Some(2), Some(1)));
    assert_eq!(custom["items"][0]["name"], "orders");
    let exact = eg.get("/channels", &[("name", "orders")]).await;
    assert_eq!(exact.ok()["total"], 1);
    eg.get("/channels", &[("limit", "0")]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/channels", &[("limit", "1001")]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/channels", &[("offset", "-1")]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/channels", &[("provider_type", "SYSTEM")]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/channels", &[("sort", "size:asc")]).await.assert_error(400, "EG.00513000", "Parameter error");
    let beyond = eg.get("/channels", &[("offset", "50")]).await;
    assert_eq!(beyond.ok()["size"], 0);

    // A channel with a source cannot be deleted; the default channel never.
    eg.create_source(id, "order-service").await;
    eg.delete(&format!("/channels/{id}")).await.assert_error(409, "EG.00514002", "resource conflict");
    eg.delete(&format!("/channels/{default_id}")).await.assert_error(403, "EG.00514004", "resource not modified");
    let payments =
        eg.get("/channels", &[("name", "payments")]).await.ok()["items"][0]["id"].as_str().unwrap().to_string();
    let r = eg.delete(&format!("/channels/{payments}")).await;
    assert_eq!(r.status, 204);
    assert!(r.headers.contains_key("x-request-id"));
    eg.delete(&format!("/channels/{payments}")).await.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn event_sources() {
    let eg = Eg::start().await;
    let official = eg.get("/sources", &[("provider_type", "OFFICIAL")]).await;
    let official = official.ok();
    assert!(official["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "HC.OBS" && s["event_types"][0]["name"] == "OBS:CloudTrace:ApiCall"));
    let channel_id = eg.create_channel("app").await;
    let created = eg
        .post(
            "/sources",
            &json!({"name": "first-source", "description": "first event source", "channel_id": channel_id}),
        )
        .await;
    let s = created.ok().clone();
    assert_eq!(
        (s["provider_type"].as_str(), s["type"].as_str(), s["status"].as_str()),
        (Some("CUSTOM"), Some("APPLICATION"), Some("RUNNING"))
    );
    assert_eq!(
        (s["channel_id"].as_str(), s["channel_name"].as_str(), s["label"].as_str()),
        (Some(channel_id.as_str()), Some("app"), Some("first-source"))
    );
    let id = s["id"].as_str().unwrap();

    eg.post("/sources", &json!({"name": "first-source", "channel_id": channel_id})).await.assert_error(
        400,
        "EG.00513001",
        "name duplicated",
    );
    eg.post("/sources", &json!({"name": "Upper", "channel_id": channel_id})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/sources", &json!({"name": "hc.mine", "channel_id": channel_id})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/sources", &json!({"name": "no-channel"})).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/sources", &json!({"name": "x", "channel_id": channel_id, "type": "KAFKA"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/sources", &json!({"name": "mq", "channel_id": channel_id, "type": "ROCKETMQ", "detail": {"topic": "t"}}))
        .await
        .assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/sources", &json!({"name": "x", "channel_id": "nope"})).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    eg.post("/sources", &json!({"name": "x", "channel_id": eg.default_channel_id()})).await.assert_error(
        400,
        "EG.00513005",
        "invalid channel",
    );
    let mq = eg.post("/sources", &json!({"name": "mq", "channel_id": channel_id, "type": "ROCKETMQ", "detail": {"group": "g", "topic": "t", "access_key": "a", "secret_key": "s"}})).await;
    let detail: Value = serde_json::from_str(mq.ok()["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["topic"], "t");

    assert_eq!(eg.get(&format!("/sources/{id}"), &[]).await.ok()["name"], "first-source");
    eg.get("/sources/nope", &[]).await.assert_error(404, "EG.00514001", "resource not found");
    assert_eq!(eg.get("/sources", &[("channel_id", &channel_id)]).await.ok()["total"], 2);
    assert_eq!(eg.get("/sources", &[("fuzzy_label", "FIRST")]).await.ok()["total"], 1);

    let updated = eg.put(&format!("/sources/{id}"), &json!({"description": "changed"})).await;
    assert_eq!(updated.ok()["description"], "changed");
    eg.put("/sources/nope", &json!({})).await.assert_error(404, "EG.00514001", "resource not found");
    let obs = official["items"].as_array().unwrap().iter().find(|s| s["name"] == "HC.OBS").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    eg.put(&format!("/sources/{obs}"), &json!({"description": "x"})).await.assert_error(
        403,
        "EG.00514004",
        "resource not modified",
    );
    eg.delete(&format!("/sources/{obs}")).await.assert_error(403, "EG.00514004", "resource not modified");

    // A source a subscription uses cannot be deleted.
    let sub = eg.post("/subscriptions", &subscription_body("uses-source", &channel_id, "first-source")).await;
    let sub_id = sub.ok()["id"].as_str().unwrap().to_string();
    eg.delete(&format!("/sources/{id}")).await.assert_error(409, "EG.00514002", "resource conflict");
    assert_eq!(eg.delete(&format!("/subscriptions/{sub_id}")).await.status, 204);
    assert_eq!(eg.delete(&format!("/sources/{id}")).await.status, 204);
    eg.delete(&format!("/sources/{id}")).await.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn subscriptions() {
    let eg = Eg::start().await;
    let channel_id = channel_with_source(&eg, "orders", "order-service").await;
    let created = eg.post("/subscriptions", &subscription_body("sub-1", &channel_id, "order-service")).await;
    let s = created.ok().clone();
    assert_eq!(
        (s["status"].as_str(), s["type"].as_str(), s["channel_name"].as_str()),
        (Some("CREATED"), Some("EVENT"), Some("orders"))
    );
    assert_eq!(s["targets"][0]["detail"]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(s["targets"][0]["transform"]["type"], "ORIGINAL");
    assert_eq!(s["sources"][0]["filter"]["source"][0]["op"], "StringIn");
    let id = s["id"].as_str().unwrap().to_string();
    let source_id = s["sources"][0]["id"].as_str().unwrap().to_string();
    let target_id = s["targets"][0]["id"].as_str().unwrap().to_string();

    // Validation.
    eg.post("/subscriptions", &subscription_body("sub-1", &channel_id, "order-service")).await.assert_error(
        400,
        "EG.00513001",
        "name duplicated",
    );
    let mut two_sources = subscription_body("two", &channel_id, "order-service");
    let one = two_sources["sources"][0].clone();
    two_sources["sources"] = json!([one.clone(), one]);
    eg.post("/subscriptions", &two_sources).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut no_targets = subscription_body("none", &channel_id, "order-service");
    no_targets["targets"] = json!([]);
    eg.post("/subscriptions", &no_targets).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut bad_filter = subscription_body("bf", &channel_id, "order-service");
    bad_filter["sources"][0]["filter"] = json!({"source": [{"op": "Regex", "values": ["x"]}]});
    eg.post("/subscriptions", &bad_filter).await.assert_error(400, "EG.00513004", "invalid filter parameters");
    let mut big_filter = subscription_body("big", &channel_id, "order-service");
    big_filter["sources"][0]["filter"] = json!({"source": [{"op": "StringIn", "values": ["x".repeat(2050)]}]});
    eg.post("/subscriptions", &big_filter).await.assert_error(400, "EG.00513004", "invalid filter parameters");
    let mut bad_url = subscription_body("bu", &channel_id, "order-service");
    bad_url["targets"][0]["detail"]["url"] = json!("ftp://x");
    eg.post("/subscriptions", &bad_url).await.assert_error(400, "EG.00513003", "invalid target address");
    let mut no_transform = subscription_body("nt", &channel_id, "order-service");
    no_transform["targets"][0].as_object_mut().unwrap().remove("transform");
    eg.post("/subscriptions", &no_transform).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut bad_variable = subscription_body("bv", &channel_id, "order-service");
    bad_variable["targets"][0]["transform"] = json!({"type": "VARIABLE", "value": "{\"HC.x\": 1}", "template": "x"});
    eg.post("/subscriptions", &bad_variable).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut big_detail = subscription_body("bd", &channel_id, "order-service");
    big_detail["targets"][0]["detail"]["pad"] = json!("x".repeat(1100));
    eg.post("/subscriptions", &big_detail).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut fg_missing = subscription_body("fg", &channel_id, "order-service");
    fg_missing["targets"] = json!([{"name": "HC.FunctionGraph", "provider_type": "OFFICIAL", "detail": {"urn": "urn:fss:x"}, "transform": {"type": "ORIGINAL"}}]);
    eg.post("/subscriptions", &fg_missing).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut dup_target_id = subscription_body("dti", &channel_id, "order-service");
    dup_target_id["targets"][0]["id"] = json!(target_id);
    eg.post("/subscriptions", &dup_target_id).await.assert_error(400, "EG.00513001", "name duplicated");
    let mut bad_id = subscription_body("bid", &channel_id, "order-service");
    bad_id["targets"][0]["id"] = json!("UPPER");
    eg.post("/subscriptions", &bad_id).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/subscriptions", &subscription_body("nc", "nope", "order-service")).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    eg.post("/subscriptions", &subscription_body("ns", &channel_id, "no-such-source")).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    let mut unknown_connection = subscription_body("uc", &channel_id, "order-service");
    unknown_connection["targets"][0]["connection_id"] = json!("nope");
    eg.post("/subscriptions", &unknown_connection).await.assert_error(404, "EG.00514001", "resource not found");

    // Show, list.
    assert_eq!(eg.get(&format!("/subscriptions/{id}"), &[]).await.ok()["name"], "sub-1");
    eg.get("/subscriptions/nope", &[]).await.assert_error(404, "EG.00514001", "resource not found");
    assert_eq!(eg.get("/subscriptions", &[("channel_id", &channel_id)]).await.ok()["total"], 1);
    assert_eq!(eg.get("/subscriptions", &[("fuzzy_name", "SUB")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/subscriptions", &[("name", "sub")]).await.ok()["total"], 0);
    eg.get("/subscriptions", &[("limit", "x")]).await.assert_error(400, "EG.00513000", "Parameter error");

    // Update: targets replaced in full, the kept target keeps its id.
    let mut kept = s["targets"][0].clone();
    kept["retry_times"] = json!(3);
    let updated = eg
        .put(
            &format!("/subscriptions/{id}"),
            &json!({"description": "dev", "targets": [kept, webhook_target("http://127.0.0.1:9/second")]}),
        )
        .await;
    let u = updated.ok();
    assert_eq!(u["description"], "dev");
    assert_eq!(u["targets"].as_array().unwrap().len(), 2);
    assert_eq!(u["targets"][0]["id"], target_id.as_str());
    assert_eq!(u["targets"][0]["retry_times"], 3);
    eg.put("/subscriptions/nope", &json!({})).await.assert_error(404, "EG.00514001", "resource not found");
    eg.put(&format!("/subscriptions/{id}"), &json!({"targets": []})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );

    // UpdateSubscriptionSource.
    let new_filter = json!({"source": [{"op": "StringIn", "values": ["order-service"]}], "data": {"count": [{"op": "NumberIn", "values": [1, 2]}]}});
    let src = eg
        .put(
            &format!("/subscriptions/{id}/sources/{source_id}"),
            &json!({"name": "order-service", "provider_type": "CUSTOM", "filter": new_filter}),
        )
        .await;
    assert_eq!(src.ok()["filter"]["data"]["count"][0]["op"], "NumberIn");
    assert_eq!(src.ok()["id"], source_id.as_str());
    eg.put(
        &format!("/subscriptions/{id}/sources/nope"),
        &json!({"name": "order-service", "provider_type": "CUSTOM", "filter": {}}),
    )
    .await
    .assert_error(404, "EG.00514001", "resource not found");
    eg.put(
        &format!("/subscriptions/{id}/sources/{source_id}"),
        &json!({"name": "order-service", "provider_type": "CUSTOM", "filter": "x"}),
    )
    .await
    .assert_error(400, "EG.00513004", "invalid filter parameters");

    // Targets.
    let t = eg.post(&format!("/subscriptions/{id}/targets"), &json!({"id": "my-target-1", "name": "HC.SMN", "provider_type": "OFFICIAL", "smn_detail": {"urn": "urn:smn:x", "agency_name": "EG_TARGET_AGENCY"}, "retry_times": 16, "transform": {"type": "CONSTANT", "value": "hello"}})).await;
    assert_eq!(t.ok()["id"], "my-target-1");
    assert_eq!(t.ok()["smn_detail"]["urn"], "urn:smn:x");
    eg.post(&format!("/subscriptions/{id}/targets"), &json!({"id": "my-target-1", "name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": "http://127.0.0.1:9/x"}, "transform": {"type": "ORIGINAL"}})).await.assert_error(400, "EG.00513001", "name duplicated");
    eg.post(&format!("/subscriptions/{id}/targets"), &json!({"name": "HC.SMN", "provider_type": "OFFICIAL", "smn_detail": {"urn": "u"}, "transform": {"type": "ORIGINAL"}})).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/subscriptions/nope/targets", &webhook_target("http://127.0.0.1:9/x")).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    let ut = eg.put(&format!("/subscriptions/{id}/targets/my-target-1"), &json!({"id": "ignored", "name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": "http://127.0.0.1:9/y"}, "transform": {"type": "VARIABLE", "value": "{\"n\":\"$.data.n\"}", "template": "n=${n}"}})).await;
    assert_eq!(ut.ok()["id"], "my-target-1");
    assert_eq!(ut.ok()["transform"]["template"], "n=${n}");
    eg.put(&format!("/subscriptions/{id}/targets/nope"), &webhook_target("http://127.0.0.1:9/x")).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    assert_eq!(
        eg.get(&format!("/subscriptions/{id}/targets/my-target-1"), &[]).await.ok()["detail"]["url"],
        "http://127.0.0.1:9/y"
    );
    eg.get(&format!("/subscriptions/{id}/targets/nope"), &[]).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    assert_eq!(eg.delete(&format!("/subscriptions/{id}/targets/my-target-1")).await.status, 204);
    eg.delete(&format!("/subscriptions/{id}/targets/my-target-1")).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );

    // Enable / disable.
    let op =
        eg.post("/subscriptions/operation", &json!({"subscription_ids": [id, "nope"], "operation": "DISABLE"})).await;
    let op = op.ok();
    assert_eq!(op["failed_count"], 1);
    assert_eq!(op["events"][0], json!({"subscription_id": id}));
    assert_eq!(op["events"][1]["error_code"], "EG.00514001");
    assert_eq!(eg.get(&format!("/subscriptions/{id}"), &[]).await.ok()["status"], "DISABLED");
    eg.post("/subscriptions/operation", &json!({"subscription_ids": [id], "operation": "ENABLE"})).await.ok();
    assert_eq!(eg.get(&format!("/subscriptions/{id}"), &[]).await.ok()["status"], "ENABLED");
    let eleven: Vec<String> = (0..11).map(|i| format!("s{i}")).collect();
    eg.post("/subscriptions/operation", &json!({"subscription_ids": eleven, "operation": "ENABLE"}))
        .await
        .assert_error(400, "EG.00513000", "Parameter error");
    eg.post("/subscriptions/operation", &json!({"subscription_ids": [id], "operation": "PAUSE"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );

    // The literal obsbuckets route wins over {subscription_id}.
    let buckets = eg.get("/subscriptions/obsbuckets", &[]).await;
    assert_eq!(buckets.ok()["total"], 0);

    assert_eq!(eg.delete(&format!("/subscriptions/{id}")).await.status, 204);
    eg.delete(&format!("/subscriptions/{id}")).await.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn connections() {
    let eg = Eg::start().await;
    let created = eg
        .post(
            "/connections",
            &json!({"name": "private-link", "description": "", "vpc_id": "vpc-1", "subnet_id": "subnet-1", "type": {}}),
        )
        .await;
    let c = created.ok().clone();
    assert_eq!(
        (c["type"].as_str(), c["status"].as_str(), c["agency"].as_str()),
        (Some("WEBHOOK"), Some("CREATED"), Some("EG_TRUST"))
    );
    assert_eq!(c["flavor"]["concurrency"], 500);
    let id = c["id"].as_str().unwrap().to_string();
    eg.post("/connections", &json!({"name": "private-link", "vpc_id": "v", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513001",
        "name duplicated",
    );
    eg.post("/connections", &json!({"name": "default", "vpc_id": "v", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/connections", &json!({"name": "no-vpc", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/connections", &json!({"name": "k", "vpc_id": "v", "subnet_id": "s", "type": "KAFKA"}))
        .await
        .assert_error(400, "EG.00513000", "Parameter error");
    let kafka = eg.post("/connections", &json!({"name": "k", "vpc_id": "v", "subnet_id": "s", "type": "KAFKA", "kafka_detail": {"instance_id": "i", "addr": "127.0.0.1:9092", "enable_sasl_ssl": true, "user_name": "u", "password": "p", "acks": "all"}})).await;
    let k = kafka.ok();
    assert_eq!(k["kafka_detail"]["user_name"], "u");
    assert!(k["kafka_detail"].get("password").is_none(), "passwords are never echoed");
    eg.post("/connections", &json!({"name": "r", "vpc_id": "v", "subnet_id": "s", "type": "ROCKETMQ", "rocketmq_detail": {"instance_id": "i", "addr": "a", "use_tls": false, "enable_acl": "false"}})).await.ok();

    assert_eq!(eg.get(&format!("/connections/{id}"), &[]).await.ok()["name"], "private-link");
    eg.get("/connections/nope", &[]).await.assert_error(404, "EG.00514001", "resource not found");
    assert_eq!(eg.get("/connections", &[("fuzzy_name", "LINK")]).await.ok()["total"], 1);
    assert_eq!(
        eg.put(&format!("/connections/{id}"), &json!({"description": "changed"})).await.ok()["description"],
        "changed"
    );
    eg.put("/connections/nope", &json!({})).await.assert_error(404, "EG.00514001", "resource not found");

    // Used by a target: conflict. Being created: cannot be deleted.
    let channel_id = channel_with_source(&eg, "c", "src").await;
    let mut sub = subscription_body("with-conn", &channel_id, "src");
    sub["targets"][0]["connection_id"] = json!(id);
    let sub_id = eg.post("/subscriptions", &sub).await.ok()["id"].as_str().unwrap().to_string();
    assert_eq!(eg.get("/subscriptions", &[("connection_id", &id)]).await.ok()["total"], 1);
    eg.delete(&format!("/connections/{id}")).await.assert_error(409, "EG.00514002", "resource conflict");
    eg.delete(&format!("/subscriptions/{sub_id}")).await;
    set_connection_status(&eg, &id, "CREATING");
    eg.delete(&format!("/connections/{id}")).await.assert_error(409, "EG.00514005", "resource can not be deleted");
    set_connection_status(&eg, &id, "CREATED");
    assert_eq!(eg.delete(&format!("/connections/{id}")).await.status, 204);
    eg.delete(&format!("/connections/{id}")).await.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn endpoints() {
    let eg = Eg::start().await;
    let created = eg
        .post(
            "/endpoints",
            &json!({"name": "endpoint", "vpc_id": "vpc-1", "subnet_id": "subnet-1", "description": "string"}),
        )
        .await;
    let e = created.ok().clone();
    assert_eq!(
        (e["type"].as_str(), e["status"].as_str(), e["scalable"].as_bool()),
        (Some("PRIVATE"), Some("CREATED"), Some(false))
    );
    assert_eq!(e["domain"], eg.srv.host.as_str());
    let id = e["id"].as_str().unwrap().to_string();
    eg.post("/endpoints", &json!({"name": "endpoint", "vpc_id": "vpc-2", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513001",
        "name duplicated",
    );
    eg.post("/endpoints", &json!({"name": "other", "vpc_id": "vpc-1", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513006",
        "vpc CONFLICT",
    );
    eg.post("/endpoints", &json!({"name": "novpc", "subnet_id": "s"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    assert_eq!(eg.get("/endpoints", &[("type", "PRIVATE")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/endpoints", &[("type", "PUBLIC")]).await.ok()["total"], 0);
    assert_eq!(eg.get("/endpoints", &[("vpc_id", "vpc-1")]).await.ok()["total"], 1);
    eg.get("/endpoints", &[("type", "OTHER")]).await.assert_error(400, "EG.00513000", "Parameter error");
    assert_eq!(
        eg.put(&format!("/endpoints/{id}"), &json!({"description": "changed"})).await.ok()["description"],
        "changed"
    );
    eg.put("/endpoints/nope", &json!({})).await.assert_error(404, "EG.00514001", "resource not found");
    assert_eq!(eg.delete(&format!("/endpoints/{id}")).await.status, 204);
    eg.delete(&format!("/endpoints/{id}")).await.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn quotas_are_listed_and_enforced() {
    let eg = Eg::start().await;
    let all = eg.get("/quotas", &[]).await;
    let resources = all.ok()["quotas"]["resources"].as_array().unwrap().clone();
    assert_eq!(resources.len(), 9);
    eg.create_channel("one").await;
    let channel = eg.get("/quotas", &[("type", "CHANNEL")]).await;
    let channel = &channel.ok()["quotas"]["resources"];
    assert_eq!(channel.as_array().unwrap().len(), 1);
    assert_eq!(
        (channel[0]["used"].as_i64(), channel[0]["quota"].as_i64(), channel[0]["min"].as_i64()),
        (Some(1), Some(100), Some(0))
    );
    eg.get("/quotas", &[("type", "TOPIC")]).await.assert_error(400, "EG.00513000", "Parameter error");
    // Lower the quota: the next create is refused.
    eg.srv.state.store.eventbus.write().set_quota(PROJECT, "CHANNEL", 1).unwrap();
    eg.post("/channels", &json!({"name": "two"})).await.assert_error(403, "EG.00514003", "resource quota unavailable");
    eg.srv.state.store.eventbus.write().set_quota(PROJECT, "SUBSCRIPTION_TARGET", 1).unwrap();
    let channel_id = eg.get("/channels", &[("name", "one")]).await.ok()["items"][0]["id"].as_str().unwrap().to_string();
    eg.create_source(&channel_id, "s").await;
    let mut two_targets = subscription_body("two-targets", &channel_id, "s");
    two_targets["targets"] = json!([webhook_target("http://127.0.0.1:9/a"), webhook_target("http://127.0.0.1:9/b")]);
    eg.post("/subscriptions", &two_targets).await.assert_error(403, "EG.00514003", "resource quota unavailable");
}

#[tokio::test]
async fn target_catalogue() {
    let eg = Eg::start().await;
    let all = eg.get("/target-catalogs", &[("limit", "100")]).await;
    let items = all.ok()["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|i| i["name"] == "WEBHOOK" && i["provider_type"] == "CUSTOM"));
    assert!(items.iter().any(|i| i["name"] == "HC.FunctionGraph"));
    let flow = eg.get("/target-catalogs", &[("support_types", "FLOW")]).await;
    assert!(flow.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["support_types"].as_array().unwrap().contains(&json!("FLOW"))));
    assert_eq!(eg.get("/target-catalogs", &[("fuzzy_label", "smn")]).await.ok()["total"], 1);
    eg.get("/target-catalogs", &[("support_types", "BATCH")]).await.assert_error(400, "EG.00513000", "Parameter error");
}

#[tokio::test]
async fn event_api_errors() {
    let eg = Eg::start().await;
    let channel_id = channel_with_source(&eg, "c", "src").await;
    let event = json!({"id": "1", "source": "src", "specversion": "1.0", "type": "t"});
    eg.post("/channels/nope/events", &json!({"events": [event]})).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    eg.post(&format!("/channels/{channel_id}/events"), &json!({"events": "x"})).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    let many: Vec<Value> = (0..1001).map(|_| event.clone()).collect();
    eg.post(&format!("/channels/{channel_id}/events"), &json!({ "events": many })).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.post("/official/sources/HC.NOPE/events", &json!({"events": []})).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    let official = eg
        .post(
            "/official/sources/HC.OBS/events",
            &json!({"events": [
        {"id": "o1", "source": "HC.OBS", "specversion": "1.0", "type": "OBS:CloudTrace:ApiCall"},
        {"id": "o2", "source": "other", "specversion": "1.0", "type": "OBS:CloudTrace:ApiCall"}]}),
        )
        .await;
    let official = official.ok();
    assert_eq!(official["failed_count"], 1);
    assert_eq!(official["events"][1]["error_code"], "EG.00513000");
    eg.get("/traced-events", &[("channel_id", &channel_id)]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/traced-events", &[("channel_id", &channel_id), ("start_time", "x"), ("end_time", "1")])
        .await
        .assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/traced-events", &[("start_time", "0"), ("end_time", "1")]).await.assert_error(
        400,
        "EG.00513000",
        "Parameter error",
    );
    eg.get("/traced-events", &[("channel_id", "nope"), ("start_time", "0"), ("end_time", "1")]).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    eg.get("/events/trace/detail/nope", &[("channel_id", &channel_id)]).await.assert_error(
        404,
        "EG.00514001",
        "resource not found",
    );
    eg.get("/events/trace/detail/nope", &[]).await.assert_error(400, "EG.00513000", "Parameter error");
    eg.get("/events/detail/nope", &[]).await.assert_error(404, "EG.00514001", "resource not found");
    // CheckPutEvents: no subscription yet, then one.
    let check = eg.post("/events/check", &json!({"sources": [{"channel_id": channel_id, "source_name": "src"}, {"channel_id": "nope", "source_name": "src"}]})).await;
    let check = check.ok().clone();
    assert_eq!(check["failed_count"], 2);
    assert_eq!(check["sources"][0]["check_result"], false);
    eg.post("/subscriptions", &subscription_body("s", &channel_id, "src")).await.ok();
    let check = eg.post("/events/check", &json!({"sources": [{"channel_id": channel_id, "source_name": "src"}]})).await;
    assert_eq!(check.ok()["failed_count"], 0);
    assert_eq!(check.ok()["sources"][0]["check_result"], true);
    // ShowDetailOfEvent returns the event as a string.
    let put = eg
        .post(
            &format!("/channels/{channel_id}/events"),
            &json!({"events": [{"id": "e-1", "source": "src", "specversion": "1.0", "type": "t", "data": {"k": 1}}]}),
        )
        .await;
    let trace_id = put.ok()["events"][0]["event_id"].as_str().unwrap().to_string();
    assert_eq!(trace_id.len(), 32);
    let detail = eg.get(&format!("/events/detail/{trace_id}"), &[]).await;
    let event: Value = serde_json::from_str(detail.ok().as_str().unwrap()).unwrap();
    assert_eq!(event["data"]["k"], 1);
    // The trace is found by the trace id or by the CloudEvent id, but only on its channel.
    assert!(eg.get("/events/detail/e-1", &[]).await.ok().as_str().is_some());
    eg.get(&format!("/events/trace/detail/{trace_id}"), &[("channel_id", &eg.default_channel_id())])
        .await
        .assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn fixtures_declare_projects_channels_sources_and_subscriptions() {
    let dir = std::env::temp_dir().join(format!("localyun-eg-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("eg.yaml");
    std::fs::write(
        &file,
        r#"
eventgrid:
  projects:
    - id: "dddddddddddddddddddddddddddddddd"
      quotas: {CHANNEL: 3}
      channels:
        - name: orders
          sources:
            - name: order-service
      subscriptions:
        - name: orders-to-hook
          channel: orders
          sources: [{name: order-service, provider_type: CUSTOM, filter: {source: [{op: StringIn, values: [order-service]}]}}]
          targets: [{name: WEBHOOK, provider_type: CUSTOM, detail: {url: "http://127.0.0.1:9/hook"}, transform: {type: ORIGINAL}}]
"#,
    )
    .unwrap();
    let eg = Eg::wrap(common::start_with(Config { fixtures: Some(file), ..Config::default() }).await);
    let eg = eg.as_key(common::KEY_ID, common::SECRET, "dddddddddddddddddddddddddddddddd");
    assert_eq!(eg.get("/channels", &[("name", "orders")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/sources", &[("name", "order-service")]).await.ok()["total"], 1);
    assert_eq!(eg.get("/subscriptions", &[("name", "orders-to-hook")]).await.ok()["total"], 1);
    let quota = eg.get("/quotas", &[("type", "CHANNEL")]).await;
    assert_eq!(quota.ok()["quotas"]["resources"][0]["quota"], 3);
    // A bad fixture is refused at start.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "eventgrid:\n  projects:\n    - id: \"p\"\n      channels: [{name: \"_bad\"}]\n").unwrap();
    assert!(localyun::app_from_config(Config { fixtures: Some(bad), ..Config::default() }).is_err());
}

/// Puts a connection into a state the API cannot produce (the real service's asynchronous creation).
fn set_connection_status(eg: &Eg, id: &str, status: &str) {
    eg.srv
        .state
        .store
        .eventbus
        .write()
        .update_connection(&eg.project, id, |c| {
            c.status = status.into();
            Ok(())
        })
        .unwrap();
}
