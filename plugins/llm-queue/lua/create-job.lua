--[[
  Create a reply job's state hash, once. A second submit of the same id finds it and gets
  its fields back instead, so the job is queued (and run) only once.

  KEYS[1]  the job's state hash
  ARGV[1]  userId
  ARGV[2]  conversationId
  ARGV[3]  tier
  ARGV[4]  createdAt, ms since the epoch
  ARGV[5]  TTL of the hash while the job is unfinished, ms

  Returns 1 when created; otherwise the existing hash as a flat field/value list.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'userId', ARGV[1], 'conversationId', ARGV[2],
  'tier', ARGV[3], 'createdAt', ARGV[4], 'seq', 0, 'ended', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
