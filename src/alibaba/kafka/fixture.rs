//! Alibaba Kafka's part of the fixture files and of the admin reset: the `kafka:` entries with
//! `cloud: alibaba`, validated by this API's own rules (CreateTopic, CreateConsumerGroup).

use serde_json::Value;

use crate::engine::Cloud;
use crate::fixtures::KafkaFixtureRules;
use crate::state::AppState;

const RULES: KafkaFixtureRules = KafkaFixtureRules {
    cloud: Cloud::Alibaba,
    new_instance: super::new_instance,
    // The Alibaba Kafka API has no action that renames an instance: any name is taken.
    check_instance_name: |_| Ok(()),
    topic: super::fixture_topic,
    group_name: super::fixture_group_name,
};

/// Applies the `cloud: alibaba` entries of a `kafka:` section.
pub fn apply(state: &AppState, section: &Value) -> Result<(), String> {
    crate::fixtures::apply_kafka_section(state, section, &RULES)
}

/// Removes every Alibaba Kafka instance (with its topics and groups), or one account's.
pub fn clear(state: &AppState, account: Option<&str>) {
    let scope = crate::engine::kafka::Scope { cloud: Some(Cloud::Alibaba), account, region: None };
    crate::engine::kafka::with_model(&state.store.kafka, |model| model.remove_instances(scope));
}
