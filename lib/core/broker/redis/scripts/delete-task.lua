--[[ delete-task: delete a task that is not active (any other state → deleted), freeing its unique lock.
KEYS[1] tasks   KEYS[2] pending   KEYS[3] scheduled   KEYS[4] retry   KEYS[5] archived   KEYS[6] completed
KEYS[7] lease   KEYS[8] active   KEYS[9] workflow relay   KEYS[10] unique lock (optional)
ARGV[1] id   ARGV[2] workflow relay entry ('' = not a workflow task)   ARGV[3] now ms
Returns: a TaskOpCode (script-codes.ts): 1 deleted, 0 not found, -1 active
]]
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[7], id) or redis.call('SISMEMBER', KEYS[8], id) == 1 then return -1 end
local removed = 0
for k = 3, 6 do removed = removed + redis.call('ZREM', KEYS[k], id) end
if removed == 0 then redis.call('LREM', KEYS[2], 1, id) end
redis.call('HDEL', KEYS[1], id)
if KEYS[10] and redis.call('GET', KEYS[10]) == id then redis.call('DEL', KEYS[10]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[9], ARGV[2], ARGV[3]) end
return 1
