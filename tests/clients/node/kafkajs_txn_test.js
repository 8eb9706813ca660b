// kafkajs transactions against localyun: producer.transaction() with send + sendOffsets, one committed and
// one aborted; a read_committed consumer (kafkajs' default, readUncommitted: false) sees only the committed
// records, and the group's offset is the committed transaction's. Exits non-zero on any mismatch.
// Usage: node kafkajs_txn_test.js HOST:PORT
const { Kafka, logLevel } = require("kafkajs");

const TOPIC = "txn-js";
const GROUP = "kafkajs-txn-group";

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: "kafkajs-txn-test", brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({
    transactionalId: "kafkajs-tx",
    maxInFlightRequests: 1,
    idempotent: true,
    allowAutoTopicCreation: false,
  });
  await producer.connect();

  const committed = await producer.transaction();
  await committed.send({ topic: TOPIC, messages: [0, 1, 2].map((i) => ({ key: "k", value: `js-committed-${i}` })) });
  await committed.sendOffsets({
    consumerGroupId: GROUP,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: "2" }] }],
  });
  await committed.commit();

  const aborted = await producer.transaction();
  await aborted.send({ topic: TOPIC, messages: [{ key: "k", value: "js-aborted" }] });
  await aborted.sendOffsets({
    consumerGroupId: GROUP,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: "99" }] }],
  });
  await aborted.abort();
  await producer.disconnect();

  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  const end = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const groupOffset = offsets[0].partitions.find((p) => p.partition === 0).offset;
  if (groupOffset !== "2") throw new Error(`group offset ${groupOffset}, expected the committed transaction's 2`);
  // 3 + 1 records and 2 markers.
  if (end[0].high !== "6") throw new Error(`high watermark ${end[0].high}, expected 6`);

  const consumer = kafka.consumer({ groupId: "kafkajs-txn-reader", readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(got)}`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length >= 3) {
          // Give an aborted record a chance to show up before checking.
          setTimeout(() => {
            clearTimeout(timer);
            resolve();
          }, 1500);
        }
      },
    });
  });
  await consumer.disconnect();
  const want = ["js-committed-0", "js-committed-1", "js-committed-2"];
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`read_committed got ${JSON.stringify(got)}`);
  console.log("kafkajs transactions ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
