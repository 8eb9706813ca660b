// kafkajs admin ACLs against localyun: createAcls of an ALLOW and a DENY for the SASL user `app`, describeAcls
// with a MATCH filter answers both, a SASL producer of `app` is refused (TOPIC_AUTHORIZATION_FAILED) while the
// DENY exists and delivers once deleteAcls removed it; a SASL admin without rights on the cluster gets
// CLUSTER_AUTHORIZATION_FAILED. Leaves no rule behind. Exits non-zero on any mismatch.
// Usage: node kafkajs_acls_test.js PLAINTEXT_HOST:PORT SASL_PLAINTEXT_HOST:PORT
const {
  Kafka,
  logLevel,
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
} = require("kafkajs");

const TOPIC = "acl-js";

function check(ok, message) {
  if (!ok) throw new Error(message);
}

function errorType(e) {
  let err = e;
  while (err) {
    if (err.type) return err.type;
    err = err.cause || (err.originalError !== err ? err.originalError : null);
  }
  return String(e);
}

async function send(kafka) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: "js" }] });
    return null;
  } catch (e) {
    return errorType(e);
  } finally {
    await producer.disconnect();
  }
}

async function main() {
  const [plain, saslAddr] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: "kafkajs-acls-test", brokers: [plain], logLevel: logLevel.NOTHING });
  const asApp = new Kafka({
    clientId: "kafkajs-acls-app",
    brokers: [saslAddr],
    sasl: { mechanism: "plain", username: "app", password: "app-secret" },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();

  const rule = (pattern, name, permissionType) => ({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: name,
    resourcePatternType: pattern,
    principal: "User:app",
    host: "*",
    operation: AclOperationTypes.WRITE,
    permissionType,
  });
  const allow = rule(ResourcePatternTypes.LITERAL, TOPIC, AclPermissionTypes.ALLOW);
  const deny = rule(ResourcePatternTypes.PREFIXED, "acl-j", AclPermissionTypes.DENY);
  check((await admin.createAcls({ acl: [allow] })) === true, "createAcls allow");
  check((await send(asApp)) === null, "app writes with an ALLOW");
  check((await admin.createAcls({ acl: [deny] })) === true, "createAcls deny");

  const described = await admin.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: TOPIC,
    resourcePatternType: ResourcePatternTypes.MATCH,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const flat = described.resources
    .flatMap((r) => r.acls.map((a) => `${r.resourceName}/${r.resourcePatternType}/${a.principal}/${a.permissionType}`))
    .sort();
  check(
    JSON.stringify(flat) === JSON.stringify(["acl-j/4/User:app/2", "acl-js/3/User:app/3"]),
    `describeAcls ${JSON.stringify(described)}`
  );

  const refused = await send(asApp);
  check(refused === "TOPIC_AUTHORIZATION_FAILED", `app writes despite the DENY: ${refused}`);

  // A SASL admin of `app` (no rights on the cluster).
  const appAdmin = asApp.admin();
  await appAdmin.connect();
  let denied = null;
  try {
    await appAdmin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
  } catch (e) {
    denied = errorType(e);
  }
  await appAdmin.disconnect();
  check(denied === "CLUSTER_AUTHORIZATION_FAILED", `describeAcls as app: ${denied}`);

  const removed = await admin.deleteAcls({
    filters: [
      {
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.DENY,
      },
    ],
  });
  const matched = removed.filterResponses[0].matchingAcls.map((a) => a.resourceName);
  check(
    removed.filterResponses[0].errorCode === 0 && JSON.stringify(matched) === JSON.stringify(["acl-j"]),
    `deleteAcls ${JSON.stringify(removed)}`
  );
  check((await send(asApp)) === null, "app writes once the DENY is gone");

  const rest = await admin.deleteAcls({
    filters: [
      {
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      },
    ],
  });
  check(rest.filterResponses[0].matchingAcls.length === 1, `cleanup ${JSON.stringify(rest)}`);
  await admin.disconnect();
  console.log("kafkajs acls ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
