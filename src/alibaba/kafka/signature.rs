//! Alibaba Cloud RPC signature v1 (seed §2.6.5): HMAC-SHA1 over
//! `METHOD&%2F&percentEncode(sorted, percent-encoded k=v&...)`, keyed with `AccessKeySecret + "&"`.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::signing::{base64, hmac_sha1};

/// RFC 3986 unreserved characters stay; every other byte becomes `%XY` (upper-case hex). This is the seed's
/// `URLEncoder.encode(v).replace("+", "%20").replace("*", "%2A").replace("%7E", "~")`.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Appends the percent-encoding of `s` to `out` without an intermediate String (hot path: every parameter
/// of every request is encoded twice).
fn push_encoded(out: &mut String, s: &str) {
    for chunk in utf8_percent_encode(s, RFC3986) {
        out.push_str(chunk);
    }
}

/// The canonicalized query: every parameter but `Signature` (empty values included: aliyunsdkcore signs
/// `SignatureType=`), sorted by name in byte order (Java's `Arrays.sort`), names and values percent-encoded.
pub fn canonicalized_query(params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(params.len() * 32);
    // BTreeMap<String, _> iterates in byte order, the order the seed's reference code sorts in.
    for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "Signature") {
        if !out.is_empty() {
            out.push('&');
        }
        push_encoded(&mut out, k);
        out.push('=');
        push_encoded(&mut out, v);
    }
    out
}

/// `StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(CanonicalizedQueryString)`,
/// written in one pass (every request computes it): encoding a name or value twice turns each byte outside
/// the unreserved set into `%25XY` (its `%XY` with the `%` encoded again; hex digits are unreserved), and
/// the canonical string's `=` and `&` become `%3D` and `%26`. Equal to encoding `canonicalized_query`.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let signed = || params.iter().filter(|(k, _)| k.as_str() != "Signature");
    // Most bytes are unreserved; a few grow to 5 bytes. One reallocation at most for unusual values.
    let estimate: usize = signed().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut out = String::with_capacity(method.len() + 5 + estimate + estimate / 4);
    out.push_str(method);
    out.push_str("&%2F&");
    for (n, (k, v)) in signed().enumerate() {
        if n > 0 {
            out.push_str("%26");
        }
        push_encoded_twice(&mut out, k);
        out.push_str("%3D");
        push_encoded_twice(&mut out, v);
    }
    out
}

fn push_encoded_twice(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Runs of unreserved bytes are copied whole. A run holds ASCII only, so its ends are char boundaries.
    let mut run_start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            continue;
        }
        out.push_str(s.get(run_start..i).unwrap_or_default());
        run_start = i + 1;
        out.push_str("%25");
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut key = String::with_capacity(secret.len() + 1);
    key.push_str(secret);
    key.push('&');
    base64(&hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn common(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p = params(&[
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
        ]);
        p.extend(params(extra));
        p
    }

    #[test]
    fn encoding_follows_the_documented_replacements() {
        assert_eq!(percent_encode("a b*c~d+e/f:g=h&i"), "a%20b%2Ac~d%2Be%2Ff%3Ag%3Dh%26i");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
        assert_eq!(percent_encode("-_.~AZaz09"), "-_.~AZaz09");
    }

    /// The seed's worked example (key `testsecret&`): its printed value `0LeaidS1JvxuMvnyH0wuJ+uX5qY=` is
    /// the OCR form of `OLeaidS1JvxuMvnyHOwuJ+uX5qY=`, and it belongs to the ECS `DescribeRegions` GET the
    /// page was copied from (the seed's own POST GetInstanceList string does not give it; the extract §2.4.2
    /// shows the rebuilt variants). The algorithm reproduces it exactly.
    #[test]
    fn seed_worked_example() {
        let p = common(&[("Action", "DescribeRegions"), ("Format", "XML"), ("Version", "2014-05-26")]);
        let sts = string_to_sign("GET", &p);
        assert_eq!(sts, "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
        assert_eq!(sign("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        // The seed's step 1 parameters as printed (POST GetInstanceList), extract TV-1.
        let p = common(&[("Action", "GetInstanceList"), ("Format", "XML"), ("Version", "2014-05-26")]);
        assert_eq!(sign("testsecret", &string_to_sign("POST", &p)), "5YSSssLAsjKVdv1z0eV3A2a8zaY=");
    }

    /// Extract TV-3/TV-4: a realistic GetInstanceList, POST and GET.
    #[test]
    fn get_instance_list_vectors() {
        let p = common(&[
            ("Action", "GetInstanceList"),
            ("Format", "JSON"),
            ("RegionId", "cn-hangzhou"),
            ("Version", "2018-10-15"),
            ("Signature", "not signed"),
        ]);
        assert_eq!(canonicalized_query(&p), "AccessKeyId=testid&Action=GetInstanceList&Format=JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2018-10-15");
        assert_eq!(sign("testsecret", &string_to_sign("POST", &p)), "w+zGyIWzbWQmR9dU5caSwmK2XlM=");
        assert_eq!(sign("testsecret", &string_to_sign("GET", &p)), "b+oQWZtmfJMgUh9Ti/H3Y6vYxx8=");
    }

    /// Extract TV-5: reserved and non-ASCII characters in a value.
    #[test]
    fn create_topic_vector_with_reserved_characters() {
        let p = common(&[
            ("Action", "CreateTopic"),
            ("Format", "JSON"),
            ("InstanceId", "alikafka_pre-cn-mp919o4v0001"),
            ("RegionId", "cn-hangzhou"),
            ("Remark", "a b*c~d+e/f:g=h&i中文"),
            ("Topic", "alikafka_topic_test"),
            ("Version", "2018-10-15"),
        ]);
        let sts = string_to_sign("POST", &p);
        // The one-pass string equals the documented two steps (canonicalise, then encode the whole).
        assert_eq!(sts, format!("POST&%2F&{}", percent_encode(&canonicalized_query(&p))));
        assert_eq!(sts, "POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateTopic%26Format%3DJSON%26InstanceId%3Dalikafka_pre-cn-mp919o4v0001%26RegionId%3Dcn-hangzhou%26Remark%3Da%2520b%252Ac~d%252Be%252Ff%253Ag%253Dh%2526i%25E4%25B8%25AD%25E6%2596%2587%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Topic%3Dalikafka_topic_test%26Version%3D2018-10-15");
        assert_eq!(sign("testsecret", &sts), "oYGM0Scj/jRNmT49OiEUiOO/eDw=");
    }

    /// aliyunsdkcore's capture (sdk-wire-notes A.2 #6): the empty `SignatureType=` is signed; key `secret`.
    #[test]
    fn captured_sdk_request_with_empty_signature_type() {
        let p = params(&[
            ("Version", "2019-09-16"),
            ("Action", "GetInstanceList"),
            ("Format", "JSON"),
            ("RegionId", "cn-hangzhou"),
            ("Timestamp", "2026-11-23T05:25:07Z"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "94c8cc23-88b0-551c-973d-a454450d49c9"),
            ("AccessKeyId", "AKIDEXAMPLE"),
        ]);
        let sts = string_to_sign("POST", &p);
        assert_eq!(sts, "POST&%2F&AccessKeyId%3DAKIDEXAMPLE%26Action%3DGetInstanceList%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D94c8cc23-88b0-551c-973d-a454450d49c9%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-23T05%253A25%253A07Z%26Version%3D2019-09-16");
        assert_eq!(sign("secret", &sts), "NmJ1j1+sIrpqZ98YNDQcMsZKOY0=");
    }
}
