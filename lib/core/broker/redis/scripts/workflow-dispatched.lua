--[[ workflow-dispatched: tasks the dispatcher enqueued in their queues leave the outbox (their templates go).
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] N, then N task indices (or F)
Returns: the number of tasks that left the outbox
]]
local n = tonumber(ARGV[1])
local removed = 0
for i = 1, n do
  local k = ARGV[1 + i]
  if redis.call('ZREM', KEYS[6], k) == 1 then removed = removed + 1 end
  redis.call('HDEL', KEYS[3], k)
  redis.call('SADD', KEYS[7], k)
end
return removed
