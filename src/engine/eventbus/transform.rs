//! Target transforms: what a target receives for an event (ORIGINAL, CONSTANT, VARIABLE + template).
//!
//! The seed documents the three types, the variable limits (at most 100, flat, names
//! `[A-Za-z0-9][A-Za-z0-9._-]*` up to 64 characters and not starting with `HC.`, expressions up to 1024
//! characters, either a constant or a JsonPath) and shows the template syntax only by example:
//! `${name}` and `${name!"default"}`. JsonPaths are evaluated against the whole CloudEvent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MAX_VARIABLES: usize = 100;
pub const MAX_VARIABLE_NAME: usize = 64;
pub const MAX_EXPRESSION: usize = 1024;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TransformKind {
    Original,
    Constant,
    Variable,
}

impl TransformKind {
    pub fn parse(s: &str) -> Option<TransformKind> {
        match s {
            "ORIGINAL" => Some(TransformKind::Original),
            "CONSTANT" => Some(TransformKind::Constant),
            "VARIABLE" => Some(TransformKind::Variable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransformKind::Original => "ORIGINAL",
            TransformKind::Constant => "CONSTANT",
            TransformKind::Variable => "VARIABLE",
        }
    }
}

/// A target's transform rule as stored (the wire fields) plus the variables parsed once at write time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Transform {
    pub kind: TransformKind,
    pub value: Option<String>,
    pub template: Option<String>,
    #[serde(default)]
    pub variables: Vec<(String, Value)>,
}

/// The body a target receives and its content type.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    pub body: String,
    pub content_type: &'static str,
}

impl Transform {
    /// Builds and checks a rule; the error names the problem.
    pub fn new(kind: TransformKind, value: Option<String>, template: Option<String>) -> Result<Transform, String> {
        let variables = match kind {
            TransformKind::Variable => parse_variables(value.as_deref().unwrap_or("{}"))?,
            _ => Vec::new(),
        };
        if kind == TransformKind::Constant && value.is_none() {
            return Err("transform.value is required for CONSTANT".into());
        }
        Ok(Transform { kind, value, template, variables })
    }

    /// What the target receives for `event`.
    pub fn apply(&self, event: &Value) -> Payload {
        match self.kind {
            TransformKind::Original => Payload { body: event.to_string(), content_type: JSON },
            TransformKind::Constant => content(self.value.clone().unwrap_or_default()),
            TransformKind::Variable => {
                let values: Vec<(&str, Option<Value>)> =
                    self.variables.iter().map(|(name, expr)| (name.as_str(), evaluate(expr, event))).collect();
                match &self.template {
                    Some(template) => content(render(template, &values)),
                    // The seed's CreateSubscriptionTarget example sends VARIABLE without a template: deliver
                    // the evaluated variables as one JSON object.
                    None => {
                        let object: Map<String, Value> = values
                            .into_iter()
                            .map(|(name, value)| (name.to_string(), value.unwrap_or(Value::Null)))
                            .collect();
                        Payload { body: Value::Object(object).to_string(), content_type: JSON }
                    }
                }
            }
        }
    }
}

const JSON: &str = "application/json; charset=UTF-8";
const TEXT: &str = "text/plain; charset=UTF-8";

/// JSON when the text parses as JSON, else plain text.
fn content(body: String) -> Payload {
    let content_type = if serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok() { JSON } else { TEXT };
    Payload { body, content_type }
}

fn parse_variables(value: &str) -> Result<Vec<(String, Value)>, String> {
    let parsed: Value =
        serde_json::from_str(value).map_err(|_| "transform.value must be a JSON object string".to_string())?;
    let Value::Object(map) = parsed else {
        return Err("transform.value must be a JSON object string".into());
    };
    if map.len() > MAX_VARIABLES {
        return Err(format!("transform.value defines {} variables; at most {MAX_VARIABLES} are allowed", map.len()));
    }
    let mut variables = Vec::with_capacity(map.len());
    for (name, expr) in map {
        if !valid_variable_name(&name) {
            return Err(format!(
                "variable name {name:?}: letters, digits, '.', '_' and '-', a letter or digit first, at most \
                 {MAX_VARIABLE_NAME} characters, not starting with HC."
            ));
        }
        match &expr {
            Value::Object(_) | Value::Array(_) => {
                return Err(format!("variable {name:?}: nested definitions are not supported"));
            }
            Value::String(s) if s.chars().count() > MAX_EXPRESSION => {
                return Err(format!("variable {name:?}: expressions are at most {MAX_EXPRESSION} characters"));
            }
            Value::String(s) if s.starts_with('$') && parse_path(s).is_none() => {
                return Err(format!("variable {name:?}: {s:?} is not a valid JsonPath"));
            }
            _ => {}
        }
        variables.push((name, expr));
    }
    Ok(variables)
}

fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.len() <= MAX_VARIABLE_NAME
        && !name.starts_with("HC.")
}

/// A variable's value: a JsonPath (a string starting with `$`) evaluated on the event, else the constant.
fn evaluate(expr: &Value, event: &Value) -> Option<Value> {
    match expr {
        Value::String(s) if s.starts_with('$') => {
            let steps = parse_path(s)?;
            let mut current = event;
            for step in &steps {
                current = match step {
                    Step::Key(k) => current.get(k.as_str())?,
                    Step::Index(i) => current.get(*i)?,
                };
            }
            Some(current.clone())
        }
        other => Some(other.clone()),
    }
}

#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The JsonPath subset templates need: `$`, `.key`, `['key']`, `["key"]`, `[n]`.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let bytes = rest.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end] != b'.' && bytes[end] != b'[' {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                steps.push(Step::Key(rest.get(start..end)?.to_string()));
                i = end;
            }
            b'[' => {
                let close = rest.get(i..)?.find(']')? + i;
                let inner = rest.get(i + 1..close)?.trim();
                let quoted = inner.len() >= 2
                    && ((inner.starts_with('\'') && inner.ends_with('\''))
                        || (inner.starts_with('"') && inner.ends_with('"')));
                if quoted {
                    steps.push(Step::Key(inner.get(1..inner.len() - 1)?.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Replaces `${name}` and `${name!"default"}`: strings go in raw (the template supplies quotes), other values
/// as compact JSON; an undefined or null variable takes the default, or nothing.
fn render(template: &str, values: &[(&str, Option<Value>)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some((name, default, consumed)) = placeholder(after) else {
            // Not a placeholder after all: keep the text as written.
            out.push_str("${");
            rest = after;
            continue;
        };
        let value = values.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_ref()).filter(|v| !v.is_null());
        match (value, default) {
            (Some(Value::String(s)), _) => out.push_str(s),
            (Some(v), _) => out.push_str(&v.to_string()),
            (None, Some(d)) => out.push_str(&d),
            (None, None) => {}
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// Parses `name}` or `name!"default"}` / `name!default}`; returns the name, the default and bytes consumed.
fn placeholder(s: &str) -> Option<(&str, Option<String>, usize)> {
    let end_name = s.find(['}', '!'])?;
    let name = s[..end_name].trim();
    if s.as_bytes()[end_name] == b'}' {
        return Some((name, None, end_name + 1));
    }
    let tail = &s[end_name + 1..];
    if let Some(quoted) = tail.strip_prefix('"') {
        let close = quoted.find('"')?;
        let after = quoted[close + 1..].trim_start();
        if !after.starts_with('}') {
            return None;
        }
        let consumed = s.len() - after.len() + 1;
        return Some((name, Some(quoted[..close].to_string()), consumed));
    }
    let close = tail.find('}')?;
    Some((name, Some(tail[..close].to_string()), end_name + 1 + close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"id": "e1", "source": "orders", "type": "t", "data": {"name": "test01", "n": 7, "obj": {"a": [1, 2]}, "list": ["x", "y"]}})
    }

    #[test]
    fn original_and_constant() {
        let e = event();
        let t = Transform::new(TransformKind::Original, None, None).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&t.apply(&e).body).unwrap(), e);
        let c = Transform::new(TransformKind::Constant, Some("{\"k\":1}".into()), None).unwrap();
        assert_eq!(c.apply(&e), Payload { body: "{\"k\":1}".into(), content_type: JSON });
        let c = Transform::new(TransformKind::Constant, Some("hello".into()), None).unwrap();
        assert_eq!(c.apply(&e).content_type, TEXT);
        assert!(Transform::new(TransformKind::Constant, None, None).is_err());
    }

    #[test]
    fn variables_and_templates() {
        let e = event();
        let t = Transform::new(
            TransformKind::Variable,
            Some(r#"{"name":"$.data.name"}"#.into()),
            Some("My name is ${name}".into()),
        )
        .unwrap();
        assert_eq!(t.apply(&e).body, "My name is test01");
        // The seed's example shape: constants, JsonPaths, defaults, objects inserted as JSON.
        let value = r#"{"b": true, "s": "constant", "v": "$.data.name", "o": "$.data.obj", "first": "$.data.list[0]", "missing": "$.data.nope"}"#;
        let template = r#"{"b": ${b}, "s": "${s!"default"}", "v": "${v}", "o": ${o!"null"}, "f": "${first}", "m": ${missing!"null"}, "u": "${undefined}"}"#;
        let t = Transform::new(TransformKind::Variable, Some(value.into()), Some(template.into())).unwrap();
        let out = t.apply(&e);
        assert_eq!(out.content_type, JSON);
        assert_eq!(
            serde_json::from_str::<Value>(&out.body).unwrap(),
            json!({"b": true, "s": "constant", "v": "test01", "o": {"a": [1, 2]}, "f": "x", "m": null, "u": ""})
        );
        let t = Transform::new(TransformKind::Variable, Some(r#"{"id":"$.id","q":"$['data']['n']"}"#.into()), None)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&t.apply(&e).body).unwrap(), json!({"id": "e1", "q": 7}));
    }

    #[test]
    fn variable_rules_are_enforced() {
        let bad = |v: &str| Transform::new(TransformKind::Variable, Some(v.into()), Some("x".into())).is_err();
        assert!(bad("not json"));
        assert!(bad("[1]"));
        assert!(bad(r#"{"HC.x": "1"}"#));
        assert!(bad(r#"{"_x": "1"}"#));
        assert!(bad(r#"{"x": {"nested": 1}}"#));
        assert!(bad(&format!(r#"{{"{}": 1}}"#, "a".repeat(65))));
        assert!(bad(r#"{"x": "$.a..b"}"#));
        let many: Map<String, Value> = (0..101).map(|i| (format!("v{i}"), json!(1))).collect();
        assert!(bad(&Value::Object(many).to_string()));
        assert!(!bad(r#"{"a.b-c_1": "$.data", "k": 1}"#));
    }
}
