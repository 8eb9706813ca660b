//! Fault injection: an error code and/or a delay for a vendor and action, for N calls or a percentage of
//! calls, so users can exercise their retry logic against a real request path.

use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::registry;

/// A fault as the admin API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// One of the service names health lists (e.g. `tencent-ckafka`).
    pub vendor: String,
    /// The action (e.g. `CreateTopic`); omitted or `*` matches every action of the vendor.
    #[serde(default)]
    pub action: Option<String>,
    /// The vendor error code to answer with (in the vendor's error envelope).
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Delay before answering (the real answer, or the injected error).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Fire for this many matching calls, then disappear.
    #[serde(default)]
    pub count: Option<u64>,
    /// Fire for this share (0-100) of matching calls.
    #[serde(default)]
    pub percentage: Option<f64>,
}

/// An installed fault, as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: u64,
    pub vendor: String,
    pub action: Option<String>,
    pub error_code: Option<String>,
    pub message: String,
    pub delay_ms: u64,
    /// Calls left before the fault disappears (None: unlimited).
    pub remaining: Option<u64>,
    pub percentage: Option<f64>,
    /// How many calls it has fired for.
    pub fired: u64,
}

/// What a request must suffer.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultHit {
    pub fault_id: u64,
    pub delay: Duration,
    pub error_code: Option<String>,
    pub message: String,
}

#[derive(Default)]
pub struct FaultTable {
    inner: Mutex<FaultList>,
}

#[derive(Default)]
struct FaultList {
    next_id: u64,
    faults: Vec<Fault>,
}

impl FaultSpec {
    fn validate(&self) -> Result<(), String> {
        if registry::find(&self.vendor).is_none_or(|v| v.name() != self.vendor) {
            return Err(format!("vendor must be one of {}, not {:?}", registry::names().join(", "), self.vendor));
        }
        if self.error_code.as_deref().is_none_or(str::is_empty) && self.delay_ms.is_none_or(|d| d == 0) {
            return Err("a fault needs an error_code, a delay_ms, or both".into());
        }
        if self.action.as_deref() == Some("") {
            return Err("action must not be empty (omit it to match every action)".into());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (omit it for no limit)".into());
        }
        if let Some(p) = self.percentage {
            if !(0.0..=100.0).contains(&p) || p.is_nan() {
                return Err(format!("percentage must lie in 0..=100, not {p}"));
            }
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            return Err("delay_ms must be at most 600000 (10 minutes)".into());
        }
        Ok(())
    }
}

impl FaultTable {
    /// Installs a fault; returns it with its id.
    pub fn add(&self, spec: FaultSpec) -> Result<Fault, String> {
        spec.validate()?;
        let mut list = self.inner.lock();
        list.next_id += 1;
        let fault = Fault {
            id: list.next_id,
            vendor: spec.vendor,
            action: spec.action.filter(|a| a != "*"),
            error_code: spec.error_code.filter(|c| !c.is_empty()),
            message: spec.message.unwrap_or_else(|| "fault injected by localyun".into()),
            delay_ms: spec.delay_ms.unwrap_or(0),
            remaining: spec.count,
            percentage: spec.percentage,
            fired: 0,
        };
        list.faults.push(fault.clone());
        Ok(fault)
    }

    /// Cheap check on every request (no fault installed is the common case).
    pub fn is_empty(&self) -> bool {
        self.inner.lock().faults.is_empty()
    }

    pub fn list(&self) -> Vec<Fault> {
        self.inner.lock().faults.clone()
    }

    /// Removes every fault, or those of one vendor (and action); returns how many were removed.
    pub fn clear(&self, vendor: Option<&str>, action: Option<&str>) -> usize {
        let mut list = self.inner.lock();
        let before = list.faults.len();
        list.faults.retain(|f| {
            let vendor_matches = vendor.is_none_or(|v| f.vendor == v);
            let action_matches = action.is_none_or(|a| f.action.as_deref() == Some(a));
            !(vendor_matches && action_matches)
        });
        before - list.faults.len()
    }

    /// The first installed fault that matches and fires for this call, if any (counting it down).
    pub fn hit(&self, vendor: &str, action: Option<&str>) -> Option<FaultHit> {
        let mut list = self.inner.lock();
        if list.faults.is_empty() {
            return None;
        }
        let mut rng = rand::thread_rng();
        let position = list.faults.iter().position(|f| {
            f.vendor == vendor
                && f.action.as_deref().is_none_or(|a| Some(a) == action)
                && f.percentage.is_none_or(|p| rng.gen_range(0.0..100.0) < p)
        })?;
        let fault = &mut list.faults[position];
        fault.fired += 1;
        let hit = FaultHit {
            fault_id: fault.id,
            delay: Duration::from_millis(fault.delay_ms),
            error_code: fault.error_code.clone(),
            message: fault.message.clone(),
        };
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                list.faults.remove(position);
            }
        }
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> FaultSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn counted_faults_fire_n_times_then_vanish() {
        let t = FaultTable::default();
        t.add(spec(
            serde_json::json!({"vendor": "tencent-ckafka", "action": "CreateTopic", "error_code": "4000", "count": 2}),
        ))
        .unwrap();
        assert!(t.hit("tencent-ckafka", Some("ListTopic")).is_none());
        assert!(t.hit("alibaba-kafka", Some("CreateTopic")).is_none());
        assert_eq!(t.hit("tencent-ckafka", Some("CreateTopic")).unwrap().error_code.as_deref(), Some("4000"));
        assert!(t.hit("tencent-ckafka", Some("CreateTopic")).is_some());
        assert!(t.hit("tencent-ckafka", Some("CreateTopic")).is_none());
        assert!(t.list().is_empty());
    }

    #[test]
    fn percentages_zero_and_hundred() {
        let t = FaultTable::default();
        t.add(spec(serde_json::json!({"vendor": "tencent-ckafka", "delay_ms": 5, "percentage": 0.0}))).unwrap();
        assert!((0..200).all(|_| t.hit("tencent-ckafka", Some("X")).is_none()));
        t.clear(None, None);
        t.add(spec(serde_json::json!({"vendor": "tencent-ckafka", "delay_ms": 5, "percentage": 100.0}))).unwrap();
        assert!((0..200).all(|_| t.hit("tencent-ckafka", None).is_some()));
    }

    #[test]
    fn invalid_specs_are_refused() {
        let t = FaultTable::default();
        for bad in [
            serde_json::json!({"vendor": "nope", "error_code": "1"}),
            serde_json::json!({"vendor": "tencent-ckafka"}),
            serde_json::json!({"vendor": "tencent-ckafka", "error_code": "1", "count": 0}),
            serde_json::json!({"vendor": "tencent-ckafka", "error_code": "1", "percentage": 101.0}),
        ] {
            assert!(t.add(spec(bad)).is_err());
        }
    }
}
