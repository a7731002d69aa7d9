--[[ cancel: remove a waiting task (pending/scheduled/retry → deleted), or report that it is active.
KEYS[1] tasks   KEYS[2] pending   KEYS[3] scheduled   KEYS[4] retry   KEYS[5] lease   KEYS[6] unique lock (optional)
ARGV[1] id
Returns: 1 removed, 2 active (the caller publishes the cancel), 0 not found or not cancelable (archived/completed)
]]
local id = ARGV[1]
if redis.call('ZSCORE', KEYS[5], id) then return 2 end
local removed = redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
if removed == 0 then removed = redis.call('LREM', KEYS[2], 1, id) end
if removed == 0 then return 0 end
redis.call('HDEL', KEYS[1], id)
if KEYS[6] and redis.call('GET', KEYS[6]) == id then redis.call('DEL', KEYS[6]) end
return 1
