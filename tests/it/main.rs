//! Every integration test in one binary: linking one binary per test file (18 of them) took most of
//! `cargo test`'s time. One module per former `tests/<name>.rs`; run one with
//! `cargo test --test it <name>::` (e.g. `cargo test --test it admin::`).
//!
//! Support modules (servers, independent vendor signers) come first; test modules reach them as
//! `crate::<support>`.

mod admin_support;
mod alibaba_support;
mod common;
mod cross_support;
mod huawei_support;
mod kafka_support;
mod rocketmq_support;

mod admin;
mod admin_all_vendors;
mod alibaba_kafka;
mod alibaba_kafka_acs3;
mod alibaba_kafka_extra;
mod alibaba_ons;
mod alibaba_ons_more;
mod coverage;
mod fixtures_all_vendors;
mod fixtures_load;
mod fuzz_corpus;
mod huawei_eventgrid;
mod huawei_eventgrid_codes;
mod huawei_eventgrid_delivery;
mod huawei_eventgrid_kafka;
mod huawei_eventgrid_matrix;
mod huawei_eventgrid_more;
mod huawei_eventgrid_secrets;
mod huawei_eventgrid_wire;
mod kafka_acl_apis;
mod kafka_addresses;
mod kafka_admin;
mod kafka_admin_apis;
mod kafka_broker;
mod kafka_sasl;
mod kafka_tencent;
mod kafka_txn;
mod list_answers_golden;
mod persist;
mod persist_all_vendors;
mod restart;
mod rocketmq_admin;
mod rocketmq_http;
mod rocketmq_matrix;
mod rocketmq_messages;
mod rocketmq_read_locks;
mod rocketmq_tcp;
mod tencent_ckafka;
mod tencent_v3;
mod tencent_v3_form;
