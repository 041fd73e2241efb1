--[[
  Merge fields into a session atomically: two instances changing different fields of one
  session at once both keep their change. A hash whose last field goes is gone (Redis drops
  empty hashes), which is "no session".
  KEYS[1]  the session hash (field -> JSON value)
  ARGV[1]  TTL in ms
  ARGV[2]  n: how many fields to delete
  ARGV[3 .. 2+n]        fields to delete
  ARGV[3+n ..]          field, value pairs to set
  Returns the whole hash after the change as a flat list { field, value, ... }.
]]
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 3, 2 + n)) end
if #ARGV > 2 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 3 + n, #ARGV)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
