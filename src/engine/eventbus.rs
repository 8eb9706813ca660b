//! Vendor-neutral event bus (channels, sources, subscriptions, targets, traces). Filled in by the EventGrid work.

use serde::{Deserialize, Serialize};

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct EventBusModel {}
