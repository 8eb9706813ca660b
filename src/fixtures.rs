//! Start-up fixtures: the built-in defaults (`fixtures/default.yaml`, compiled in) and the user's
//! `--fixtures` file or folder. Accounts and keys first, then each account's default resources, then the
//! resources the files declare.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::admin::Service;
use crate::config::Config;
use crate::engine::kafka::{KafkaError, NewTopic, Scope};
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
    pub secret: crate::credentials::Secret,
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

/// The built-in defaults followed by the files of `--fixtures`, parsed (not yet applied).
pub fn read_startup_fixtures(config: &Config) -> anyhow::Result<Vec<LoadedFixture>> {
    let mut loaded = vec![LoadedFixture {
        source: "built-in fixtures/default.yaml".into(),
        file: parse_fixture("default.yaml", DEFAULT_FIXTURES)?,
    }];
    if let Some(path) = &config.fixtures {
        loaded.extend(read_fixtures(path)?);
    }
    Ok(loaded)
}

/// Applies the defaults and the configured fixtures to a fresh state (kept for callers that build a
/// state by hand; `AppState::from_config` already does this).
pub fn apply_startup_fixtures(state: &AppState) -> anyhow::Result<()> {
    apply(state, &state.fixtures)
}

/// Registers every file's accounts and keys; returns every account (default first, then files, then keys
/// from LOCALYUN_CREDENTIALS).
fn register_accounts(state: &AppState, loaded: &[LoadedFixture]) -> anyhow::Result<Vec<String>> {
    let mut accounts: Vec<String> = Vec::new();
    let mut credentials = state.credentials.write();
    accounts.push(credentials.default_account().to_string());
    for f in loaded {
        for (i, a) in f.file.accounts.iter().enumerate() {
            if a.id.trim().is_empty() {
                anyhow::bail!("{}: accounts[{i}]: an account needs a non-empty id", f.source);
            }
            for (j, k) in a.keys.iter().enumerate() {
                if k.id.trim().is_empty() || k.secret.expose().is_empty() {
                    anyhow::bail!(
                        "{}: accounts[{i}] (account {}): keys[{j}]: a key needs a non-empty id and secret",
                        f.source,
                        a.id
                    );
                }
                credentials.insert(&k.id, k.secret.expose(), &a.id);
            }
            if !accounts.contains(&a.id) {
                accounts.push(a.id.clone());
            }
        }
    }
    // Keys from LOCALYUN_CREDENTIALS may name accounts no file declares.
    let mut from_keys: Vec<String> =
        credentials.keys().map(|k| k.account.clone()).filter(|a| !accounts.contains(a)).collect();
    from_keys.sort();
    from_keys.dedup();
    accounts.extend(from_keys);
    Ok(accounts)
}

/// Applies accounts, default resources and every fixture file's resources.
pub fn apply(state: &AppState, loaded: &[LoadedFixture]) -> anyhow::Result<()> {
    // Accounts and keys of every file first, so resources may name any account.
    let accounts = register_accounts(state, loaded)?;
    for account in &accounts {
        provision_account(state, account);
    }
    for f in loaded {
        bind_projects(state, f, None)?;
        if let Some(v) = &f.file.kafka {
            apply_kafka(state, v, None).map_err(|e| anyhow::anyhow!("{}: kafka.{e}", f.source))?;
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

/// On a restart over stored state: keys are registered, and only accounts the store has never seen get
/// their defaults (resource fixtures seeded the store once; re-applying them would resurrect deletions).
pub fn apply_accounts_only(state: &AppState) -> anyhow::Result<()> {
    let accounts = register_accounts(state, &state.fixtures)?;
    for account in &accounts {
        if state.store.accounts.read().provisioned.contains(account) {
            continue;
        }
        provision_account(state, account);
        for f in &state.fixtures {
            bind_projects(state, f, Some(account))?;
        }
    }
    Ok(())
}

/// Re-applies one service's part of the start-up fixtures (after an admin reset of that service).
pub fn apply_service(state: &AppState, service: Service) -> anyhow::Result<()> {
    for f in &state.fixtures {
        match service {
            Service::TencentCkafka | Service::AlibabaKafka => {
                if let Some(v) = &f.file.kafka {
                    apply_kafka(state, v, Some(service.kafka_cloud()))
                        .map_err(|e| anyhow::anyhow!("{}: kafka.{e}", f.source))?;
                }
            }
            Service::AlibabaRocketmq => {
                if let Some(v) = &f.file.rocketmq {
                    crate::alibaba::rocketmq::apply_fixtures(state, v)
                        .map_err(|e| anyhow::anyhow!("{}: rocketmq: {e}", f.source))?;
                }
            }
            Service::HuaweiEventgrid => {
                bind_projects(state, f, None)?;
                if let Some(v) = &f.file.eventgrid {
                    crate::huawei::eventgrid::apply_fixtures(state, v)
                        .map_err(|e| anyhow::anyhow!("{}: eventgrid: {e}", f.source))?;
                }
            }
        }
    }
    Ok(())
}

/// Binds the Huawei project ids a file declares (for every account, or one).
fn bind_projects(state: &AppState, f: &LoadedFixture, only: Option<&str>) -> anyhow::Result<()> {
    for (i, a) in f.file.accounts.iter().enumerate() {
        if only.is_some_and(|o| o != a.id) {
            continue;
        }
        crate::huawei::eventgrid::bind_fixture_projects(state, &a.id, &a.huawei_project_ids)
            .map_err(|e| anyhow::anyhow!("{}: accounts[{i}] (account {}): huawei_project_ids: {e}", f.source, a.id))?;
    }
    Ok(())
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

/// Applies a `kafka:` section (only the instances of `only_cloud` when given). Errors start with the entry
/// (`instances[2].topics[0]: ...`) so the caller can prefix the file.
fn apply_kafka(state: &AppState, section: &Value, only_cloud: Option<Cloud>) -> anyhow::Result<()> {
    let entries = match section {
        Value::Null => return Ok(()),
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| k.as_str() != "instances") {
                anyhow::bail!("{unknown}: unknown field (expected `instances`)");
            }
            match map.get("instances") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::Array(entries)) => entries,
                Some(_) => anyhow::bail!("instances: expected a list"),
            }
        }
        _ => anyhow::bail!("expected a mapping with `instances`"),
    };
    let default_account = state.credentials.read().default_account().to_string();
    for (n, raw) in entries.iter().enumerate() {
        let spec: KafkaInstanceFixture = serde_json::from_value(raw.clone()).map_err(|e| {
            let id = raw.get("id").and_then(Value::as_str).map(|id| format!(" ({id})")).unwrap_or_default();
            anyhow::anyhow!("instances[{n}]{id}: {e}")
        })?;
        if only_cloud.is_some_and(|c| c != spec.cloud) {
            continue;
        }
        let entry = match &spec.id {
            Some(id) => format!("instances[{n}] ({id})"),
            None => format!("instances[{n}]"),
        };
        let account = spec.account.clone().unwrap_or_else(|| default_account.clone());
        let kafka = state.store.kafka.read();
        let model = &*kafka;
        let id = match &spec.id {
            Some(id) => {
                if !model.contains_instance(id) {
                    let mut instance = match spec.cloud {
                        Cloud::Tencent => crate::tencent::ckafka::new_instance(&account, &spec.region, id)
                            .map_err(|e| anyhow::anyhow!("{entry}: {e}"))?,
                        Cloud::Alibaba => crate::alibaba::kafka::new_instance(&account, &spec.region, id)
                            .map_err(|e| anyhow::anyhow!("{entry}: {e}"))?,
                        Cloud::Huawei => anyhow::bail!("{entry}: Huawei has no Kafka API in localyun"),
                    };
                    if let Some(name) = &spec.name {
                        if spec.cloud == Cloud::Tencent {
                            crate::tencent::ckafka::check_fixture_instance_name(name)
                                .map_err(|e| anyhow::anyhow!("{entry}: name: {e}"))?;
                        }
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
                .instances_of(Scope::owner(spec.cloud, &account).in_region(Some(&spec.region)))
                .first()
                .map(|i| i.id())
                .ok_or_else(|| anyhow::anyhow!("{entry}: no default instance in region {}", spec.region))?,
        };
        let scope = Scope::owner(spec.cloud, &account);
        model.read_instance(scope, &id, |_| ()).map_err(|e| anyhow::anyhow!("{entry}: {e}"))?;
        for (t, topic) in spec.topics.iter().enumerate() {
            let new = fixture_topic(spec.cloud, topic)
                .map_err(|e| anyhow::anyhow!("{entry}.topics[{t}] ({}): {e}", topic.name))?;
            match model.create_topic(scope, &id, new) {
                Ok(_) | Err(KafkaError::TopicExists(_)) => {}
                Err(e) => anyhow::bail!("{entry}.topics[{t}] ({}): {e}", topic.name),
            }
        }
        for (g, group) in spec.groups.iter().enumerate() {
            let name = fixture_group_name(spec.cloud, &group.name)
                .map_err(|e| anyhow::anyhow!("{entry}.groups[{g}] ({}): {e}", group.name))?;
            match model.create_group(scope, &id, name, &group.remark, Vec::new()) {
                Ok(()) | Err(KafkaError::GroupExists(_)) => {}
                Err(e) => anyhow::bail!("{entry}.groups[{g}] ({}): {e}", group.name),
            }
        }
        drop(kafka);
        // Fixtures change the model through its own locks; persistence watches the store's generation.
        state.store.kafka.mark_changed();
    }
    Ok(())
}

/// A fixture topic, validated by the rules of the cloud's CreateTopic (issue 4: fixtures go through the same
/// validation as the API).
fn fixture_topic(cloud: Cloud, topic: &KafkaTopicFixture) -> Result<NewTopic, String> {
    match cloud {
        Cloud::Tencent => {
            crate::tencent::ckafka::fixture_topic(&topic.name, topic.partitions, topic.replicas, &topic.note)
        }
        Cloud::Alibaba => {
            crate::alibaba::kafka::fixture_topic(&topic.name, topic.partitions, topic.replicas, &topic.note)
        }
        Cloud::Huawei => Err("Huawei has no Kafka API in localyun".into()),
    }
}

/// A fixture consumer group name, by the cloud's rule. CKafka v2 has no action that creates or names a
/// group (groups appear when clients commit offsets), so Tencent only requires a non-empty name.
fn fixture_group_name(cloud: Cloud, name: &str) -> Result<&str, String> {
    match cloud {
        Cloud::Alibaba => crate::alibaba::kafka::fixture_group_name(name),
        _ if name.is_empty() => Err("a consumer group needs a non-empty name".into()),
        _ => Ok(name),
    }
}

/// Gives an account every vendor's default resources (idempotent) and records it as provisioned.
pub fn provision_account(state: &AppState, account: &str) {
    state.store.accounts.write().provisioned.insert(account.to_string());
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
        assert_eq!(f.accounts[0].keys[0].secret.expose(), crate::credentials::DEFAULT_SECRET);
        assert!(!format!("{f:?}").contains(crate::credentials::DEFAULT_SECRET), "a parsed fixture prints no secret");
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
