//! Huawei EventGrid wire details the request path's shortcuts must keep (issue 16): a published event is
//! kept as its compact JSON text (key order as sent, whitespace gone, escapes and numbers as serde_json
//! writes them) and found by its CloudEvent attributes; path parameters with and without escapes route
//! alike; query parameters are decoded once.

use crate::huawei_support::{authorization, sdk_date_now, Eg, PROJECT};
use serde_json::Value;

#[tokio::test]
async fn a_published_event_is_kept_as_its_compact_text_and_found_by_its_attributes() {
    let eg = Eg::start().await;
    let channel_id = eg.create_channel("wire").await;
    eg.create_source(&channel_id, "src").await;
    // Whitespace, `type` before `id`, an escaped character and a number in exponent form.
    let body = br#"{ "events" : [ { "type" : "t.w", "id":"e-wire", "source":"src", "specversion":"1.0",
        "data": {"b": 1.0e2, "a": "\u00e9\n"} } ] }"#;
    let put =
        eg.raw("POST", &format!("/v1/{PROJECT}/channels/{channel_id}/events"), &[], Some(body.to_vec()), |_| {}).await;
    assert_eq!(put.ok()["failed_count"], 0);
    let trace_id = put.ok()["events"][0]["event_id"].as_str().unwrap().to_string();
    let expected = r#"{"type":"t.w","id":"e-wire","source":"src","specversion":"1.0","data":{"b":100.0,"a":"é\n"}}"#;
    for id in [trace_id.as_str(), "e-wire"] {
        let detail = eg.get(&format!("/events/detail/{id}"), &[]).await;
        assert_eq!(detail.ok().as_str(), Some(expected), "ShowDetailOfEvent by {id}");
    }
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = ((now - 60_000).to_string(), (now + 60_000).to_string());
    let window = [("start_time", start.as_str()), ("end_time", end.as_str()), ("channel_id", channel_id.as_str())];
    let list = |extra: Vec<(&'static str, &'static str)>| {
        let mut query = window.to_vec();
        query.extend(extra);
        let eg = &eg;
        async move { eg.get("/traced-events", &query).await }
    };
    let all = list(vec![]).await;
    assert_eq!(all.ok()["total"], 1, "{}", all.body);
    let row = &all.ok()["result"][0];
    assert_eq!((row["event_id"].as_str(), row["source_name"].as_str()), (Some(trace_id.as_str()), Some("src")));
    assert_eq!(row["event_type"], "t.w");
    for (filter, hits) in [
        (vec![("event_id", "e-wire")], 1),
        (vec![("event_type", "t.w")], 1),
        (vec![("event_type", "t.x")], 0),
        (vec![("source_name", "src")], 1),
        (vec![("source_name", "other")], 0),
    ] {
        let answer = list(filter.clone()).await;
        assert_eq!(answer.ok()["total"], hits, "{filter:?}: {}", answer.body);
    }
}

#[tokio::test]
async fn escaped_path_parameters_and_query_values_are_decoded() {
    let eg = Eg::start().await;
    let channel_id = eg.create_channel("esc-aped").await;
    // `-` written as `%2D` in the path: the same channel, and the signature (over the canonical URI, which
    // decodes and re-encodes each segment, so the client signs `-`) verifies.
    let signed_path = format!("/v1/{PROJECT}/channels/{channel_id}");
    let headers = vec![
        ("content-type", "application/json".to_string()),
        ("host", eg.srv.host.clone()),
        ("x-project-id", PROJECT.to_string()),
        ("x-sdk-date", sdk_date_now()),
    ];
    let auth = authorization(&eg.ak, &eg.sk, "GET", &signed_path, &[], &headers, b"");
    let mut request = eg.srv.client.get(format!("{}{}", eg.srv.base, signed_path.replace('-', "%2D")));
    for (name, value) in headers.iter().filter(|(k, _)| *k != "host") {
        request = request.header(*name, value);
    }
    let answer = request.header("authorization", auth).send().await.expect("sent");
    assert_eq!(answer.status().as_u16(), 200);
    let shown: Value = answer.json().await.expect("JSON");
    assert_eq!(shown["id"], channel_id.as_str());
    // Query values are decoded once and checked against the description.
    let listed = eg.get("/channels", &[("name", "esc-aped"), ("limit", "5")]).await;
    assert_eq!(listed.ok()["total"], 1);
    assert_eq!(listed.ok()["items"][0]["id"], channel_id.as_str());
    eg.get("/channels", &[("limit", "0")]).await.assert_error(400, "EG.00513000", "Parameter error");
    let missing = eg.get("/channels/no-such-channel", &[]).await;
    missing.assert_error(404, "EG.00514001", "resource not found");
}
