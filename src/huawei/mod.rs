//! Huawei Cloud: EventGrid (EG).

pub mod eventgrid;
