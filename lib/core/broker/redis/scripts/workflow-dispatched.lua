--[[ workflow-dispatched: tasks the dispatcher enqueued in their queues leave the outbox, and their templates go: a
task without a template and without a result is dispatched and not finished. Once every first task is among them
(workflow-initial.lua), their templates go too.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched (the onFailure task `F` only)
ARGV[1] N, then N task indices (or F)
Returns: the number of tasks that left the outbox
]]
--- @include "workflow-initial"
-- A workflow that expired meanwhile: writing here would create keys that never expire.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
local removed = 0
for from = 2, n + 1, 1000 do
  local chunk = { unpack(ARGV, from, math.min(from + 999, n + 1)) }
  removed = removed + redis.call('ZREM', KEYS[6], unpack(chunk))
  redis.call('HDEL', KEYS[3], unpack(chunk))
end
local given = {}
for i = 2, n + 1 do
  given[ARGV[i]] = true
  if ARGV[i] == 'F' then redis.call('SADD', KEYS[7], 'F') end
end
local fields = initial_fields()
if fields > 0 then
  local all = true
  for _, k in ipairs(initial_ready()) do
    -- One whose result is recorded was skipped by the claim: it finished.
    if not given[k] and redis.call('HEXISTS', KEYS[5], k) == 0 then
      all = false
      break
    end
  end
  if all then
    local names = {}
    for i = 0, fields - 1 do names[#names + 1] = 'i' .. i end
    for from = 1, #names, 1000 do
      redis.call('HDEL', KEYS[3], unpack(names, from, math.min(from + 999, #names)))
    end
    redis.call('HDEL', KEYS[1], 'init')
  end
end
return removed
