//! Vendor-neutral RocketMQ model (instances, topics, groups, messages). Filled in by the RocketMQ work.

use serde::{Deserialize, Serialize};

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct RocketMqModel {}

impl RocketMqModel {
    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&mut self, _account: &str) {}
}
