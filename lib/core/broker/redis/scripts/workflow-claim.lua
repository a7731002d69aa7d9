--[[ workflow-claim: read what the dispatcher needs to enqueue ready tasks: each one's template and node info, and the
results of the tasks its input names. Only tasks still in the outbox of a running workflow, first tasks whose
dispatch is not done yet (workflow-initial.lua), or the onFailure task `F` of a failed one are returned; anything
else is no longer to be dispatched (a task whose result is recorded leaves the outbox here).
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] N, then N task indices (or F)
Returns: { state, failure JSON or '', retention ms, then per task: index, template, node info (for F: the failed
           task's), R (number of results), then when R > 0 the indices and their results (workflow-results.lua) }
]]
--- @include "workflow-node"
--- @include "workflow-results"
--- @include "workflow-initial"
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return { 'missing', '', '0' } end
local out = { st, redis.call('HGET', KEYS[1], 'fail') or '', redis.call('HGET', KEYS[1], 'ret') or '0' }
for i = 1, tonumber(ARGV[1]) do
  local k = ARGV[1 + i]
  local first = k ~= 'F' and initial_template(k)
  if k ~= 'F' and redis.call('HEXISTS', KEYS[5], k) == 1 then
    -- Its result is recorded: it finished (its record may be gone), so it is never dispatched again.
    redis.call('ZREM', KEYS[6], k)
  elseif first or redis.call('ZSCORE', KEYS[6], k) then
    if k == 'F' then
      if st == 'failed' then
        -- The onFailure task: its input is the failure; the node info given is the failed task's.
        local failure = cjson.decode(out[2])
        out[#out + 1] = k
        out[#out + 1] = redis.call('HGET', KEYS[1], 'onf') or ''
        out[#out + 1] = node_info(failure.k)
        out[#out + 1] = 0
      end
    elseif st == 'running' then
      local info = node_info(k)
      out[#out + 1] = k
      out[#out + 1] = first or redis.call('HGET', KEYS[3], k) or ''
      out[#out + 1] = info
      local input = string.match(info, '^[^\t]*\t[^\t]*\t[^\t]*\t(.*)$')
      local deps = {}
      if input and input ~= '' then expr_leaves(cjson.decode(input), deps) end
      out[#out + 1] = #deps
      if #deps > 0 then append_results(deps, out) end
    end
  end
end
return out
