-- wrk script of localyun's benchmark (benches/localyun/wrk.rs writes the request files it reads).
--
-- `wrk -t2 -c64 -d3s -s check.lua http://127.0.0.1:PORT/ -- FILE_PREFIX`: thread N sends, in order, the
-- pre-signed raw HTTP requests of `FILE_PREFIX.N` (each `<byte length>\n<request bytes>`), every one once
-- (the replay caches refuse a repeated Tencent Nonce or Alibaba SignatureNonce). Without a prefix it sends
-- wrk's default request (the baseline). Every answer is checked: a non-2xx status or a vendor error
-- envelope in the head of the body counts as failed. A thread that runs out of requests stops early
-- (counted as `exhausted`: the figure is then a lower bound and the benchmark says so).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  n = 0
  idx = 0
  failed = 0
  exhausted = 0
  body_bytes = 0
  sample = ""
  local prefix = args[1]
  if prefix ~= nil and prefix ~= "" then
    local fh = assert(io.open(prefix .. "." .. id, "rb"))
    local data = fh:read("*a")
    fh:close()
    local pos = 1
    local size = #data
    while pos <= size do
      local nl = data:find("\n", pos, true)
      local len = tonumber(data:sub(pos, nl - 1))
      n = n + 1
      reqs[n] = data:sub(nl + 1, nl + len)
      pos = nl + 1 + len
    end
  end
end

function request()
  if n == 0 then
    return wrk.request()
  end
  idx = idx + 1
  if idx > n then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return reqs[n]
  end
  return reqs[idx]
end

-- The success rule of benches/localyun/vendors.rs `is_success`: every vendor puts its envelope's status
-- fields first, so the head of the body decides.
function response(status, headers, body)
  body_bytes = #body
  local bad = status < 200 or status > 299
  if not bad then
    local head = body:sub(1, 512)
    if head:find('"error_code"', 1, true) or head:find('"Success":false', 1, true)
        or head:find('"success":false', 1, true) or head:find('"Error":{', 1, true) then
      bad = true
    elseif head:sub(1, 8) == '{"code":' then
      bad = not (head:sub(1, 10) == '{"code":0,' or head:sub(1, 12) == '{"code":200,')
    elseif head == "" then
      bad = true
    end
  end
  if bad then
    failed = failed + 1
    if sample == "" then
      sample = status .. " " .. body:sub(1, 300)
    end
  end
end

function done(summary, latency, requests)
  local failed_total, exhausted_total, first, bytes = 0, 0, "", 0
  for _, t in ipairs(threads) do
    bytes = math.max(bytes, t:get("body_bytes") or 0)
    failed_total = failed_total + t:get("failed")
    exhausted_total = exhausted_total + t:get("exhausted")
    local s = t:get("sample")
    if first == "" and s ~= nil then
      first = s
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d failed=%d exhausted=%d socket_errors=%d body_bytes=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failed_total,
    exhausted_total, e.connect + e.read + e.write + e.timeout, bytes))
  if first ~= "" then
    io.write("SAMPLE " .. first:gsub("\n", " ") .. "\n")
  end
end
