"""Signed management API calls for the Kafka client tests (default credentials of the built-in fixture):
Alibaba Kafka RPC (signature v1, HMAC-SHA1, seed alibaba-kafka-dev-guide.txt) and Tencent CKafka v2
(HmacSHA256 over `GET<host>/v2/index.php?<sorted params>`, seed tencent-ckafka-api-v2.txt)."""
import base64
import hashlib
import hmac
import json
import random
import time
import urllib.parse
import urllib.request
import uuid

KEY_ID = "AKIDLOCAL"
SECRET = "local-secret"


def _enc(v):
    return urllib.parse.quote(str(v), safe="-_.~")


def alibaba(http_port, action, **params):
    p = {"Action": action, "Version": "2019-09-16", "Format": "JSON", "AccessKeyId": KEY_ID,
         "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
         "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    p.update({k: str(v) for k, v in params.items()})
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(p.items()))
    sts = "POST&%2F&" + _enc(canonical)
    p["Signature"] = base64.b64encode(hmac.new((SECRET + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}/?" + urllib.parse.urlencode(p), data=b"", method="POST")
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def tencent(http_port, action, region="ap-guangzhou", **params):
    p = {"Action": action, "Region": region, "SecretId": KEY_ID, "Nonce": random.randint(1, 2**31),
         "Timestamp": int(time.time()), "SignatureMethod": "HmacSHA256"}
    p.update(params)
    host = f"127.0.0.1:{http_port}"
    query = "&".join(f"{k}={v}" for k, v in sorted((k.replace("_", "."), str(v)) for k, v in p.items()))
    sts = f"GET{host}/v2/index.php?{query}"
    p["Signature"] = base64.b64encode(hmac.new(SECRET.encode(), sts.encode(), hashlib.sha256).digest()).decode()
    url = f"http://{host}/v2/index.php?" + urllib.parse.urlencode(p)
    return json.loads(urllib.request.urlopen(url, timeout=10).read())
