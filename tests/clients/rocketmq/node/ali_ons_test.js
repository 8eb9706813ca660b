'use strict';
// ali-ons (npm; Alibaba's Node.js client for RocketMQ / ONS over TCP, pinned by package-lock.json) against
// localyun's RocketMQ data plane, with the `/json` Open API showing what the client did. Run with
// `node --test` (tests/clients/rocketmq/run.sh). The test starts target/debug/localyun (LOCALYUN_BIN
// overrides) with the RocketMQ listener on a free port, a 300 ms retry back-off, and the topics and groups
// of ../fixtures.yaml. ali-ons takes the name server address as `nameSrv` (no HTTP address server needed;
// it still asserts an `httpclient` option, which is then never used) and signs every request with its
// AccessKey / Secret (`OnsChannel` ALIYUN).

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { Producer, Consumer, Message } = require('ali-ons');

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const KEY = 'AKIDLOCAL';
const SECRET = 'local-secret';
let proc;
let httpPort;
let nameSrv;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, res => {
      let body = '';
      res.on('data', d => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

// A signed `/json` Open API call (seed section 2.3).
async function api(route, params) {
  const p = { ...params, _accesskey: KEY, __preventCache: String(Date.now()), _regionId: 'mq-private' };
  const text = Object.keys(p).sort().map(k => p[k]).join('');
  p._signature = crypto.createHmac('sha1', SECRET).update(text).digest('base64');
  const res = await get(`http://127.0.0.1:${httpPort}/json/${route}?${new URLSearchParams(p)}`);
  return JSON.parse(res.body);
}

async function waitFor(predicate, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await sleep(100);
  }
  return predicate();
}

function options(extra) {
  return { nameSrv, httpclient: {}, accessKeyId: KEY, accessKeySecret: SECRET, onsChannel: 'ALIYUN', persistent: false, ...extra };
}

before(async () => {
  httpPort = await freePort();
  const mqPort = await freePort();
  nameSrv = `127.0.0.1:${mqPort}`;
  const bin = process.env.LOCALYUN_BIN || path.join(ROOT, 'target', 'debug', 'localyun');
  proc = spawn(bin, [ '--port', String(httpPort), '--no-tls', '--fixtures', path.join(__dirname, '..', 'fixtures.yaml') ], {
    env: { ...process.env, LOCALYUN_ROCKETMQ_PORT_OFFSET: String(mqPort - 9876), LOCALYUN_ROCKETMQ_RETRY_DELAY_MS: '300',
      LOCALYUN_KAFKA: 'off', LOCALYUN_LOG_LEVEL: process.env.LOCALYUN_LOG_LEVEL || 'warn' },
    stdio: 'inherit',
  });
  const ok = await waitFor(async () => {
    try {
      return (await get(`http://127.0.0.1:${httpPort}/_localyun/health`)).status === 200;
    } catch (e) {
      return false;
    }
  }, 20000);
  assert.ok(ok, 'localyun started');
});

after(() => {
  if (proc) proc.kill('SIGTERM');
});

test('send and receive with a tag filter; the Open API finds the message by id and key', async () => {
  const got = [];
  const consumer = new Consumer(options({ consumerGroup: 'GID_node' }));
  consumer.subscribe('T_node', 'TagA', async msg => {
    got.push({ id: msg.msgId, tags: msg.tags, keys: msg.keys, body: msg.body.toString(), color: msg.properties.color });
  });
  await consumer.ready();
  await sleep(1000);
  const producer = new Producer(options({ producerGroup: 'GID_node_producer' }));
  await producer.ready();
  try {
    for (const [ n, tag ] of [ 'TagA', 'TagB', 'TagA' ].entries()) {
      const msg = new Message('T_node', tag, `node-${n}`);
      msg.keys = [ `node-key-${n}` ];
      msg.properties.color = 'blue';
      const r = await producer.send(msg);
      assert.strictEqual(r.sendStatus, 'SEND_OK');
    }
    assert.ok(await waitFor(() => got.length >= 2), JSON.stringify(got));
    await sleep(500);
    assert.deepStrictEqual(got.map(g => g.body).sort(), [ 'node-0', 'node-2' ], 'TagB is filtered out');
    assert.ok(got.every(g => g.tags === 'TagA' && g.color === 'blue'));
    const first = got.find(g => g.body === 'node-0');
    const byId = await api('message/getById', { topic: 'T_node', msgId: first.id });
    assert.strictEqual(byId.success, true, JSON.stringify(byId));
    assert.strictEqual(byId.data.body, 'node-0');
    const byKey = await api('message/getByKey', { topic: 'T_node', key: 'node-key-2' });
    assert.strictEqual(byKey.data[0].body, 'node-2');
  } finally {
    await producer.close();
    await consumer.close();
  }
});

test('a message retried to the dead-letter queue, then resent', async () => {
  const attempts = [];
  let succeed = false;
  const consumer = new Consumer(options({ consumerGroup: 'GID_retry' }));
  consumer.subscribe('T_retry', '*', async msg => {
    attempts.push({ id: msg.msgId, times: msg.reconsumeTimes, body: msg.body.toString() });
    // A failure is a thrown error: ali-ons 3.12 wraps the retry topic's handler without passing its return
    // value on, so ACTION_RETRY only fails a first delivery.
    if (!succeed) throw new Error('consumption failed on purpose');
  });
  consumer.on('error', () => {});
  await consumer.ready();
  await sleep(1000);
  const producer = new Producer(options({ producerGroup: 'GID_retry_producer' }));
  await producer.ready();
  try {
    await producer.send(new Message('T_retry', 'TagA', 'poison'));
    // The first delivery and the group's two retries fail: the third failure dead-letters it.
    assert.ok(await waitFor(() => attempts.length >= 3), JSON.stringify(attempts));
    assert.deepStrictEqual(attempts.map(a => a.times), [ 0, 1, 2 ]);
    const id = attempts[0].id;
    let dlq;
    assert.ok(await waitFor(async () => {
      dlq = await api('message/getByIdInDLQ', { groupId: 'GID_retry', msgId: id });
      return dlq.success;
    }, 10000), JSON.stringify(dlq));
    assert.strictEqual(dlq.data.Body, 'poison');
    await sleep(1500);
    assert.strictEqual(attempts.length, 3, 'no delivery once dead');

    succeed = true;
    const resend = await api('message/resendByIdInDLQ', { groupId: 'GID_retry', msgId: id });
    assert.strictEqual(resend.success, true, JSON.stringify(resend));
    assert.ok(await waitFor(() => attempts.length >= 4), 'the resent message is delivered again');
    assert.strictEqual(attempts[3].body, 'poison');
  } finally {
    await producer.close();
    await consumer.close();
  }
});

test('a wrong secret is refused', async () => {
  const producer = new Producer(options({ producerGroup: 'GID_bad_producer', accessKeySecret: 'not-the-secret' }));
  producer.on('error', () => {});
  try {
    await assert.rejects(async () => {
      await producer.ready();
      await producer.send(new Message('T_node', 'TagA', 'x'));
    });
  } finally {
    await producer.close().catch(() => {});
  }
});
