//! The MQ HTTP protocol (`/topics/{topic}/messages`), hand-signed here independently of `src/` (the scheme
//! of `mq_http_sdk`: `MQ ak:Base64(HmacSHA1(sk, METHOD\nContent-MD5\nContent-Type\nDate\nx-mq-*\nresource))`),
//! and the `/json` Open API reading what it stored.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;

use crate::common;
use crate::rocketmq_support::{assert_ok, Api};

const VERSION: &str = "2015-06-06";

fn signature(secret: &str, method: &str, content_type: &str, date: &str, resource: &str) -> String {
    let sts = format!("{method}\n\n{content_type}\n{date}\nx-mq-version:{VERSION}\n{resource}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(sts.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    /// The text of the first `<name>` element.
    fn field(&self, name: &str) -> Option<String> {
        let open = format!("<{name}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{name}>"))? + start;
        Some(self.body[start..end].to_string())
    }

    /// The text of every `<name>` element.
    fn fields(&self, name: &str) -> Vec<String> {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(s) = rest.find(&open) {
            let after = &rest[s + open.len()..];
            let Some(e) = after.find(&close) else { break };
            out.push(after[..e].to_string());
            rest = &after[e + close.len()..];
        }
        out
    }
}

async fn call(api: &Api, secret: &str, method: &str, resource: &str, body: Option<String>) -> Reply {
    call_at(api, secret, method, resource, body, chrono::Utc::now()).await
}

/// A request signed with a `Date` of the caller's choosing.
async fn call_at(
    api: &Api,
    secret: &str,
    method: &str,
    resource: &str,
    body: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> Reply {
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let content_type = if body.is_some() { "text/xml;charset=UTF-8" } else { "" };
    let sig = signature(secret, method, content_type, &date, resource);
    let url = format!("{}{resource}", api.srv.base);
    let mut request = api
        .srv
        .client
        .request(method.parse().unwrap(), url)
        .header("x-mq-version", VERSION)
        .header("date", date)
        .header("authorization", format!("MQ {}:{sig}", common::KEY_ID));
    if let Some(body) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.unwrap();
    Reply { status: response.status().as_u16(), body: response.text().await.unwrap() }
}

fn message_xml(body: &str, tag: &str, properties: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Message xmlns=\"http://mq.aliyuncs.com/doc/v1/\">\
         <MessageBody>{body}</MessageBody><Properties>{properties}</Properties><MessageTag>{tag}</MessageTag></Message>"
    )
}

fn handles_xml(handles: &[String]) -> String {
    let inner: String = handles.iter().map(|h| format!("<ReceiptHandle>{h}</ReceiptHandle>")).collect();
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><ReceiptHandles xmlns=\"http://mq.aliyuncs.com/doc/v1/\">{inner}</ReceiptHandles>")
}

async fn setup() -> (Api, String) {
    let api = Api::start().await;
    let id = api.default_instance();
    api.create_topic(&id, "T_h", "0").await;
    api.create_group(&id, "GID_h").await;
    (api, id)
}

async fn publish(api: &Api, id: &str, body: &str, tag: &str, properties: &str) -> Reply {
    let r = call(
        api,
        common::SECRET,
        "POST",
        &format!("/topics/T_h/messages?ns={id}"),
        Some(message_xml(body, tag, properties)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

async fn consume(api: &Api, id: &str, query: &str) -> Reply {
    call(api, common::SECRET, "GET", &format!("/topics/T_h/messages?consumer=GID_h&ns={id}&{query}"), None).await
}

async fn ack(api: &Api, id: &str, trans: &str, handles: &[String]) -> Reply {
    let resource = format!("/topics/T_h/messages?consumer=GID_h&ns={id}{trans}");
    call(api, common::SECRET, "DELETE", &resource, Some(handles_xml(handles))).await
}

#[tokio::test]
async fn publish_consume_with_tag_filter_properties_and_ack_then_the_open_api_sees_it() {
    let (api, id) = setup().await;
    let sent = publish(&api, &id, "hello &amp; bye", "TagA", "KEYS:order-7|color:red|").await;
    let msg_id = sent.field("MessageId").unwrap();
    // MD5("hello & bye"), upper-case hex (computed with Python's hashlib).
    assert_eq!(sent.field("MessageBodyMD5").unwrap(), "B3036C3C55710E483A6A6046E271CE9D");
    publish(&api, &id, "other", "TagB", "").await;

    let got = consume(&api, &id, "numOfMessages=16&tag=TagA").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.fields("MessageId"), vec![msg_id.clone()]);
    assert_eq!(got.field("MessageBody").unwrap(), "hello &amp; bye");
    assert_eq!(got.field("MessageTag").unwrap(), "TagA");
    assert_eq!(got.field("Properties").unwrap(), "KEYS:order-7|color:red|");
    assert_eq!(got.field("ConsumedTimes").unwrap(), "1");
    let next: i64 = got.field("NextConsumeTime").unwrap().parse().unwrap();
    assert!(next > common::unix_now() * 1000 + 60_000, "a handle stays valid for minutes");

    // The TagB message was filtered out, not kept: nothing more to consume.
    let empty = consume(&api, &id, "numOfMessages=16&tag=TagA").await;
    assert_eq!((empty.status, empty.field("Code").as_deref()), (404, Some("MessageNotExist")), "{}", empty.body);

    let handle = got.field("ReceiptHandle").unwrap();
    assert_eq!(ack(&api, &id, "", std::slice::from_ref(&handle)).await.status, 204);
    let again = ack(&api, &id, "", std::slice::from_ref(&handle)).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.field("ErrorCode").as_deref(), Some("ReceiptHandleError"));
    assert_eq!(again.field("ReceiptHandle"), Some(handle));

    let (_, body) = api.get("message/getById", &[("topic", "T_h"), ("msgId", &msg_id)]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["body"], "hello & bye");
    let (_, body) = api.get("message/getByKey", &[("topic", "T_h"), ("key", "order-7")]).await;
    assert_ok(&body);
    assert_eq!(body["data"][0]["msgId"], msg_id.as_str());
    let (_, body) = api.get("consumer/accumulate", &[("groupId", "GID_h")]).await;
    assert_ok(&body);
    assert_eq!(body["data"]["totalDiff"], 0, "{body}");
}

#[tokio::test]
async fn a_timed_message_is_not_delivered_early() {
    let (api, id) = setup().await;
    let at = chrono::Utc::now().timestamp_millis() + 2_500;
    publish(&api, &id, "later", "", &format!("__STARTDELIVERTIME:{at}|")).await;
    let early = consume(&api, &id, "numOfMessages=1&waitseconds=1").await;
    assert_eq!(early.field("Code").as_deref(), Some("MessageNotExist"), "{}", early.body);
    let late = consume(&api, &id, "numOfMessages=1&waitseconds=5").await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert!(chrono::Utc::now().timestamp_millis() >= at);
    assert_eq!(late.field("MessageBody").as_deref(), Some("later"));
}

#[tokio::test]
async fn ordered_consumption_keeps_a_key_blocked_until_acked() {
    let (api, id) = setup().await;
    for body in ["a1", "a2", "a3"] {
        publish(&api, &id, body, "", "__SHARDINGKEY:a|").await;
    }
    let first = consume(&api, &id, "numOfMessages=1&trans=order").await;
    assert_eq!(first.field("MessageBody").as_deref(), Some("a1"));
    let blocked = consume(&api, &id, "numOfMessages=1&trans=order").await;
    assert_eq!(blocked.field("Code").as_deref(), Some("MessageNotExist"));
    ack(&api, &id, "", &[first.field("ReceiptHandle").unwrap()]).await;
    let rest = consume(&api, &id, "numOfMessages=16&trans=order").await;
    assert_eq!(rest.fields("MessageBody"), vec!["a2", "a3"]);
}

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    let (api, id) = setup().await;
    let yes = publish(&api, &id, "commit-me", "", "__TransCheckT:10|").await;
    let no = publish(&api, &id, "drop-me", "", "__TransCheckT:10|").await;
    let invisible = consume(&api, &id, "numOfMessages=16").await;
    assert_eq!(invisible.field("Code").as_deref(), Some("MessageNotExist"), "half messages stay invisible");
    assert_eq!(ack(&api, &id, "&trans=commit", &[yes.field("ReceiptHandle").unwrap()]).await.status, 204);
    assert_eq!(ack(&api, &id, "&trans=rollback", &[no.field("ReceiptHandle").unwrap()]).await.status, 204);
    let again = ack(&api, &id, "&trans=commit", &[no.field("ReceiptHandle").unwrap()]).await;
    assert_eq!(again.field("ErrorCode").as_deref(), Some("ReceiptHandleError"));
    let got = consume(&api, &id, "numOfMessages=16").await;
    assert_eq!(got.fields("MessageBody"), vec!["commit-me"]);
}

#[tokio::test]
async fn refusals_use_the_protocols_codes() {
    let (api, id) = setup().await;
    let wrong = call(&api, "wrong-secret", "GET", &format!("/topics/T_h/messages?consumer=GID_h&ns={id}"), None).await;
    assert_eq!((wrong.status, wrong.field("Code").as_deref()), (403, Some("SignatureDoesNotMatch")), "{}", wrong.body);
    for field in ["Message", "RequestId", "HostId"] {
        assert!(wrong.field(field).is_some(), "{field} in {}", wrong.body);
    }
    let missing =
        call(&api, common::SECRET, "POST", &format!("/topics/T_none/messages?ns={id}"), Some(message_xml("x", "", "")))
            .await;
    assert_eq!((missing.status, missing.field("Code").as_deref()), (404, Some("TopicNotExist")));
    let malformed =
        call(&api, common::SECRET, "POST", &format!("/topics/T_h/messages?ns={id}"), Some("<Message>".into())).await;
    assert_eq!((malformed.status, malformed.field("Code").as_deref()), (400, Some("MalformedXML")));
    let empty =
        call(&api, common::SECRET, "POST", &format!("/topics/T_h/messages?ns={id}"), Some(message_xml("", "", "")))
            .await;
    assert_eq!((empty.status, empty.field("Code").as_deref()), (400, Some("InvalidArgument")));
    let batch = consume(&api, &id, "numOfMessages=17").await;
    assert_eq!((batch.status, batch.field("Code").as_deref()), (400, Some("InvalidArgument")));
    let unsigned =
        api.srv.client.get(format!("{}/topics/T_h/messages?consumer=GID_h", api.srv.base)).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 400);
    assert!(unsigned.text().await.unwrap().contains("<Code>MissingAuthorizationHeader</Code>"));
    let stale_at = chrono::Utc::now() - chrono::Duration::hours(2);
    let stale =
        call_at(&api, common::SECRET, "GET", &format!("/topics/T_h/messages?consumer=GID_h&ns={id}"), None, stale_at)
            .await;
    assert_eq!((stale.status, stale.field("Code").as_deref()), (408, Some("TimeExpired")), "{}", stale.body);
    let other = call(&api, common::SECRET, "GET", "/topics/T_h/messages?consumer=GID_h&ns=MQ_INST_nope", None).await;
    assert_eq!((other.status, other.field("Code").as_deref()), (400, Some("InvalidArgument")), "{}", other.body);
    // Nothing stored by the refused calls.
    let (_, body): (u16, Value) = api.get("consumer/accumulate", &[("groupId", "GID_h")]).await;
    assert_eq!(body["data"]["totalDiff"], 0);
}
