--[[
  Append turns to a conversation buffer, keep the newest maxTurns, slide the TTLs.
  KEYS[1]  the turns, a list of JSON { role, content }, oldest first
  KEYS[2]  the summary, a string (only its TTL changes)
  ARGV[1]  TTL in ms
  ARGV[2]  maxTurns (integer >= 0)
  ARGV[3 ..]  the turns to append, as JSON
  Returns the number of turns kept.
]]
local max = tonumber(ARGV[2])
if #ARGV > 2 then redis.call('RPUSH', KEYS[1], unpack(ARGV, 3, #ARGV)) end
if max == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('LTRIM', KEYS[1], -max, -1)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return redis.call('LLEN', KEYS[1])
