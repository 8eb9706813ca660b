//! Placeholder [`Resources`] impls (every method defaulted: whole-model journaling) for the models whose
//! engines do not yet report resource keys. Each engine's own impl replaces its line here.

use super::Resources;

impl Resources for crate::engine::kafka::KafkaModel {}
impl Resources for crate::engine::rocketmq::RocketMqModel {}
impl Resources for crate::engine::eventbus::EventBusModel {}
impl Resources for crate::state::AccountRegistry {}
