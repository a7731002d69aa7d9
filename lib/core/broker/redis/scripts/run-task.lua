--[[ run-task: make a scheduled, retry or archived task pending now (→ pending).
KEYS[1] tasks   KEYS[2] scheduled   KEYS[3] retry   KEYS[4] archived   KEYS[5] lease   KEYS[6] pending
KEYS[7] wake   KEYS[8] completed   KEYS[9] active (optional: an active id without a lease counts as active)
ARGV[1] id   ARGV[2] expected message (optional)   ARGV[3] new message (optional): when the task moves and its stored
        message still equals ARGV[2], it is replaced by ARGV[3] (the inspector resets the ready-at time this way)
Returns: a TaskOpCode (script-codes.ts): 1 moved, 0 not found, -1 active, -2 already pending, -4 completed
]]
--- @include "wake"
local id = ARGV[1]
local m = redis.call('HGET', KEYS[1], id)
if not m then return 0 end
if redis.call('ZSCORE', KEYS[5], id) then return -1 end
if KEYS[9] and redis.call('SISMEMBER', KEYS[9], id) == 1 then return -1 end
if redis.call('ZSCORE', KEYS[8], id) then return -4 end
for k = 2, 4 do
  if redis.call('ZREM', KEYS[k], id) == 1 then
    if ARGV[3] and m == ARGV[2] then redis.call('HSET', KEYS[1], id, ARGV[3]) end
    redis.call('LPUSH', KEYS[6], id)
    wake_pending(7)
    return 1
  end
end
return -2
