-- wrk script for the HTTP benchmark (tests/benchmarks/http_bench.py, issue 14): POST the
-- body in the file named by BENCH_BODY, and print one machine-readable line at the end.
-- With BENCH_TOKENS (a file of pre-signed client JWTs, one a line) every request carries
-- its own token: the service refuses a reused jti, and wrk cannot sign ES384 itself. Each
-- wrk thread takes every n-th token from its own offset, so no two requests share one.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

local tokens_file = os.getenv("BENCH_TOKENS")
local threads, created = tonumber(os.getenv("BENCH_THREADS") or "1"), 0

setup = function(thread)
  thread:set("offset", created)
  created = created + 1
end

if tokens_file then
  local tokens, index = {}, nil
  init = function(_)
    for line in io.lines(tokens_file) do
      tokens[#tokens + 1] = line
    end
    index = offset + 1
  end
  request = function()
    local token = tokens[index]
    index = index + threads
    if token == nil then token = "exhausted" end  -- answered 401: counted as non_2xx
    wrk.headers["Authorization"] = "Bearer " .. token
    return wrk.format()
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"non_2xx":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
