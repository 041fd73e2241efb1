--[[
  Release a lock, only for its owner.
  KEYS[1]  the lock (a string holding the owner's token)
  ARGV[1]  the token acquireLock returned
  Returns 1 when released, 0 when the lock is gone or another token holds it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
