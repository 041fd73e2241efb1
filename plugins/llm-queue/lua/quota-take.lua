--[[
  Take one request (and a token reservation) from the quotas of one provider+model, shared
  by every worker: requests and tokens per "minute" window, requests per day. Fixed windows
  aligned to the epoch, on the server's clock (TIME), so workers with skewed clocks agree.

  KEYS[1]  the quota hash: mi = minute window index, mr / mt = its requests / tokens,
           di = day index, dr = its requests
  ARGV[1]  requests per minute window (0 = no limit)
  ARGV[2]  tokens per minute window (0 = no limit)
  ARGV[3]  requests per day (0 = no limit)
  ARGV[4]  tokens to reserve for this request
  ARGV[5]  length of the minute window, ms (60000 but in tests)
  ARGV[6]  tests only: the time now, ms (otherwise the server's TIME)

  Returns { allowed, retryAfterMs, minuteIndex }:
    allowed       1 (taken) or 0 (nothing taken)
    retryAfterMs  ms until every quota that refused has a new window (0 when allowed)
    minuteIndex   the window the tokens were reserved in, for quota-settle.lua
  A request whose reservation alone exceeds the token limit is allowed in an empty window,
  so it is not refused forever.
]]
local now = tonumber(ARGV[6])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local rpm, tpm, rpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reserve, minute = tonumber(ARGV[4]), tonumber(ARGV[5])
local day = 86400000
local mi, di = math.floor(now / minute), math.floor(now / day)
local h = redis.call('HMGET', KEYS[1], 'mi', 'mr', 'mt', 'di', 'dr')
local mr, mt, dr = 0, 0, 0
if tonumber(h[1]) == mi then
  mr, mt = tonumber(h[2]) or 0, tonumber(h[3]) or 0
end
if tonumber(h[4]) == di then
  dr = tonumber(h[5]) or 0
end
local wait = 0
if rpm > 0 and mr + 1 > rpm then wait = math.max(wait, (mi + 1) * minute - now) end
if tpm > 0 and mt > 0 and mt + reserve > tpm then wait = math.max(wait, (mi + 1) * minute - now) end
if rpd > 0 and dr + 1 > rpd then wait = math.max(wait, (di + 1) * day - now) end
if wait > 0 then
  return { 0, wait, mi }
end
redis.call('HSET', KEYS[1], 'mi', mi, 'mr', mr + 1, 'mt', mt + reserve, 'di', di, 'dr', dr + 1)
redis.call('PEXPIRE', KEYS[1], 2 * day)
return { 1, 0, mi }
