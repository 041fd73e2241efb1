--[[
  Read a session and slide its TTL.
  KEYS[1]  the session hash (field -> JSON value)
  ARGV[1]  TTL in ms
  Returns the hash as a flat list { field, value, ... }; empty when there is no session.
]]
local data = redis.call('HGETALL', KEYS[1])
if #data > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return data
