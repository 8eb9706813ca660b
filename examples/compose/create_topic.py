"""One-shot client for docker-compose.yml: waits until localyun is healthy, then creates a Kafka topic on
the default Tencent CKafka instance through Tencent's own Python SDK (qcloudapi-sdk-python) and lists it.

It shares localyun's network namespace (network_mode: service:localyun), so `localhost:4589` matches the
certificate localyun generated, and it trusts that certificate through SSL_CERT_FILE (the shared /data
volume holds it under tls/ca.pem).
"""
import json
import os
import sys
import time
import urllib.request

from QcloudApi.qcloudapi import QcloudApi

HEALTH = os.environ.get("LOCALYUN_HEALTH_URL", "http://localhost:4588/_localyun/health")
ENDPOINT = os.environ.get("LOCALYUN_TLS_ENDPOINT", "localhost:4589")
TOPIC = os.environ.get("TOPIC", "compose-demo")


def wait_for_health(deadline_s=60):
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(HEALTH, timeout=2) as r:
                if r.status == 200:
                    print("localyun is healthy:", json.loads(r.read())["version"])
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"localyun did not become healthy at {HEALTH}")


def call(api, action, params):
    answer = json.loads(api.call(action, params))
    if answer.get("code") != 0:
        sys.exit(f"{action} failed: {answer}")
    return answer


def main():
    wait_for_health()
    # The SSL certificate appears with the HTTPS listener; health answers only after both are up.
    api = QcloudApi("ckafka", {
        "secretId": os.environ.get("LOCALYUN_KEY_ID", "AKIDLOCAL"),
        "secretKey": os.environ.get("LOCALYUN_SECRET", "local-secret"),
        "Region": "ap-guangzhou",
        "method": "POST",
        "SignatureMethod": "HmacSHA256",
        "endpoint": ENDPOINT,
    })
    instance = call(api, "ListInstance", {})["instanceList"][0]["instanceId"]
    topics = call(api, "ListTopic", {"instanceId": instance, "searchWord": TOPIC})
    if topics["totalCount"] == 0:
        created = call(api, "CreateTopic", {"instanceId": instance, "topicName": TOPIC,
                                            "partitionNum": 3, "replicaNum": 2})
        print(f"created topic {TOPIC} ({created['topicId']}) on {instance}")
    else:
        print(f"topic {TOPIC} already exists on {instance} (state persisted in the volume)")
    print(json.dumps(call(api, "ListTopic", {"instanceId": instance}), indent=2))


if __name__ == "__main__":
    main()
