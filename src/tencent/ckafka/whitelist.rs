//! Access control actions: AddTopicIpwhitelist, DeleteTopicIpwhitelist.

use super::error::TencentError;
use super::topics::instance_mut;
use super::wire::{check_ips, Params, MAX_WHITELIST_IPS};
use super::{ok_empty, Ctx, Reply};

/// Adds addresses to the topic's whitelist (an empty whitelist admits no address).
pub fn add_topic_ipwhitelist(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let ips = p.list(&["ipWhiteList"]);
    if ips.is_empty() {
        return Err(TencentError::MissingParameter("ipWhiteList.n"));
    }
    check_ips("ipWhiteList.n", &ips)?;
    let mut model = ctx.state.store.kafka.write();
    let topic = instance_mut(&mut model, ctx, instance_id)?.topic_mut(name)?;
    let mut merged = topic.whitelist.ips.clone();
    for ip in ips {
        let ip = ip.trim().to_string();
        if !merged.contains(&ip) {
            merged.push(ip);
        }
    }
    if merged.len() > MAX_WHITELIST_IPS {
        return Err(TencentError::OperationFailed(
            super::error::module::QUOTA_EXCEEDED,
            format!("a topic's whitelist holds at most {MAX_WHITELIST_IPS} addresses"),
        ));
    }
    topic.whitelist.ips = merged;
    ok_empty()
}

/// Removes addresses from the topic's whitelist (the seed spells the array `Ip.n` and `ip.n`).
pub fn delete_topic_ipwhitelist(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let ips = p.list(&["ip", "Ip"]);
    if ips.is_empty() {
        return Err(TencentError::MissingParameter("ip.n"));
    }
    check_ips("ip.n", &ips)?;
    let mut model = ctx.state.store.kafka.write();
    let topic = instance_mut(&mut model, ctx, instance_id)?.topic_mut(name)?;
    topic.whitelist.ips.retain(|existing| !ips.iter().any(|ip| ip.trim() == existing));
    ok_empty()
}
