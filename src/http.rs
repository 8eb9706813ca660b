//! The request as every vendor facade sees it (read once, body collected), and the per-request facts a
//! facade reports back for logging and the admin request log.

use std::borrow::Cow;
use std::time::Instant;

use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;

pub struct ApiRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whether it arrived on the TLS listener.
    pub tls: bool,
    pub received_at: Instant,
}

impl ApiRequest {
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    pub fn query(&self) -> &str {
        self.uri.query().unwrap_or("")
    }

    /// A header's value as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Host the client addressed, verbatim (port included), as signature schemes need it.
    pub fn host(&self) -> &str {
        self.header("host").or_else(|| self.uri.authority().map(|a| a.as_str())).unwrap_or("")
    }

    pub fn is_form_body(&self) -> bool {
        const FORM: &[u8] = b"application/x-www-form-urlencoded";
        // Compared in place (no lower-cased copy per call: every request at `/` asks).
        self.header("content-type").is_some_and(|ct| {
            ct.trim_start().as_bytes().get(..FORM.len()).is_some_and(|p| p.eq_ignore_ascii_case(FORM))
        })
    }

    /// Query-string pairs, form-decoded (`+` is a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_pairs(self.query().as_bytes())
    }

    /// Body pairs when the body is a urlencoded form, else none.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        self.form_body().map(form_pairs).unwrap_or_default()
    }

    /// The body when it is a urlencoded form (by its content type, or a POST whose body reads as `k=v&...`).
    pub fn form_body(&self) -> Option<&[u8]> {
        (self.is_form_body() || (self.method == Method::POST && looks_like_form(&self.body))).then_some(&self.body[..])
    }
}

/// Decodes `application/x-www-form-urlencoded` bytes into owned pairs, in order (invalid UTF-8 is replaced).
pub fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The decoded pairs of `application/x-www-form-urlencoded` bytes, in order: what `form_urlencoded::parse`
/// yields (`+` a space, `%XY` the byte XY, invalid UTF-8 replaced by U+FFFD), with a component that has
/// nothing to decode borrowed after one validation pass. `form_urlencoded` checks every component for `+`,
/// then for `%`, then validates it a byte at a time (about 1,000 instructions per pair, a tenth of a
/// Tencent read, issue 16); signed requests are mostly plain ASCII.
pub fn form_parse(bytes: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    form_segments(bytes).map(|(key, value)| (form_decode(key), form_decode(value)))
}

/// The keys of `application/x-www-form-urlencoded` bytes, in order, decoded only when they need it (a key
/// with `%` or `+`): the values are not looked at. Keys are what routing asks about (which API a form POST
/// at `/` is for), and decoding every value (signatures, timestamps) for that was 5-10% of a request.
pub fn form_keys(bytes: &[u8]) -> impl Iterator<Item = Cow<'_, str>> {
    form_segments(bytes).map(|(key, _)| form_decode(key))
}

/// The first value of `name` in urlencoded `pairs`, decoded (borrowed unless decoding changed it); the same
/// answer as `form_urlencoded::parse(pairs).find(..)`, without decoding the pairs before it.
pub fn form_param<'a>(pairs: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    form_segments(pairs).find(|(key, _)| form_decode(key) == name).map(|(_, value)| form_decode(value))
}

/// Non-empty `&`-separated pairs split at their first `=` (a pair without one has an empty value), as
/// `form_urlencoded::parse` splits them; `memchr` finds the separators (a byte-at-a-time split was most of
/// routing's cost on a 600-byte signed body, issue 16).
fn form_segments(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = bytes;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (pair, tail) = match memchr::memchr(b'&', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        rest = tail;
        if pair.is_empty() {
            continue;
        }
        return Some(match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        });
    })
}

/// One form-encoded component decoded as `form_urlencoded` does (`+` is a space, then percent-decoding,
/// invalid UTF-8 replaced); borrowed when it has nothing to decode.
fn form_decode(raw: &[u8]) -> Cow<'_, str> {
    let plus = memchr::memchr(b'+', raw).is_some();
    if !plus && memchr::memchr(b'%', raw).is_none() {
        // `from_utf8` checks ASCII a word at a time; the lossy conversion only when it is not UTF-8.
        return match std::str::from_utf8(raw) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(raw),
        };
    }
    let decoded: Cow<'_, [u8]> = if plus {
        let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        Cow::Owned(percent_encoding::percent_decode(&spaced).collect())
    } else {
        percent_encoding::percent_decode(raw).into()
    };
    match decoded {
        Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Cow::Owned(text),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

/// A body without a content type that still reads as `k=v&...` (some clients omit the header).
fn looks_like_form(body: &[u8]) -> bool {
    !body.is_empty() && body.first().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') && body.contains(&b'=')
}

/// What a facade learned while handling a request; travels in the response's extensions.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub vendor: &'static str,
    pub action: String,
    pub account: Option<String>,
    /// The vendor error code when the request failed (as text: codes are numbers for some vendors).
    pub error_code: Option<String>,
    /// On a signature failure, the string the server signed, for the user to diff with their client's.
    pub string_to_sign: Option<String>,
}

impl RequestMeta {
    pub fn new(vendor: &'static str) -> Self {
        RequestMeta { vendor, ..RequestMeta::default() }
    }
}

/// Attaches `meta` to a response.
pub fn with_meta(mut response: Response, meta: RequestMeta) -> Response {
    response.extensions_mut().insert(meta);
    response
}

/// A JSON object from ready-made values. Unlike `json!`, which re-serialises every interpolated value
/// (a deep copy of a whole list of items), this moves the values in.
pub fn object<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Parameters by key, and the first key that came more than once. Facades refuse repeats by name: which
/// value is meant, and which one the client signed, would be ambiguous.
pub fn unique_params(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> (std::collections::BTreeMap<String, String>, Option<String>) {
    let mut map = std::collections::BTreeMap::new();
    let mut repeated = None;
    for (k, v) in pairs {
        match map.entry(k) {
            std::collections::btree_map::Entry::Occupied(e) => {
                repeated.get_or_insert_with(|| e.key().clone());
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    (map, repeated)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `form_parse`, `form_param` and `form_keys` answer what `form_urlencoded::parse` would, on awkward
    /// inputs too.
    #[test]
    fn form_lookups_agree_with_form_urlencoded() {
        let inputs: [&[u8]; 11] = [
            b"Action=GetTopicList&Version=2019-09-16&Signature=ab%2Bc%3D&SignatureNonce=1",
            b"&&Action=&=x&Version&Action=second",
            b"Ac%74ion=Decoded+Key&Version=a=b=c&Secret+Id=1&SecretId",
            b"bad=%ZZ%&k%C3%A9y=%C3%A9+v&tail=%E2%82",
            b"x=1&X=2&Action=A%26B&Action=again",
            b"",
            b"=",
            b"Action",
            b"Version=2019-02-14&Action=OnsTopicList",
            b"\xff\xfe=1&Action=\xff",
            b"a=%+0&b=%%41&c=%4&d=%4g&e=%2B+%20&f=%C3&g=+&%41ction=x",
        ];
        for input in inputs {
            let reference: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
            let pairs: Vec<(String, String)> =
                form_parse(input).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            assert_eq!(pairs, reference, "pairs of {:?}", String::from_utf8_lossy(input));
            let keys: Vec<String> = form_keys(input).map(Cow::into_owned).collect();
            let expected_keys: Vec<String> = reference.iter().map(|(k, _)| k.clone()).collect();
            assert_eq!(keys, expected_keys, "keys of {:?}", String::from_utf8_lossy(input));
            for name in ["Action", "Version", "", "Secret Id", "SecretId", "kéy", "bad", "tail", "missing"] {
                let expected = reference.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
                assert_eq!(
                    form_param(input, name).as_deref(),
                    expected,
                    "{name} in {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn form_decoding_keeps_order_and_plus_as_space() {
        let pairs = form_pairs(b"b=1+2&a=%C3%A9&a=x&empty=");
        assert_eq!(
            pairs,
            vec![
                ("b".into(), "1 2".into()),
                ("a".into(), "\u{e9}".into()),
                ("a".into(), "x".into()),
                ("empty".into(), String::new())
            ]
        );
    }

    #[test]
    fn a_form_body_is_recognised_by_its_content_type_in_any_case_or_by_its_shape() {
        let req = |method: Method, content_type: Option<&str>, body: &'static str| {
            let mut headers = HeaderMap::new();
            if let Some(ct) = content_type {
                headers.insert("content-type", ct.parse().expect("header value"));
            }
            ApiRequest {
                method,
                uri: Uri::from_static("/"),
                headers,
                body: Bytes::from_static(body.as_bytes()),
                tls: false,
                received_at: Instant::now(),
            }
        };
        let typed = req(Method::POST, Some(" Application/X-WWW-Form-URLencoded; charset=utf-8"), "a=1");
        assert!(typed.is_form_body());
        assert_eq!(typed.form_body(), Some(&b"a=1"[..]));
        assert!(!req(Method::POST, Some("application/json"), "{}").is_form_body());
        assert!(!req(Method::POST, Some("application/x-www-form"), "a=1").is_form_body(), "a shorter type");
        assert_eq!(req(Method::POST, None, "a=1&b=2").form_body(), Some(&b"a=1&b=2"[..]), "a POST shaped as a form");
        assert_eq!(req(Method::GET, None, "a=1").form_body(), None);
        assert_eq!(req(Method::POST, Some("application/json"), "{\"a\":1}").form_pairs(), Vec::new());
    }

    #[test]
    fn unique_params_names_the_first_repeated_key_and_keeps_the_first_value() {
        let (map, repeated) = unique_params(form_pairs(b"a=1&b=2&a=3&b=4"));
        assert_eq!(map.get("a").map(String::as_str), Some("1"));
        assert_eq!(map.get("b").map(String::as_str), Some("2"));
        assert_eq!(repeated.as_deref(), Some("a"));
        assert_eq!(unique_params(form_pairs(b"x=1")).1, None);
    }
}
