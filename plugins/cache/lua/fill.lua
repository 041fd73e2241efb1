-- Store a loaded value if no tag of it was invalidated since it was read, hand the result to
-- waiters on other instances, release the load lock, and tell them.
--
-- KEYS[1]  the entry
-- KEYS[2]  the key's load lock
-- KEYS[3]  the result key of this load (read by waiters)
-- KEYS[4..] the version keys of the entry's tags, in ARGV order
-- ARGV[1]  token of this load ('' when it held no lock)
-- ARGV[2]  value JSON ('' = store nothing: undefined, or the load failed)
-- ARGV[3]  fresh TTL in ms
-- ARGV[4]  stale grace in ms (kept this much longer, served only while refreshing)
-- ARGV[5]  result for waiters ('' = none), kept for ARGV[6] ms
-- ARGV[6]  result TTL in ms
-- ARGV[7]  channel to announce the result on
-- ARGV[8]  message to publish
-- ARGV[9]  '1' = check each tag's version against ARGV[10..]; '0' = store at the current versions (set)
-- ARGV[10] how long a version is kept, in ms: refreshed here, so a version key outlives every entry that names it
-- ARGV[11..] tag name and the version read before the load, in pairs
--
-- Returns 1 when the entry was stored, else 0.

local stored = 0
if ARGV[2] ~= '' then
  local ok = true
  local g = {}
  local n = 0
  for i = 11, #ARGV, 2 do
    n = n + 1
    local current = redis.call('GET', KEYS[3 + n]) or '0'
    if ARGV[9] == '1' and current ~= ARGV[i + 1] then ok = false break end
    g[#g + 1] = ARGV[i] .. '\n' .. current
  end
  if ok then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'g', table.concat(g, '\n'), 'f', now + tonumber(ARGV[3]))
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]))
    for i = 4, 3 + n do
      if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[10]) end
    end
    stored = 1
  end
end
if ARGV[1] ~= '' then
  local held = redis.call('GET', KEYS[2])
  if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[2]) end
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6]) end
if ARGV[8] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return stored
