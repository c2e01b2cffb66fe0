-- One WebDAV request again and again (the caldav scenario's empty incremental sync).
-- Arguments: method path authorization depth body_file; the body is sent as application/xml.

local req

function init(args)
   local f = assert(io.open(args[5], "rb"))
   local body = f:read("*a")
   f:close()
   req = wrk.format(args[1], args[2], {
      ["Authorization"] = args[3],
      ["Depth"] = args[4],
      ["Content-Type"] = "application/xml; charset=utf-8",
   }, body)
end

function request()
   return req
end
