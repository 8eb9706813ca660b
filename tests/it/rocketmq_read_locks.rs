//! RocketMQ read routes that first move due timed messages (consumer/*, message/trace, trend/*) take the
//! instance's write lock only when a timed message has come due; paged queries (first page included) are
//! reads. Plain reads leave the model's generation alone, so with `--data-dir` they never rewrite the model's
//! file; a read after a timed message came due moves it, and that move is persisted. Reads and refused
//! writes leave no dirty resource key for the journal; a write marks exactly the resources it changed.

use crate::rocketmq_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use localyun::engine::rocketmq::{group_key, topic_key, ConsumerClient, Millis, NewMessage};
use localyun::storage::Resources;
use rocketmq_support::*;
use serde_json::Value;

/// How far in the future the timed message is due: long enough for every read below to run first.
const DUE_IN_MS: i64 = 2_000;

struct Setup {
    api: Api,
    msg_id: String,
    due_ms: i64,
    file: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `--data-dir` server whose default instance holds topic `T_r` with one stored and one timed message, and
/// group `GID_r` whose online client subscribes `T_r`.
async fn setup() -> Setup {
    let dir = std::env::temp_dir().join(format!("localyun-rmq-read-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = localyun::Config { data_dir: Some(dir.clone()), ..localyun::Config::default() };
    let api = Api::with_config(config).await;
    let id = api.default_instance();
    api.create_topic(&id, "T_r", "0").await;
    api.create_group(&id, "GID_r").await;
    let due_ms = now_ms() + DUE_IN_MS;
    let msg_id = {
        let model = api.srv.state.store.rocketmq.write();
        model.connect_consumer(&id, "GID_r", ConsumerClient::new("c1", "10.0.0.5", &[("T_r", "*")])).unwrap();
        model.send(&id, "T_r", NewMessage::new("a", "k", "now")).unwrap();
        model
            .send(
                &id,
                "T_r",
                NewMessage { start_deliver_ms: Some(Millis::from_ms(due_ms)), ..NewMessage::new("a", "k", "later") },
            )
            .unwrap()
    };
    // Any answered request saves what changed so far (here: the test's own writes to the model).
    assert_ok(&api.get("topic/listNames", &[]).await.1);
    let file = api.srv.state.persistence.as_ref().expect("--data-dir persistence").model_path("rocketmq");
    assert!(file.exists());
    Setup { api, msg_id, due_ms, file, _dir: TempDir(dir) }
}

/// What the data dir holds for the model: the snapshot file (modification time and bytes) and the bytes of
/// every journal segment beside it and of the RocketMQ message logs (a saved change appends there).
fn file_state(file: &Path) -> (SystemTime, Vec<u8>, u64) {
    let journal: u64 = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let logs = file.parent().unwrap().parent().unwrap().join("rocketmq");
    let messages: u64 = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().filter_map(|e| e.ok()))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    (std::fs::metadata(file).unwrap().modified().unwrap(), std::fs::read(file).unwrap(), journal + messages)
}

/// The timed messages still waiting and the messages in queues of `T_r`, as the saved file holds them.
fn saved_counts(file: &Path) -> (usize, usize) {
    let saved: Value = serde_json::from_slice(&localyun::persist::read_state_file(file, "rocketmq").unwrap()).unwrap();
    let instance = saved["instances"].as_object().unwrap().values().find(|i| i["topics"].get("T_r").is_some()).unwrap();
    let topic = &instance["topics"]["T_r"];
    let queued = topic["queues"].as_array().unwrap().iter().map(|q| q["messages"].as_array().unwrap().len()).sum();
    (topic["scheduled"].as_array().unwrap().len(), queued)
}

/// Every read route whose handler moves due timed messages, plus the read-only ones, once each.
async fn read_everything(api: &Api, msg_id: &str, task_id: &str) {
    let now = now_ms().to_string();
    let hour_ago = (now_ms() - 3_600_000).to_string();
    let group = [("groupId", "GID_r")];
    let group_topic = [("groupId", "GID_r"), ("topic", "T_r")];
    let trend =
        [("topic", "T_r"), ("beginTime", hour_ago.as_str()), ("endTime", now.as_str()), ("period", "1"), ("type", "0")];
    let mut group_trend = trend.to_vec();
    group_trend.push(("groupId", "GID_r"));
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("consumer/accumulate", group.to_vec()),
        ("consumer/accumulate", vec![("groupId", "GID_r"), ("detail", "true")]),
        ("consumer/status", vec![("groupId", "GID_r"), ("detail", "true")]),
        ("consumer/getConnection", group.to_vec()),
        ("consumer/timespan", group_topic.to_vec()),
        ("message/trace", vec![("topic", "T_r"), ("msgId", msg_id)]),
        ("message/getById", vec![("topic", "T_r"), ("msgId", msg_id)]),
        ("message/getByKey", vec![("topic", "T_r"), ("key", "k")]),
        (
            "message/getByPagedTopic",
            vec![
                ("topic", "T_r"),
                ("beginTime", "0"),
                ("endTime", now.as_str()),
                ("currentPage", "1"),
                ("pageSize", "5"),
                ("taskId", task_id),
            ],
        ),
        ("trend/topicInputTps", trend.to_vec()),
        ("trend/groupOutputTps", group_trend),
        ("topic/get", vec![("topic", "T_r")]),
        ("group/list", vec![]),
    ];
    for (route, params) in calls {
        let (status, body) = api.get(route, &params).await;
        assert_eq!(status, 200, "{route}: {body}");
        assert_ok(&body);
    }
}

#[tokio::test]
async fn plain_reads_take_no_write_lock_and_never_rewrite_the_data_file() {
    let s = setup().await;
    let model = &s.api.srv.state.store.rocketmq;
    // Starting a paged query and reading its later pages are reads alike: the task is runtime state.
    let generation = model.generation();
    let before = file_state(&s.file);
    let now = now_ms().to_string();
    let (_, first) = s
        .api
        .get(
            "message/getByPagedTopic",
            &[("topic", "T_r"), ("beginTime", "0"), ("endTime", &now), ("currentPage", "1"), ("pageSize", "5")],
        )
        .await;
    assert_ok(&first);
    let task_id = first["data"]["taskId"].as_str().unwrap().to_string();
    for _ in 0..3 {
        read_everything(&s.api, &s.msg_id, &task_id).await;
    }
    assert!(now_ms() < s.due_ms, "the reads ran past the timed message's delivery time; raise DUE_IN_MS");
    assert_eq!(model.generation(), generation, "a plain read marked the RocketMQ model changed");
    assert_eq!(file_state(&s.file), before, "a plain read rewrote the RocketMQ data file");
    assert_eq!(saved_counts(&s.file), (1, 1));
}

#[tokio::test]
async fn a_read_after_a_timed_message_came_due_moves_it_and_persists_the_move() {
    let s = setup().await;
    let model = &s.api.srv.state.store.rocketmq;
    let (_, body) = s.api.get("consumer/accumulate", &[("groupId", "GID_r")]).await;
    assert_eq!(body["data"]["totalDiff"], 1, "{body}");
    let generation = model.generation();
    let before = file_state(&s.file);

    let wait = s.due_ms - now_ms() + 50;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let (_, body) = s.api.get("consumer/accumulate", &[("groupId", "GID_r")]).await;
    assert_eq!(body["data"]["totalDiff"], 2, "{body}");
    assert!(model.generation() > generation, "moving the due message is a change");
    assert!(file_state(&s.file).2 > before.2, "the move was not saved");
    assert_eq!(saved_counts(&s.file), (0, 2), "the saved file still holds the message as timed");

    // Once moved, reads are plain again.
    let generation = model.generation();
    let after = file_state(&s.file);
    for route in ["consumer/accumulate", "consumer/status"] {
        assert_ok(&s.api.get(route, &[("groupId", "GID_r")]).await.1);
    }
    let (_, body) = s.api.get("message/trace", &[("topic", "T_r"), ("msgId", &s.msg_id)]).await;
    assert_ok(&body);
    assert_eq!(model.generation(), generation);
    assert_eq!(file_state(&s.file), after);
}

#[tokio::test]
async fn each_settling_route_moves_a_due_message_itself() {
    // trace, timespan, status and trend each settle on their own (not only accumulate).
    let routes: [(&str, fn(&str, &str, &str) -> Vec<(String, String)>); 4] = [
        ("message/trace", |msg_id, _, _| vec![("topic".into(), "T_r".into()), ("msgId".into(), msg_id.into())]),
        ("consumer/timespan", |_, _, _| vec![("groupId".into(), "GID_r".into()), ("topic".into(), "T_r".into())]),
        ("consumer/status", |_, _, _| vec![("groupId".into(), "GID_r".into())]),
        ("trend/topicInputTps", |_, begin, end| {
            vec![
                ("topic".into(), "T_r".into()),
                ("beginTime".into(), begin.into()),
                ("endTime".into(), end.into()),
                ("period".into(), "1".into()),
                ("type".into(), "0".into()),
            ]
        }),
    ];
    let sets = independent_setups(routes.len()).await;
    for ((route, params), s) in routes.into_iter().zip(sets) {
        let model = &s.api.srv.state.store.rocketmq;
        let wait = s.due_ms - now_ms() + 50;
        tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
        let generation = model.generation();
        let begin = (now_ms() - 3_600_000).to_string();
        let end = (now_ms() + 60_000).to_string();
        let owned = params(&s.msg_id, &begin, &end);
        let params: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, body) = s.api.get(route, &params).await;
        assert_eq!(status, 200, "{route}: {body}");
        assert_ok(&body);
        assert!(model.generation() > generation, "{route} did not move the due message");
        assert_eq!(saved_counts(&s.file), (0, 2), "{route}: the move was not saved");
    }
}

/// `n` independent servers, set up one after another (their timed messages come due about together).
async fn independent_setups(n: usize) -> Vec<Setup> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(setup().await);
    }
    out
}

#[tokio::test]
async fn reads_and_refused_writes_leave_no_dirty_key_and_writes_mark_theirs() {
    let s = setup().await;
    let api = &s.api;
    let id = api.default_instance();
    let empower = [("instanceId", id.as_str()), ("topic", "T_r"), ("empowerUser", "300000000003"), ("relation", "6")];
    assert_ok(&api.get("empower/create", &empower).await.1);
    let model = || api.srv.state.store.rocketmq.read();
    let dirty = || model().take_dirty().expect("the RocketMQ model tracks its resource keys");
    dirty();

    let now = now_ms().to_string();
    let paged =
        [("topic", "T_r"), ("beginTime", "0"), ("endTime", now.as_str()), ("currentPage", "1"), ("pageSize", "5")];
    let (_, first) = api.get("message/getByPagedTopic", &paged).await;
    assert_ok(&first);
    let task_id = first["data"]["taskId"].as_str().unwrap().to_string();
    read_everything(api, &s.msg_id, &task_id).await;
    let dlq = [("GroupId", "GID_r"), ("beginTime", "0"), ("endTime", now.as_str()), ("currentPage", "1")];
    for (route, params) in [
        ("region/list", vec![]),
        ("cluster/list", vec![]),
        ("instance/list", vec![]),
        ("instance/baseInfo", vec![("instanceId", id.as_str())]),
        ("topic/listInPage", vec![("instanceId", id.as_str())]),
        ("topic/listNames", vec![]),
        ("topic/subDetail", vec![("topic", "T_r")]),
        ("group/subDetail", vec![("groupId", "GID_r")]),
        ("empower/list", vec![("instanceId", id.as_str()), ("topic", "T_r"), ("empowerUser", "300000000003")]),
        ("message/getByPagedDLQ", dlq.to_vec()),
        ("message/getByIdInDLQ", vec![("GroupId", "GID_r"), ("MsgId", s.msg_id.as_str())]),
    ] {
        let (status, _) = api.get(route, &params).await;
        assert_eq!(status, 200, "{route}");
    }
    assert_eq!(dirty(), Vec::<String>::new(), "a read marked a resource changed");

    // Refused writes: validation failures, duplicates, unknown resources, rule violations.
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("topic/create", vec![("topic", "T_r"), ("orderType", "0")]),
        ("topic/create", vec![("topic", "T_new"), ("orderType", "3")]),
        ("topic/create", vec![("topic", "T_new")]),
        ("topic/update", vec![("topic", "T_r"), ("perm", "3")]),
        ("topic/delete", vec![("topic", "T_none")]),
        ("group/create", vec![("instanceId", id.as_str()), ("groupId", "GID_r")]),
        ("group/create", vec![("instanceId", id.as_str()), ("groupId", "CID_legacy")]),
        ("group/delete", vec![("groupId", "GID_none")]),
        ("group/consumerUpdate", vec![("groupId", "GID_r"), ("readEnable", "maybe")]),
        ("instance/update", vec![("instanceId", id.as_str()), ("instanceName", "x")]),
        ("instance/delete", vec![("instanceId", id.as_str())]),
        ("consumer/resetOffset", vec![("groupId", "GID_r"), ("topic", "T_none"), ("type", "0")]),
        ("empower/create", empower.to_vec()),
        ("empower/delete", vec![("instanceId", id.as_str()), ("topic", "T_r"), ("empowerUser", "400000000004")]),
        ("message/resendByIdInDLQ", vec![("GroupId", "GID_r"), ("MsgId", "nope")]),
        ("vpcTunnel/tunnelSwitch", vec![("instanceId", id.as_str()), ("tunnelType", "someTunnel")]),
    ];
    for (route, params) in refused {
        let (_, body) = api.get(route, &params).await;
        assert_eq!(body["success"], false, "{route} {params:?}: {body}");
    }
    assert_eq!(dirty(), Vec::<String>::new(), "a refused write marked a resource changed");

    // Writes journal exactly their resources (the journal drained the marks before answering).
    let journaled = || journal_keys(&s.file);
    let before = journaled().len();
    assert_ok(&api.get("topic/create", &[("topic", "T_new"), ("orderType", "0")]).await.1);
    assert_eq!(journaled()[before..], [topic_key(&id, "T_new")]);
    let before = journaled().len();
    assert_ok(&api.get("group/consumerUpdate", &[("groupId", "GID_r"), ("readEnable", "false")]).await.1);
    assert_eq!(journaled()[before..], [group_key(&id, "GID_r")]);
    let key = topic_key(&id, "T_r");
    let before = journaled().len();
    assert_ok(&api.get("topic/update", &[("topic", "T_r"), ("perm", "4")]).await.1);
    assert_eq!(&journaled()[before..], std::slice::from_ref(&key));
    let topic = model().resource(&key).expect("the topic resource");
    assert_eq!(topic["perm"], 4);
    assert!(!topic.to_string().contains("messages"), "message payloads leaked into {topic}");
}

/// The RocketMQ resource keys in the journal beside `file`, oldest first.
fn journal_keys(file: &Path) -> Vec<String> {
    let segments = localyun::storage::journal::list_segments(file.parent().unwrap()).unwrap();
    let newest = segments.last().map(|(n, _)| *n);
    let mut keys = Vec::new();
    for (n, path) in &segments {
        for record in localyun::storage::journal::read_segment(path, Some(*n) == newest).unwrap().records {
            if let (true, localyun::state::Change::Key { key, .. }) = (record.model == "rocketmq", record.change) {
                keys.push(key);
            }
        }
    }
    keys
}

#[tokio::test]
async fn a_failed_message_log_write_applies_nothing_and_later_sends_are_kept() {
    let s = setup().await;
    let state = &s.api.srv.state;
    let id = s.api.default_instance();
    let persistence = state.persistence.as_ref().unwrap();
    let counts = || state.store.rocketmq.read().instance_by_id(&id).unwrap().read().message_counts("T_r").unwrap();
    assert_eq!(counts(), (1, 1));
    persistence.simulate_write_failure(true);
    state.store.rocketmq.read().send(&id, "T_r", NewMessage::new("a", "k", "lost")).unwrap();
    assert!(state.persist().await.is_err(), "the write failed");
    assert_eq!(counts(), (1, 1), "the unsaved message was rolled back");
    persistence.simulate_write_failure(false);
    state.store.rocketmq.read().send(&id, "T_r", NewMessage::new("a", "k", "kept")).unwrap();
    state.persist().await.unwrap();
    assert_eq!(counts(), (1, 2));
    assert_eq!(saved_counts(&s.file), (1, 2), "the data dir holds what the model holds");
}
