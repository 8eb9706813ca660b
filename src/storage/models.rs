//! The account registry has no resources worth keying (a set of provisioned account ids): every method of
//! [`Resources`] keeps its default, so a change to it is saved as a whole-model record. The engines
//! (Kafka, RocketMQ, event bus) implement the trait in their own modules.

use super::Resources;

impl Resources for crate::state::AccountRegistry {}
