--[[
  Read a conversation buffer and slide its TTL.
  KEYS[1]  the turns, a list of JSON { role, content }, oldest first
  KEYS[2]  the summary, a string
  ARGV[1]  TTL in ms
  Returns { turns, summary }: summary is false when unset; both empty/false when there is no buffer.
]]
local turns = redis.call('LRANGE', KEYS[1], 0, -1)
local summary = redis.call('GET', KEYS[2])
if #turns > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if summary then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return { turns, summary }
