-- Workload W1 (../shared/baselines/README.md): every request picks one of the seeded users at
-- random (connections rotate over users); TOGGLE_PERCENT % toggle a random task of that user
-- (PATCH .../complete), the rest GET the user's whole list.
-- Arguments: users_file [toggle_percent=10]; the file has one "user_id token first_task last_task"
-- line per user.

local users = {}
local toggle_percent = 10

function init(args)
   math.randomseed(tid * 7919 + os.time())
   for line in io.lines(args[1]) do
      local uid, token, lo, hi = line:match("^(%S+) (%S+) (%d+) (%d+)$")
      if uid then
         table.insert(users, {
            path = "/api/" .. uid .. "/tasks",
            auth = "Bearer " .. token,
            lo = tonumber(lo),
            hi = tonumber(hi),
         })
      end
   end
   if #users == 0 then
      error("no users in " .. args[1])
   end
   toggle_percent = tonumber(args[2] or "10")
end

function request()
   local u = users[math.random(#users)]
   if math.random(100) <= toggle_percent then
      local id = math.random(u.lo, u.hi)
      return wrk.format("PATCH", u.path .. "/" .. id .. "/complete",
         { ["Authorization"] = u.auth, ["Content-Length"] = "0" })
   end
   return wrk.format("GET", u.path, { ["Authorization"] = u.auth })
end
