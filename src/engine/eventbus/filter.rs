//! Subscription filter rules: validation when a subscription is written, matching when an event arrives.
//!
//! The seed shows only `StringIn`/`NumberIn` examples and documents the 2048-byte limit; the rest of the
//! language (operators, the four top-level fields, 5 conditions OR'ed, fields AND'ed, `data` nesting up to
//! 5 levels) follows Huawei's EG user guide (see the extract, section 5.4). Filters stay `serde_json::Value`
//! so a repeated key keeps its last definition, as the guide says.

use serde_json::{Map, Value};

/// Largest serialized filter the seed allows ("该字段序列化后总长度不超过2048字节").
pub const MAX_FILTER_BYTES: usize = 2048;
const MAX_CONDITIONS: usize = 5;
const MAX_DATA_FIELDS: usize = 5;
const MAX_DATA_DEPTH: usize = 5;
const TOP_LEVEL_FIELDS: &[&str] = &["source", "type", "subject", "data"];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    StringIn,
    StringNotIn,
    StringStartsWith,
    StringNotStartsWith,
    StringEndsWith,
    StringNotEndsWith,
    NumberIn,
    NumberNotIn,
    NumberLessThan,
    NumberNotLessThan,
    NumberGreaterThan,
    NumberNotGreaterThan,
    NumberInRange,
    NumberNotInRange,
    IsNull,
    IsNotNull,
    IsTrue,
    IsNotTrue,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "StringIn" => Op::StringIn,
            "StringNotIn" => Op::StringNotIn,
            "StringStartsWith" => Op::StringStartsWith,
            "StringNotStartsWith" => Op::StringNotStartsWith,
            "StringEndsWith" => Op::StringEndsWith,
            "StringNotEndsWith" => Op::StringNotEndsWith,
            "NumberIn" => Op::NumberIn,
            "NumberNotIn" => Op::NumberNotIn,
            "NumberLessThan" => Op::NumberLessThan,
            "NumberNotLessThan" => Op::NumberNotLessThan,
            "NumberGreaterThan" => Op::NumberGreaterThan,
            "NumberNotGreaterThan" => Op::NumberNotGreaterThan,
            "NumberInRange" => Op::NumberInRange,
            "NumberNotInRange" => Op::NumberNotInRange,
            "IsNull" => Op::IsNull,
            "IsNotNull" => Op::IsNotNull,
            "IsTrue" => Op::IsTrue,
            "IsNotTrue" => Op::IsNotTrue,
            _ => return None,
        })
    }

    /// Negative operators match when no input value satisfies the positive form (so a missing field too).
    fn is_negative(self) -> bool {
        matches!(
            self,
            Op::StringNotIn
                | Op::StringNotStartsWith
                | Op::StringNotEndsWith
                | Op::NumberNotIn
                | Op::NumberNotInRange
                | Op::IsNotTrue
        )
    }

    fn is_single_number(self) -> bool {
        matches!(self, Op::NumberLessThan | Op::NumberNotLessThan | Op::NumberGreaterThan | Op::NumberNotGreaterThan)
    }
}

/// Checks a filter rule; the error says what is wrong (the facade maps it to "invalid filter parameters").
pub fn validate(filter: &Value) -> Result<(), String> {
    let Some(rule) = filter.as_object() else {
        return Err("filter must be a JSON object".into());
    };
    let size = serde_json::to_vec(filter).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_FILTER_BYTES {
        return Err(format!("filter is {size} bytes serialized; at most {MAX_FILTER_BYTES} are allowed"));
    }
    for (field, spec) in rule {
        if !TOP_LEVEL_FIELDS.contains(&field.as_str()) {
            return Err(format!("unknown filter field {field:?}: only source, type, subject and data may be filtered"));
        }
        if field == "data" {
            let Some(nested) = spec.as_object() else {
                return Err("filter.data must be an object of field rules".into());
            };
            let mut leaves = 0;
            validate_nested(nested, "data", 1, &mut leaves)?;
            if leaves > MAX_DATA_FIELDS {
                return Err(format!("filter.data has {leaves} match fields; at most {MAX_DATA_FIELDS} are allowed"));
            }
        } else {
            validate_conditions(spec, field)?;
        }
    }
    Ok(())
}

fn validate_nested(rule: &Map<String, Value>, path: &str, depth: usize, leaves: &mut usize) -> Result<(), String> {
    if depth > MAX_DATA_DEPTH {
        return Err(format!("{path}: data rules nest at most {MAX_DATA_DEPTH} levels"));
    }
    for (key, spec) in rule {
        let here = format!("{path}.{key}");
        match spec {
            Value::Array(_) => {
                *leaves += 1;
                validate_conditions(spec, &here)?;
            }
            Value::Object(nested) => validate_nested(nested, &here, depth + 1, leaves)?,
            _ => return Err(format!("{here}: expected an array of conditions or a nested object")),
        }
    }
    Ok(())
}

fn validate_conditions(spec: &Value, path: &str) -> Result<(), String> {
    let Some(conditions) = spec.as_array() else {
        return Err(format!("{path}: expected an array of conditions"));
    };
    if conditions.is_empty() || conditions.len() > MAX_CONDITIONS {
        return Err(format!("{path}: between 1 and {MAX_CONDITIONS} conditions are allowed"));
    }
    for condition in conditions {
        let op_name = condition
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{path}: a condition needs an \"op\""))?;
        let op = Op::parse(op_name).ok_or_else(|| format!("{path}: unknown operator {op_name:?}"))?;
        match op {
            Op::IsNull | Op::IsNotNull | Op::IsTrue | Op::IsNotTrue => {}
            Op::StringIn
            | Op::StringNotIn
            | Op::StringStartsWith
            | Op::StringNotStartsWith
            | Op::StringEndsWith
            | Op::StringNotEndsWith => {
                let values = condition.get("values").and_then(Value::as_array);
                if !values.is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string)) {
                    return Err(format!("{path}: {op_name} needs \"values\", a non-empty array of strings"));
                }
            }
            Op::NumberIn | Op::NumberNotIn => {
                let values = condition.get("values").and_then(Value::as_array);
                if !values.is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_number)) {
                    return Err(format!("{path}: {op_name} needs \"values\", a non-empty array of numbers"));
                }
            }
            Op::NumberInRange | Op::NumberNotInRange if ranges(condition).is_none() => {
                return Err(format!("{path}: {op_name} needs \"values\", a non-empty array of [low, high] pairs"));
            }
            _ if op.is_single_number() && single_number(condition).is_none() => {
                return Err(format!("{path}: {op_name} needs one number in \"value\""));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The operand of a single-value operator: `"value": n`, `"values": n` or `"values": [n]` (the guide does
/// not pin the key down).
fn single_number(condition: &Value) -> Option<f64> {
    if let Some(n) = condition.get("value").and_then(Value::as_f64) {
        return Some(n);
    }
    match condition.get("values") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::Array(v)) if v.len() == 1 => v[0].as_f64(),
        _ => None,
    }
}

fn ranges(condition: &Value) -> Option<Vec<(f64, f64)>> {
    let values = condition.get("values")?.as_array()?;
    if values.is_empty() {
        return None;
    }
    values
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([low, high]) => Some((low.as_f64()?, high.as_f64()?)),
            _ => None,
        })
        .collect()
}

/// Whether `event` (a whole CloudEvent) satisfies the rule. Fields are AND'ed, conditions of one field OR'ed.
/// A rule that failed validation never matches.
pub fn matches(filter: &Value, event: &Value) -> bool {
    let Some(rule) = filter.as_object() else { return false };
    rule.iter().all(|(field, spec)| {
        let input = event.get(field);
        if field == "data" {
            spec.as_object().is_some_and(|nested| matches_nested(nested, input))
        } else {
            any_condition(spec, input)
        }
    })
}

fn matches_nested(rule: &Map<String, Value>, value: Option<&Value>) -> bool {
    rule.iter().all(|(key, spec)| {
        let input = value.and_then(|v| v.get(key));
        match spec {
            Value::Object(nested) => matches_nested(nested, input),
            _ => any_condition(spec, input),
        }
    })
}

fn any_condition(spec: &Value, input: Option<&Value>) -> bool {
    spec.as_array().is_some_and(|conditions| conditions.iter().any(|c| condition_matches(c, input)))
}

fn condition_matches(condition: &Value, input: Option<&Value>) -> bool {
    let Some(op) = condition.get("op").and_then(Value::as_str).and_then(Op::parse) else { return false };
    let input = input.filter(|v| !v.is_null());
    match op {
        Op::IsNull => return input.is_none(),
        Op::IsNotNull => return input.is_some(),
        Op::IsTrue => return input == Some(&Value::Bool(true)),
        Op::IsNotTrue => return input != Some(&Value::Bool(true)),
        _ => {}
    }
    // Array inputs: a positive operator matches when any element does, a negative one when none does.
    let items: Vec<&Value> = match input {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    };
    let positive = |item: &Value| -> bool {
        match op {
            Op::StringIn | Op::StringNotIn => string_test(condition, item, |a, b| a == b),
            Op::StringStartsWith | Op::StringNotStartsWith => string_test(condition, item, |a, b| a.starts_with(b)),
            Op::StringEndsWith | Op::StringNotEndsWith => string_test(condition, item, |a, b| a.ends_with(b)),
            Op::NumberIn | Op::NumberNotIn => item.as_f64().is_some_and(|x| {
                condition
                    .get("values")
                    .and_then(Value::as_array)
                    .is_some_and(|vs| vs.iter().any(|v| v.as_f64() == Some(x)))
            }),
            Op::NumberInRange | Op::NumberNotInRange => item.as_f64().is_some_and(|x| {
                ranges(condition).is_some_and(|rs| rs.iter().any(|(low, high)| *low <= x && x <= *high))
            }),
            Op::NumberLessThan => number_test(condition, item, |x, v| x < v),
            Op::NumberNotLessThan => number_test(condition, item, |x, v| x >= v),
            Op::NumberGreaterThan => number_test(condition, item, |x, v| x > v),
            Op::NumberNotGreaterThan => number_test(condition, item, |x, v| x <= v),
            Op::IsNull | Op::IsNotNull | Op::IsTrue | Op::IsNotTrue => false,
        }
    };
    if op.is_negative() {
        !items.iter().any(|item| positive(item))
    } else {
        items.iter().any(|item| positive(item))
    }
}

fn string_test(condition: &Value, item: &Value, test: impl Fn(&str, &str) -> bool) -> bool {
    let Some(s) = item.as_str() else { return false };
    condition
        .get("values")
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().filter_map(Value::as_str).any(|v| test(s, v)))
}

fn number_test(condition: &Value, item: &Value, test: impl Fn(f64, f64) -> bool) -> bool {
    match (item.as_f64(), single_number(condition)) {
        (Some(x), Some(v)) => test(x, v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"id": "1", "source": "orders", "type": "order.created", "subject": "sub/a",
               "data": {"count": 3, "region": "cn-north-4", "tags": ["a", "b"], "nested": {"flag": true}, "none": null}})
    }

    #[test]
    fn string_and_number_operators() {
        let e = event();
        let ok = |f: Value| {
            validate(&f).unwrap();
            matches(&f, &e)
        };
        assert!(ok(json!({"source": [{"op": "StringIn", "values": ["orders"]}]})));
        assert!(!ok(json!({"source": [{"op": "StringIn", "values": ["billing"]}]})));
        assert!(ok(json!({"type": [{"op": "StringStartsWith", "values": ["order."]}]})));
        assert!(ok(json!({"subject": [{"op": "StringEndsWith", "values": ["/a"]}]})));
        assert!(ok(json!({"type": [{"op": "StringNotIn", "values": ["x"]}]})));
        assert!(!ok(json!({"type": [{"op": "StringNotIn", "values": ["order.created"]}]})));
        assert!(ok(json!({"data": {"count": [{"op": "NumberIn", "values": [1, 3]}]}})));
        assert!(!ok(json!({"data": {"count": [{"op": "NumberNotIn", "values": [3]}]}})));
        assert!(ok(json!({"data": {"count": [{"op": "NumberGreaterThan", "value": 2}]}})));
        assert!(!ok(json!({"data": {"count": [{"op": "NumberLessThan", "value": 3}]}})));
        assert!(ok(json!({"data": {"count": [{"op": "NumberInRange", "values": [[1, 3]]}]}})));
        assert!(ok(json!({"data": {"tags": [{"op": "StringIn", "values": ["b"]}]}})));
        assert!(ok(json!({"data": {"nested": {"flag": [{"op": "IsTrue"}]}}})));
        assert!(ok(json!({"data": {"missing": [{"op": "IsNull"}], "none": [{"op": "IsNull"}]}})));
        assert!(ok(json!({"data": {"region": [{"op": "IsNotNull"}]}})));
        assert!(!ok(json!({"data": {"missing": [{"op": "IsNotNull"}]}})));
        // OR within a field, AND across fields.
        assert!(ok(json!({"source": [{"op": "StringIn", "values": ["x"]}, {"op": "StringIn", "values": ["orders"]}],
                          "data": {"count": [{"op": "NumberIn", "values": [3]}]}})));
        assert!(!ok(json!({"source": [{"op": "StringIn", "values": ["orders"]}],
                           "data": {"count": [{"op": "NumberIn", "values": [4]}]}})));
        // Type mismatch never matches.
        assert!(!ok(json!({"data": {"region": [{"op": "NumberIn", "values": [1]}]}})));
    }

    #[test]
    fn invalid_rules_are_refused() {
        assert!(validate(&json!([])).is_err());
        assert!(validate(&json!({"id": [{"op": "StringIn", "values": ["a"]}]})).is_err());
        assert!(validate(&json!({"source": [{"op": "Regex", "values": ["a"]}]})).is_err());
        assert!(validate(&json!({"source": [{"op": "StringIn", "values": "a"}]})).is_err());
        assert!(validate(&json!({"source": []})).is_err());
        let six: Vec<Value> = (0..6).map(|_| json!({"op": "StringIn", "values": ["a"]})).collect();
        assert!(validate(&json!({ "source": six })).is_err());
        assert!(validate(&json!({"data": {"a": {"b": {"c": {"d": {"e": {"f": [{"op": "IsNull"}]}}}}}}})).is_err());
        let long = "x".repeat(2100);
        assert!(validate(&json!({"source": [{"op": "StringIn", "values": [long]}]})).is_err());
        assert!(validate(&json!({"data": {"n": [{"op": "NumberGreaterThan", "value": "1"}]}})).is_err());
    }
}
