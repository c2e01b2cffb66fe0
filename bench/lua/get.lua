-- GET one path, optionally with a bearer token. Arguments: path [token] [pause_ms].
-- With pause_ms each connection waits that long before each request: a paced probe, whose
-- latencies are a request's own rather than its wait behind the probe's other requests.

local req

function init(args)
   local headers = {}
   if args[2] and args[2] ~= "" then
      headers["Authorization"] = "Bearer " .. args[2]
   end
   req = wrk.format("GET", args[1], headers)
   local pause = tonumber(args[3] or "")
   if pause then
      function delay()
         return pause
      end
   end
end

function request()
   return req
end
