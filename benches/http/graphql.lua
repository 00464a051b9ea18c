-- wrk script: POST one GraphQL query, given as a JSON body in the QUERY_BODY file.
-- Usage: QUERY_BODY=q1.json wrk -t2 -c32 -d10s -s benches/http/graphql.lua http://127.0.0.1:8080/graphql
local f = assert(io.open(os.getenv("QUERY_BODY"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"') then
    io.stderr:write("bad response: " .. status .. " " .. body:sub(1, 200) .. "\n")
    wrk.thread:stop()
  end
end
