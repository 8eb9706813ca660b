//! RPC wire format: parameters (query string merged with an urlencoded body), typed access with the
//! documented validation, the response format (JSON or XML) and the envelopes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::AlibabaError;
use crate::http::ApiRequest;
use crate::tencent::params_de::{from_params, Wording};

/// A request's parameters by name. aliyunsdkcore sends everything in the query (even with POST), pop-core
/// everything in a form body, so both are read and merged; the signature covers the union. A name given
/// twice (in one source or in both) is refused by `check_no_repeats`: which value is meant, and which one
/// the client signed, is ambiguous. The first value is kept so that `action_of` still finds the Action.
pub struct Params {
    map: BTreeMap<String, String>,
    repeated: Option<String>,
}

/// How the Alibaba gateway words type errors.
pub const WORDING: Wording = Wording {
    not_integer: |v| format!("{v:?} is not an integer."),
    not_boolean: |v| format!("{v:?} is not true or false."),
};

/// A declared operation's typed input: scalar parameters through serde (`#[serde(rename = "<wire name>")]`),
/// RepeatList and tag parameters (`Name.N`, `Tag.N.Key`) added by `lists`.
pub trait Input: DeserializeOwned {
    /// Reads the list parameters the input has (none by default).
    fn lists(&mut self, _p: &Params) -> Result<(), AlibabaError> {
        Ok(())
    }
}

impl Params {
    /// The typed input of an operation.
    pub fn input<I: Input>(&self) -> Result<I, AlibabaError> {
        let mut input: I = from_params(self.map.iter().map(|(k, v)| (k.as_str(), v.as_str())), WORDING)?;
        input.lists(self)?;
        Ok(input)
    }

    /// The query's pairs, then a POST's form body's, decoded straight into the map (the rules of
    /// `ApiRequest::query_pairs` / `form_pairs` and `crate::http::unique_params`, without their
    /// intermediate lists: this runs on every request).
    pub fn from_request(req: &ApiRequest) -> Self {
        let mut params = Params { map: BTreeMap::new(), repeated: None };
        super::form::for_each_pair(req.query().as_bytes(), |k, v| params.insert(k, v));
        if req.method == Method::POST && super::form::body_is_form(req) {
            super::form::for_each_pair(&req.body, |k, v| params.insert(k, v));
        }
        params
    }

    /// Keeps the first value of a name and remembers the first name given twice.
    fn insert(&mut self, name: String, value: String) {
        match self.map.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => {
                self.repeated.get_or_insert_with(|| e.key().clone());
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(value);
            }
        }
    }

    #[cfg(test)]
    fn collect(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let (map, repeated) = crate::http::unique_params(pairs);
        Params { map, repeated }
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::collect(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    /// InvalidParameter when a parameter was given more than once.
    pub fn check_no_repeats(&self) -> Result<(), AlibabaError> {
        match &self.repeated {
            Some(name) => Err(AlibabaError::InvalidParameter(name.clone(), "It is given more than once.".into())),
            None => Ok(()),
        }
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.map
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// A present, non-empty value.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, AlibabaError> {
        self.non_empty(name).ok_or_else(|| AlibabaError::MissingParameter(name.into()))
    }

    /// A RepeatList `name.1`, `name.2`, ... (1-based, as aliyunsdkcore numbers them), in index order.
    pub fn repeat_list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u64, &str)> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| k[prefix.len()..].parse::<u64>().ok().map(|i| (i, v.as_str())))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// Tags `Tag.N.Key` / `Tag.N.Value`, in index order; a tag without a key is refused.
    pub fn tags(&self) -> Result<Vec<(String, String)>, AlibabaError> {
        let mut by_index: BTreeMap<u64, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for (k, v) in self.map.range("Tag.".to_string()..).take_while(|(k, _)| k.starts_with("Tag.")) {
            let rest = &k["Tag.".len()..];
            let Some((index, field)) = rest.split_once('.') else { continue };
            let Ok(index) = index.parse::<u64>() else { continue };
            let entry = by_index.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(v),
                "Value" => entry.1 = Some(v),
                _ => {}
            }
        }
        by_index
            .into_iter()
            .map(|(_, (key, value))| match key {
                Some(k) if !k.is_empty() => Ok((k.to_string(), value.unwrap_or("").to_string())),
                _ => Err(AlibabaError::MissingParameter("Tag.N.Key".into())),
            })
            .collect()
    }
}

/// `name` must lie in `min..=max` when given.
pub fn check_range(name: &str, value: Option<i64>, min: i64, max: i64) -> Result<Option<i64>, AlibabaError> {
    if let Some(v) = value {
        if v < min || v > max {
            return Err(AlibabaError::InvalidParameter(name.into(), format!("{v} is outside {min}..{max}.")));
        }
    }
    Ok(value)
}

/// Paging (`CurrentPage` from 1, `PageSize` 1..=`max`, default `max`), as (page, size).
pub fn paging(current_page: Option<i64>, page_size: Option<i64>, max: i64) -> Result<(usize, usize), AlibabaError> {
    let page = check_range("CurrentPage", current_page, 1, i64::from(u32::MAX))?.unwrap_or(1) as usize;
    let size = check_range("PageSize", page_size, 1, max)?.unwrap_or(max) as usize;
    Ok((page, size))
}

/// Response format: the seed says `Format` is optional, `json` or `xml`, default **xml** (seed §2.6.2; the
/// issue text's "JSON default" is overridden by the seed). SDKs always send `Format=JSON`; the tea SDK's
/// ACS3 requests carry no `Format` and read JSON.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The requested format; an unknown value is reported (and the error itself goes out in XML).
    pub fn of(params: &Params) -> Result<Format, AlibabaError> {
        match params.non_empty("Format") {
            None => Ok(Format::Xml),
            Some(f) if f.eq_ignore_ascii_case("json") => Ok(Format::Json),
            Some(f) if f.eq_ignore_ascii_case("xml") => Ok(Format::Xml),
            Some(f) => Err(AlibabaError::InvalidParameter("Format".into(), format!("{f:?} is not json or xml."))),
        }
    }
}

/// An upper-case UUID, the RequestId form of the seed's examples (written upper-case at once: one String).
pub fn new_request_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4().hyphenated().encode_upper(&mut buf).to_string()
}

/// The success envelope: `RequestId`, `Success: true`, `Code: 200` (an integer), `Message`, then the fields.
pub fn success_body(request_id: &str, message: &str, fields: Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::with_capacity(fields.len() + 4);
    body.insert("RequestId".into(), Value::from(request_id));
    body.insert("Success".into(), Value::Bool(true));
    body.insert("Code".into(), Value::from(200));
    body.insert("Message".into(), Value::from(message));
    body.extend(fields);
    body
}

/// What a handler answers: its fields as a JSON tree (put in the success envelope and rendered as JSON or
/// XML), or, for a JSON answer built from typed views, the whole success body already serialised.
pub enum Reply {
    Fields(Map<String, Value>),
    Body(Vec<u8>),
}

/// A typical serialised size of one item of a list answer (a topic, group or instance with a tag or two),
/// to size the answer's buffer.
pub const ITEM_BYTES: usize = 320;

/// The success envelope of `success_body`, serialised straight from a handler's typed fields.
#[derive(Serialize)]
struct SuccessEnvelope<'a, T: ?Sized> {
    #[serde(rename = "RequestId")]
    request_id: &'a str,
    #[serde(rename = "Success")]
    success: bool,
    #[serde(rename = "Code")]
    code: i32,
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

/// A handler's answer from typed fields (a struct serialising as an object): for JSON the whole success
/// body is written straight to bytes, with no intermediate tree (the list answers' hot path), into one
/// buffer of about `size_hint` bytes (a 5 KB list is not copied through every doubling of a small Vec);
/// for XML the fields become the tree `to_xml` walks (serde_json keeps the struct's field order).
pub fn typed_reply<T: Serialize + ?Sized>(
    format: Format,
    request_id: &str,
    message: &str,
    fields: &T,
    size_hint: usize,
) -> Reply {
    match format {
        Format::Json => Reply::Body(json_success(request_id, message, fields, size_hint)),
        Format::Xml => Reply::Fields(match serde_json::to_value(fields) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }),
    }
}

/// The JSON success body `success_body` would render, serialised straight from `fields` (no tree is built
/// for the envelope). `fields` must not repeat an envelope key (the tree would keep one; see
/// `has_envelope_key`).
pub fn json_success<T: Serialize + ?Sized>(request_id: &str, message: &str, fields: &T, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 128);
    let envelope = SuccessEnvelope { request_id, success: true, code: 200, message, fields };
    // Serialising into a Vec fails only on a map with non-string keys, which no answer has; an empty body
    // would show it.
    if serde_json::to_writer(&mut out, &envelope).is_err() {
        out.clear();
    }
    out
}

/// Whether a tree of fields names a key of the success envelope (then only the tree path renders it as
/// before: `success_body` lets the field's value take the envelope key's place).
pub fn has_envelope_key(fields: &Map<String, Value>) -> bool {
    ["RequestId", "Success", "Code", "Message"].iter().any(|k| fields.contains_key(*k))
}

/// The error envelope: the gateway's `RequestId`, `HostId`, `Code` (a string), `Message`, plus
/// `Recommend` for gateway errors and the service's `Success: false` for business errors.
pub fn error_body(request_id: &str, host_id: &str, err: &AlibabaError) -> Map<String, Value> {
    let mut body = Map::with_capacity(6);
    body.insert("RequestId".into(), Value::from(request_id));
    body.insert("HostId".into(), Value::from(host_id));
    body.insert("Code".into(), Value::from(err.code()));
    body.insert("Message".into(), Value::from(err.message()));
    if err.is_business() {
        body.insert("Success".into(), Value::Bool(false));
    } else {
        body.insert(
            "Recommend".into(),
            Value::from(format!("https://api.aliyun.com/troubleshoot?q={}&product=alikafka", err.code())),
        );
    }
    body
}

/// Renders a body as JSON, or as XML under `root` (`{Action}Response`, or `Error` for errors).
pub fn render(format: Format, status: StatusCode, root: &str, body: &Map<String, Value>) -> Response {
    let bytes = match format {
        Format::Json => serde_json::to_vec(body).unwrap_or_default(),
        Format::Xml => to_xml(root, body).into_bytes(),
    };
    respond(format, status, bytes)
}

/// A response of `bytes`, already rendered in `format`.
pub fn respond(format: Format, status: StatusCode, bytes: Vec<u8>) -> Response {
    let content_type = match format {
        Format::Json => "application/json;charset=utf-8",
        Format::Xml => "text/xml;charset=utf-8",
    };
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The POP XML mapping of a JSON body: objects become elements, an array becomes its key repeated once per
/// item (`"InstanceList":{"InstanceVO":[a,b]}` is `<InstanceList><InstanceVO>a</InstanceVO><InstanceVO>b
/// </InstanceVO></InstanceList>`), scalars become text.
pub fn to_xml(root: &str, body: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push('<');
    out.push_str(root);
    out.push('>');
    for (k, v) in body {
        write_xml(&mut out, k, v);
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out
}

fn write_xml(out: &mut String, name: &str, value: &Value) {
    if let Value::Array(items) = value {
        for item in items {
            write_xml(out, name, item);
        }
        return;
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                write_xml(out, k, v);
            }
        }
        Value::String(s) => escape_into(out, s),
        Value::Null => {}
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Array(_) => {}
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Topic and ConsumerId names (seed CreateTopic / DeleteConsumerGroup): letters, digits, `_` and `-`,
/// 3-64 characters, "多于 64 个字符将被自动截取": longer names are cut to their first 64, not refused.
pub fn resource_name<'a>(param: &'static str, value: &'a str) -> Result<&'a str, AlibabaError> {
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(AlibabaError::InvalidParameter(
            param.into(),
            "Only letters, digits, underscores (_) and hyphens (-) are allowed.".into(),
        ));
    }
    if value.len() < 3 {
        return Err(AlibabaError::InvalidParameter(param.into(), "The length must be 3 to 64 characters.".into()));
    }
    // ASCII only (checked above), so byte 64 is a character boundary.
    Ok(&value[..value.len().min(64)])
}

/// Remarks: "限制 64 个字符" (characters, not bytes).
pub fn remark(param: &'static str, value: &str) -> Result<(), AlibabaError> {
    if value.chars().count() > 64 {
        return Err(AlibabaError::InvalidParameter(param.into(), "At most 64 characters are allowed.".into()));
    }
    Ok(())
}

/// Instance ids: `alikafka_pre-cn-xxxxxxxx` (subscription) or `alikafka_post-cn-xxxxxxxx` (pay-as-you-go).
pub fn is_instance_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("alikafka_pre-").or_else(|| id.strip_prefix("alikafka_post-")) else {
        return false;
    };
    let Some((series, suffix)) = rest.split_once('-') else { return false };
    series.len() >= 2
        && series.bytes().all(|b| b.is_ascii_lowercase())
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_repeats_list_items_under_their_key() {
        let body = json!({"Code": 200, "Success": true, "L": {"VO": [{"A": "x<y"}, {"A": "2"}]}, "E": {"VO": []}});
        let Value::Object(map) = body else { unreachable!() };
        assert_eq!(
            to_xml("R", &map),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><R><Code>200</Code><Success>true</Success><L><VO><A>x&lt;y</A></VO><VO><A>2</A></VO></L><E></E></R>"
        );
    }

    #[test]
    fn names_follow_the_documented_rules() {
        assert_eq!(resource_name("Topic", "a_b-C1"), Ok("a_b-C1"));
        assert!(resource_name("Topic", "ab").is_err());
        assert!(resource_name("Topic", "a.b").is_err());
        assert!(resource_name("Topic", "主题主题").is_err());
        let long = "x".repeat(70);
        assert_eq!(resource_name("Topic", &long).map(str::len), Ok(64));
        assert!(remark("Remark", &"中".repeat(64)).is_ok());
        assert!(remark("Remark", &"a".repeat(65)).is_err());
    }

    #[test]
    fn instance_ids_have_the_documented_form() {
        assert!(is_instance_id("alikafka_pre-cn-mp919o4v0001"));
        assert!(is_instance_id("alikafka_post-cn-v0h18sav0001"));
        assert!(!is_instance_id("alikafka_pre-cn-"));
        assert!(!is_instance_id("ckafka-abc"));
        assert!(!is_instance_id("alikafka_pre-cn-AB"));
    }

    #[test]
    fn a_repeated_parameter_is_refused_by_name() {
        assert!(Params::from_pairs(&[("A", "1"), ("B", "1")]).check_no_repeats().is_ok());
        let p = Params::from_pairs(&[("Topic", "a"), ("Topic", "b")]);
        assert!(matches!(p.check_no_repeats(), Err(AlibabaError::InvalidParameter(n, _)) if n == "Topic"));
        assert_eq!(p.get("Topic"), Some("a"));
    }

    #[test]
    fn format_defaults_to_xml_and_ignores_case() {
        assert_eq!(Format::of(&Params::from_pairs(&[])), Ok(Format::Xml));
        assert_eq!(Format::of(&Params::from_pairs(&[("Format", "JSON")])), Ok(Format::Json));
        assert_eq!(Format::of(&Params::from_pairs(&[("Format", "xml")])), Ok(Format::Xml));
        assert!(Format::of(&Params::from_pairs(&[("Format", "yaml")])).is_err());
    }

    #[test]
    fn repeat_lists_and_tags_come_in_index_order() {
        let p = Params::from_pairs(&[
            ("InstanceId.10", "c"),
            ("InstanceId.2", "b"),
            ("InstanceId.1", "a"),
            ("Tag.2.Key", "k2"),
            ("Tag.1.Key", "k1"),
            ("Tag.1.Value", "v1"),
        ]);
        assert_eq!(p.repeat_list("InstanceId"), vec!["a", "b", "c"]);
        assert_eq!(p.tags().unwrap(), vec![("k1".into(), "v1".into()), ("k2".into(), String::new())]);
        assert!(Params::from_pairs(&[("Tag.1.Value", "v")]).tags().is_err());
    }
}

/// The Action an Alibaba RPC request names (query, form body or `x-acs-action`), without authenticating it:
/// fault injection and logs of every Alibaba RPC API (Kafka, ONS).
pub fn rpc_action_of(req: &ApiRequest) -> Option<String> {
    Params::from_request(req)
        .non_empty("Action")
        .map(str::to_string)
        .or_else(|| req.header("x-acs-action").map(str::to_string))
}

/// An error in the Alibaba RPC envelope with an arbitrary code (admin fault injection): HTTP 500, JSON,
/// logged under `vendor`.
pub fn rpc_fault_response(vendor: &'static str, code: &str, message: &str) -> Response {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::from(new_request_id()));
    body.insert("HostId".into(), Value::from("localyun"));
    body.insert("Code".into(), Value::from(code));
    body.insert("Message".into(), Value::from(message));
    let mut meta = crate::http::RequestMeta::new(vendor);
    meta.error_code = Some(code.to_string());
    crate::http::with_meta(render(Format::Json, StatusCode::INTERNAL_SERVER_ERROR, "Error", &body), meta)
}
