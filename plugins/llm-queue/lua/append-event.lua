--[[
  Append one event to a job's stream, as its current owner. The writer assigns the seq, and
  it is the stream entry's id (<seq>-0), so readers resume by id with no gap or duplicate.
  Idempotent: a command resent after a reconnect finds its seq already written.

  KEYS[1]  the job's state hash
  KEYS[2]  the job's event stream
  ARGV[1]  owner token (from claim-job.lua)
  ARGV[2]  seq of this event: the last written + 1
  ARGV[3]  the event as JSON, without jobId and seq
  ARGV[4]  '1' when the event ends the stream (done or error), else '0'
  ARGV[5]  status to record with a final event ('' leaves it: a silent rerun goes on)
  ARGV[6]  messageId to record ('' for none)
  ARGV[7]  stream length cap (MAXLEN ~)
  ARGV[8]  TTL of the stream while the job runs, ms
  ARGV[9]  TTL of both keys once the job has ended, ms

  Returns:
    seq  written (or already written by this very call before a reconnect)
    0    the stream had already ended (cancelled meanwhile, or a silent rerun): nothing
         written, but with a final event the status and messageId are recorded
    -1   another attempt owns the job now: stop
    -2   the job's state is gone (expired)
    -3   seq is not the next one (a bug in the writer)
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -2
end
local f = redis.call('HMGET', KEYS[1], 'owner', 'ended', 'seq')
if f[1] ~= ARGV[1] then
  return -1
end
local final = ARGV[4] == '1'
if f[2] == '1' then
  if final then
    if ARGV[5] ~= '' then
      redis.call('HSET', KEYS[1], 'status', ARGV[5])
      redis.call('PEXPIRE', KEYS[1], ARGV[9])
    end
    if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'messageId', ARGV[6]) end
  end
  return 0
end
local seq = tonumber(ARGV[2])
local last = tonumber(f[3]) or 0
if last >= seq then
  return seq
end
if last ~= seq - 1 then
  return -3
end
redis.call('HSET', KEYS[1], 'seq', seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], seq .. '-0', 'd', ARGV[3])
if final then
  redis.call('HSET', KEYS[1], 'ended', 1)
  if ARGV[5] ~= '' then
    redis.call('HSET', KEYS[1], 'status', ARGV[5])
    redis.call('PEXPIRE', KEYS[1], ARGV[9])
  end
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'messageId', ARGV[6]) end
  redis.call('PEXPIRE', KEYS[2], ARGV[9])
elseif seq == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
return seq
