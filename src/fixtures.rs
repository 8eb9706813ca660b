//! Start-up fixtures: the built-in defaults (`fixtures/default.yaml`, compiled in) and the user's
//! `--fixtures` file or folder. Accounts and keys first, then each account's default resources, then the
//! resources the files declare.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::engine::kafka::NewTopic;
use crate::engine::Cloud;
use crate::state::AppState;

pub const DEFAULT_FIXTURES: &str = include_str!("../fixtures/default.yaml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureFile {
    #[serde(default)]
    pub accounts: Vec<AccountFixture>,
    /// Kafka instances, topics and groups (Tencent and Alibaba).
    #[serde(default)]
    pub kafka: Option<Value>,
    #[serde(default)]
    pub rocketmq: Option<Value>,
    #[serde(default)]
    pub eventgrid: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFixture {
    pub id: String,
    #[serde(default)]
    pub keys: Vec<KeyFixture>,
    #[serde(default)]
    pub huawei_project_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFixture {
    pub id: String,
    pub secret: String,
}

/// A fixture file that was read, with where it came from for error messages.
pub struct LoadedFixture {
    pub source: String,
    pub file: FixtureFile,
}

pub fn parse_fixture(source: &str, text: &str) -> anyhow::Result<FixtureFile> {
    let is_json = source.ends_with(".json");
    let parsed = if is_json {
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))
    } else {
        serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))
    };
    parsed
}

/// Reads a fixture file, or every .yaml/.yml/.json file of a folder in name order.
pub fn read_fixtures(path: &Path) -> anyhow::Result<Vec<LoadedFixture>> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| anyhow::anyhow!("fixtures folder {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    files
        .drain(..)
        .map(|p| {
            let source = p.display().to_string();
            let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("fixture file {source}: {e}"))?;
            let file = parse_fixture(&source, &text)?;
            Ok(LoadedFixture { source, file })
        })
        .collect()
}

/// Applies the defaults and the configured fixtures to a fresh state.
pub fn apply_startup_fixtures(state: &AppState) -> anyhow::Result<()> {
    let mut loaded = vec![LoadedFixture {
        source: "built-in fixtures/default.yaml".into(),
        file: parse_fixture("default.yaml", DEFAULT_FIXTURES)?,
    }];
    if let Some(path) = &state.config.fixtures {
        loaded.extend(read_fixtures(path)?);
    }
    apply(state, &loaded)
}

pub fn apply(state: &AppState, loaded: &[LoadedFixture]) -> anyhow::Result<()> {
    // Accounts and keys of every file first, so resources may name any account.
    let mut accounts: Vec<String> = Vec::new();
    {
        let mut credentials = state.credentials.write();
        let default_account = credentials.default_account().to_string();
        accounts.push(default_account);
        for f in loaded {
            for a in &f.file.accounts {
                if a.id.is_empty() {
                    anyhow::bail!("{}: accounts: an account needs a non-empty id", f.source);
                }
                for k in &a.keys {
                    if k.id.is_empty() || k.secret.is_empty() {
                        anyhow::bail!("{}: account {}: keys need a non-empty id and secret", f.source, a.id);
                    }
                    credentials.insert(&k.id, &k.secret, &a.id);
                }
                if !accounts.contains(&a.id) {
                    accounts.push(a.id.clone());
                }
            }
        }
        // Keys from LOCALYUN_CREDENTIALS may name accounts no file declares.
        for k in credentials.keys() {
            if !accounts.contains(&k.account) {
                accounts.push(k.account.clone());
            }
        }
    }
    for account in &accounts {
        provision_account(state, account);
    }
    for f in loaded {
        for a in &f.file.accounts {
            crate::huawei::eventgrid::bind_fixture_projects(state, &a.id, &a.huawei_project_ids)
                .map_err(|e| anyhow::anyhow!("{}: account {}: {e}", f.source, a.id))?;
        }
        if let Some(v) = &f.file.kafka {
            apply_kafka(state, v).map_err(|e| anyhow::anyhow!("{}: kafka: {e}", f.source))?;
        }
        if let Some(v) = &f.file.rocketmq {
            crate::alibaba::rocketmq::apply_fixtures(state, v)
                .map_err(|e| anyhow::anyhow!("{}: rocketmq: {e}", f.source))?;
        }
        if let Some(v) = &f.file.eventgrid {
            crate::huawei::eventgrid::apply_fixtures(state, v)
                .map_err(|e| anyhow::anyhow!("{}: eventgrid: {e}", f.source))?;
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaSection {
    #[serde(default)]
    instances: Vec<KafkaInstanceFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaInstanceFixture {
    cloud: Cloud,
    #[serde(default)]
    account: Option<String>,
    region: String,
    /// Omitted: the account's default instance in that region (topics and groups are added to it).
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    brokers: Option<u32>,
    #[serde(default)]
    max_topics: Option<u32>,
    #[serde(default)]
    max_partitions: Option<u32>,
    #[serde(default)]
    topics: Vec<KafkaTopicFixture>,
    #[serde(default)]
    groups: Vec<KafkaGroupFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaTopicFixture {
    name: String,
    #[serde(default = "one")]
    partitions: u32,
    #[serde(default = "one")]
    replicas: u32,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaGroupFixture {
    name: String,
    #[serde(default)]
    remark: String,
}

fn one() -> u32 {
    1
}

fn apply_kafka(state: &AppState, section: &Value) -> anyhow::Result<()> {
    let section: KafkaSection = serde_json::from_value(section.clone())?;
    let default_account = state.credentials.read().default_account().to_string();
    for (n, spec) in section.instances.into_iter().enumerate() {
        let entry = format!("instances[{n}]");
        let account = spec.account.clone().unwrap_or_else(|| default_account.clone());
        let mut model = state.store.kafka.write();
        let id = match &spec.id {
            Some(id) => {
                if !model.instances.contains_key(id) {
                    let mut instance = match spec.cloud {
                        Cloud::Tencent => crate::tencent::ckafka::new_instance(&account, &spec.region, id)
                            .map_err(|e| anyhow::anyhow!("{entry}: {e}"))?,
                        Cloud::Alibaba => crate::alibaba::kafka::new_instance(&account, &spec.region, id)
                            .map_err(|e| anyhow::anyhow!("{entry}: {e}"))?,
                        Cloud::Huawei => anyhow::bail!("{entry}: Huawei has no Kafka API in localyun"),
                    };
                    if let Some(name) = &spec.name {
                        instance.name = name.clone();
                    }
                    if let Some(b) = spec.brokers {
                        instance.brokers = b;
                    }
                    if let Some(m) = spec.max_topics {
                        instance.max_topics = m;
                    }
                    if let Some(m) = spec.max_partitions {
                        instance.max_partitions = m;
                    }
                    model.add_instance(instance).map_err(|e| anyhow::anyhow!("{entry}: {e}"))?;
                }
                id.clone()
            }
            None => model
                .instances_of(spec.cloud, &account, Some(&spec.region))
                .next()
                .map(|i| i.id.clone())
                .ok_or_else(|| anyhow::anyhow!("{entry}: no default instance in region {}", spec.region))?,
        };
        let instance = model.instance_mut(spec.cloud, &account, &id).map_err(|e| anyhow::anyhow!("{entry}: {e}"))?;
        for (t, topic) in spec.topics.into_iter().enumerate() {
            if instance.topics.contains_key(&topic.name) {
                continue;
            }
            let new = NewTopic {
                id: crate::engine::kafka::topic_id(spec.cloud, &topic.name),
                name: topic.name,
                remark: topic.note,
                partitions: topic.partitions,
                replica_num: topic.replicas,
                ..NewTopic::default()
            };
            instance.create_topic(new).map_err(|e| anyhow::anyhow!("{entry}.topics[{t}]: {e}"))?;
        }
        for (g, group) in spec.groups.into_iter().enumerate() {
            if !instance.groups.contains_key(&group.name) {
                instance
                    .create_group(&group.name, &group.remark)
                    .map_err(|e| anyhow::anyhow!("{entry}.groups[{g}]: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Gives an account every vendor's default resources (idempotent).
pub fn provision_account(state: &AppState, account: &str) {
    crate::tencent::ckafka::provision_defaults(state, account);
    crate::alibaba::kafka::provision_defaults(state, account);
    crate::alibaba::rocketmq::provision_defaults(state, account);
    crate::huawei::eventgrid::provision_defaults(state, account);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_defaults_parse() {
        let f = parse_fixture("default.yaml", DEFAULT_FIXTURES).unwrap();
        assert_eq!(f.accounts[0].keys[0].id, crate::credentials::DEFAULT_KEY_ID);
        assert_eq!(f.accounts[0].keys[0].secret, crate::credentials::DEFAULT_SECRET);
        assert_eq!(f.accounts[0].id, crate::credentials::DEFAULT_ACCOUNT);
    }

    #[test]
    fn the_example_parses() {
        let text = include_str!("../fixtures/example.yaml");
        parse_fixture("example.yaml", text).unwrap();
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(parse_fixture("x.yaml", "acounts: []").is_err());
    }
}
