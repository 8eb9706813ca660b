//! Tencent CKafka's part of the fixture files and of the admin reset: the `kafka:` entries with
//! `cloud: tencent`, validated by this API's own rules (CreateTopic, SetInstanceAttributes).

use serde_json::Value;

use crate::engine::Cloud;
use crate::fixtures::KafkaFixtureRules;
use crate::state::AppState;

const RULES: KafkaFixtureRules = KafkaFixtureRules {
    cloud: Cloud::Tencent,
    new_instance: super::new_instance,
    check_instance_name: super::check_fixture_instance_name,
    topic: super::fixture_topic,
    group_name,
};

/// CKafka v2 has no action that creates or names a group (groups appear when clients commit offsets), so a
/// fixture group only needs a non-empty name.
fn group_name(name: &str) -> Result<&str, String> {
    if name.is_empty() {
        Err("a consumer group needs a non-empty name".into())
    } else {
        Ok(name)
    }
}

/// Applies the `cloud: tencent` entries of a `kafka:` section.
pub fn apply(state: &AppState, section: &Value) -> Result<(), String> {
    crate::fixtures::apply_kafka_section(state, section, &RULES)
}

/// Removes every Tencent instance (with its topics and groups), or one account's.
pub fn clear(state: &AppState, account: Option<&str>) {
    let scope = crate::engine::kafka::Scope { cloud: Some(Cloud::Tencent), account, region: None };
    crate::engine::kafka::with_model(&state.store.kafka, |model| model.remove_instances(scope));
}
