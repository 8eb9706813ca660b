//! CKafka API v2 request signatures (HmacSHA1 / HmacSHA256 over `METHOD + Host + /v2/index.php?k=v&...`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::signing::{base64, hmac_sha1, hmac_sha256};

pub const PATH: &str = "/v2/index.php";

/// The string to sign: every parameter but `Signature`, `_` in keys turned to `.`, sorted by that key,
/// raw values. With POST, values starting with `@` (file uploads in the SDK) are not signed.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(method: &str, host: &str, params: &BTreeMap<K, V>) -> String {
    // The facade's keys are already dotted (`Params::from_pairs`): they are borrowed, and stay in the map's
    // order unless a key had to be rewritten.
    let mut rewritten = false;
    let mut pairs: Vec<(Cow<'_, str>, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, v)| *k != "Signature" && !(method == "POST" && v.starts_with('@')))
        .map(|(k, v)| {
            let key = if k.contains('_') {
                rewritten = true;
                Cow::Owned(k.replace('_', "."))
            } else {
                Cow::Borrowed(k)
            };
            (key, v)
        })
        .collect();
    if rewritten {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut out = String::with_capacity(method.len() + host.len() + PATH.len() + 1 + pairs.len() * 24);
    out.push_str(method);
    out.push_str(host);
    out.push_str(PATH);
    out.push('?');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// base64(HMAC(secret, string_to_sign)): SHA-256 when `method` is `HmacSHA256`, SHA-1 otherwise.
pub fn sign(secret: &str, signature_method: Option<&str>, string_to_sign: &str) -> String {
    if signature_method == Some("HmacSHA256") {
        base64(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
    } else {
        base64(&hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The seed's worked example. Its printed SHA-256 value `0EEem/...` has an extra `e` (45 characters)
    /// and its string to sign drops the `.0` of `InstanceIds.0`; the corrected values reproduce.
    #[test]
    fn seed_example_vector() {
        let p = params(&[
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Nonce", "11886"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "1465185768"),
        ]);
        let sts = string_to_sign("GET", "cvm.api.qcloud.com", &p);
        assert_eq!(sts, "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256&Timestamp=1465185768");
        let secret = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
        assert_eq!(sign(secret, Some("HmacSHA256"), &sts), "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s=");
        // The seed's HmacSHA1 value is printed `RVSD116ip2Zo56l2HdqRVrt+1TE=`: HMAC-SHA1 over this same string
        // gives `RVSD1I6ip2Zo56I2HdqRVrt+1TE=`, the seed's value with `I` misprinted as `1`/`l`. (The
        // extract says no variant reproduces it; the seed is right.)
        assert_eq!(sign(secret, Some("HmacSHA1"), &sts), "RVSD1I6ip2Zo56I2HdqRVrt+1TE=");
        // With SignatureMethod=HmacSHA1 in the signed string instead.
        let sha1_sts = sts.replace("HmacSHA256", "HmacSHA1");
        assert_eq!(sign(secret, Some("HmacSHA1"), &sha1_sts), "nPVnY6njQmwQ8ciqbPl5Qe+Oru4=");
    }

    /// Strings to sign captured from qcloudapi-sdk-python 2.0.15 (sdk-wire-notes A.1). The notes' printed
    /// signatures do not reproduce with their stated key `secret` (nor with python's hmac), so the expected
    /// signatures here are HMACs of the captured strings with `secret`, computed independently in python.
    /// GET, HmacSHA1, a `_` key.
    #[test]
    fn captured_sdk_vector_with_underscore_key() {
        let p = params(&[
            ("instanceId", "ckafka-abc"),
            ("topicName", "t1"),
            ("partitionNum", "2"),
            ("replicaNum", "1"),
            ("note", "hi"),
            ("ipWhiteList.0", "10.0.0.1"),
            ("ipWhiteList.1", "10.0.0.2"),
            ("cos_bucket", "x_y"),
            ("Action", "CreateTopic"),
            ("RequestClient", "SDK_PYTHON_2.0.15"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDEXAMPLE"),
            ("Nonce", "4956453447939704766"),
            ("Timestamp", "1795411484"),
            ("SignatureMethod", "HmacSHA1"),
            ("Signature", "ignored"),
        ]);
        let sts = string_to_sign("GET", "localhost:4589", &p);
        assert_eq!(sts, "GETlocalhost:4589/v2/index.php?Action=CreateTopic&Nonce=4956453447939704766&Region=ap-guangzhou&RequestClient=SDK_PYTHON_2.0.15&SecretId=AKIDEXAMPLE&SignatureMethod=HmacSHA1&Timestamp=1795411484&cos.bucket=x_y&instanceId=ckafka-abc&ipWhiteList.0=10.0.0.1&ipWhiteList.1=10.0.0.2&note=hi&partitionNum=2&replicaNum=1&topicName=t1");
        assert_eq!(sign("secret", Some("HmacSHA1"), &sts), "vG2u0srQEvqWNcXj21ifrDsIhiI=");
    }

    /// Captured POST + HmacSHA256 with non-ASCII and reserved characters in a value.
    #[test]
    fn captured_sdk_vector_post_sha256() {
        let p = params(&[
            ("instanceId", "ckafka-abc"),
            ("searchWord", "a b~*+/\u{e9}"),
            ("limit", "5"),
            ("Action", "ListTopic"),
            ("RequestClient", "SDK_PYTHON_2.0.15"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDEXAMPLE"),
            ("Nonce", "4290506479364146188"),
            ("Timestamp", "1795411484"),
            ("SignatureMethod", "HmacSHA256"),
        ]);
        let sts = string_to_sign("POST", "localhost:4589", &p);
        assert_eq!(sts, "POSTlocalhost:4589/v2/index.php?Action=ListTopic&Nonce=4290506479364146188&Region=ap-guangzhou&RequestClient=SDK_PYTHON_2.0.15&SecretId=AKIDEXAMPLE&SignatureMethod=HmacSHA256&Timestamp=1795411484&instanceId=ckafka-abc&limit=5&searchWord=a b~*+/\u{e9}");
        assert_eq!(sign("secret", Some("HmacSHA256"), &sts), "dGuamBw48hEhFXV6wLRorolxmz8FVgWRcyBjuPrWtl8=");
    }

    #[test]
    fn captured_list_instance_right_key_vector() {
        let p = params(&[
            ("Action", "ListInstance"),
            ("RequestClient", "SDK_PYTHON_2.0.15"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDEXAMPLE"),
            ("Nonce", "1591904209185336356"),
            ("Timestamp", "1795411484"),
            ("SignatureMethod", "HmacSHA256"),
        ]);
        let sts = string_to_sign("POST", "localhost:4589", &p);
        assert_eq!(sign("secret", Some("HmacSHA256"), &sts), "prBbKqmAH0K3uSYn0GxYH1xxbkqrHLHa+EqmAp37Imo=");
    }
}
