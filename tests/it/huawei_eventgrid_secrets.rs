//! EventGrid APIG targets with `is_value_secret` headers: answers mask the value, updates that send the mask
//! back keep the stored secret, a new value replaces it, and delivery still sends the real value.

use crate::huawei_support;

use huawei_support::{Eg, Webhook};
use serde_json::{json, Value};

const SECRET: &str = "s3cr3t-token-value";
const MASK: &str = "******";

fn apig_target(url: &str, secret: &str) -> Value {
    json!({"id": "apig-target", "name": "HC.APIG", "provider_type": "OFFICIAL",
        "apigw_detail": {"url": url, "invocation_http_parameters": {"header_parameters": [
            {"is_value_secret": true, "key": "x-api-key", "value": secret},
            {"is_value_secret": false, "key": "x-plain", "value": "visible"}
        ]}},
        "transform": {"type": "ORIGINAL"}})
}

/// A channel with a source and a subscription with one APIG target carrying a secret header.
async fn setup(eg: &Eg, url: &str) -> (String, String) {
    let channel_id = eg.create_channel("secrets").await;
    eg.create_source(&channel_id, "svc").await;
    let body = json!({"name": "with-secret", "channel_id": channel_id,
        "sources": [{"name": "svc", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["svc"]}]}}],
        "targets": [apig_target(url, SECRET)]});
    let created = eg.post("/subscriptions", &body).await;
    let created = created.ok();
    assert!(!created.to_string().contains(SECRET), "create answer leaks the secret: {created}");
    (channel_id, created["id"].as_str().unwrap().to_string())
}

fn headers_of(target: &Value) -> &Vec<Value> {
    target["apigw_detail"]["invocation_http_parameters"]["header_parameters"].as_array().unwrap()
}

/// The value the model stores for the secret header (what delivery sends).
fn stored_secret(eg: &Eg, sub: &str) -> String {
    let model = eg.srv.state.store.eventbus.read();
    let s = model.subscription(&eg.project, sub).unwrap();
    s.targets[0].apigw_detail.as_ref().unwrap()["invocation_http_parameters"]["header_parameters"][0]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn show_list_and_target_show_mask_secret_header_values() {
    let eg = Eg::start().await;
    let (_, sub) = setup(&eg, "http://127.0.0.1:9/apig").await;
    let shown = eg.get(&format!("/subscriptions/{sub}"), &[]).await;
    let shown = shown.ok();
    let listed = eg.get("/subscriptions", &[]).await;
    let listed = listed.ok();
    let target = eg.get(&format!("/subscriptions/{sub}/targets/apig-target"), &[]).await;
    let target = target.ok();
    for answer in [shown, listed, target] {
        assert!(!answer.to_string().contains(SECRET), "answer leaks the secret: {answer}");
    }
    for t in [&shown["targets"][0], &listed["items"][0]["targets"][0], target] {
        let headers = headers_of(t);
        assert_eq!(headers[0], json!({"is_value_secret": true, "key": "x-api-key", "value": MASK}));
        assert_eq!(headers[1], json!({"is_value_secret": false, "key": "x-plain", "value": "visible"}));
    }
    // The admin request log records paths, never bodies.
    let log = eg.srv.client.get(format!("{}/_localyun/requests", eg.srv.base)).send().await.unwrap();
    assert!(!log.text().await.unwrap().contains(SECRET));
    assert_eq!(stored_secret(&eg, &sub), SECRET);
}

#[tokio::test]
async fn updates_sending_the_mask_keep_the_secret_and_new_values_replace_it() {
    let eg = Eg::start().await;
    let (_, sub) = setup(&eg, "http://127.0.0.1:9/apig").await;
    let path = format!("/subscriptions/{sub}/targets/apig-target");
    // Read-modify-write with the masked value: the secret survives.
    let mut target = eg.get(&path, &[]).await.ok().clone();
    target["retry_times"] = json!(3);
    let updated = eg.put(&path, &target).await;
    assert_eq!(headers_of(updated.ok())[0]["value"], MASK);
    assert_eq!(updated.ok()["retry_times"], 3);
    assert_eq!(stored_secret(&eg, &sub), SECRET);
    // The same through UpdateSubscription (targets matched by id).
    let shown = eg.get(&format!("/subscriptions/{sub}"), &[]).await.ok().clone();
    let updated = eg.put(&format!("/subscriptions/{sub}"), &json!({"targets": shown["targets"]})).await;
    assert!(!updated.ok().to_string().contains(SECRET));
    assert_eq!(stored_secret(&eg, &sub), SECRET);
    // A new value replaces the secret, and is masked in the answer too.
    let updated = eg.put(&path, &apig_target("http://127.0.0.1:9/apig", "rotated-secret")).await;
    assert!(!updated.ok().to_string().contains("rotated-secret"));
    assert_eq!(stored_secret(&eg, &sub), "rotated-secret");
    // The mask for a header without a stored secret is refused, not stored (it would be sent literally).
    let mut renamed = apig_target("http://127.0.0.1:9/apig", MASK);
    renamed["apigw_detail"]["invocation_http_parameters"]["header_parameters"][0]["key"] = json!("x-other");
    eg.put(&path, &renamed).await.assert_error(400, "EG.00513000", "Parameter error");
    let mut fresh = apig_target("http://127.0.0.1:9/apig", MASK);
    fresh["id"] = json!("fresh-target");
    eg.post(&format!("/subscriptions/{sub}/targets"), &fresh).await.assert_error(400, "EG.00513000", "Parameter error");
    assert_eq!(stored_secret(&eg, &sub), "rotated-secret");
}

#[tokio::test]
async fn delivery_sends_the_real_secret_header_value() {
    let eg = Eg::start().await;
    let (base, receiver) = Webhook::start().await;
    let (channel_id, sub) = setup(&eg, &format!("{base}/apig")).await;
    // Round-trip the masked target first: delivery must still use the stored secret.
    let path = format!("/subscriptions/{sub}/targets/apig-target");
    let target = eg.get(&path, &[]).await.ok().clone();
    eg.put(&path, &target).await.ok();
    let event = json!({"id": "e-1", "source": "svc", "specversion": "1.0", "type": "t", "data": {}});
    let r = eg.post(&format!("/channels/{channel_id}/events"), &json!({"events": [event]})).await;
    assert_eq!(r.ok()["failed_count"], 0);
    receiver.wait_on("/apig", 1).await;
    let got: Vec<(String, String)> =
        receiver.all().iter().map(|r| (r.header("x-api-key").to_string(), r.header("x-plain").to_string())).collect();
    assert_eq!(got, vec![(SECRET.to_string(), "visible".to_string())]);
    // The trace of that delivery does not carry the secret either.
    let trace_id = r.ok()["events"][0]["event_id"].as_str().unwrap().to_string();
    let trace = eg.get(&format!("/events/trace/detail/{trace_id}"), &[("channel_id", &channel_id)]).await;
    assert!(!trace.ok().to_string().contains(SECRET));
}

/// Issue 13 item 5: a captured request replayed with another body and an unsigned `X-Sdk-Content-Sha256`
/// naming the original body's hash (or UNSIGNED-PAYLOAD) is refused; the body received is what is hashed.
#[tokio::test]
async fn a_tampered_body_replay_is_refused() {
    let eg = Eg::start().await;
    let path = format!("/v1/{}/channels", eg.project);
    let original = json!({"name": "orig-chan"}).to_string();
    let tampered = json!({"name": "tampered-chan"}).to_string();
    let date = huawei_support::sdk_date_now();
    let signed = vec![("host", eg.srv.host.clone()), ("x-sdk-date", date.clone())];
    let auth = huawei_support::authorization(&eg.ak, &eg.sk, "POST", &path, &[], &signed, original.as_bytes());
    let send = |body: String, content_sha: Option<String>| {
        let mut req = eg
            .srv
            .client
            .post(format!("{}{path}", eg.srv.base))
            .header("content-type", "application/json")
            .header("x-sdk-date", &date)
            .header("authorization", &auth)
            .body(body);
        if let Some(v) = content_sha {
            req = req.header("x-sdk-content-sha256", v);
        }
        req.send()
    };
    for header in [Some(huawei_support::sha256_hex(original.as_bytes())), Some("UNSIGNED-PAYLOAD".to_string()), None] {
        let r = send(tampered.clone(), header.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "tampered body with X-Sdk-Content-Sha256 {header:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error_code"], "APIGW.0301");
    }
    assert_eq!(eg.get("/channels", &[("name", "tampered-chan")]).await.ok()["total"], 0);
    // The genuine request still passes.
    let r = send(original.clone(), None).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A client that signs X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD (what the SDK does for non-JSON bodies)
    // is accepted: the literal stands in for the hash because the client signed it.
    let date = huawei_support::sdk_date_now();
    let body = json!({"name": "unsigned-chan"}).to_string();
    // The shared test signer hashes the body it is given; this one uses the literal.
    let auth = unsigned_payload_authorization(&eg, &path, &date);
    let r = eg
        .srv
        .client
        .post(format!("{}{path}", eg.srv.base))
        .header("content-type", "application/json")
        .header("x-sdk-date", &date)
        .header("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")
        .header("authorization", &auth)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
}

/// Signs `POST path` over host, x-sdk-content-sha256 and x-sdk-date with the literal UNSIGNED-PAYLOAD as
/// the payload hash (the extract's section 2.2 form).
fn unsigned_payload_authorization(eg: &Eg, path: &str, date: &str) -> String {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let canonical = format!(
        "POST\n{path}/\n\nhost:{}\nx-sdk-content-sha256:UNSIGNED-PAYLOAD\nx-sdk-date:{date}\n\nhost;x-sdk-content-sha256;x-sdk-date\nUNSIGNED-PAYLOAD",
        eg.srv.host
    );
    let sts = format!("SDK-HMAC-SHA256\n{date}\n{}", huawei_support::sha256_hex(canonical.as_bytes()));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(eg.sk.as_bytes()).unwrap();
    mac.update(sts.as_bytes());
    format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders=host;x-sdk-content-sha256;x-sdk-date, Signature={}",
        eg.ak,
        hex::encode(mac.finalize().into_bytes())
    )
}
