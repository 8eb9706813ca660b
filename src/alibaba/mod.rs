//! Alibaba Cloud: Message Queue for Apache Kafka (RPC OpenAPI), RocketMQ (`/json` Open API) and RocketMQ's
//! ONS OpenAPI (RPC, 2019-02-14).

pub mod kafka;
pub mod ons;
pub mod rocketmq;
