--[[ workflow-dispatched: tasks the dispatcher enqueued in their queues leave the outbox, and their templates go: a
task without a template and without a result is dispatched and not finished.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched (the onFailure task `F` only)
ARGV[1] N, then N task indices (or F)
Returns: the number of tasks that left the outbox
]]
local n = tonumber(ARGV[1])
local removed = 0
for from = 2, n + 1, 1000 do
  local chunk = { unpack(ARGV, from, math.min(from + 999, n + 1)) }
  removed = removed + redis.call('ZREM', KEYS[6], unpack(chunk))
  redis.call('HDEL', KEYS[3], unpack(chunk))
end
for i = 2, n + 1 do
  if ARGV[i] == 'F' then redis.call('SADD', KEYS[7], 'F') end
end
return removed
