//! Every error the CKafka v2 facade returns, mapped in one place to the documented common code,
//! codeDesc and message. Module errors carry a module code in the message: `(100002)topic ... does not exist`.

use serde_json::{json, Value};

use crate::engine::kafka::KafkaError;

#[derive(Debug, Clone, PartialEq)]
/// A CKafka v2 error: code, codeDesc and message per the seed's error-code tables.
pub enum TencentError {
    /// 4000: a required parameter is missing.
    MissingParameter(String),
    /// 4000: a parameter has a wrong type or value (name, reason).
    InvalidParameter(String, String),
    /// 4100: the signature does not match.
    SignatureMismatch,
    /// 4104: the SecretId is unknown.
    SecretIdNotFound,
    /// 4500: a nonce was used twice, or the timestamp is outside the window.
    Replay(String),
    /// 5000 with a module code: an instance, topic or group does not exist.
    NotFound(u32, String),
    /// 5100 with a module code: the operation cannot be done in the current state.
    OperationFailed(u32, String),
    /// 6100: the Action is not part of CKafka v2.
    UnknownAction(String),
}

/// Module codes used in messages (the seed documents the form, not CKafka's values; these are localyun's).
pub mod module {
    pub const INSTANCE_NOT_FOUND: u32 = 100001;
    pub const TOPIC_NOT_FOUND: u32 = 100002;
    pub const TOPIC_EXISTS: u32 = 100003;
    pub const GROUP_NOT_FOUND: u32 = 100004;
    pub const QUOTA_EXCEEDED: u32 = 100005;
    pub const INSTANCE_EXISTS: u32 = 100006;
}

impl TencentError {
    pub fn code(&self) -> i64 {
        match self {
            TencentError::MissingParameter(_) | TencentError::InvalidParameter(..) => 4000,
            TencentError::SignatureMismatch => 4100,
            TencentError::SecretIdNotFound => 4104,
            TencentError::Replay(_) => 4500,
            TencentError::NotFound(..) => 5000,
            TencentError::OperationFailed(..) => 5100,
            TencentError::UnknownAction(_) => 6100,
        }
    }

    pub fn code_desc(&self) -> &'static str {
        match self {
            TencentError::MissingParameter(_) => "MissingParameter",
            TencentError::InvalidParameter(..) => "InvalidParameter",
            TencentError::SignatureMismatch => "AuthFailure",
            TencentError::SecretIdNotFound => "SecretIdNotFound",
            TencentError::Replay(_) => "RequestReplay",
            TencentError::NotFound(..) => "ResourceNotFound",
            TencentError::OperationFailed(..) => "OperationFailed",
            TencentError::UnknownAction(_) => "InvalidAction",
        }
    }

    pub fn message(&self) -> String {
        match self {
            TencentError::MissingParameter(name) => format!("missing required parameter: {name}"),
            TencentError::InvalidParameter(name, why) => format!("invalid parameter {name}: {why}"),
            TencentError::SignatureMismatch => {
                "signature verification failed: compute Signature as the documentation describes".into()
            }
            TencentError::SecretIdNotFound => "the SecretId does not exist or is disabled".into(),
            TencentError::Replay(why) => format!("replay rejected: {why}"),
            TencentError::NotFound(module, what) | TencentError::OperationFailed(module, what) => {
                format!("({module}){what}")
            }
            TencentError::UnknownAction(action) => format!("action {action} is not supported by CKafka API v2"),
        }
    }

    /// The documented error envelope (sent with HTTP 200: the v2 SDK only raises on other statuses).
    pub fn to_json(&self) -> Value {
        json!({"code": self.code(), "message": self.message(), "codeDesc": self.code_desc()})
    }
}

impl From<crate::tencent::params_de::ParamError> for TencentError {
    fn from(e: crate::tencent::params_de::ParamError) -> Self {
        use crate::tencent::params_de::ParamError;
        match e {
            ParamError::Missing(name) => TencentError::MissingParameter(name),
            ParamError::Invalid(name, why) => TencentError::InvalidParameter(name, why),
            ParamError::Other(why) => TencentError::InvalidParameter("parameters".into(), why),
        }
    }
}

impl From<KafkaError> for TencentError {
    fn from(e: KafkaError) -> Self {
        use module::*;
        let text = e.to_string();
        match e {
            KafkaError::InstanceNotFound(_) => TencentError::NotFound(INSTANCE_NOT_FOUND, text),
            KafkaError::TopicNotFound(_) => TencentError::NotFound(TOPIC_NOT_FOUND, text),
            KafkaError::GroupNotFound(_) => TencentError::NotFound(GROUP_NOT_FOUND, text),
            KafkaError::PartitionNotFound { .. } => TencentError::NotFound(TOPIC_NOT_FOUND, text),
            KafkaError::TopicExists(_) | KafkaError::GroupExists(_) => {
                TencentError::OperationFailed(TOPIC_EXISTS, text)
            }
            KafkaError::InstanceExists(_) => TencentError::OperationFailed(INSTANCE_EXISTS, text),
            KafkaError::QuotaExceeded(_) => TencentError::OperationFailed(QUOTA_EXCEEDED, text),
            KafkaError::PartitionsCannotShrink { .. } => TencentError::InvalidParameter("partitionNum".into(), text),
            KafkaError::TooManyReplicas { .. } => TencentError::InvalidParameter("replicaNum".into(), text),
            KafkaError::MinInsyncAboveReplicas { .. } => {
                TencentError::InvalidParameter("minInsyncReplicas".into(), text)
            }
        }
    }
}
