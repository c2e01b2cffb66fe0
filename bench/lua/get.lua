-- GET one path, optionally with a bearer token. Arguments: path [token].

local req

function init(args)
   local headers = {}
   if args[2] and args[2] ~= "" then
      headers["Authorization"] = "Bearer " .. args[2]
   end
   req = wrk.format("GET", args[1], headers)
end

function request()
   return req
end
