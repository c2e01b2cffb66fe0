-- Workload W1 (../shared/baselines/README.md): every request picks one of the seeded users at
-- random (connections rotate over users); TOGGLE_PERCENT % toggle a random task of that user
-- (PATCH .../complete), the rest GET the user's whole list.
-- Arguments: users_file [toggle_percent=10] [toggle=own|shared]; the file has one
-- "user_id token first_task last_task [shared_task,shared_task,...]" line per user: the user's own
-- tasks have the ids first_task..=last_task, the optional last field lists the ids of the tasks in
-- the user's shared list (W1-shared). With toggle=shared the toggles go to those.

local users = {}
local toggle_percent = 10
local toggle_shared = false

function init(args)
   math.randomseed(tid * 7919 + os.time())
   toggle_shared = (args[3] or "own") == "shared"
   for line in io.lines(args[1]) do
      local uid, token, lo, hi, rest = line:match("^(%S+) (%S+) (%d+) (%d+)%s*(%S*)$")
      if uid then
         local shared = {}
         for id in rest:gmatch("%d+") do
            table.insert(shared, id)
         end
         if toggle_shared and #shared == 0 then
            error("toggle=shared, but no shared tasks for user " .. uid .. " in " .. args[1])
         end
         table.insert(users, {
            path = "/api/" .. uid .. "/tasks",
            auth = "Bearer " .. token,
            lo = tonumber(lo),
            hi = tonumber(hi),
            shared = shared,
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
      local id
      if toggle_shared then
         id = u.shared[math.random(#u.shared)]
      else
         id = math.random(u.lo, u.hi)
      end
      return wrk.format("PATCH", u.path .. "/" .. id .. "/complete",
         { ["Authorization"] = u.auth, ["Content-Length"] = "0" })
   end
   return wrk.format("GET", u.path, { ["Authorization"] = u.auth })
end
