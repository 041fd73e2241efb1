--[[
  Sliding window counter: the same integer arithmetic as core/defaults/memory-rate-limiter.ts,
  so both backends give the same answers. Fixed windows aligned to the epoch; the previous
  window's count is weighted by how much of it still overlaps the sliding window. Everything
  is scaled by the window length, so it stays in integers (exact in Lua's doubles below 2^53).

  KEYS[1]  the counter, a hash: w = window ms, i = current window index, c = its count,
           p = the previous window's count
  ARGV[1]  limit: units allowed per window (integer >= 0)
  ARGV[2]  window length in ms (integer > 0)
  ARGV[3]  cost: units wanted (integer >= 0)
  ARGV[4]  least cost to accept (lease mode): when `cost` does not fit, take as many units as
           fit if that is at least this many; equal to ARGV[3] for an exact check

  Returns { allowed, taken, remaining, resetIn, retryAfter }:
    allowed     1 or 0
    taken       units taken (with ARGV[4] < ARGV[3] it may be less than cost; 0 when denied)
    remaining   whole units left after this call (0 when denied)
    resetIn     ms until the weighted count is back to 0 with no further calls
    retryAfter  ms until ARGV[4] units would fit (0 when allowed; at least one window when
                that is more than the limit)

  Time comes from the server (TIME), never the caller, so instances with skewed clocks agree.
  Only a call that takes units writes, and every write sets the key's TTL to resetIn: a key
  never outlives the moment it stops mattering.
]]

local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local least = tonumber(ARGV[4])

local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local index = math.floor(t / w)

local state = redis.call('HMGET', KEYS[1], 'w', 'i', 'c', 'p')
local sw, si = tonumber(state[1]), tonumber(state[2])
local curr, prev = tonumber(state[3]) or 0, tonumber(state[4]) or 0
if sw == nil then
  curr, prev = 0, 0
elseif si ~= index or sw ~= w then
  -- roll to the current window; a changed window length starts afresh
  if sw == w and index == si + 1 then prev = curr else prev = 0 end
  curr = 0
end

local e = t - index * w

local function reset_at()
  if curr > 0 then return (index + 2) * w end
  if prev > 0 then return (index + 1) * w end
  return t
end

local used = prev * (w - e) + curr * w
local ok, take = false, 0
if limit * w - used - cost * w >= 0 then
  ok, take = true, cost
elseif least < cost then
  local fits = math.floor((limit * w - used) / w)
  if fits >= least and fits > 0 then ok, take = true, fits end
end

if ok then
  curr = curr + take
  local left = limit * w - used - take * w
  local reset = reset_at()
  if take > 0 then
    redis.call('HSET', KEYS[1], 'w', w, 'i', index, 'c', curr, 'p', prev)
    redis.call('PEXPIRE', KEYS[1], reset - t)
  end
  return { 1, take, math.floor(left / w), reset - t, 0 }
end

-- Denied: nothing is written. The retry time is for the least acceptable cost.
local need = least
local reset = reset_at()
local retry
if need > limit then
  retry = math.max(reset - t, w)
else
  -- the earliest moment `need` fits, assuming nothing else is consumed
  local room = limit - need
  if curr <= room and prev > 0 then
    local fit = w - math.floor(((room - curr) * w) / prev)
    if fit < w then retry = fit - e end
  end
  if retry == nil then
    local fit = 0
    if curr > 0 then fit = math.max(0, w - math.floor((room * w) / curr)) end
    retry = (index + 1) * w + fit - t
  end
end
return { 0, 0, 0, reset - t, retry }
