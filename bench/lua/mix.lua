-- One user's list (?limit=20), create and toggle in equal shares (a counter per thread picks the
-- kind, toggles pick a random task). Arguments: user_id token first_task last_task.

local list, create, auth, path, lo, hi
local n = 0

function init(args)
   math.randomseed(tid * 7919 + os.time())
   path = "/api/" .. args[1] .. "/tasks"
   auth = "Bearer " .. args[2]
   lo, hi = tonumber(args[3]), tonumber(args[4])
   list = wrk.format("GET", path .. "?limit=20", { ["Authorization"] = auth })
   create = wrk.format("POST", path,
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"title":"bench-task","description":"created-by-the-bench"}')
end

function request()
   n = n + 1
   local kind = (n + tid) % 3
   if kind == 0 then
      return list
   elseif kind == 1 then
      return create
   end
   return wrk.format("PATCH", path .. "/" .. math.random(lo, hi) .. "/complete",
      { ["Authorization"] = auth, ["Content-Length"] = "0" })
end
