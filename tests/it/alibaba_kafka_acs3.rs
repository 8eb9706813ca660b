//! Alibaba Kafka through ACS3-HMAC-SHA256 (the tea SDK's default signature), signed by an independent
//! test-side signer: Action/Version in `x-acs-*` headers, JSON answers, and the signature and replay errors.

use crate::common;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::{TestServer, ACCOUNT, KEY_ID, SECRET};

const REGION: &str = "cn-hangzhou";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct Acs3<'a> {
    srv: &'a TestServer,
    secret: &'a str,
    date: String,
    nonce: String,
    /// Headers sent but left out of SignedHeaders.
    unsigned: &'a [&'a str],
}

impl<'a> Acs3<'a> {
    fn new(srv: &'a TestServer) -> Self {
        Acs3 {
            srv,
            secret: SECRET,
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            unsigned: &[],
        }
    }

    async fn call(&self, action: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let mut sorted: Vec<(String, String)> = query.iter().map(|(k, v)| (pct(k), pct(v))).collect();
        sorted.sort();
        let canonical_query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let headers = [
            ("host", self.srv.host.clone()),
            ("x-acs-action", action.to_string()),
            ("x-acs-content-sha256", EMPTY_SHA256.to_string()),
            ("x-acs-date", self.date.clone()),
            ("x-acs-signature-nonce", self.nonce.clone()),
            ("x-acs-version", "2019-09-16".to_string()),
        ];
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).filter(|k| !self.unsigned.contains(k)).collect();
        let mut canonical = format!("POST\n/\n{}\n", canonical_query.join("&"));
        for (k, v) in headers.iter().filter(|(k, _)| !self.unsigned.contains(k)) {
            canonical.push_str(&format!("{k}:{v}\n"));
        }
        canonical.push_str(&format!("\n{}\n{EMPTY_SHA256}", signed.join(";")));
        let sts = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let url = format!("{}/?{}", self.srv.base, serde_urlencoded::to_string(query).unwrap());
        let mut req = self.srv.client.post(url).header(
            "authorization",
            format!("ACS3-HMAC-SHA256 Credential={KEY_ID},SignedHeaders={},Signature={signature}", signed.join(";")),
        );
        for (k, v) in headers.iter().skip(1) {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert!(body["RequestId"].as_str().is_some());
        (status, body)
    }
}

#[tokio::test]
async fn acs3_calls_are_answered_in_json() {
    let srv = common::start().await;
    let (status, body) = Acs3::new(&srv).call("GetInstanceList", &[("RegionId", REGION)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Success"], true);
    assert_eq!(
        body["InstanceList"]["InstanceVO"][0]["InstanceId"],
        localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION)
    );
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let (status, body) = Acs3::new(&srv)
        .call("CreateTopic", &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "acs3-topic"), ("Remark", "a b*~")])
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = Acs3::new(&srv).call("GetTopicList", &[("InstanceId", &id), ("RegionId", REGION)]).await;
    assert_eq!(body["TopicList"]["TopicVO"][0]["Remark"], "a b*~");
}

#[tokio::test]
async fn acs3_signature_and_replay_errors() {
    let srv = common::start().await;
    let mut wrong = Acs3::new(&srv);
    wrong.secret = "wrong";
    let (status, body) = wrong.call("GetInstanceList", &[("RegionId", REGION)]).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("SignatureDoesNotMatch")), "{body}");
    assert!(body["Message"].as_str().unwrap().contains("server string to sign is:ACS3-HMAC-SHA256\n"));

    let once = Acs3::new(&srv);
    assert_eq!(once.call("GetInstanceList", &[("RegionId", REGION)]).await.0, 200);
    let (status, body) = once.call("GetInstanceList", &[("RegionId", REGION)]).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("SignatureNonceUsed")));

    let mut stale = Acs3::new(&srv);
    stale.date = "2016-02-23T12:46:24Z".into();
    let (status, body) = stale.call("GetInstanceList", &[("RegionId", REGION)]).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("InvalidTimeStamp.Expired")));

    let (status, body) = Acs3::new(&srv).call("NoSuchAction", &[("RegionId", REGION)]).await;
    assert_eq!((status, body["Code"].as_str()), (404, Some("InvalidAction.NotFound")));

    // A malformed Authorization header and a missing date header.
    let resp = srv
        .client
        .post(format!("{}/?RegionId={REGION}", srv.base))
        .header("authorization", "ACS3-HMAC-SHA256 Credential=AKIDLOCAL")
        .header("x-acs-action", "GetInstanceList")
        .header("x-acs-version", "2019-09-16")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["Code"], "IncompleteSignature");
    let resp = srv
        .client
        .post(format!("{}/?RegionId={REGION}", srv.base))
        .header("authorization", "ACS3-HMAC-SHA256 Credential=AKIDLOCAL,SignedHeaders=host,Signature=00")
        .header("x-acs-action", "GetInstanceList")
        .header("x-acs-version", "2019-09-16")
        .header("x-acs-signature-nonce", "n1")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Code"], "MissingParameter");
    assert!(body["Message"].as_str().unwrap().contains("x-acs-date"));
}

#[tokio::test]
async fn acs3_date_and_nonce_must_be_signed() {
    let srv = common::start().await;
    for unsigned in [&["x-acs-signature-nonce"][..], &["x-acs-date"][..]] {
        let mut call = Acs3::new(&srv);
        call.unsigned = unsigned;
        let (status, body) = call.call("GetInstanceList", &[("RegionId", REGION)]).await;
        assert_eq!((status, body["Code"].as_str()), (400, Some("InvalidParameter")), "{body}");
        assert!(body["Message"].as_str().unwrap().contains("SignedHeaders"), "{body}");
    }
    // The same request with both signed is fine.
    assert_eq!(Acs3::new(&srv).call("GetInstanceList", &[("RegionId", REGION)]).await.0, 200);
}
