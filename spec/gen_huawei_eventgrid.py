#!/usr/bin/env python3
"""Generates spec/huawei-eventgrid.json from the seed huawei-eventgrid-api.txt, chapter 5 (every API:
name, method, path template, each parameter's location/type/required-ness/limits, the response fields).

Usage: python3 spec/gen_huawei_eventgrid.py /work/shared/seeds/huawei-eventgrid-api.txt > spec/huawei-eventgrid.json

The seed's tables are tab-separated ("参数	是否必选	参数类型	描述" for requests, "参数	参数类型	描述" for
responses); a table title names its location (路径参数, Query 参数, 请求 Header 参数, 请求 Body 参数,
响应 Body 参数) or a nested object type. Limits come from the description prose ("不能小于1或大于1000",
"长度...") where the seed writes them; MANUAL below adds the facts the prose states in other words.
"""
import json
import re
import sys

HEADING = re.compile(r"^5\.(\d+)\.(\d+) (.+?) - (\w+)\s*$")
URI = re.compile(r"^(GET|POST|PUT|DELETE|PATCH) (/\S*)")
TABLE = re.compile(r"^表 \d+-\d+ (.+?)\s*$")
STATUS = re.compile(r"^状态码[：:]\s*(\d+)")

# Limits the seed states in words the patterns below do not catch (section: param -> facts).
MANUAL = {
    # The seed's own request example of the connection APIs sends `"type": {}`; localyun takes it as absent.
    "5.7.1": {"type": {"empty_object_is_absent": True}},
    "5.7.3": {"type": {"empty_object_is_absent": True}},
    # Enumerations the seed writes only in prose or examples; the SDK's enums (huaweicloud-sdk-go-v3
    # services/eg/v1/model) agree. OPENAPI_3_0 is the seed's example format, JSON_SCHEMA_DRAFT_6 the SDK's.
    "5.6.2": {"compatibility": {"enum": ["NONE", "FORWARD", "BACKWARD", "FULL"]},
              "format": {"enum": ["JSON_SCHEMA_DRAFT_6", "OPENAPI_3_0"]}},
    "5.6.4": {"compatibility": {"enum": ["NONE", "FORWARD", "BACKWARD", "FULL"]}},
    "5.8.1": {"type": {"enum": ["TARGET_CONNECTION", "CUSTOM_SOURCE_RABBITMQ"]}},
    "5.8.2": {"type": {"enum": ["TARGET_CONNECTION", "CUSTOM_SOURCE_RABBITMQ"]}},
    # Event streams: START and PAUSE (the SDK's enumeration; the seed's example is PAUSE).
    "5.14.6": {"operation": {"enum": ["START", "PAUSE"]}},
    # Router jobs: the one scene the seed documents; operations START (the seed's example), STOP and RESTART.
    "5.16.1": {"scene_type": {"enum": ["DISASTER_BACKUP"]}},
    "5.16.5": {"scene_type": {"enum": ["DISASTER_BACKUP"]}},
    "5.16.6": {"operation": {"enum": ["START", "STOP", "RESTART"]}},
    "5.16.7": {"validate_type": {"enum": ["SOURCE_NETWORK", "SINK_NETWORK"]}},
    "5.16.8": {"offset": {"minimum": 0, "maximum": 10000}, "limit": {"minimum": 10, "maximum": 1000}},
    "5.17.2": {"source_type": {"enum": ["KAFKA", "ROCKETMQ", "DCS"]}, "sink_type": {"enum": ["KAFKA", "ROCKETMQ", "DCS"]}},
}

# POST APIs that change nothing (checks, inference, progress queries): their access is "read".
READ_ONLY = {"CheckPutEvents", "DiscoverEventSchemaFromData", "ValidateEventRouterJob", "ShowEventRouterTaskSyncDetail"}

# Fields whose defects appendix 7.2 gives their own code (EG.00513004 invalid filter parameters).
ERROR_CODES = {"filter": "EG.00513004"}


# Served APIs outside chapter 5: the seed's section 3 (calling an API) names IAM's token endpoint, and the
# version document of v1 is what huaweicloudsdkcore asks for next to ListApiVersions.
EXTRA = [
    {"name": "ShowApiVersion", "section": "3 / 5.10", "title": "查询 API 版本 v1", "method": "GET", "path": "/v1",
     "access": "read",
     "params": {"path": [], "query": [], "header": [], "body": []},
     "responses": {"200": [{"name": "version", "type": "object", "description": "the v1 version document"}]},
     "definitions": {"request": {}, "response": {}}},
    {"name": "KeystoneCreateToken", "section": "3.2", "title": "获取用户Token (IAM)", "method": "POST",
     "access": "write",
     "path": "/v3/auth/tokens", "params": {"path": [], "query": [], "header": [], "body": [
         {"name": "auth", "required": True, "type": "object", "description": "IAM password or AK/SK identity and scope"}]},
     "responses": {"201": [{"name": "token", "type": "object", "description": "the issued token (X-Subject-Token header)"}]},
     "definitions": {"request": {}, "response": {}}},
]


def norm_type(t):
    t = t.strip()
    low = t.lower()
    if low in ("string",):
        return {"type": "string"}
    if low in ("integer", "int", "int32"):
        return {"type": "integer"}
    if low in ("long", "int64"):
        return {"type": "integer", "format": "int64"}
    if low in ("number", "double", "float", "bigdecimal"):
        return {"type": "number"}
    if low == "boolean":
        return {"type": "boolean"}
    if low in ("object", "map<string,object>", "map<string,string>", "map<string,array>"):
        return {"type": "object"}
    m = re.match(r"^Array of (\w+?)s?$", t)
    if m and m.group(1).lower() in ("string", "integer", "boolean", "long", "object", "number"):
        return {"type": "array", "items": norm_type(m.group(1))}
    m = re.match(r"^Array of (\w+) objects?$", t)
    if m:
        return {"type": "array", "items": {"ref": m.group(1)}}
    m = re.match(r"^(\w+) objects?$", t)
    if m:
        return {"type": "object", "ref": m.group(1)}
    if low.startswith("map"):
        return {"type": "object"}
    if low.startswith("array"):
        return {"type": "array"}
    return {"type": "string", "seed_type": t}


def limits(desc, typ):
    out = {}
    m = re.search(r"不能小于(\d+)或大于(\d+)", desc) or re.search(r"取值范围[：:]?\s*\[?(\d+)[~,，\-](\d+)", desc)
    if m:
        out["minimum"], out["maximum"] = int(m.group(1)), int(m.group(2))
    else:
        m = re.search(r"不能小于(\d+)", desc)
        if m:
            out["minimum"] = int(m.group(1))
        m = re.search(r"(?:不能大于|最大值?为?|不超过)(\d+)", desc)
        if m and typ == "integer":
            out["maximum"] = int(m.group(1))
    m = re.search(r"长度(?:为|范围)?[：:]?\s*\[?(\d+)[~,，\-](\d+)\]?", desc)
    if m:
        out["minLength"], out["maxLength"] = int(m.group(1)), int(m.group(2))
    else:
        m = re.search(r"(?:最大长度|长度不超过|长度不能超过)(\d+)", desc) or re.search(
            r"(?:最多|不能超过|不超过)(\d+)(?:个字符|位|字符)", desc)
        if m and typ == "string":
            out["maxLength"] = int(m.group(1))
    m = re.search(r"由字母[，,、]?\s*数字[，,、]?\s*点[，,、]?\s*下划线和中划线组成[，,]?\s*必须字母或数字开头", desc)
    if m and typ == "string":
        out["pattern"] = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    return out


def parse(lines):
    apis = []
    i = 0
    n = len(lines)
    # Skip the table of contents: bodies start where a heading is followed by 功能介绍.
    starts = [k for k in range(n) if HEADING.match(lines[k]) and "....." not in lines[k] and "\t" not in lines[k]]
    for idx, k in enumerate(starts):
        end = starts[idx + 1] if idx + 1 < len(starts) else n
        m = HEADING.match(lines[k])
        sec = f"5.{m.group(1)}.{m.group(2)}"
        api = {"name": m.group(4), "section": sec, "title": m.group(3), "params": {"path": [], "query": [], "header": [], "body": []},
               "responses": {}, "definitions": {"request": {}, "response": {}}}
        body = lines[k + 1:end]
        # Chapter 6 and later: stop at the next top-level chapter heading.
        for j, line in enumerate(body):
            if re.match(r"^[6-9] \S", line):
                body = body[:j]
                break
        side = "request"
        status = None
        j = 0
        while j < len(body):
            line = body[j]
            if api.get("method") is None:
                u = URI.match(line.strip())
                if u:
                    api["method"], api["path"] = u.group(1), u.group(2).split("?")[0]
            if line.strip() == "响应参数":
                side = "response"
            s = STATUS.match(line.strip())
            if s and side == "response":
                status = s.group(1)
            if line.strip() in ("请求示例", "响应示例"):
                # Examples may contain lines that look like rows; tables are done by then except
                # response tables, which come before 请求示例.
                if line.strip() == "请求示例":
                    break
            t = TABLE.match(line)
            if t:
                title = t.group(1)
                rows = []
                j += 1
                while j < len(body):
                    row = body[j]
                    if row.strip() == "":
                        j += 1
                        continue
                    if row.startswith("参数\t"):
                        j += 1
                        continue
                    if "\t" not in row:
                        break
                    rows.append(row.split("\t"))
                    j += 1
                fields = []
                for r in rows:
                    r = [c.strip() for c in r]
                    if len(r) >= 4 and r[1] in ("是", "否"):
                        f = {"name": r[0], "required": r[1] == "是"}
                        f.update(norm_type(r[2]))
                        desc = " ".join(r[3:])
                    elif len(r) >= 2:
                        f = {"name": r[0]}
                        f.update(norm_type(r[1]))
                        desc = " ".join(r[2:])
                    else:
                        continue
                    f["description"] = re.sub(r"<[^>]+>", " ", desc).strip()
                    f.update(limits(f["description"], f["type"]))
                    f.update(MANUAL.get(sec, {}).get(f["name"], {}))
                    if f["name"] in ERROR_CODES:
                        f["error_code"] = ERROR_CODES[f["name"]]
                    fields.append(f)
                if title == "路径参数":
                    api["params"]["path"] = fields
                elif title == "Query 参数":
                    api["params"]["query"] = fields
                elif title.startswith("请求 Header"):
                    api["params"]["header"] = fields
                elif title.startswith("请求 Body"):
                    api["params"]["body"] = fields
                elif title.startswith("响应 Body"):
                    api["responses"][status or "200"] = fields
                elif title.startswith("响应 Header"):
                    pass
                else:
                    name = title.split()[0]
                    api["definitions"][side].setdefault(name, fields)
                continue
            j += 1
        api["access"] = "read" if api.get("method") == "GET" or api["name"] in READ_ONLY else "write"
        apis.append(api)
    return apis


def main():
    text = open(sys.argv[1], encoding="utf-8").read().splitlines()
    apis = parse(text)
    doc = {
        "source": "seed huawei-eventgrid-api.txt, chapter 5 (generated by spec/gen_huawei_eventgrid.py)",
        "apis": apis,
        "extra_apis": EXTRA,
    }
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
