//! Refurbishobs (seed 5.13.2, not in huaweicloudsdkeg 3.1.219, so hand-signed) and the appendix 7.2 codes
//! it reaches: 200 with the refurbished subscription, 403 EG.00512003 for an agency never created, 404
//! EG.00514001 for an id that is no OBS FunctionGraph trigger, 400 EG.00513000 for bad input.

use crate::huawei_support;

use huawei_support::Eg;
use serde_json::{json, Value};

const NOT_FOUND: (u16, &str, &str) = (404, "EG.00514001", "resource not found");
const PARAMETER: (u16, &str, &str) = (400, "EG.00513000", "Parameter error");
const AGENCY: (u16, &str, &str) = (403, "EG.00512003", "agency required");

fn variable() -> Value {
    json!({"type": "VARIABLE", "value": "{\"b\":\"$.data.bucket\"}", "template": "{\"bucket\":\"${b}\"}"})
}

/// An OBS-sourced subscription on the default channel targeting a function (a FunctionGraph OBS trigger as
/// ListTriggers shows it), and a custom-sourced one targeting the same function.
async fn triggers(eg: &Eg) -> (String, String) {
    let channel = eg.default_channel_id();
    let fg = json!([{"name": "HC.FunctionGraph", "provider_type": "OFFICIAL",
        "detail": {"urn": "urn:fss:cn-north-4:p:function:default:thumbs:latest", "agency_name": "OLD", "invoke_type": "ASYNC"},
        "transform": {"type": "ORIGINAL"}}]);
    let obs = json!({"name": "obs-trigger", "channel_id": channel,
        "sources": [{"name": "HC.OBS", "provider_type": "OFFICIAL", "filter": {"source": [{"op": "StringIn", "values": ["HC.OBS"]}]}}],
        "targets": fg});
    let obs_id = eg.post("/subscriptions", &obs).await.ok()["id"].as_str().unwrap().to_string();
    let custom_channel = eg.create_channel("c").await;
    eg.create_source(&custom_channel, "src").await;
    let custom = json!({"name": "custom-trigger", "channel_id": custom_channel,
        "sources": [{"name": "src", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["src"]}]}}],
        "targets": fg});
    let custom_id = eg.post("/subscriptions", &custom).await.ok()["id"].as_str().unwrap().to_string();
    (obs_id, custom_id)
}

fn refurbish_path(bucket: &str) -> String {
    format!("/subscriptions/obsbuckets/{bucket}/refurbishobs")
}

#[tokio::test]
async fn refurbishobs_turns_an_obs_function_trigger_into_the_subscription_it_answers() {
    let eg = Eg::start().await;
    let (obs_id, custom_id) = triggers(&eg).await;
    let body = json!({"agency_name": "EG_TARGET_CONNECTION_AGENCY", "id": obs_id, "transform": variable()});

    // The agency must exist first (CreateAgencies makes it).
    let (s, c, m) = AGENCY;
    eg.post(&refurbish_path("photos"), &body).await.assert_error(s, c, m);
    let made = eg.post("/service-agencies", &json!({"type": "TARGET_CONNECTION"})).await;
    assert_eq!(made.ok()["agencies"][0], "EG_TARGET_CONNECTION_AGENCY");

    let r = eg.post(&refurbish_path("photos"), &body).await.ok().clone();
    assert_eq!((r["id"].as_str(), r["name"].as_str()), (Some(obs_id.as_str()), Some("obs-trigger")));
    assert_eq!(r["channel_name"], "default");
    assert_eq!(r["sources"][0]["name"], "HC.OBS");
    let target = &r["targets"][0];
    assert_eq!(target["transform"], variable());
    assert_eq!(target["detail"]["agency_name"], "EG_TARGET_CONNECTION_AGENCY");
    assert_eq!(target["detail"]["urn"], "urn:fss:cn-north-4:p:function:default:thumbs:latest");
    let shown = eg.get(&format!("/subscriptions/{obs_id}"), &[]).await.ok().clone();
    assert_eq!(shown["targets"][0]["transform"], variable(), "the change is stored");

    // Not an OBS trigger, or no subscription at all: 404.
    let (s, c, m) = NOT_FOUND;
    for id in [custom_id.as_str(), "no-such-trigger"] {
        let mut other = body.clone();
        other["id"] = json!(id);
        eg.post(&refurbish_path("photos"), &other).await.assert_error(s, c, m);
    }

    // Bad input: 400.
    let (s, c, m) = PARAMETER;
    eg.post(&refurbish_path("Bad_Bucket"), &body).await.assert_error(s, c, m);
    for field in ["agency_name", "id", "transform"] {
        let mut missing = body.clone();
        missing.as_object_mut().unwrap().remove(field);
        eg.post(&refurbish_path("photos"), &missing).await.assert_error(s, c, m);
    }
    let mut bad_rule = body.clone();
    bad_rule["transform"] = json!({"type": "SOMETHING"});
    eg.post(&refurbish_path("photos"), &bad_rule).await.assert_error(s, c, m);
}
