-- Invalidate tags: bump each tag's version (every entry stored under an older one is a miss
-- from now on, on every instance) and announce it so instances drop their L1 copies.
--
-- KEYS[1..] the version keys of the tags
-- ARGV[1]   how long a version is kept, in ms (longer than any entry lives)
-- ARGV[2]   channel
-- ARGV[3]   message
--
-- Returns the number of instances that received the message.

for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
