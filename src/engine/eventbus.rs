//! Vendor-neutral event bus (channels, sources, subscriptions, targets, traces). Filled in by the EventGrid work.

use serde::{Deserialize, Serialize};

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct EventBusModel {}

impl EventBusModel {
    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&mut self, _account: &str) {}
}
