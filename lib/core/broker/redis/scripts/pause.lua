--[[ pause: stop the pickup of a queue (workers skip it until unpaused).
KEYS[1] paused
ARGV[1] now ms
Returns: 1 paused now, 0 already paused
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 1 end
return 0
