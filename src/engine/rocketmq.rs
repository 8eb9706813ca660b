//! Vendor-neutral RocketMQ model (instances, topics, groups, messages). Filled in by the RocketMQ work.

use serde::{Deserialize, Serialize};

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct RocketMqModel {}
