--[[
  Append a run of events to a job's stream, as its current owner, in one call, for seqs
  ARGV[2], ARGV[2] + 1, ... The last one may end the stream (a done or error event). The seq
  is the stream entry's id (<seq>-0), so readers resume by id with no gap or duplicate.
  Idempotent: a call resent after a reconnect finds its events written and writes only those
  that are not.

  KEYS[1]  the job's state hash
  KEYS[2]  the job's event stream
  ARGV[1]  owner token (from claim-job.lua)
  ARGV[2]  seq of the first event: at most the last written + 1
  ARGV[3]  stream length cap (MAXLEN ~)
  ARGV[4]  TTL of the stream while the job runs, ms
  ARGV[5]  '1' when the last event ends the stream, else '0'
  ARGV[6]  status to record with a final event ('' leaves it: a silent rerun goes on)
  ARGV[7]  messageId to record with a final event ('' for none)
  ARGV[8]  TTL of both keys once the job has ended, ms
  ARGV[9..] the events as JSON (without jobId and seq), in seq order from ARGV[2]

  Returns:
    the last seq of the run, written (or already written by this very call before a reconnect)
    0    the stream had already ended (cancelled meanwhile, or a silent rerun): nothing
         written, but with a final event the status and messageId are recorded
    -1   another attempt owns the job now: stop
    -2   the job's state is gone (expired, or Redis restarted empty)
    -3   the first seq is beyond the next one (a bug in the writer)
]]
local EVENTS = 8
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -2
end
local f = redis.call('HMGET', KEYS[1], 'owner', 'ended', 'seq')
if f[1] ~= ARGV[1] then
  return -1
end
local final = ARGV[5] == '1'
local function record()
  if ARGV[6] ~= '' then
    redis.call('HSET', KEYS[1], 'status', ARGV[6])
    redis.call('PEXPIRE', KEYS[1], ARGV[8])
  end
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'messageId', ARGV[7]) end
end
if f[2] == '1' then
  if final then record() end
  return 0
end
local first = tonumber(ARGV[2])
local lastNew = first + (#ARGV - EVENTS) - 1
local last = tonumber(f[3]) or 0
if last >= lastNew then
  return lastNew
end
if last < first - 1 then
  return -3
end
for seq = last + 1, lastNew do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'd', ARGV[EVENTS + seq - first + 1])
end
redis.call('HSET', KEYS[1], 'seq', lastNew)
if final then
  redis.call('HSET', KEYS[1], 'ended', 1)
  record()
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
elseif last == 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return lastNew
