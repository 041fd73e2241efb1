-- Read one entry, check its tags' versions, and on a miss (or a stale hit) try to take the
-- key's load lock.
--
-- KEYS[1]  the entry (a hash: v = value JSON, g = "tag\nversion\n..." as stored, f = fresh until, ms)
-- KEYS[2]  the key's load lock (value: "<token>|<versions>")
-- KEYS[3..] the version keys of the caller's tags, in the caller's order
-- ARGV[1]  the prefix of version keys (the stored tags are checked under it)
-- ARGV[2]  this caller's lock token ('' = never take the lock: a plain get)
-- ARGV[3]  lock TTL in ms
--
-- Returns { hit, holder, value, fresh ms left, tags, version... }:
--   hit      1 when the entry exists with every tag at its stored version, else 0
--   holder   the token holding the lock after this call ('' when none or not asked)
--   value    the value JSON ('' on a miss)
--   fresh    ms until the entry goes stale (0 when it is stale already)
--   tags     the stored "tag\nversion" list ('' on a miss)
--   version  the current version of each caller tag (for the fill's check)

local versions = {}
for i = 3, #KEYS do versions[#versions + 1] = redis.call('GET', KEYS[i]) or '0' end
local joined = table.concat(versions, ',')

local function lock()
  if ARGV[2] == '' then return '' end
  local mine = ARGV[2] .. '|' .. joined
  if redis.call('SET', KEYS[2], mine, 'NX', 'PX', ARGV[3]) then return ARGV[2] end
  local held = redis.call('GET', KEYS[2])
  if not held then return '' end
  local sep = string.find(held, '|', 1, true)
  -- A lock taken before an invalidation loads old data: take it over, do not wait for it.
  if sep and string.sub(held, sep + 1) ~= joined then
    redis.call('SET', KEYS[2], mine, 'PX', ARGV[3])
    return ARGV[2]
  end
  return sep and string.sub(held, 1, sep - 1) or held
end

local function reply(hit, holder, value, fresh, tags)
  local out = { hit, holder, value, fresh, tags }
  for i = 1, #versions do out[#out + 1] = versions[i] end
  return out
end

local e = redis.call('HMGET', KEYS[1], 'v', 'g', 'f')
if e[1] then
  local valid = true
  local g = e[2] or ''
  local name = nil
  for part in string.gmatch(g, '[^\n]+') do
    if name == nil then
      name = part
    else
      if (redis.call('GET', ARGV[1] .. name) or '0') ~= part then valid = false break end
      name = nil
    end
  end
  if valid then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local left = tonumber(e[3]) - now
    if left > 0 then return reply(1, '', e[1], left, g) end
    -- Stale but within its grace: served, and one caller refreshes it.
    return reply(1, lock(), e[1], 0, g)
  end
  redis.call('DEL', KEYS[1])
end
return reply(0, lock(), '', 0, '')
