-- Heartbeats of a deployment's processes: register (or leave) and list the live ones.
-- KEYS[1]  sorted set: process id -> expiry (ms, on the server's clock)
-- KEYS[2]  hash: process id -> what it published (JSON)
-- ARGV[1]  this process's id ('' to only read)
-- ARGV[2]  TTL in ms: a process that stops beating is gone after this
-- ARGV[3]  what it publishes (JSON), or '' to leave
-- Returns  a flat list: id, JSON, id, JSON, ... of the live processes
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[1] ~= '' then
  if ARGV[3] == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  end
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(dead))
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or '{}'
end
if ARGV[1] ~= '' and ARGV[3] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ttl * 4)
  redis.call('PEXPIRE', KEYS[2], ttl * 4)
end
return out
