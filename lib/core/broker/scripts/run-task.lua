--[[ run-task: make a scheduled, retry or archived task pending now (→ pending).
KEYS[1] tasks   KEYS[2] scheduled   KEYS[3] retry   KEYS[4] archived   KEYS[5] lease   KEYS[6] pending
KEYS[7] wake   KEYS[8] completed
ARGV[1] id
Returns: 1 moved, 0 not found, -1 active, -2 already pending, -3 completed
]]
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[5], id) then return -1 end
if redis.call('ZSCORE', KEYS[8], id) then return -3 end
for k = 2, 4 do
  if redis.call('ZREM', KEYS[k], id) == 1 then
    redis.call('LPUSH', KEYS[6], id)
    redis.call('ZADD', KEYS[7], 0, 'p')
    return 1
  end
end
return -2
