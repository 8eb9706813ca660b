//! Durable state across every vendor: resources created through each vendor's signed API survive `kill -9`
//! and a restart on the same data dir (deletions stay deleted, a Huawei project bound at runtime stays bound
//! to its account), and a truncated file of any model stops the start with a message naming it.

use crate::cross_support;

use cross_support::*;
use serde_json::Value;

fn data_dir_args(dir: &TempDir) -> Vec<String> {
    vec!["--data-dir".into(), dir.path().display().to_string(), "--credentials".into(), CREDENTIALS_B.into()]
}

fn spawn(dir: &TempDir) -> Running {
    let args = data_dir_args(dir);
    Running::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The JSON of the whole store.
async fn exported(ep: &Endpoint) -> Value {
    let (status, body) = ep.admin_get("state").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn resources_of_every_vendor_survive_kill_9_and_restart() {
    let dir = TempDir::new("kill9");
    let first = spawn(&dir);
    let made = create_everything(&first.ep).await;
    assert_everything(&first.ep, &made).await;
    let before = exported(&first.ep).await;
    first.kill9();

    let second = spawn(&dir);
    assert_everything(&second.ep, &made).await;
    let after = exported(&second.ep).await;
    assert_eq!(after["models"], before["models"], "every model comes back exactly");

    // The project bound at runtime is still the default account's: account B may not use it.
    let (status, body) = eventgrid(&second.ep, KEY_OF_B, "GET", RUNTIME_PROJECT, "/channels", &[], None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error_code"], "EG.00512000", "{body}");

    // Changes after the restart are durable too: delete one resource of each vendor, kill again.
    let key = DEFAULT_KEY;
    let ep = &second.ep;
    let answer =
        tencent(ep, key, "DeleteTopic", &[("instanceId", &tencent_instance(ACCOUNT)), ("topicName", "cross-orders")])
            .await;
    assert_eq!(answer["code"], 0, "{answer}");
    let ali = alibaba_instance(ACCOUNT);
    alibaba_ok(
        &alikafka(
            ep,
            key,
            "DeleteTopic",
            &[("InstanceId", &ali), ("RegionId", ALIBABA_REGION), ("Topic", "ali-orders")],
        )
        .await,
    );
    rocketmq_ok(&rocketmq(ep, key, "topic/delete", &[("topic", "T_cross")]).await);
    let sub = format!("/subscriptions/{}", made.subscription_id);
    let deleted = eventgrid(ep, key, "DELETE", DEFAULT_PROJECT, &sub, &[], None).await;
    assert_eq!(deleted.0, 204, "{}", deleted.1);
    second.kill9();

    let third = spawn(&dir);
    let ep = &third.ep;
    assert!(tencent_topics(ep, key, &tencent_instance(ACCOUNT)).await.is_empty());
    assert!(alibaba_topics(ep, key, &ali).await.is_empty());
    assert_eq!(alibaba_groups(ep, key, &ali).await, vec!["CID-billing"], "the group was not touched");
    assert!(rocketmq_topics(ep, key, None).await.is_empty());
    assert_eq!(rocketmq_groups(ep, key, None).await, vec!["GID_cross"]);
    assert!(eventgrid_items(ep, key, DEFAULT_PROJECT, "/subscriptions").await.is_empty());
    let shown = eventgrid(ep, key, "GET", DEFAULT_PROJECT, &sub, &[], None).await;
    assert_eq!((shown.0, shown.1["error_code"].as_str()), (404, Some("EG.00514001")), "{}", shown.1);
    assert!(eventgrid_names(ep, key, DEFAULT_PROJECT, "/channels").await.contains(&"cross-channel".to_string()));
}

#[tokio::test]
async fn a_restart_keeps_each_account_apart() {
    let dir = TempDir::new("accounts");
    let first = spawn(&dir);
    let ep = &first.ep;
    // Account B creates one resource of each vendor on its own default instances and project.
    let project_b = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    create_for_b(ep, project_b).await;
    let ali_b = alibaba_instance(ACCOUNT_B);
    first.kill9();

    let second = spawn(&dir);
    let ep = &second.ep;
    assert_eq!(tencent_topics(ep, KEY_OF_B, &tencent_instance(ACCOUNT_B)).await, vec!["b-topic"]);
    assert!(tencent_topics(ep, DEFAULT_KEY, &tencent_instance(ACCOUNT)).await.is_empty());
    let theirs = tencent(ep, DEFAULT_KEY, "ListTopic", &[("instanceId", &tencent_instance(ACCOUNT_B))]).await;
    assert_eq!(theirs["code"], 5000, "another account's instance stays invisible: {theirs}");
    assert_eq!(alibaba_groups(ep, KEY_OF_B, &ali_b).await, vec!["CID-b"]);
    assert_eq!(rocketmq_groups(ep, KEY_OF_B, None).await, vec!["GID_b"]);
    assert!(rocketmq_groups(ep, DEFAULT_KEY, None).await.is_empty());
    assert!(eventgrid_names(ep, KEY_OF_B, project_b, "/channels").await.contains(&"b-ch".to_string()));
    let (status, body) = eventgrid(ep, DEFAULT_KEY, "GET", project_b, "/channels", &[], None).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("EG.00512000")), "{body}");
}

#[tokio::test]
async fn a_truncated_file_of_any_model_stops_the_start_naming_it() {
    let dir = TempDir::new("truncated");
    let first = spawn(&dir);
    let made = create_everything(&first.ep).await;
    first.kill9();

    let scratch = TempDir::new("truncated-out");
    let args = data_dir_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for model in ["kafka", "rocketmq", "eventbus", "accounts"] {
        let file = dir.path().join("state").join(format!("{model}.json"));
        let full = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let half = &full[..full.len() * 2 / 3];
        std::fs::write(&file, half).unwrap();
        let output = run_to_exit(&args, scratch.path());
        assert!(!output.status.success(), "{model}: a truncated file must stop the start");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&file.display().to_string()), "{model}: the message names the file: {stderr}");
        assert!(stderr.contains("is truncated") && stderr.contains("refuses to start"), "{model}: {stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), half, "{model}: the damaged file is left as it was");
        std::fs::write(&file, &full).unwrap();
    }

    // Every file restored: the store comes back whole.
    let again = spawn(&dir);
    assert_everything(&again.ep, &made).await;
}

#[tokio::test]
async fn a_damaged_file_of_any_model_stops_the_start_naming_it() {
    let dir = TempDir::new("damaged");
    let first = spawn(&dir);
    create_everything(&first.ep).await;
    first.kill9();

    let scratch = TempDir::new("damaged-out");
    let args = data_dir_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for model in ["kafka", "rocketmq", "eventbus", "accounts"] {
        let file = dir.path().join("state").join(format!("{model}.json"));
        let full = std::fs::read(&file).unwrap();
        // Same length, one byte of the body changed: only the checksum can tell.
        let mut damaged = full.clone();
        let last = damaged.len() - 2;
        damaged[last] = if damaged[last] == b' ' { b'\t' } else { b' ' };
        std::fs::write(&file, &damaged).unwrap();
        let output = run_to_exit(&args, scratch.path());
        assert!(!output.status.success(), "{model}: a damaged file must stop the start");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&file.display().to_string()), "{model}: {stderr}");
        assert!(stderr.contains("is corrupt") && stderr.contains("checksum"), "{model}: {stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), damaged, "{model}: the damaged file is left as it was");
        std::fs::write(&file, &full).unwrap();
    }
}

#[tokio::test]
async fn admin_imports_and_resets_of_every_vendor_are_durable() {
    // A document with every vendor's resources, exported from a memory-only server.
    let source = Running::spawn(&["--credentials", CREDENTIALS_B]);
    let made = create_everything(&source.ep).await;
    let document = exported(&source.ep).await;
    drop(source);

    let dir = TempDir::new("admin");
    let first = spawn(&dir);
    let (status, body) = first.ep.admin_post("state", &document).await;
    assert_eq!(status, 200, "{body}");
    first.kill9();

    let second = spawn(&dir);
    assert_everything(&second.ep, &made).await;
    assert_eq!(exported(&second.ep).await["models"], document["models"]);
    let (status, body) = second.ep.admin_post("reset", &serde_json::json!({"vendor": "alibaba-rocketmq"})).await;
    assert_eq!(status, 200, "{body}");
    second.kill9();

    let third = spawn(&dir);
    let ep = &third.ep;
    assert!(rocketmq_topics(ep, DEFAULT_KEY, None).await.is_empty(), "the reset reached the disk");
    assert!(rocketmq_groups(ep, DEFAULT_KEY, None).await.is_empty());
    assert_eq!(tencent_topics(ep, DEFAULT_KEY, &tencent_instance(ACCOUNT)).await, vec!["cross-orders"]);
    assert_eq!(alibaba_groups(ep, DEFAULT_KEY, &alibaba_instance(ACCOUNT)).await, vec!["CID-billing"]);
    let subscriptions = eventgrid_items(ep, DEFAULT_KEY, DEFAULT_PROJECT, "/subscriptions").await;
    assert_eq!(subscriptions, vec![("cross-sub".to_string(), made.subscription_id.clone())]);
}
