//! The vendor registry: every vendor API localyun serves, listed once. Dispatch, the admin API and
//! fixtures iterate it instead of naming vendors.

/// Whether an operation only reads state or may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One declared operation of a vendor API (an action name or a route), as the registry lists it for the
/// admin API, fault injection and the coverage test. Each vendor's own table adds its typed input and
/// handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// The name clients use: a Tencent/Alibaba `Action`, a RocketMQ route such as `topic/create`, or an
    /// EventGrid API name such as `ListChannels`.
    pub name: &'static str,
    pub access: Access,
}
