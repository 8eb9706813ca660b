//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, nightly) and for the stable test that replays
//! their corpus (`tests/it/fuzz_corpus.rs`), so an input a fuzzer once found stays fixed.
//!
//! Request targets feed one vendor API a request built from the input, through the whole application
//! (dispatch, the vendor's parser and handler) in lenient authentication mode, so that parsing and
//! validation run past the signature check. The properties: no panic, and no server error (HTTP 5xx) for
//! any input. Signature targets feed each vendor's canonicaliser and check its documented output shape.
//!
//! Request input format (bytes, lossy UTF-8): line 1 the method, line 2 the rest of the request target
//! (appended to the vendor's path prefix), then `name: value` header lines, an empty line, and the body.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*`).
pub const TARGETS: &[&str] = &[
    "request_tencent_ckafka",
    "request_alibaba_kafka",
    "request_alibaba_rocketmq",
    "request_huawei_eventgrid",
    "sign_tencent_ckafka",
    "sign_alibaba_kafka",
    "sign_alibaba_rocketmq",
    "sign_huawei_eventgrid",
];

/// Runs one input through the named target; Err describes a broken property (a panic is one too).
pub fn run(target: &str, data: &[u8]) -> Result<(), String> {
    match target {
        "request_tencent_ckafka" => request("/v2/index.php", data),
        "request_alibaba_kafka" => request("/", data),
        "request_alibaba_rocketmq" => request("/json/", data),
        "request_huawei_eventgrid" => request("/v1/", data),
        "sign_tencent_ckafka" => sign_tencent(data),
        "sign_alibaba_kafka" => sign_alibaba(data),
        "sign_alibaba_rocketmq" => sign_rocketmq(data),
        "sign_huawei_eventgrid" => sign_huawei(data),
        other => Err(format!("no fuzz target {other:?}")),
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for the fuzz harness");
        let config = crate::Config { auth: crate::config::AuthMode::Lenient, ..crate::Config::default() };
        let app = runtime.block_on(async {
            let (app, _state) = crate::app_from_config(config).expect("the default configuration starts");
            app
        });
        Harness { runtime, app }
    })
}

/// Builds a request from the input under `prefix` and checks the answer is not a server error.
fn request(prefix: &str, data: &[u8]) -> Result<(), String> {
    let Some((target, status, body)) = respond(prefix, data)? else { return Ok(()) };
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        return Err(format!("{target}: HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

/// The request target, status and body of the answer to the input under `prefix`; None when the input is
/// not a well-formed request head (hyper would refuse it before localyun sees it).
fn respond(prefix: &str, data: &[u8]) -> Result<Option<(String, StatusCode, Vec<u8>)>, String> {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let method = lines.next().unwrap_or("GET").trim();
    let target = lines.next().unwrap_or("").trim();
    // Tencent's path is fixed: the line is its query string. Elsewhere the line continues the path.
    let target = if prefix.ends_with('/') {
        format!("{prefix}{}", target.trim_start_matches('/'))
    } else {
        format!("{prefix}?{}", target.trim_start_matches('?'))
    };
    let mut builder = Request::builder().method(method).uri(target.as_str()).header("host", "localhost:4588");
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(Body::from(body.to_string())) else { return Ok(None) };
    let h = harness();
    let response = h.runtime.block_on(h.app.clone().oneshot(request)).map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let bytes = h.runtime.block_on(axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)).unwrap_or_default();
    Ok(Some((format!("{method} {target}"), status, bytes.to_vec())))
}

fn pairs(data: &[u8]) -> Vec<(String, String)> {
    crate::http::form_pairs(data)
}

fn sign_tencent(data: &[u8]) -> Result<(), String> {
    let map: std::collections::BTreeMap<String, String> = pairs(data).into_iter().collect();
    let sts = crate::tencent::ckafka::signature::string_to_sign("POST", "127.0.0.1:4589", &map);
    if !sts.starts_with("POST127.0.0.1:4589/v2/index.php?") {
        return Err(format!("string to sign without its method, host and path: {sts:?}"));
    }
    let sig = crate::tencent::ckafka::signature::sign("secret", Some("HmacSHA256"), &sts);
    if sig.is_empty() {
        return Err("empty signature".into());
    }
    Ok(())
}

fn sign_alibaba(data: &[u8]) -> Result<(), String> {
    use crate::alibaba::kafka::signature;
    let text = String::from_utf8_lossy(data);
    // RFC 3986 percent-encoding: unreserved characters stay, everything else is %XX.
    let encoded = signature::percent_encode(&text);
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => i += 1,
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                i += 3
            }
            _ => return Err(format!("percent_encode({text:?}) = {encoded:?} is not RFC 3986")),
        }
    }
    let map: std::collections::BTreeMap<String, String> = pairs(data).into_iter().collect();
    let sts = signature::string_to_sign("GET", &map);
    if !sts.starts_with("GET&%2F&") {
        return Err(format!("string to sign without its method and path: {sts:?}"));
    }
    signature::sign("secret", &sts);
    Ok(())
}

fn sign_rocketmq(data: &[u8]) -> Result<(), String> {
    use crate::alibaba::rocketmq::signature;
    let sts = signature::string_to_sign(&pairs(data));
    signature::sign("secret", &sts);
    signature::normalise_received(&String::from_utf8_lossy(data));
    Ok(())
}

fn sign_huawei(data: &[u8]) -> Result<(), String> {
    use crate::huawei::eventgrid as eg;
    let text = String::from_utf8_lossy(data);
    let (path, query) = text.split_once('?').unwrap_or((&text, ""));
    let uri = eg::canonical_uri(path);
    if !uri.ends_with('/') {
        return Err(format!("canonical_uri({path:?}) = {uri:?} does not end with /"));
    }
    let query = eg::canonical_query(query);
    let request = format!("POST\n{uri}\n{query}\nhost:localhost\n\nhost\n");
    let sts = eg::string_to_sign("20240101T000000Z", &request);
    eg::sign("secret", &sts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_runs_and_unknown_targets_are_named() {
        for target in TARGETS {
            assert_eq!(run(target, b""), Ok(()), "{target}");
            assert_eq!(run(target, b"GET\n\n\n"), Ok(()), "{target}");
        }
        assert!(run("nope", b"").unwrap_err().contains("nope"));
    }

    #[test]
    fn a_request_input_reaches_its_vendor() {
        // Lenient mode: the signature is not checked, the parameters are.
        let (_, status, body) = respond(
            "/v2/index.php",
            b"GET\nAction=ListInstance&Region=ap-guangzhou&SecretId=AK&Nonce=1&Timestamp=1&Signature=x\n\n",
        )
        .unwrap()
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((status, &body["code"]), (StatusCode::OK, &serde_json::json!(0)), "{body}");
        let (_, _, body) = respond("/json/", b"GET\ntopic/listInPage\n\n").unwrap().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("dynamicCode").is_some(), "{body}");
        assert!(respond("/v1/", b"GET\nbad path\n\n").unwrap().is_none(), "a malformed head is not a request");
        assert_eq!(run("request_tencent_ckafka", b"GET\nAction=ListInstance&Region=ap-guangzhou\n\n"), Ok(()));
        assert_eq!(
            run(
                "request_alibaba_rocketmq",
                b"POST\ntopic/listInPage\ncontent-type: application/x-www-form-urlencoded\n\npageSize=5"
            ),
            Ok(())
        );
    }

    /// The registry's operation lists name exactly actions the vendor modules serve: through the whole
    /// application (lenient mode), none of them is answered "unknown action".
    #[test]
    fn the_registrys_operations_are_served() {
        let json = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
        let ops = |name: &str| crate::registry::find(name).unwrap().operations();
        for op in ops("tencent-ckafka") {
            let input =
                format!("GET\nAction={}&Region=ap-guangzhou&SecretId=AK&Nonce=1&Timestamp=1&Signature=x\n\n", op.name);
            let (_, _, body) = respond("/v2/index.php", input.as_bytes()).unwrap().unwrap();
            assert_ne!(json(&body)["code"], 6100, "{}: {}", op.name, String::from_utf8_lossy(&body));
        }
        for op in ops("alibaba-kafka") {
            let input = format!("GET\n?Action={}&Version=2019-09-16&RegionId=cn-hangzhou&Format=JSON\n\n", op.name);
            let (_, _, body) = respond("/", input.as_bytes()).unwrap().unwrap();
            assert_ne!(json(&body)["Code"], "InvalidAction.NotFound", "{}", op.name);
        }
        for op in ops("alibaba-rocketmq") {
            let input =
                format!("GET\n{}?_accesskey=AK&_signature=x&_regionId=mq-private&__preventCache=1\n\n", op.name);
            let (_, _, body) = respond("/json/", input.as_bytes()).unwrap().unwrap();
            assert_ne!(json(&body)["dynamicCode"], "ONS_SERVICE_UNSUPPORTED", "{}", op.name);
        }
        // The checks can fail: an undeclared action gets each vendor's "unknown action" answer.
        let tencent = b"GET\nAction=Nope&Region=ap-guangzhou&SecretId=AK&Nonce=1&Timestamp=1&Signature=x\n\n";
        assert_eq!(json(&respond("/v2/index.php", tencent).unwrap().unwrap().2)["code"], 6100);
        let alibaba = b"GET\n?Action=Nope&Version=2019-09-16&RegionId=cn-hangzhou&Format=JSON\n\n";
        let answer = respond("/", alibaba).unwrap().unwrap().2;
        assert_eq!(json(&answer)["Code"], "InvalidAction.NotFound", "{}", String::from_utf8_lossy(&answer));
        let rocketmq = b"GET\ntopic/nope?_accesskey=AK&_signature=x&_regionId=mq-private&__preventCache=1\n\n";
        assert_eq!(json(&respond("/json/", rocketmq).unwrap().unwrap().2)["dynamicCode"], "ONS_SERVICE_UNSUPPORTED");
        for vendor in crate::registry::all() {
            let mut names: Vec<&str> = vendor.operations().iter().map(|o| o.name).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert!(count > 0 && names.len() == count, "{}: operations are listed once each", vendor.name());
        }
    }
}
