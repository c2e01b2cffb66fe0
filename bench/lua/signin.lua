-- POST /api/auth/signin, again and again. Arguments: email password.

local req

function init(args)
   local body = string.format('{"email":"%s","password":"%s"}', args[1], args[2])
   req = wrk.format("POST", "/api/auth/signin", { ["Content-Type"] = "application/json" }, body)
end

function request()
   return req
end
