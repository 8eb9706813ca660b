//! Tencent Cloud: CKafka API v2 and API v3 (2019-08-19).

pub mod ckafka;
pub mod ckafka_v3;
pub mod params_de;
