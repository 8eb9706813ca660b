//! Huawei EventGrid: the API x case matrix. Every authenticated API with a bad signature, in a project of
//! another account, naming another account's resources, naming unknown resources, with invalid and with
//! malformed input; each case asserts the documented status, code and message, and that the model did not
//! change. Also the X-Sdk-Date window with correctly signed stale and future dates.

use crate::common;
use crate::huawei_support;

use huawei_support::{authorization, Answer, Eg, PROJECT};
use localyun::Config;
use serde_json::{json, Value};

const PROJECT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const KEY_B: &str = "AKTEAMB";
const SECRET_B: &str = "team-b";

/// Ids of account A's resources, substituted into the request templates.
struct Ids {
    channel: String,
    source: String,
    subscription: String,
    sub_source: String,
    target: String,
    connection: String,
    endpoint: String,
    event: String,
}

struct World {
    eg: Eg,
    ids: Ids,
}

fn webhook_target() -> Value {
    json!({"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": "http://127.0.0.1:9/hook"}, "transform": {"type": "ORIGINAL"}})
}

async fn world() -> World {
    let config = Config { credentials: Some(format!("{KEY_B}:{SECRET_B}@200000000002")), ..Config::default() };
    let eg = Eg::wrap(common::start_with(config).await);
    // B binds its project first.
    eg.as_key(KEY_B, SECRET_B, PROJECT_B).get("/channels", &[]).await.ok();
    let channel = eg.create_channel("orders").await;
    let source = eg.create_source(&channel, "order-service").await;
    let sub = eg
        .post(
            "/subscriptions",
            &json!({
                "name": "sub-1",
                "channel_id": channel,
                "sources": [{"name": "order-service", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["order-service"]}]}}],
                "targets": [webhook_target()],
            }),
        )
        .await;
    let sub = sub.ok().clone();
    let conn = eg.post("/connections", &json!({"name": "link", "vpc_id": "vpc-1", "subnet_id": "subnet-1"})).await;
    let endpoint = eg.post("/endpoints", &json!({"name": "ep", "vpc_id": "vpc-1", "subnet_id": "subnet-1"})).await;
    let put = eg
        .post(
            &format!("/channels/{channel}/events"),
            &json!({"events": [{"id": "e-1", "source": "not-subscribed", "specversion": "1.0", "type": "t"}]}),
        )
        .await;
    let ids = Ids {
        subscription: sub["id"].as_str().unwrap().into(),
        sub_source: sub["sources"][0]["id"].as_str().unwrap().into(),
        target: sub["targets"][0]["id"].as_str().unwrap().into(),
        connection: conn.ok()["id"].as_str().unwrap().into(),
        endpoint: endpoint.ok()["id"].as_str().unwrap().into(),
        event: put.ok()["events"][0]["event_id"].as_str().unwrap().into(),
        channel,
        source,
    };
    World { eg, ids }
}

/// Whether an API takes a JSON body (and so gets the body validation and malformed-body cases).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A list or query: `limit=-1` is a parameter error.
    List,
    /// Shows or deletes one resource by id: nothing to validate but the id.
    ById,
    /// Takes a JSON object body.
    Body,
}

/// (API name, method, path template after /v1/{project}, query, body, kind). `{C}` channel, `{SRC}` source,
/// `{S}` subscription, `{SS}` its source, `{T}` its target, `{CONN}`, `{EP}`, `{E}` a traced event.
fn apis() -> Vec<(&'static str, &'static str, &'static str, Vec<(&'static str, &'static str)>, Option<Value>, Kind)> {
    use Kind::*;
    let event = json!({"events": [{"id": "e-2", "source": "order-service", "specversion": "1.0", "type": "t"}]});
    vec![
        (
            "CreateSubscription",
            "POST",
            "/subscriptions",
            vec![],
            Some(json!({"name": "sub-2", "channel_id": "{C}", "sources": [], "targets": []})),
            Body,
        ),
        ("ListSubscriptions", "GET", "/subscriptions", vec![], None, List),
        ("UpdateSubscription", "PUT", "/subscriptions/{S}", vec![], Some(json!({"description": "x"})), Body),
        ("ShowDetailOfSubscription", "GET", "/subscriptions/{S}", vec![], None, ById),
        ("DeleteSubscription", "DELETE", "/subscriptions/{S}", vec![], None, ById),
        (
            "UpdateSubscriptionSource",
            "PUT",
            "/subscriptions/{S}/sources/{SS}",
            vec![],
            Some(
                json!({"name": "order-service", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["order-service"]}]}}),
            ),
            Body,
        ),
        ("CreateSubscriptionTarget", "POST", "/subscriptions/{S}/targets", vec![], Some(webhook_target()), Body),
        ("UpdateSubscriptionTarget", "PUT", "/subscriptions/{S}/targets/{T}", vec![], Some(webhook_target()), Body),
        ("ShowDetailOfSubscriptionTarget", "GET", "/subscriptions/{S}/targets/{T}", vec![], None, ById),
        ("DeleteSubscriptionTarget", "DELETE", "/subscriptions/{S}/targets/{T}", vec![], None, ById),
        (
            "ExecuteSubscriptionOperation",
            "POST",
            "/subscriptions/operation",
            vec![],
            Some(json!({"subscription_ids": ["{S}"], "operation": "DISABLE"})),
            Body,
        ),
        ("ListObsBuckets", "GET", "/subscriptions/obsbuckets", vec![], None, List),
        ("CreateChannel", "POST", "/channels", vec![], Some(json!({"name": "second"})), Body),
        ("ListChannels", "GET", "/channels", vec![], None, List),
        ("UpdateChannel", "PUT", "/channels/{C}", vec![], Some(json!({"description": "x"})), Body),
        ("ShowDetailOfChannel", "GET", "/channels/{C}", vec![], None, ById),
        ("DeleteChannel", "DELETE", "/channels/{C}", vec![], None, ById),
        ("ShowDetailOfEventTrace", "GET", "/events/trace/detail/{E}", vec![("channel_id", "{C}")], None, ById),
        ("ShowDetailOfEvent", "GET", "/events/detail/{E}", vec![], None, ById),
        (
            "ListTracedEvents",
            "GET",
            "/traced-events",
            vec![("channel_id", "{C}"), ("start_time", "0"), ("end_time", "99999999999999")],
            None,
            List,
        ),
        ("PutEvents", "POST", "/channels/{C}/events", vec![], Some(event.clone()), Body),
        ("PutOfficialEvents", "POST", "/official/sources/HC.OBS/events", vec![], Some(json!({"events": []})), Body),
        ("CheckPutEvents", "POST", "/events/check", vec![], Some(json!({"sources": []})), Body),
        (
            "CreateEventSource",
            "POST",
            "/sources",
            vec![],
            Some(json!({"name": "second-source", "channel_id": "{C}"})),
            Body,
        ),
        ("ListEventSources", "GET", "/sources", vec![], None, List),
        ("UpdateEventSource", "PUT", "/sources/{SRC}", vec![], Some(json!({"description": "x"})), Body),
        ("ShowDetailOfEventSource", "GET", "/sources/{SRC}", vec![], None, ById),
        ("DeleteEventSource", "DELETE", "/sources/{SRC}", vec![], None, ById),
        ("ListEventTarget", "GET", "/target-catalogs", vec![], None, List),
        (
            "CreateConnection",
            "POST",
            "/connections",
            vec![],
            Some(json!({"name": "link-2", "vpc_id": "v", "subnet_id": "s"})),
            Body,
        ),
        ("ListConnections", "GET", "/connections", vec![], None, List),
        ("UpdateConnection", "PUT", "/connections/{CONN}", vec![], Some(json!({"description": "x"})), Body),
        ("ShowDetailOfConnection", "GET", "/connections/{CONN}", vec![], None, ById),
        ("DeleteConnection", "DELETE", "/connections/{CONN}", vec![], None, ById),
        ("ListQuotas", "GET", "/quotas", vec![], None, List),
        (
            "CreateEndpoint",
            "POST",
            "/endpoints",
            vec![],
            Some(json!({"name": "ep-2", "vpc_id": "vpc-2", "subnet_id": "s"})),
            Body,
        ),
        ("ListEndpoints", "GET", "/endpoints", vec![], None, List),
        ("UpdateEndpoint", "PUT", "/endpoints/{EP}", vec![], Some(json!({"description": "x"})), Body),
        ("DeleteEndpoint", "DELETE", "/endpoints/{EP}", vec![], None, ById),
    ]
}

impl World {
    fn fill(&self, s: &str) -> String {
        let i = &self.ids;
        s.replace("{SRC}", &i.source)
            .replace("{SS}", &i.sub_source)
            .replace("{S}", &i.subscription)
            .replace("{T}", &i.target)
            .replace("{CONN}", &i.connection)
            .replace("{C}", &i.channel)
            .replace("{EP}", &i.endpoint)
            .replace("{E}", &i.event)
    }

    fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.eg.srv.state.store.eventbus.read()).unwrap()
    }

    /// Sends one API's request as `who` with `body` bytes; the query and path are filled in.
    async fn send(&self, who: &Eg, method: &str, tail: &str, query: &[(&str, &str)], body: Option<Vec<u8>>) -> Answer {
        let path = format!("/v1/{}{}", who.project, self.fill(tail));
        let filled: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), self.fill(v))).collect();
        let query: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        who.raw(method, &path, &query, body, |_| {}).await
    }

    fn body_bytes(&self, body: &Option<Value>) -> Option<Vec<u8>> {
        body.as_ref().map(|b| self.fill(&b.to_string()).into_bytes())
    }

    #[track_caller]
    fn unchanged(&self, before: &Value, what: &str) {
        assert!(self.snapshot() == *before, "{what} changed the model");
    }
}

#[tokio::test]
async fn every_api_refuses_a_bad_signature() {
    let w = world().await;
    let wrong = w.eg.as_key(common::KEY_ID, "not-the-secret", PROJECT);
    let before = w.snapshot();
    for (name, method, tail, query, body, _) in apis() {
        let r = w.send(&wrong, method, tail, &query, w.body_bytes(&body)).await;
        assert_eq!(r.status.as_u16(), 401, "{name}: {}", r.body);
        r.assert_error(401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail");
        w.unchanged(&before, name);
    }
}

#[tokio::test]
async fn every_api_refuses_a_project_of_another_account() {
    let w = world().await;
    let a_on_b = w.eg.as_key(common::KEY_ID, common::SECRET, PROJECT_B);
    let b_on_a = w.eg.as_key(KEY_B, SECRET_B, PROJECT);
    let before = w.snapshot();
    for (name, method, tail, query, body, _) in apis() {
        for who in [&a_on_b, &b_on_a] {
            let r = w.send(who, method, tail, &query, w.body_bytes(&body)).await;
            assert_eq!(r.status.as_u16(), 403, "{name}: {}", r.body);
            r.assert_error(403, "EG.00512000", "no permission to operate");
            w.unchanged(&before, name);
        }
    }
}

/// Account B, in its own project, names account A's resources: they do not exist for B.
#[tokio::test]
async fn accounts_never_see_each_others_resources() {
    let w = world().await;
    let b = w.eg.as_key(KEY_B, SECRET_B, PROJECT_B);
    let before = w.snapshot();
    for (name, method, tail, query, body, _) in apis() {
        if !tail.contains('{') {
            continue;
        }
        let r = w.send(&b, method, tail, &query, w.body_bytes(&body)).await;
        r.assert_error(404, "EG.00514001", "resource not found");
        assert!(r.status.as_u16() == 404, "{name}");
        w.unchanged(&before, name);
    }
    // Nor through a body: a source in A's channel, an operation on A's subscription.
    let r = b.post("/sources", &json!({"name": "intruder", "channel_id": w.ids.channel})).await;
    r.assert_error(404, "EG.00514001", "resource not found");
    let op = b
        .post("/subscriptions/operation", &json!({"subscription_ids": [w.ids.subscription], "operation": "DISABLE"}))
        .await;
    assert_eq!(op.ok()["failed_count"], 1);
    assert_eq!(op.ok()["events"][0]["error_code"], "EG.00514001");
    w.unchanged(&before, "B's body references");
    // B's lists show none of A's resources (B has only its default channel and no custom ones).
    for tail in ["/subscriptions", "/connections", "/endpoints"] {
        assert_eq!(b.get(tail, &[]).await.ok()["total"], 0, "{tail}");
    }
    assert_eq!(b.get("/channels", &[]).await.ok()["total"], 1);
    assert_eq!(b.get("/sources", &[("provider_type", "CUSTOM")]).await.ok()["total"], 0);
    let traced =
        b.get("/traced-events", &[("channel_id", &w.ids.channel), ("start_time", "0"), ("end_time", "1")]).await;
    traced.assert_error(404, "EG.00514001", "resource not found");
}

#[tokio::test]
async fn every_api_with_an_id_reports_unknown_resources() {
    let w = world().await;
    let before = w.snapshot();
    let mut covered = 0;
    for (name, method, tail, query, body, _) in apis() {
        if !tail.contains('{') {
            continue;
        }
        // Each id in the path, one at a time, replaced by an unknown one.
        for placeholder in ["{S}", "{SS}", "{T}", "{C}", "{SRC}", "{CONN}", "{EP}", "{E}"] {
            // (`{S}` is not a substring of `{SS}` or `{SRC}`.)
            if !tail.contains(placeholder) {
                continue;
            }
            let unknown = tail.replace(placeholder, "nope0000");
            let r = w.send(&w.eg, method, &unknown, &query, w.body_bytes(&body)).await;
            assert_eq!(r.status.as_u16(), 404, "{name} {unknown}: {}", r.body);
            r.assert_error(404, "EG.00514001", "resource not found");
            w.unchanged(&before, name);
            covered += 1;
        }
    }
    // Unknown resources named in a body or the query.
    let cases: [(&str, &str, &[(&str, &str)], Option<Value>); 5] = [
        (
            "POST",
            "/subscriptions",
            &[],
            Some(
                json!({"name": "x", "channel_id": "nope", "sources": [{"name": "order-service", "provider_type": "CUSTOM", "filter": {"source": [{"op": "StringIn", "values": ["x"]}]}}], "targets": [webhook_target()]}),
            ),
        ),
        ("POST", "/sources", &[], Some(json!({"name": "x", "channel_id": "nope"}))),
        ("POST", "/official/sources/HC.NOPE/events", &[], Some(json!({"events": []}))),
        ("GET", "/traced-events", &[("channel_id", "nope"), ("start_time", "0"), ("end_time", "1")], None),
        ("POST", "/channels/nope/events", &[], Some(json!({"events": []}))),
    ];
    for (method, tail, query, body) in cases {
        let r = w.send(&w.eg, method, tail, query, w.body_bytes(&body)).await;
        r.assert_error(404, "EG.00514001", "resource not found");
        w.unchanged(&before, tail);
        covered += 1;
    }
    assert!(covered >= 25, "{covered} unknown-resource cases");
    // ExecuteSubscriptionOperation reports an unknown subscription per item, never failing the call.
    let op = w.eg.post("/subscriptions/operation", &json!({"subscription_ids": ["nope"], "operation": "ENABLE"})).await;
    assert_eq!(op.ok()["failed_count"], 1);
    assert_eq!(op.ok()["events"][0]["error_code"], "EG.00514001");
}

#[tokio::test]
async fn every_api_refuses_invalid_input_with_the_parameter_error() {
    let w = world().await;
    let before = w.snapshot();
    for (name, method, tail, query, _body, kind) in apis() {
        let cases: Vec<(Vec<(&str, &str)>, Option<Vec<u8>>)> = match kind {
            // ListQuotas is not paged: its one parameter is the quota type.
            Kind::List if name == "ListQuotas" => vec![(vec![("type", "TOPIC")], None)],
            Kind::List => {
                let mut negative = query.clone();
                negative.push(("limit", "-1"));
                let mut huge = query.clone();
                huge.push(("offset", "99999999999999999999999"));
                vec![(negative, None), (huge, None)]
            }
            // A JSON value that is not an object, and an object whose fields have the wrong types.
            Kind::Body => vec![
                (query.clone(), Some(b"[1, 2]".to_vec())),
                (query.clone(), Some(br#"{"name": 5, "description": [], "events": {}, "sources": 1, "subscription_ids": "x", "filter": 3, "transform": 1}"#.to_vec())),
            ],
            Kind::ById => continue,
        };
        for (q, b) in cases {
            let r = w.send(&w.eg, method, tail, &q, b).await;
            assert_eq!(r.status.as_u16(), 400, "{name}: {}", r.body);
            assert!(
                ["EG.00513000", "EG.00513004"].contains(&r.body["error_code"].as_str().unwrap_or("")),
                "{name}: {}",
                r.body
            );
            w.unchanged(&before, name);
        }
    }
    // The one ById API with a required query parameter.
    let r = w.send(&w.eg, "GET", "/events/trace/detail/{E}", &[], None).await;
    r.assert_error(400, "EG.00513000", "Parameter error");
}

#[tokio::test]
async fn malformed_bodies_are_parameter_errors_on_every_body_api() {
    let w = world().await;
    let before = w.snapshot();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{{\"name\": {}1{}}}", "{\"a\":".repeat(500), "}".repeat(500));
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("not UTF-8", vec![0x7b, 0xff, 0xfe, 0x7d]),
        ("not JSON", b"{name: 1".to_vec()),
        ("deeply nested array", nested.into_bytes()),
        ("deeply nested object", deep_object.into_bytes()),
        ("huge number", br#"{"name": 1e400, "retry_times": 99999999999999999999999999}"#.to_vec()),
        ("truncated", br#"{"name": "x"#.to_vec()),
    ];
    for (name, method, tail, query, _, kind) in apis() {
        if kind != Kind::Body {
            continue;
        }
        for (what, bytes) in &malformed {
            let r = w.send(&w.eg, method, tail, &query, Some(bytes.clone())).await;
            assert_eq!(r.status.as_u16(), 400, "{name} with a {what} body: {}", r.body);
            r.assert_error(400, "EG.00513000", "Parameter error");
            w.unchanged(&before, name);
        }
    }
    // Huge strings: a 2 MB name and description.
    let huge = "n".repeat(2 * 1024 * 1024);
    for (tail, body) in [
        ("/channels", json!({"name": huge})),
        ("/sources", json!({"name": "ok-name", "channel_id": w.ids.channel, "description": huge})),
        ("/connections", json!({"name": huge, "vpc_id": "v", "subnet_id": "s"})),
        ("/endpoints", json!({"name": "e", "vpc_id": huge, "subnet_id": "s", "description": huge})),
    ] {
        let r = w.eg.post(tail, &body).await;
        r.assert_error(400, "EG.00513000", "Parameter error");
        w.unchanged(&before, tail);
    }
}

#[tokio::test]
async fn correctly_signed_requests_outside_the_date_window_are_refused() {
    let w = world().await;
    let path = format!("/v1/{PROJECT}/channels");
    for offset in [chrono::Duration::minutes(-20), chrono::Duration::minutes(20), chrono::Duration::days(-3650)] {
        let date = (chrono::Utc::now() + offset).format("%Y%m%dT%H%M%SZ").to_string();
        let headers = vec![
            ("content-type", "application/json".to_string()),
            ("host", w.eg.srv.host.clone()),
            ("x-sdk-date", date.clone()),
        ];
        let auth = authorization(common::KEY_ID, common::SECRET, "GET", &path, &[], &headers, b"");
        let r =
            w.eg.srv
                .client
                .get(format!("{}{path}", w.eg.srv.base))
                .header("content-type", "application/json")
                .header("x-sdk-date", &date)
                .header("authorization", auth)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status().as_u16(), 401, "X-Sdk-Date {date}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error_code"], "APIGW.0301");
        assert!(body["error_msg"].as_str().unwrap().contains("expired"), "{body}");
    }
    // Inside the window (4 minutes off) the same request is accepted.
    let date = (chrono::Utc::now() - chrono::Duration::minutes(4)).format("%Y%m%dT%H%M%SZ").to_string();
    let headers = vec![("host", w.eg.srv.host.clone()), ("x-sdk-date", date.clone())];
    let auth = authorization(common::KEY_ID, common::SECRET, "GET", &path, &[], &headers, b"");
    let r =
        w.eg.srv
            .client
            .get(format!("{}{path}", w.eg.srv.base))
            .header("x-sdk-date", &date)
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}
