//! Tencent Cloud: CKafka API v2.

pub mod ckafka;
