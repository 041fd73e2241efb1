--[[
  A retried job waits in line again (BullMQ backoff): its status goes back to 'queued', but
  only while the attempt that asks still owns it, so a cancel meanwhile stays a cancel.

  KEYS[1]  the job's state hash
  ARGV[1]  owner token of the attempt giving the job back

  Returns 1 when requeued, 0 otherwise.
]]
local f = redis.call('HMGET', KEYS[1], 'owner', 'status')
if f[1] ~= ARGV[1] or f[2] ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'queued')
return 1
