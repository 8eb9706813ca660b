//! Tencent Cloud API v3 errors: `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` with the
//! common codes (API 3.0 "公共错误码") and CKafka's own (`errorcodes` of ckafka 2019-08-19), always HTTP 200
//! as Tencent answers them.

use crate::engine::kafka::security::SecurityError;
use crate::engine::kafka::KafkaError;

/// One v3 error: its documented code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Error {
    pub code: &'static str,
    pub message: String,
}

impl V3Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        V3Error { code, message: message.into() }
    }
    /// `MissingParameter`: a required parameter is absent.
    pub fn missing(name: &str) -> Self {
        V3Error::new("MissingParameter", format!("The request is missing a required parameter `{name}`."))
    }
    /// `InvalidParameterValue`: a parameter's value is outside what the action accepts.
    pub fn value(name: &str, why: impl std::fmt::Display) -> Self {
        V3Error::new("InvalidParameterValue", format!("The value of parameter `{name}` is invalid: {why}"))
    }
}

impl From<KafkaError> for V3Error {
    fn from(e: KafkaError) -> Self {
        let text = e.to_string();
        let code = match e {
            KafkaError::InstanceNotFound(_) => "InvalidParameterValue.InstanceNotExist",
            KafkaError::TopicNotFound(_) | KafkaError::GroupNotFound(_) | KafkaError::PartitionNotFound { .. } => {
                "ResourceNotFound"
            }
            KafkaError::TopicExists(_) => "InvalidParameterValue.TopicNameAlreadyExist",
            KafkaError::InstanceExists(_) | KafkaError::GroupExists(_) => "InvalidParameterValue.RepetitionValue",
            KafkaError::PartitionsCannotShrink { .. }
            | KafkaError::TooManyReplicas { .. }
            | KafkaError::MinInsyncAboveReplicas { .. } => "InvalidParameterValue",
            KafkaError::QuotaExceeded(_) => "LimitExceeded",
        };
        V3Error::new(code, text)
    }
}

impl From<SecurityError> for V3Error {
    fn from(e: SecurityError) -> Self {
        let text = e.to_string();
        let code = match e {
            SecurityError::InstanceNotFound(_) => "InvalidParameterValue.InstanceNotExist",
            SecurityError::UserExists(_) => "InvalidParameterValue.RepetitionValue",
            SecurityError::UserNotFound(_) | SecurityError::AclNotFound => "ResourceNotFound",
            SecurityError::WrongPassword(_) => "InvalidParameterValue",
            SecurityError::QuotaExceeded(_) => "LimitExceeded",
        };
        V3Error::new(code, text)
    }
}
