--[[
  A worker takes a job (each attempt, also after a crash): it becomes the job's owner, so
  events from an earlier owner that is still alive (a stalled worker) are refused from now on.

  KEYS[1]  the job's state hash
  ARGV[1]  owner token of this attempt
  ARGV[2]  now, ms since the epoch
  ARGV[3]  TTL of the hash while the job is unfinished, ms

  Returns { state, seq }:
    'gone'     no state (expired, or never created): do not run
    'ended'    already done, failed or cancelled: do not run
    'fresh'    no event written yet: run, numbering from seq + 1 (0 + 1 unless retried)
    'resumed'  an earlier attempt wrote events and did not end the stream: tokens reached
               clients, so the caller ends the stream (WORKER_LOST) and reruns silently
    'silent'   the stream was already ended that way by an earlier attempt: rerun silently
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'gone', 0 }
end
local f = redis.call('HMGET', KEYS[1], 'status', 'seq', 'ended')
local status, seq, ended = f[1], tonumber(f[2]) or 0, f[3]
if status == 'done' or status == 'failed' or status == 'cancelled' then
  return { 'ended', seq }
end
redis.call('HSET', KEYS[1], 'status', 'running', 'owner', ARGV[1], 'startedAt', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ended == '1' then
  return { 'silent', seq }
end
if seq > 0 then
  return { 'resumed', seq }
end
return { 'fresh', 0 }
