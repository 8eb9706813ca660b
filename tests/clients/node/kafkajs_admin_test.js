// kafkajs admin against localyun: deleteTopicRecords moves the low watermark (fetchTopicOffsets) and a consumer
// from the beginning starts there; deleteGroups removes an empty group (its offsets with it) and answers
// GROUP_ID_NOT_FOUND for an unknown one; alterConfigs changes retention.ms, which describeConfigs then answers,
// and an unknown config name is refused (INVALID_CONFIG). Exits non-zero on any mismatch.
// Usage: node kafkajs_admin_test.js HOST:PORT
const { Kafka, logLevel, ConfigResourceTypes } = require("kafkajs");

const TOPIC = "admin-js";
const GROUP = "kafkajs-admin-group";

function check(ok, message) {
  if (!ok) throw new Error(message);
}

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: "kafkajs-admin-test", brokers: [broker], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `js-${i}` })) });
  await producer.disconnect();

  const admin = kafka.admin();
  await admin.connect();

  // DeleteRecords. kafkajs looks the partition leaders up in metadata it has already loaded (it does not
  // load it itself: KafkaJSTopicMetadataNotLoaded otherwise), so the topic's offsets are fetched first.
  await admin.fetchTopicOffsets(TOPIC);
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: "3" }] });
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  check(offsets[0].low === "3" && offsets[0].high === "5", `offsets after deleteTopicRecords ${JSON.stringify(offsets)}`);

  const consumer = kafka.consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(got)}`)), 60000);
    consumer.run({
      autoCommit: true,
      eachMessage: async ({ message }) => {
        got.push(`${message.offset}:${message.value.toString()}`);
        if (got.length >= 2) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  check(JSON.stringify(got) === JSON.stringify(["3:js-3", "4:js-4"]), `consumed ${JSON.stringify(got)}`);

  // DeleteGroups: the consumer left, so its group is empty.
  const before = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  check(before[0].partitions[0].offset === "5", `committed before deleteGroups ${JSON.stringify(before)}`);
  const deleted = await admin.deleteGroups([GROUP]);
  check(deleted.length === 1 && deleted[0].groupId === GROUP && deleted[0].errorCode === 0, `deleteGroups ${JSON.stringify(deleted)}`);
  const after = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  check(after[0].partitions[0].offset === "-1", `committed after deleteGroups ${JSON.stringify(after)}`);
  let unknown = null;
  try {
    await admin.deleteGroups(["kafkajs-never-seen"]);
  } catch (e) {
    unknown = e;
  }
  check(unknown && unknown.groups && unknown.groups[0].error.type === "GROUP_ID_NOT_FOUND", `unknown group: ${unknown}`);

  // AlterConfigs / DescribeConfigs
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: "retention.ms", value: "43200000" }] }],
  });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: ["retention.ms"] }],
  });
  const entry = described.resources[0].configEntries.find((c) => c.configName === "retention.ms");
  check(entry && entry.configValue === "43200000" && !entry.readOnly, `describeConfigs ${JSON.stringify(described)}`);
  let refused = null;
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: "retention.forever", value: "1" }] }],
    });
  } catch (e) {
    refused = e;
  }
  check(refused && refused.type === "INVALID_CONFIG", `unknown config: ${refused && refused.type} ${refused}`);

  const cluster = await admin.describeCluster();
  check(cluster.brokers.length === 1 && cluster.controller === 0, `describeCluster ${JSON.stringify(cluster)}`);
  await admin.disconnect();
  console.log("kafkajs admin ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
