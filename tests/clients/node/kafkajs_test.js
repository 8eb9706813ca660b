// kafkajs against localyun: keyed produce with headers to two partitions, then a consumer group reads
// everything back and commits. Exits non-zero on any mismatch. Usage: node kafkajs_test.js HOST:PORT
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: "kafkajs-test", brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < 20; i++) {
    messages.push({ key: `key-${i % 4}`, value: `value-${i}`, headers: { seq: String(i) } });
  }
  await producer.send({ topic: "kafkajs", acks: -1, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: "kafkajs-group", sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: "kafkajs", fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} messages`)), 60000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ partition, key: message.key.toString(), value: message.value.toString(), seq: message.headers.seq.toString() });
        if (got.length === 20) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  got.sort((a, b) => Number(a.seq) - Number(b.seq));
  for (let i = 0; i < 20; i++) {
    const m = got[i];
    if (m.key !== `key-${i % 4}` || m.value !== `value-${i}` || m.seq !== String(i)) {
      throw new Error(`message ${i} differs: ${JSON.stringify(m)}`);
    }
  }
  const byKey = {};
  for (const m of got) {
    (byKey[m.key] = byKey[m.key] || new Set()).add(m.partition);
  }
  for (const [k, parts] of Object.entries(byKey)) {
    if (parts.size !== 1) throw new Error(`key ${k} spread over partitions ${[...parts]}`);
  }
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: "kafkajs-group", topics: ["kafkajs"] });
  await admin.disconnect();
  const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
  if (committed !== 20) throw new Error(`committed offsets sum to ${committed}, not 20`);
  console.log("kafkajs ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
