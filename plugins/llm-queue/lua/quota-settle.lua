--[[
  Settle a token reservation with what the reply really used, if its minute window is still
  the current one (an old window no longer limits anything).

  KEYS[1]  the quota hash (see quota-take.lua)
  ARGV[1]  minute window index the reservation was made in
  ARGV[2]  tokens used minus tokens reserved (may be negative)

  Returns the window's token count after settling, or -1 when the window has passed.
]]
if tonumber(redis.call('HGET', KEYS[1], 'mi')) ~= tonumber(ARGV[1]) then
  return -1
end
local mt = redis.call('HINCRBY', KEYS[1], 'mt', ARGV[2])
if mt < 0 then
  redis.call('HSET', KEYS[1], 'mt', 0)
  return 0
end
return mt
