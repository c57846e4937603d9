-- wrk script for service/loadtest.sh: POSTs the SHIN-NY example bundles
-- round robin to $TARGET_PATH and prints one RESULT line.
local dir = os.getenv("BUNDLE_DIR")
local path = os.getenv("TARGET_PATH")
local key = os.getenv("API_KEY")
local bodies = {}
local ls = io.popen('ls "' .. dir .. '"/Bundle-*.json')
for f in ls:lines() do
  local h = io.open(f, "rb")
  bodies[#bodies + 1] = h:read("*a")
  h:close()
end
ls:close()

local reqs = {}
local n = 0

function init(args)
  local headers = {
    ["Content-Type"] = "application/fhir+json",
    ["X-TechBD-Tenant-ID"] = "load",
    ["X-API-Key"] = key,
  }
  for i, b in ipairs(bodies) do
    reqs[i] = wrk.format("POST", path, headers, b)
  end
end

function request()
  n = n % #reqs + 1
  return reqs[n]
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT %-18s requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f http_errors=%d socket_errors=%d\n",
    path, summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
