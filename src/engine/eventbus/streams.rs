//! Event streams (seed 5.14) and the professional event-router clusters and jobs (5.16, 5.17): their
//! documents, states and the transitions the seed documents. Moving records is not modelled here: a
//! stream or job records what it should move; the data plane that moves Kafka records is outside the
//! management state.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Millis;

/// How an event stream runs (the seed's example answer spells the status in lower case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamStatus {
    /// Started (on creation and after START).
    Running,
    /// Stopped by PAUSE until START.
    Paused,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Running => "running",
            StreamStatus::Paused => "paused",
        }
    }
}

/// An event stream: one source, one sink, optional rules and run options (kept as the client sent them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventStream {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub source: Value,
    pub sink: Value,
    pub rule_config: Option<Value>,
    pub option: Option<Value>,
    pub status: StreamStatus,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// A professional event-router cluster. It is CREATING until `ready_ms`, then RUNNING: the state is
/// derived from the clock, so the transition needs no write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterCluster {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// KAFKA, ROCKETMQ or DCS; source and sink are of one type.
    pub source_type: String,
    pub sink_type: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub zone_names: String,
    pub flavor: String,
    /// postPaid (no bss_param) or prePaid.
    pub charging_mode: String,
    pub public_access_enabled: bool,
    pub nat_id: Option<String>,
    pub eip_id: Option<String>,
    pub ready_ms: Millis,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

impl RouterCluster {
    /// CREATING until the cluster is ready, then RUNNING.
    pub fn status(&self, now: Millis) -> &'static str {
        if now < self.ready_ms {
            "CREATING"
        } else {
            "RUNNING"
        }
    }
}

/// The states of a router job: NO_CONFIGURATION (source or sink config missing), WAIT_START (configured,
/// never started), RUNNING, STOPPED.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    NoConfiguration,
    WaitStart,
    Running,
    Stopped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::NoConfiguration => "NO_CONFIGURATION",
            JobStatus::WaitStart => "WAIT_START",
            JobStatus::Running => "RUNNING",
            JobStatus::Stopped => "STOPPED",
        }
    }
}

/// What can be done to a router job.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobOperation {
    Start,
    Stop,
    Restart,
}

/// A professional event-router job of a cluster (scene DISASTER_BACKUP: synchronise source to sink).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterJob {
    pub id: String,
    pub project_id: String,
    pub cluster_id: String,
    pub name: String,
    pub description: String,
    pub scene_type: String,
    pub source_config: Option<Value>,
    pub sink_config: Option<Value>,
    pub advance_config: Option<Value>,
    pub status: JobStatus,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

impl RouterJob {
    /// The state a job not running has, from its configuration.
    pub fn idle_status(&self) -> JobStatus {
        if self.source_config.is_some() && self.sink_config.is_some() {
            JobStatus::WaitStart
        } else {
            JobStatus::NoConfiguration
        }
    }

    /// The state after `operation`, or why it cannot be done.
    pub fn after(&self, operation: JobOperation) -> Result<JobStatus, String> {
        match (operation, self.status) {
            (_, JobStatus::NoConfiguration) => Err(format!("job {} has no source or sink configuration", self.name)),
            (JobOperation::Start, JobStatus::Running) => Err(format!("job {} is already running", self.name)),
            (JobOperation::Start | JobOperation::Restart, _) => Ok(JobStatus::Running),
            (JobOperation::Stop, JobStatus::Running) => Ok(JobStatus::Stopped),
            (JobOperation::Stop, status) => Err(format!("job {} is {}, not running", self.name, status.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(source: bool, sink: bool) -> RouterJob {
        RouterJob {
            id: "j".into(),
            project_id: "p".into(),
            cluster_id: "c".into(),
            name: "job".into(),
            description: String::new(),
            scene_type: "DISASTER_BACKUP".into(),
            source_config: source.then(|| serde_json::json!({})),
            sink_config: sink.then(|| serde_json::json!({})),
            advance_config: None,
            status: JobStatus::NoConfiguration,
            created_ms: Millis(0),
            updated_ms: Millis(0),
        }
    }

    #[test]
    fn job_states_follow_configuration_and_operations() {
        let mut j = job(true, false);
        assert_eq!(j.idle_status(), JobStatus::NoConfiguration);
        j.status = j.idle_status();
        assert!(j.after(JobOperation::Start).is_err());
        let mut j = job(true, true);
        j.status = j.idle_status();
        assert_eq!(j.status, JobStatus::WaitStart);
        assert!(j.after(JobOperation::Stop).is_err());
        j.status = j.after(JobOperation::Start).unwrap();
        assert_eq!(j.status, JobStatus::Running);
        assert!(j.after(JobOperation::Start).is_err());
        j.status = j.after(JobOperation::Stop).unwrap();
        assert_eq!(j.status, JobStatus::Stopped);
        assert_eq!(j.after(JobOperation::Restart), Ok(JobStatus::Running));
    }

    #[test]
    fn clusters_are_creating_until_ready() {
        let c = RouterCluster {
            id: "c".into(),
            project_id: "p".into(),
            name: "c".into(),
            description: String::new(),
            source_type: "KAFKA".into(),
            sink_type: "KAFKA".into(),
            vpc_id: "v".into(),
            subnet_id: "s".into(),
            zone_names: "az0".into(),
            flavor: String::new(),
            charging_mode: "postPaid".into(),
            public_access_enabled: false,
            nat_id: None,
            eip_id: None,
            ready_ms: Millis(100),
            created_ms: Millis(0),
            updated_ms: Millis(0),
        };
        assert_eq!(c.status(Millis(99)), "CREATING");
        assert_eq!(c.status(Millis(100)), "RUNNING");
    }
}
