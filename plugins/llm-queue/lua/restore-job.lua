--[[
  Write a running job's state and events again after Redis lost them (restarted without its
  data): the worker that runs the job still has every event it wrote, so its subscribers
  resume with no gap, the job stays known, and its stream still ends with done or error.

  KEYS[1]  the job's state hash
  KEYS[2]  the job's event stream
  ARGV[1]  owner token of the running attempt
  ARGV[2]  userId
  ARGV[3]  conversationId
  ARGV[4]  tier
  ARGV[5]  createdAt, ms since the epoch
  ARGV[6]  TTL of both keys while the job runs, ms
  ARGV[7]  stream length cap (MAXLEN ~)
  ARGV[8]  the seq of the first event that follows
  ARGV[9..] the events as JSON (without jobId and seq), in seq order from ARGV[8]

  Returns the last seq written, or -1 when the state exists again (another owner restored it).
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
redis.call('DEL', KEYS[2])
local seq = tonumber(ARGV[8]) - 1
for i = 9, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], seq .. '-0', 'd', ARGV[i])
end
redis.call('HSET', KEYS[1], 'status', 'running', 'owner', ARGV[1], 'userId', ARGV[2], 'conversationId', ARGV[3],
  'tier', ARGV[4], 'createdAt', ARGV[5], 'seq', seq, 'ended', 0, 'restored', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if seq > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return seq
