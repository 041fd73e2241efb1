--[[
  Cancel a job from any instance: the stream ends at once with the CANCELLED error and the
  status becomes 'cancelled'; the worker running it (told over pub/sub) aborts its runner,
  and its later appends find the stream ended.

  KEYS[1]  the job's state hash
  KEYS[2]  the job's event stream
  ARGV[1]  the error event as JSON, without jobId and seq
  ARGV[2]  stream length cap (MAXLEN ~)
  ARGV[3]  TTL of both keys once the job has ended, ms

  Returns the status before ('queued' or 'running'), or 0 when the job is unknown or had
  already ended.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local f = redis.call('HMGET', KEYS[1], 'status', 'ended', 'seq')
local status = f[1]
if status ~= 'queued' and status ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancel', 1)
if f[2] ~= '1' then
  local seq = (tonumber(f[3]) or 0) + 1
  redis.call('HSET', KEYS[1], 'seq', seq, 'ended', 1)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'd', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return status
