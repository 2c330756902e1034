-- wrk script for Padron's sandbox API; driven by bench/load.sh (see the top of that file).
--
-- Environment (read in every wrk thread):
--   SCENARIO   create | get | list | list_email | list_doc | patch | children | mixed | seed
--   API_KEY, TOKEN            sandbox credentials (x-api-key + Authorization: Bearer)
--   RUN_TAG                   short unique word for this run, keeps emails unique across runs
--   IDS_FILE                  seeded identities, one "id email documentNumber" per line
--   CURSORS_FILE              `pagination.next` values from a pre-walk, one per line
--   ORGS_FILE                 organization ids, one per line
--   OUT_PREFIX                seed/crash mode: each thread appends the ids of its 201s to
--                             OUT_PREFIX.<thread>, flushed per line (crash test relies on it)
--   RESULT_FILE               done() appends one JSON line with the wrk summary here
--
-- Every request sends the v2 version header. Creates are USERs in CHL with a valid RUT (mod 11)
-- and a unique email and RUT per request.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function lines(path)
  local t = {}
  if path == nil or path == "" then return t end
  local f = io.open(path, "r")
  if f == nil then return t end
  for l in f:lines() do
    if l ~= "" then table.insert(t, l) end
  end
  f:close()
  return t
end

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function rut(body)
  local s, m, x = 0, 2, body
  while x > 0 do
    s = s + (x % 10) * m
    x = math.floor(x / 10)
    if m == 7 then m = 2 else m = m + 1 end
  end
  local d = 11 - (s % 11)
  local dv
  if d == 11 then dv = "0" elseif d == 10 then dv = "K" else dv = tostring(d) end
  return body .. "-" .. dv
end

local scenario, tag, ids, cursors, orgs, out
local tid_n, rut_base

function init(args)
  scenario = os.getenv("SCENARIO") or "get"
  tag = os.getenv("RUN_TAG") or "r"
  tid_n = tonumber(tid) or 0
  math.randomseed(os.time() * 1000 + tid_n * 7919 + (tonumber(os.getenv("SEED") or "0") or 0))
  -- RUT bodies: 10,000,000 + a per-run, per-thread block of 1,000,000 numbers.
  rut_base = 10000000 + ((tonumber(os.getenv("RUT_BLOCK") or "0") * 8 + tid_n) % 89) * 1000000
  wrk.headers["x-api-key"] = os.getenv("API_KEY")
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
  wrk.headers["conomyhq-api-version"] = "24-04-2025"
  wrk.headers["Content-Type"] = "application/json"
  ids = {}
  for _, l in ipairs(lines(os.getenv("IDS_FILE"))) do
    local id, email, doc = string.match(l, "^(%S+)%s+(%S+)%s+(%S+)")
    if id then table.insert(ids, { id = id, email = email, doc = doc }) end
  end
  cursors = lines(os.getenv("CURSORS_FILE"))
  orgs = lines(os.getenv("ORGS_FILE"))
  local prefix = os.getenv("OUT_PREFIX")
  if prefix and prefix ~= "" then out = io.open(prefix .. "." .. tid_n, "a") end
end

local function create_req()
  local n = counter
  counter = counter + 1
  local doc = rut(rut_base + (n % 1000000))
  local body = '{"type":"USER","name":"Bench User","lastname":"Load","nickname":"b' .. n ..
    '","email":"u' .. tag .. 't' .. tid_n .. 'n' .. n .. '@bench.example.com","phone":"+56912345678",' ..
    '"documentType":"RUT","documentNumber":"' .. doc .. '","idv":"iv-' .. n .. '","country":"CHL",' ..
    '"securityOptions":{"twoFactorEnabled":false},"children":[]}'
  return wrk.format("POST", "/sandbox/identities", nil, body)
end

local function pick(t) return t[math.random(#t)] end

local function get_req()
  return wrk.format("GET", "/sandbox/identities/" .. pick(ids).id)
end

local function list_req()
  return wrk.format("GET", "/sandbox/identities?limit=20&next=" .. urlencode(pick(cursors)))
end

local function list_email_req()
  return wrk.format("GET", "/sandbox/identities?email=" .. urlencode(pick(ids).email))
end

local function list_doc_req()
  return wrk.format("GET", "/sandbox/identities?documentNumber=" .. urlencode(pick(ids).doc))
end

local function patch_req()
  local n = counter
  counter = counter + 1
  return wrk.format("PATCH", "/sandbox/identities/" .. pick(ids).id, nil,
    '{"nickname":"p' .. tag .. tid_n .. "x" .. n .. '"}')
end

local function children_req()
  return wrk.format("POST", "/sandbox/identities/" .. pick(orgs) .. "/children", nil,
    '[{"id":"' .. pick(ids).id .. '"}]')
end

local function mixed_req()
  -- 80% reads: 50 get-by-id, 15 cursor page, 15 filter by email; 20% writes: 10 create, 10 patch.
  local r = math.random(100)
  if r <= 50 then return get_req()
  elseif r <= 65 then return list_req()
  elseif r <= 80 then return list_email_req()
  elseif r <= 90 then return create_req()
  else return patch_req() end
end

local dispatch = {
  create = create_req, seed = create_req, get = get_req, list = list_req,
  list_email = list_email_req, list_doc = list_doc_req, patch = patch_req,
  children = children_req, mixed = mixed_req,
}

function request()
  return dispatch[scenario]()
end

if os.getenv("OUT_PREFIX") and os.getenv("OUT_PREFIX") ~= "" then
  function response(status, headers, body)
    if status == 201 and out then
      local id = string.match(body, '"id"%s*:%s*"(%x+)"')
      local email = string.match(body, '"email"%s*:%s*"([^"]+)"')
      local doc = string.match(body, '"documentNumber"%s*:%s*"([^"]+)"')
      if id then
        out:write(id, " ", email or "-", " ", doc or "-", "\n")
        out:flush()
      end
    end
  end
end

function done(summary, latency, requests)
  local path = os.getenv("RESULT_FILE")
  if path == nil or path == "" then return end
  local e = summary.errors
  local f = io.open(path, "a")
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect, e.read, e.write, e.timeout))
  f:close()
end
