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
