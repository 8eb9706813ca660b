//! Alibaba Cloud: Message Queue for Apache Kafka (RPC OpenAPI) and RocketMQ (`/json` Open API).

pub mod kafka;
pub mod rocketmq;
