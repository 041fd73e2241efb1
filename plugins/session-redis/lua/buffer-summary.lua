--[[
  Set a conversation's running summary and slide the buffer's TTLs.
  KEYS[1]  the turns, a list (only its TTL changes)
  KEYS[2]  the summary, a string
  ARGV[1]  TTL in ms
  ARGV[2]  the summary
  Returns 1.
]]
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
