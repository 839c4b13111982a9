-- wrk script for the benchmark: rotates through session cookies, counts status codes, and
-- prints one JSON line (prefixed BENCH_JSON) with the latency percentiles.
-- Arguments after `--` are Cookie header values; with none, requests carry no cookie.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   prepared = {}
   for _, cookie in ipairs(args) do
      local headers = {}
      for name, value in pairs(wrk.headers) do
         headers[name] = value
      end
      headers["Cookie"] = cookie
      table.insert(prepared, wrk.format(nil, nil, headers))
   end
   if #prepared == 0 then
      prepared[1] = wrk.format()
   end
   -- Threads start at different cookies, so that they rarely update one session at once.
   position = (thread_number * 7) % #prepared
end

function request()
   position = position % #prepared + 1
   return prepared[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local codes = {}
   for _, thread in ipairs(threads) do
      for code, count in pairs(thread:get("statuses")) do
         codes[code] = (codes[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(codes) do
      table.insert(parts, string.format('"%d": %d', code, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}, ' ..
      '"statuses": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99),
      table.concat(parts, ", ")))
end
