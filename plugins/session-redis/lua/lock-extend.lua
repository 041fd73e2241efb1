--[[
  Extend a lock, only for its owner.
  KEYS[1]  the lock (a string holding the owner's token)
  ARGV[1]  the token acquireLock returned
  ARGV[2]  the new TTL in ms, from now
  Returns 1 when extended, 0 when the lock is gone or another token holds it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
