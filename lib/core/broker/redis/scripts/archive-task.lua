--[[ archive-task: archive a waiting task (pending|scheduled|retry → archived).
KEYS[1] tasks   KEYS[2] pending   KEYS[3] scheduled   KEYS[4] retry   KEYS[5] archived   KEYS[6] lease
KEYS[7] completed   KEYS[8] active (an active id without a lease counts as active)   KEYS[9] workflow relay
ARGV[1] id   ARGV[2] now ms   ARGV[3] workflow relay entry ('' = not a workflow task)
Returns: a TaskOpCode (script-codes.ts): 1 archived, 0 not found, -1 active, -3 already archived, -4 completed
]]
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[6], id) then return -1 end
if redis.call('SISMEMBER', KEYS[8], id) == 1 then return -1 end
if redis.call('ZSCORE', KEYS[5], id) then return -3 end
if redis.call('ZSCORE', KEYS[7], id) then return -4 end
local removed = redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
if removed == 0 then removed = redis.call('LREM', KEYS[2], 1, id) end
if removed == 0 then return 0 end
redis.call('ZADD', KEYS[5], ARGV[2], id)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[9], ARGV[3], ARGV[2]) end
return 1
