--[[ workflow-outcome: how a workflow ended (or that it runs), without its tasks: what waiting for it needs. One call
instead of reading the whole workflow, which for 10,000 tasks is megabytes and, while it runs, a lookup per task.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
Returns: { 'missing' } when there is none (or it expired); else { state, result expression JSON, failure JSON,
         failed task's node info, then when completed the indices the result expression names and their results
         (workflow-results.lua) }
]]
--- @include "workflow-node"
--- @include "workflow-results"
local meta = redis.call('HMGET', KEYS[1], 'st', 'res', 'fail')
if not meta[1] then return { 'missing' } end
local out = { meta[1], meta[2] or '', meta[3] or '', '' }
if meta[3] then out[4] = node_info(cjson.decode(meta[3]).k) end
if meta[1] == 'completed' and meta[2] and meta[2] ~= '' then
  local wanted = {}
  expr_leaves(cjson.decode(meta[2]), wanted)
  append_results(wanted, out)
end
return out
