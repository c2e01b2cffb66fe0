-- Appended to every scenario script by the bench (wrk loads one file). Gives each thread a number
-- (`tid`, set before `init`) and prints the run's figures as one JSON line that the bench parses.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local function pct(latency, p, n)
   if n == 0 then
      return -1
   end
   return latency:percentile(p)
end

function done(summary, latency, requests)
   local e = summary.errors
   local n = summary.requests
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
         .. '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d}\n',
      n, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      pct(latency, 50, n), pct(latency, 90, n), pct(latency, 95, n), pct(latency, 99, n),
      n == 0 and -1 or latency.max))
end
