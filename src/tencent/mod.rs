//! Tencent Cloud: CKafka API v2.

pub mod ckafka;
pub mod params_de;
