//! The declarative description of every EventGrid API (`spec/huawei-eventgrid.json`, generated from the
//! seed's chapter 5 by `spec/gen_huawei_eventgrid.py`), embedded at build time and interpreted once at
//! start: routing (method + path template) and request validation (each query and body parameter's
//! type, required-ness and limits) come from it, not from hand-kept lists.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use super::error::EgError;

/// The description as the repository holds it.
static SPEC_JSON: &str = include_str!("../../../spec/huawei-eventgrid.json");

/// One parameter or response field of the description.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    pub name: String,
    /// Whether the seed's 是否必选 column says 是 (request parameters only).
    #[serde(default)]
    pub required: bool,
    /// JSON type: string, integer, number, boolean, object or array.
    #[serde(rename = "type")]
    pub ty: String,
    /// Inclusive integer bounds the seed states.
    #[serde(default)]
    pub minimum: Option<i64>,
    #[serde(default)]
    pub maximum: Option<i64>,
    /// String length bounds (characters) the seed states.
    #[serde(default, rename = "minLength")]
    pub min_length: Option<usize>,
    #[serde(default, rename = "maxLength")]
    pub max_length: Option<usize>,
    /// The seed's name rule as a regular expression over ASCII (`^[A-Za-z0-9][A-Za-z0-9._-]*$`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// The object type (a table of the same API's definitions) an `object` field holds.
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// What an `array` holds: `{"type": ...}` or `{"ref": ...}`.
    #[serde(default)]
    pub items: Option<Value>,
    /// The values the field may take, when the seed enumerates them.
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<String>>,
    /// An object `{}` counts as the field's absence (the seed's own example sends one).
    #[serde(default)]
    pub empty_object_is_absent: bool,
    /// The appendix 7.2 code a defect of this field is answered with (default EG.00513000).
    #[serde(default)]
    pub error_code: Option<String>,
    /// The seed's description (Chinese), kept for the coverage file and error details.
    #[serde(default)]
    pub description: String,
}

/// The parameters of one API by location.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub path: Vec<Field>,
    #[serde(default)]
    pub query: Vec<Field>,
    #[serde(default)]
    pub header: Vec<Field>,
    #[serde(default)]
    pub body: Vec<Field>,
}

/// One API of the description.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiSpec {
    /// The SDK's operation name (the seed's heading), e.g. `ListChannels`.
    pub name: String,
    /// The seed section, e.g. `5.2.2`.
    pub section: String,
    pub title: String,
    pub method: String,
    /// The path template, e.g. `/v1/{project_id}/channels/{channel_id}`.
    pub path: String,
    /// `read` (GET, and the POST checks and queries that change nothing) or `write`.
    #[serde(default)]
    pub access: String,
    #[serde(default)]
    pub params: Params,
    /// Response body fields by status code.
    #[serde(default)]
    pub responses: BTreeMap<String, Vec<Field>>,
    /// The nested object types of the request and of the response, by the seed's table name.
    #[serde(default)]
    pub definitions: Definitions,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Definitions {
    #[serde(default)]
    pub request: BTreeMap<String, Vec<Field>>,
    #[serde(default)]
    pub response: BTreeMap<String, Vec<Field>>,
}

#[derive(Deserialize)]
struct Document {
    apis: Vec<ApiSpec>,
    #[serde(default)]
    extra_apis: Vec<ApiSpec>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// The interpreted description: every API, and its path template split into segments for routing.
pub struct Spec {
    apis: Vec<ApiSpec>,
    /// Chapter-5 APIs come first; `extra` counts the served APIs outside chapter 5 at the end.
    chapter5: usize,
    templates: Vec<Vec<Segment>>,
    /// Per template, which segments are literals as bits from the most significant one (segment 0): for
    /// templates of one length, comparing these numbers compares the literal patterns from the left, the
    /// routing preference, without building a list per candidate.
    literal_masks: Vec<u64>,
    /// The most segments any template has: a longer path matches nothing.
    max_segments: usize,
    /// The templates by their number of segments (index = count): a path is only compared with the
    /// templates of its length instead of all of them.
    by_len: Vec<Vec<usize>>,
}

/// A routed request: the API, its index in [`Spec::apis`], and its path parameters by name
/// (percent-decoded, borrowed from the path unless they held escapes).
#[derive(Debug, Clone)]
pub struct Matched<'p> {
    pub api: &'static ApiSpec,
    pub index: usize,
    pub path_params: Vec<(&'static str, Cow<'p, str>)>,
}

impl Matched<'_> {
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_ref())
    }
}

/// Longest path routed without looking (every template is far shorter); see `Spec::route`.
const MAX_SEGMENTS: usize = 16;

static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::parse(SPEC_JSON));

/// The embedded description (parsed on first use; a broken file fails the unit tests and the first
/// request, not silently).
pub fn spec() -> &'static Spec {
    &SPEC
}

fn split(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => Segment::Param(name.to_string()),
            None => Segment::Literal(s.to_string()),
        })
        .collect()
}

impl Spec {
    fn parse(text: &str) -> Spec {
        // The file is generated and checked by the unit tests; an unreadable one is a build defect.
        let doc: Document = serde_json::from_str(text).unwrap_or_else(|e| {
            tracing::error!(error = %e, "spec/huawei-eventgrid.json does not parse: no EventGrid API is routed");
            Document { apis: Vec::new(), extra_apis: Vec::new() }
        });
        let chapter5 = doc.apis.len();
        let mut apis = doc.apis;
        apis.extend(doc.extra_apis);
        let templates: Vec<Vec<Segment>> = apis.iter().map(|a| split(&a.path)).collect();
        let literal_masks = templates
            .iter()
            .map(|t| {
                t.iter()
                    .enumerate()
                    .filter(|(i, s)| *i < 64 && matches!(s, Segment::Literal(_)))
                    .fold(0u64, |mask, (i, _)| mask | (1u64 << (63 - i)))
            })
            .collect();
        let max_segments = templates.iter().map(Vec::len).max().unwrap_or(0).min(MAX_SEGMENTS);
        let mut by_len = vec![Vec::new(); max_segments + 1];
        for (i, template) in templates.iter().enumerate() {
            if let Some(bucket) = by_len.get_mut(template.len()) {
                bucket.push(i);
            }
        }
        Spec { apis, chapter5, templates, literal_masks, max_segments, by_len }
    }

    /// Every API: chapter 5 of the seed, then the served APIs outside it.
    pub fn apis(&self) -> &[ApiSpec] {
        &self.apis
    }

    /// The seed's chapter-5 APIs only.
    pub fn chapter5(&self) -> &[ApiSpec] {
        &self.apis[..self.chapter5]
    }

    pub fn api(&self, name: &str) -> Option<&ApiSpec> {
        self.apis.iter().find(|a| a.name == name)
    }

    /// Matches method and path against every template. When several match, literal segments win over
    /// parameters from the left (`subscriptions/obsbuckets` before `subscriptions/{subscription_id}`).
    /// Empty segments (a trailing `/`) are ignored, as the gateway does.
    pub fn route<'p>(&'static self, method: &str, path: &'p str) -> Option<Matched<'p>> {
        // Segments borrow from the path unless they hold escapes, in a stack array (no list per request);
        // a path with more segments than any template matches nothing.
        let mut decoded: [Cow<'p, str>; MAX_SEGMENTS] = std::array::from_fn(|_| Cow::Borrowed(""));
        let mut count = 0;
        for s in path.split('/').filter(|s| !s.is_empty()) {
            if count == self.max_segments {
                return None;
            }
            decoded[count] = decode_segment(s);
            count += 1;
        }
        let decoded = &decoded[..count];
        let mut best: Option<(usize, u64)> = None;
        for &i in self.by_len.get(count).map(Vec::as_slice).unwrap_or_default() {
            let (api, template) = (&self.apis[i], &self.templates[i]);
            if api.method != method {
                continue;
            }
            let fits = template.iter().zip(decoded).all(|(seg, got)| match seg {
                Segment::Literal(l) => l == got,
                Segment::Param(_) => !got.is_empty(),
            });
            if !fits {
                continue;
            }
            let literals = self.literal_masks[i];
            if best.is_none_or(|(_, b)| literals > b) {
                best = Some((i, literals));
            }
        }
        let (i, _) = best?;
        let path_params = self.templates[i]
            .iter()
            .zip(decoded)
            .filter_map(|(seg, value)| match seg {
                Segment::Param(name) => Some((name.as_str(), value.clone())),
                Segment::Literal(_) => None,
            })
            .collect();
        Some(Matched { api: &self.apis[i], index: i, path_params })
    }
}

/// A path segment percent-decoded (invalid UTF-8 replaced), borrowed when it holds no escape: the
/// decoder would otherwise check the segment's UTF-8 again, which a `&str` already is.
pub fn decode_segment(segment: &str) -> Cow<'_, str> {
    if segment.contains('%') {
        percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
    } else {
        Cow::Borrowed(segment)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_string(field: &Field, s: &str) -> Result<(), EgError> {
    if let Some(allowed) = &field.allowed {
        if !allowed.iter().any(|a| a == s) {
            return Err(EgError::Parameter(format!("{} must be one of {}, not {s:?}", field.name, allowed.join(", "))));
        }
    }
    let chars = s.chars().count();
    if let Some(max) = field.max_length {
        if chars > max {
            return Err(EgError::Parameter(format!("{} is longer than {max} characters", field.name)));
        }
    }
    if let Some(min) = field.min_length {
        if chars < min {
            return Err(EgError::Parameter(format!("{} is shorter than {min} characters", field.name)));
        }
    }
    if field.pattern.is_some() && !s.is_empty() {
        // The one rule the seed states: letters, digits, `.`, `_`, `-`, starting with a letter or digit.
        let mut it = s.chars();
        let first_ok = it.next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok || !it.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(EgError::Parameter(format!(
                "{} {s:?}: letters, digits, '.', '_' and '-', starting with a letter or digit",
                field.name
            )));
        }
    }
    Ok(())
}

fn check_integer(field: &Field, n: i64) -> Result<(), EgError> {
    if field.minimum.is_some_and(|min| n < min) || field.maximum.is_some_and(|max| n > max) {
        let range = match (field.minimum, field.maximum) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => String::new(),
        };
        return Err(EgError::Parameter(format!("{} must be {range}, not {n}", field.name)));
    }
    Ok(())
}

impl ApiSpec {
    /// Whether the API only reads state (the description's `access`, else GET) or may change it.
    pub fn reads_only(&self) -> bool {
        match self.access.as_str() {
            "read" => true,
            "write" => false,
            _ => self.method == "GET",
        }
    }

    /// Checks the query parameters the description types: integers parse and lie within the seed's
    /// bounds, required ones are present. Unknown parameters pass (the gateway ignores them).
    pub fn validate_query(&self, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Result<(), EgError> {
        for field in &self.params.query {
            let mut present = false;
            for value in pairs.iter().filter(|(k, _)| *k == field.name).map(|(_, v)| v.as_ref()) {
                present = true;
                match field.ty.as_str() {
                    "integer" => {
                        let n: i64 = value.trim().parse().map_err(|_| {
                            EgError::Parameter(format!("{} must be an integer, not {value:?}", field.name))
                        })?;
                        check_integer(field, n)?;
                    }
                    "boolean" if value != "true" && value != "false" => {
                        return Err(EgError::Parameter(format!("{} must be true or false", field.name)));
                    }
                    "string" => check_string(field, value)?,
                    _ => {}
                }
            }
            if !present && field.required {
                return Err(EgError::Parameter(format!("query parameter {} is required", field.name)));
            }
        }
        Ok(())
    }

    /// Checks the top level of a JSON object body: required fields present (not null), each present
    /// field of the declared JSON type, strings within the seed's length and name rules, integers within
    /// its bounds. Nested objects are checked by the handlers that ask for it ([`ApiSpec::validate_nested`]).
    pub fn validate_body(&self, body: &serde_json::Map<String, Value>) -> Result<(), EgError> {
        check_fields(&self.params.body, body, "", None)
    }

    /// Checks a JSON object against one of this API's request object types (e.g. `KafkaParameters`), and
    /// recursively the object types its fields name. `path` prefixes the field names in messages.
    pub fn validate_nested(&self, type_name: &str, value: &Value, path: &str) -> Result<(), EgError> {
        let Some(fields) = self.definitions.request.get(type_name) else { return Ok(()) };
        match value {
            Value::Object(map) => check_fields(fields, map, path, Some(&self.definitions.request)),
            _ => Err(EgError::Parameter(format!("{path} must be an object"))),
        }
    }
}

fn check_fields(
    fields: &[Field],
    body: &serde_json::Map<String, Value>,
    path: &str,
    nested: Option<&BTreeMap<String, Vec<Field>>>,
) -> Result<(), EgError> {
    for field in fields {
        let value = body
            .get(&field.name)
            .filter(|v| !v.is_null())
            .filter(|v| !(field.empty_object_is_absent && v.as_object().is_some_and(|o| o.is_empty())));
        // Top-level names are borrowed: most fields are absent or fine, and need no message.
        let name: Cow<'_, str> =
            if path.is_empty() { Cow::Borrowed(&field.name) } else { Cow::Owned(format!("{path}.{}", field.name)) };
        let Some(value) = value else {
            if field.required {
                return Err(EgError::Parameter(format!("{name} is required")));
            }
            continue;
        };
        let got = type_name(value);
        let fits = match field.ty.as_str() {
            "number" => matches!(got, "integer" | "number"),
            // The seed's examples write some integers as numeric strings.
            "integer" => got == "integer" || value.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok()),
            "string" => got == "string",
            other => got == other,
        };
        if !fits {
            let why = format!("{name} must be of type {}, not {got}", field.ty);
            return Err(match field.error_code.as_deref() {
                Some("EG.00513004") => EgError::Filter(why),
                _ => EgError::Parameter(why),
            });
        }
        match value {
            Value::String(s) if field.ty == "string" => {
                check_string(field, s).map_err(|e| prefix(e, path))?;
            }
            Value::Number(n) => {
                if let Some(n) = n.as_i64() {
                    check_integer(field, n).map_err(|e| prefix(e, path))?;
                }
            }
            Value::Object(map) => {
                if let (Some(defs), Some(r)) = (nested, &field.reference) {
                    if let Some(inner) = defs.get(r) {
                        check_fields(inner, map, &name, nested)?;
                    }
                }
            }
            Value::Array(list) => {
                let item_ref = field.items.as_ref().and_then(|i| i.get("ref")).and_then(Value::as_str);
                if let (Some(defs), Some(r)) = (nested, item_ref) {
                    if let Some(inner) = defs.get(r) {
                        for (i, item) in list.iter().enumerate() {
                            let at = format!("{name}[{i}]");
                            match item {
                                Value::Object(map) => check_fields(inner, map, &at, nested)?,
                                _ => return Err(EgError::Parameter(format!("{at} must be an object"))),
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn prefix(e: EgError, path: &str) -> EgError {
    match e {
        EgError::Parameter(d) if !path.is_empty() => EgError::Parameter(format!("{path}.{d}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_has_every_api_of_chapter_5() {
        let spec = spec();
        assert_eq!(spec.chapter5().len(), 76);
        for api in spec.apis() {
            assert!(matches!(api.method.as_str(), "GET" | "POST" | "PUT" | "DELETE"), "{}", api.name);
            assert!(api.path.starts_with('/'), "{}", api.name);
        }
        assert!(spec.api("ValidateEventRouterJob").unwrap().reads_only());
        assert!(!spec.api("CreateChannel").unwrap().reads_only());
        assert!(spec.api("ListChannels").unwrap().reads_only());
        let names: std::collections::BTreeSet<&str> = spec.apis().iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names.len(), spec.apis().len(), "API names are unique");
    }

    #[test]
    fn routing_prefers_literal_segments() {
        let spec = spec();
        let r = spec.route("GET", "/v1/p/subscriptions/obsbuckets").unwrap();
        assert_eq!(r.api.name, "ListObsBuckets");
        let r = spec.route("GET", "/v1/p/subscriptions/abc").unwrap();
        assert_eq!(r.api.name, "ShowDetailOfSubscription");
        assert_eq!(r.path_param("subscription_id"), Some("abc"));
        assert_eq!(r.path_param("project_id"), Some("p"));
        assert_eq!(
            spec.route("POST", "/v1/p/subscriptions/operation").unwrap().api.name,
            "ExecuteSubscriptionOperation"
        );
        assert_eq!(spec.route("POST", "/v1/p/events/check").unwrap().api.name, "CheckPutEvents");
        assert_eq!(spec.route("GET", "/v1/p/events/trace/detail/t1").unwrap().api.name, "ShowDetailOfEventTrace");
        assert_eq!(spec.route("GET", "/").unwrap().api.name, "ListApiVersions");
        assert_eq!(spec.route("GET", "/v1").unwrap().api.name, "ShowApiVersion");
        assert_eq!(
            spec.route("GET", "/v1/p/eventrouter/clusters/availability-zone").unwrap().api.name,
            "ListAvailabilityZones"
        );
        assert_eq!(spec.route("GET", "/v1/p/eventrouter/clusters/c1").unwrap().api.name, "ShowEventRouterCluster");
        assert_eq!(spec.route("POST", "/v1/p/eventrouter/jobs/validation").unwrap().api.name, "ValidateEventRouterJob");
        assert!(spec.route("PATCH", "/v1/p/channels").is_none());
        assert!(spec.route("GET", "/v1/p/nothing").is_none());
        assert_eq!(spec.route("GET", "/v1/p/channels/").unwrap().api.name, "ListChannels");
        let r = spec.route("GET", "/v1/p/sources/a%20b").unwrap();
        assert_eq!(r.path_param("source_id"), Some("a b"));
        assert!(matches!(decode_segment("plain"), Cow::Borrowed("plain")));
        assert_eq!(decode_segment("%E4%B8%AD%ff"), "中\u{fffd}");
        assert!(spec.route("GET", &"/x".repeat(MAX_SEGMENTS + 1)).is_none());
    }

    #[test]
    fn query_and_body_follow_the_seed() {
        let list = spec().api("ListChannels").unwrap();
        let q = |k: &'static str, v: &'static str| vec![(Cow::Borrowed(k), Cow::Borrowed(v))];
        assert!(list.validate_query(&q("limit", "1000")).is_ok());
        assert!(list.validate_query(&q("limit", "1001")).is_err());
        assert!(list.validate_query(&q("limit", "0")).is_err());
        assert!(list.validate_query(&q("offset", "x")).is_err());
        assert!(list.validate_query(&q("other", "x")).is_ok());
        let create = spec().api("CreateChannel").unwrap();
        let body = |v: Value| v.as_object().unwrap().clone();
        assert!(create.validate_body(&body(serde_json::json!({"name": "c1"}))).is_ok());
        assert!(create.validate_body(&body(serde_json::json!({}))).is_err());
        assert!(create.validate_body(&body(serde_json::json!({"name": 5}))).is_err());
        assert!(create.validate_body(&body(serde_json::json!({"name": "-c"}))).is_err());
        assert!(create.validate_body(&body(serde_json::json!({"name": "c", "policy": "x"}))).is_err());
        let job = spec().api("CreateEventRouterJob").unwrap();
        let long = "a".repeat(129);
        let err = job.validate_body(&body(serde_json::json!({"cluster_id": "c", "name": long}))).unwrap_err();
        assert!(err.detail().contains("128"), "{err:?}");
    }
}
