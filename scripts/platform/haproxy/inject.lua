-- haproxy's part of X-Difftrace-Inject (see docs/platform.md): the entry "haproxy=stall:Nms"
-- sleeps N ms (core.msleep yields, so other connections go on), "haproxy=503" makes the
-- frontend answer 503. Any other kind is answered 400, so a typo never goes unnoticed.
-- Like every hop, haproxy acts once per request and records that in X-Difftrace-Injected.

local function header_values(hdrs, name)
  local out = {}
  local h = hdrs[name]
  if h then
    for _, v in pairs(h) do out[#out + 1] = v end
  end
  return table.concat(out, ",")
end

local function already_done(hdrs)
  for name in string.gmatch(header_values(hdrs, "x-difftrace-injected"), "[^,]+") do
    if name:match("^%s*(.-)%s*$") == "haproxy" then return true end
  end
  return false
end

local function amount_ms(s)
  local n, unit = s:match("^%s*(%d+%.?%d*)%s*(m?s?)%s*$")
  if not n then return nil end
  n = tonumber(n)
  if unit == "s" then n = n * 1000 end
  return n
end

core.register_action("difftrace_inject", { "http-req" }, function(txn)
  local hdrs = txn.http:req_get_headers()
  local spec = header_values(hdrs, "x-difftrace-inject")
  if spec == "" or already_done(hdrs) then return end
  for entry in string.gmatch(spec, "[^,]+") do
    local hop, kind, amount = entry:match("^%s*([^=%s]+)%s*=%s*([^:%s]+)%s*:?(.*)$")
    if hop == "haproxy" then
      txn.http:req_add_header("X-Difftrace-Injected", "haproxy")
      if kind == "503" then
        txn:set_var("txn.difftrace_503", 1)
      elseif kind == "stall" and amount_ms(amount) then
        core.msleep(math.floor(amount_ms(amount)))
      else
        txn:set_var("txn.difftrace_bad", "X-Difftrace-Inject: hop haproxy does not implement " .. entry .. " (it knows stall:Nms, 503)")
      end
      return
    end
  end
end)

-- An ingress with tracing on starts a trace for a request that carries no trace context
-- (Envoy, Knative's ingress gateway): here a W3C traceparent whose parent is the ingress's own
-- span, named to the client in a W3C Trace Context level 2 traceresponse (haproxy.cfg adds it
-- unless the platform's answer already has one, as the activator's 202 has). difftrace reads
-- that header on haproxy's response: it gives haproxy's span the trace, and its id, which the
-- forwarded traceparent names as parent. A request with traceparent or B3 is forwarded as is.
do
  local f = io.open("/dev/urandom", "rb")
  local seed = 0
  if f then
    local b = f:read(6)
    f:close()
    for i = 1, #b do seed = seed * 256 + b:byte(i) end
  end
  math.randomseed(seed ~ math.floor(core.now().usec))
end

local function random_hex(nbytes)
  local out = {}
  for i = 1, nbytes do out[i] = string.format("%02x", math.random(0, 255)) end
  if out[1] == "00" then out[1] = "01" end -- never all zero, which W3C forbids
  return table.concat(out)
end

-- PLATFORM_INGRESS_TRACES=off (up.sh's environment): the ingress starts no trace, so a request
-- sent without trace headers crosses the whole platform without any (issue 16).
local start_traces = os.getenv("PLATFORM_INGRESS_TRACES") ~= "off"

core.register_action("difftrace_trace_start", { "http-req" }, function(txn)
  if not start_traces then return end
  local hdrs = txn.http:req_get_headers()
  if hdrs["traceparent"] or hdrs["b3"] or hdrs["x-b3-traceid"] then return end
  local tp = "00-" .. random_hex(16) .. "-" .. random_hex(8) .. "-01"
  txn.http:req_set_header("traceparent", tp)
  txn:set_var("txn.difftrace_traceresponse", tp)
end)
