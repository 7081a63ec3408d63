-- wrk script: consent-checked person lookups over a list of person ids (one per line in IDS_FILE).
local ids = {}
local key = os.getenv("API_KEY")
local purpose = os.getenv("PURPOSE") or "honnin_kakunin_jusho"
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local counter = 0

request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  return wrk.format("GET", "/v1/persons/" .. id .. "?purpose=" .. purpose, {["X-API-Key"] = key})
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"non2xx\": %d, \"errors\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"mean_ms\": %.3f}\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
