--[[ workflow-cancel: cancel a running workflow: nothing more is dispatched, and the caller cancels the tasks that were
dispatched and did not finish (they are returned).
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] now ms   ARGV[2] done channel   ARGV[3] workflow id
Returns: { 'canceled', index, node info, index, node info... } for the tasks dispatched or maybe being dispatched
         and not finished (no template of their own, no result yet: first tasks are returned while their dispatch is
         not done, so the caller cancels whichever of them already reached their queue); { 'not-running:<state>' } when the workflow was not running; { 'missing' } when there
         is none
]]
--- @include "workflow-finish"
--- @include "workflow-node"
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return { 'missing' } end
if st ~= 'running' then return { 'not-running:' .. st } end
redis.call('DEL', KEYS[6], KEYS[4])
local out = { 'canceled' }
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
for k = 0, n - 1 do
  if redis.call('HEXISTS', KEYS[3], k) == 0 and redis.call('HEXISTS', KEYS[5], k) == 0 then
    out[#out + 1] = tostring(k)
    out[#out + 1] = node_info(k)
  end
end
finish_workflow('canceled', ARGV[1], redis.call('HGET', KEYS[1], 'ret'), ARGV[2], ARGV[3])
return out
