//! Vendor-neutral models. Facades translate wire requests into calls on these; the models own state and rules.

pub mod eventbus;
pub mod ids;
pub mod kafka;
pub mod rocketmq;

use serde::{Deserialize, Serialize};

/// The cloud a resource was created through; resources of one cloud are invisible to the others' APIs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Tencent,
    Alibaba,
    Huawei,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Tencent => "tencent",
            Cloud::Alibaba => "alibaba",
            Cloud::Huawei => "huawei",
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
