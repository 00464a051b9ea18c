-- wrk script for the soak: each request is one of the three workload queries, chosen at
-- random, over random documents and pages as in pick.lua; answers that carry GraphQL errors
-- are counted and reported at the end (wrk itself counts only HTTP failures).
--
--   wrk -t2 -c32 -d60s -s mixed.lua URL -- Q1 IDS Q2 IDS Q3 CURSORS
local queries = {}
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "no picks in " .. path)
  return out
end

function init(args)
  for i = 1, #args, 2 do
    local f = assert(io.open(args[i], "r")); local template = f:read("*a"); f:close()
    queries[#queries + 1] = { template = template, picks = lines(args[i + 1]) }
  end
  math.randomseed(2000 + (tid or 0))
  errors = 0
end

function request()
  local q = queries[math.random(#queries)]
  local pick = q.picks[math.random(#q.picks)]
  local body = string.gsub(q.template, "__ID__", function() return pick end)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if string.find(body, '"errors"', 1, true) then errors = errors + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("errors") or 0) end
  io.write(string.format("graphql errors: %d\n", total))
end
