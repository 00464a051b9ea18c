-- wrk script for readers as they come: each request is one of several query shapes, chosen
-- by weight, over a pick drawn Zipf-distributed from its picks file (line k, the k-th most
-- read: P(k) ∝ 1/k^s), so a few documents take most reads. Answers that carry GraphQL errors
-- are counted; done() prints them, the requests of each shape, and p50/p99/p99.9 in ms. With
-- S = 0 every pick is equally likely (the soak's uniform mix).
--
--   wrk -t2 -c32 -d30s -s zipf.lua URL -- S WEIGHT BODY PICKS [WEIGHT BODY PICKS ...]
local shapes, total_weight, s = {}, 0, 1.1
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

-- The cumulative distribution of Zipf(s) over n ranks, for sampling by bisection.
local cdfs = {}
local function zipf_cdf(n)
  if cdfs[n] then return cdfs[n] end
  local cdf, sum = {}, 0
  for k = 1, n do
    sum = sum + 1 / k ^ s
    cdf[k] = sum
  end
  for k = 1, n do cdf[k] = cdf[k] / sum end
  cdfs[n] = cdf
  return cdf
end

local function zipf_rank(cdf)
  local u, lo, hi = math.random(), 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

function init(args)
  s = tonumber(args[1])
  for i = 2, #args, 3 do
    local f = assert(io.open(args[i + 1], "r")); local template = f:read("*a"); f:close()
    local picks = lines(args[i + 2])
    local weight = tonumber(args[i])
    total_weight = total_weight + weight
    shapes[#shapes + 1] = { weight = weight, template = template, picks = picks, cdf = zipf_cdf(#picks), n = 0 }
  end
  math.randomseed(3000 + (tid or 0))
  errors = 0
  counts = ""
end

function request()
  local r, shape = math.random() * total_weight, shapes[#shapes]
  for _, candidate in ipairs(shapes) do
    if r < candidate.weight then shape = candidate; break end
    r = r - candidate.weight
  end
  shape.n = shape.n + 1
  local pick = shape.picks[zipf_rank(shape.cdf)]
  local body = string.gsub(shape.template, "__ID__", function() return pick end)
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if string.find(body, '"errors"', 1, true) then errors = errors + 1 end
  local parts = {}
  for i, shape in ipairs(shapes) do parts[i] = tostring(shape.n) end
  counts = table.concat(parts, " ")
end

function done(summary, latency, requests)
  local total, by_shape = 0, {}
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
    local i = 1
    for n in string.gmatch(thread:get("counts") or "", "%d+") do
      by_shape[i] = (by_shape[i] or 0) + tonumber(n); i = i + 1
    end
  end
  io.write(string.format("graphql errors: %d\n", total))
  io.write("requests by shape: " .. table.concat(by_shape, " ") .. "\n")
  io.write(string.format("latency ms: p50 %.3f p99 %.3f p99.9 %.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
