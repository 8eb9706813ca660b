//! The coverage file (spec/coverage.yaml) against the running server: every API, action or route of the
//! four seeds that the file marks served is driven through the in-process server and must not answer the
//! vendor's "unknown" reply (Tencent `InvalidAction`, Alibaba `InvalidAction.NotFound`, RocketMQ
//! `ONS_SERVICE_UNSUPPORTED`, Huawei `404 APIGW.0101`). EventGrid entries marked not served must answer
//! that reply (so the file stays true for the API this test's owner serves); for the other vendors a
//! newly served entry is reported, not failed (their own branches add actions).
//!
//! The server runs in lenient authentication mode: signatures are not checked, so every request reaches
//! routing; a probe per vendor with a made-up name proves that it does.
//!
//! `LOCALYUN_COVERAGE_PROBE=1 cargo test --test coverage -- --nocapture` prints `vendor name` for every
//! entry that is served, the input of spec/gen_coverage.py.

use crate::common;

use localyun::config::AuthMode;
use localyun::Config;
use serde::Deserialize;

const COVERAGE: &str = include_str!("../../spec/coverage.yaml");
const PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

#[derive(Deserialize)]
struct Entry {
    name: String,
    served: bool,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct Coverage {
    tencent_ckafka: Vec<Entry>,
    alibaba_kafka: Vec<Entry>,
    alibaba_rocketmq: Vec<Entry>,
    huawei_eventgrid: Vec<Entry>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Vendor {
    Tencent,
    AlibabaKafka,
    RocketMq,
    EventGrid,
}

impl Vendor {
    fn key(self) -> &'static str {
        match self {
            Vendor::Tencent => "tencent_ckafka",
            Vendor::AlibabaKafka => "alibaba_kafka",
            Vendor::RocketMq => "alibaba_rocketmq",
            Vendor::EventGrid => "huawei_eventgrid",
        }
    }
}

struct Probe {
    srv: common::TestServer,
}

impl Probe {
    /// Sends `name` the vendor's way with the common parameters a lenient server needs to reach routing;
    /// returns the status and the body text.
    async fn send(&self, vendor: Vendor, entry: &Entry) -> (u16, String) {
        let now = common::unix_now();
        let nonce = common::fresh_nonce().to_string();
        let client = &self.srv.client;
        let base = &self.srv.base;
        let request = match vendor {
            Vendor::Tencent => client.get(format!("{base}/v2/index.php")).query(&[
                ("Action", entry.name.as_str()),
                ("Region", "ap-guangzhou"),
                ("SecretId", common::KEY_ID),
                ("Signature", "unchecked"),
                ("SignatureMethod", "HmacSHA256"),
                ("Timestamp", &now.to_string()),
                ("Nonce", &nonce),
            ]),
            Vendor::AlibabaKafka => client.get(format!("{base}/")).query(&[
                ("Action", entry.name.as_str()),
                ("Version", "2019-09-16"),
                ("Format", "JSON"),
                ("RegionId", "cn-hangzhou"),
                ("AccessKeyId", common::KEY_ID),
                ("Signature", "unchecked"),
                ("SignatureMethod", "HMAC-SHA1"),
                ("SignatureVersion", "1.0"),
                ("SignatureNonce", &nonce),
                ("Timestamp", &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ]),
            Vendor::RocketMq => client.get(format!("{base}/json/{}", entry.name)).query(&[
                ("_accesskey", common::KEY_ID),
                ("_signature", "unchecked"),
                ("__preventCache", &(now * 1000).to_string()),
                ("_regionId", "cn-hangzhou"),
            ]),
            Vendor::EventGrid => {
                let method = entry.method.as_deref().unwrap_or("GET");
                let path = entry.path.as_deref().unwrap_or("/");
                let path = path.replace("{project_id}", PROJECT);
                // Every other path parameter gets a plausible value (ids that do not exist answer 404
                // EG.00514001, not APIGW.0101).
                let mut concrete = String::new();
                for segment in path.split('/').filter(|s| !s.is_empty()) {
                    concrete.push('/');
                    concrete.push_str(if segment.starts_with('{') { "x1" } else { segment });
                }
                if concrete.is_empty() {
                    concrete.push('/');
                }
                let mut r = client
                    .request(method.parse().expect("method"), format!("{base}{concrete}"))
                    .header("content-type", "application/json")
                    .header("x-sdk-date", chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
                    .header(
                        "authorization",
                        format!(
                            "SDK-HMAC-SHA256 Access={}, SignedHeaders=host;x-sdk-date, Signature=00",
                            common::KEY_ID
                        ),
                    );
                if method == "POST" || method == "PUT" {
                    r = r.body("{}");
                }
                r
            }
        };
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// Whether an answer is the vendor's "no such action / route / API".
fn is_unknown(vendor: Vendor, status: u16, body: &str) -> bool {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match vendor {
        Vendor::Tencent => body.contains("InvalidAction"),
        Vendor::AlibabaKafka => json["Code"] == "InvalidAction.NotFound" || body.contains("InvalidAction.NotFound"),
        Vendor::RocketMq => body.contains("ONS_SERVICE_UNSUPPORTED"),
        Vendor::EventGrid => status == 404 && json["error_code"] == "APIGW.0101",
    }
}

#[tokio::test]
async fn every_api_marked_served_is_served() {
    let coverage: Coverage = serde_yaml::from_str(COVERAGE).expect("spec/coverage.yaml parses");
    let probe = Probe { srv: common::start_with(Config { auth: AuthMode::Lenient, ..Config::default() }).await };
    let print = std::env::var("LOCALYUN_COVERAGE_PROBE").is_ok();
    let mut failures = Vec::new();
    let vendors = [
        (Vendor::Tencent, &coverage.tencent_ckafka),
        (Vendor::AlibabaKafka, &coverage.alibaba_kafka),
        (Vendor::RocketMq, &coverage.alibaba_rocketmq),
        (Vendor::EventGrid, &coverage.huawei_eventgrid),
    ];
    for (vendor, entries) in vendors {
        assert!(!entries.is_empty(), "{} lists no API", vendor.key());
        // The probe reaches routing: a made-up name answers "unknown".
        let made_up = Entry {
            name: "NoSuchApi/atAll".into(),
            served: false,
            method: Some("GET".into()),
            path: Some("/v1/{project_id}/no-such-api".into()),
        };
        let (status, body) = probe.send(vendor, &made_up).await;
        assert!(is_unknown(vendor, status, &body), "{}: a made-up API answered {status} {body}", vendor.key());
        for entry in entries {
            let (status, body) = probe.send(vendor, entry).await;
            let unknown = is_unknown(vendor, status, &body);
            if print && !unknown {
                println!("{} {}", vendor.key(), entry.name);
            }
            if entry.served && unknown {
                failures.push(format!("{} {} is marked served but answered {status} {body}", vendor.key(), entry.name));
            }
            if !entry.served && !unknown {
                if vendor == Vendor::EventGrid {
                    failures.push(format!(
                        "{} {} is served (answered {status}) but marked not served: update spec/coverage.yaml",
                        vendor.key(),
                        entry.name
                    ));
                } else {
                    eprintln!("note: {} {} is now served; spec/coverage.yaml says not", vendor.key(), entry.name);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_eventgrid_part_lists_the_whole_description() {
    let coverage: Coverage = serde_yaml::from_str(COVERAGE).expect("spec/coverage.yaml parses");
    let names: Vec<&str> = coverage.huawei_eventgrid.iter().map(|e| e.name.as_str()).collect();
    let ops = localyun::huawei::eventgrid::operations();
    for op in &ops {
        let entry = coverage.huawei_eventgrid.iter().find(|e| e.name == op.name);
        assert!(entry.is_some_and(|e| e.served), "served operation {} is not listed as served", op.name);
    }
    let chapter5 = localyun::huawei::eventgrid::spec::spec().chapter5().len();
    assert_eq!(chapter5, 76);
    assert!(names.len() >= chapter5);
    for api in localyun::huawei::eventgrid::spec::spec().apis() {
        assert!(names.contains(&api.name.as_str()), "{} is missing from spec/coverage.yaml", api.name);
    }
}
