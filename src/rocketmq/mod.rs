//! RocketMQ data planes: the protocols producers and consumers speak, over the RocketMQ model
//! (`crate::engine::rocketmq`) that the `/json` Open API reads.
//!
//! - [`http`]: the MQ HTTP protocol (what PyPI `mq_http_sdk` speaks) on the main HTTP port, a vendor API
//!   behind the registry.
//! - [`remoting`]: the RocketMQ 4.x TCP remoting protocol (name server and broker) that the TCP clients speak.

pub mod http;
pub mod remoting;
