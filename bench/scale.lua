-- wrk script for bench/scale.sh: one request shape per run, chosen by SCALE_MODE.
--   get    GET /sandbox/identities/{random seeded id}
--   email  GET /sandbox/identities?email={random seeded email}
--   page   GET /sandbox/identities?limit=20&next={SCALE_CURSOR}   (a fixed cursor; empty = first page)
local mode = os.getenv("SCALE_MODE") or "get"
local prefix = os.getenv("SCALE_PREFIX")
local count = tonumber(os.getenv("SCALE_COUNT"))
local cursor = os.getenv("SCALE_CURSOR") or ""
local key = os.getenv("SCALE_KEY")
local token = os.getenv("SCALE_TOKEN")

function setup(thread) thread:set("id", tostring(math.random(1, 1000000))) end

function init(args)
  math.randomseed(os.time() + tonumber(id or "1"))
  wrk.headers["x-api-key"] = key
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["conomyhq-api-version"] = "24-04-2025"
end

function request()
  local n = math.random(0, count - 1)
  if mode == "get" then
    return wrk.format("GET", "/sandbox/identities/" .. prefix .. string.format("%020x", n))
  elseif mode == "email" then
    return wrk.format("GET", "/sandbox/identities?email=u" .. n .. "%40example.com")
  elseif cursor ~= "" then
    return wrk.format("GET", "/sandbox/identities?limit=20&next=" .. cursor)
  else
    return wrk.format("GET", "/sandbox/identities?limit=20")
  end
end

local bad = 0
function response(status) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f non200=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status))
end
