-- wrk script: POST a GraphQL request whose body template (a JSON file) holds the token __ID__,
-- replaced on every request by a line picked at random from a picks file (each line already
-- JSON: a quoted id, a cursor, null, or a number). Random picks keep the server from
-- answering one hot key from a cache.
--
--   wrk -t2 -c32 -d15s [-H 'Authorization: Bearer …'] -s pick.lua URL -- BODY_FILE PICKS_FILE
local template, picks = nil, {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  local f = assert(io.open(args[1], "r")); template = f:read("*a"); f:close()
  for line in io.lines(args[2]) do
    if line ~= "" then picks[#picks + 1] = line end
  end
  assert(#picks > 0, "no picks in " .. args[2])
  math.randomseed(1000 + (tid or 0))
end

function request()
  local pick = picks[math.random(#picks)]
  local body = string.gsub(template, "__ID__", function() return pick end)
  -- wrk's own headers (`-H`, e.g. a token) go along.
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", nil, headers, body)
end
