--[[ scheduler-remove: delete a periodic entry and its fire state.
KEYS[1] cron entries (HASH)   KEYS[2] cron state (HASH)
ARGV[1] id
Returns: 1 removed, 0 absent
]]
local id = ARGV[1]
local removed = redis.call('HDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
return removed
