//! Access control actions: AddTopicIpwhitelist, DeleteTopicIpwhitelist.

use serde::Deserialize;

use super::error::TencentError;
use super::wire::{check_ips, Input, Params, MAX_WHITELIST_IPS};
use super::{ok_empty, Ctx, Reply};
use crate::engine::kafka::KafkaError;

/// The whitelist actions' parameters: the topic and the addresses (`ipWhiteList.n` to add; `ip.n` or
/// `Ip.n` to remove, as the seed spells it in its table and its example).
#[derive(Deserialize)]
pub struct WhitelistChange {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
    #[serde(skip)]
    to_add: Vec<String>,
    #[serde(skip)]
    to_remove: Vec<String>,
}

impl Input for WhitelistChange {
    fn lists(&mut self, p: &Params<'_>) -> Result<(), TencentError> {
        self.to_add = p.list(&["ipWhiteList"]);
        self.to_remove = p.list(&["ip", "Ip"]);
        Ok(())
    }
}

/// Adds addresses to the topic's whitelist (an empty whitelist admits no address).
pub fn add_topic_ipwhitelist(ctx: &Ctx<'_>, input: WhitelistChange) -> Result<Reply, TencentError> {
    if input.to_add.is_empty() {
        return Err(TencentError::MissingParameter("ipWhiteList.n".into()));
    }
    check_ips("ipWhiteList.n", &input.to_add)?;
    match ctx.model.add_whitelist_ips(ctx.scope(), &input.instance_id, &input.topic_name, &input.to_add) {
        Err(KafkaError::QuotaExceeded(_)) => Err(TencentError::OperationFailed(
            super::error::module::QUOTA_EXCEEDED,
            format!("a topic's whitelist holds at most {MAX_WHITELIST_IPS} addresses"),
        )),
        other => other.map_err(TencentError::from),
    }?;
    ok_empty()
}

/// Removes addresses from the topic's whitelist.
pub fn delete_topic_ipwhitelist(ctx: &Ctx<'_>, input: WhitelistChange) -> Result<Reply, TencentError> {
    if input.to_remove.is_empty() {
        return Err(TencentError::MissingParameter("ip.n".into()));
    }
    check_ips("ip.n", &input.to_remove)?;
    ctx.model.remove_whitelist_ips(ctx.scope(), &input.instance_id, &input.topic_name, &input.to_remove)?;
    ok_empty()
}
