--[[ workflow-node: a workflow task's node info (type \t queue \t dependents \t input). Node infos are stored 64 to a
field of the nodes hash (KEYS[2]), one per line, field = floor(index / 64): a field per task would cost ~50 bytes of
hash overhead each (keys.ts, WorkflowKeys.nodes).
node_info(k): the info of task k ('' when missing).
]]
local NODES_PER_FIELD = 64

local function node_info(k)
  local index = tonumber(k)
  local chunk = redis.call('HGET', KEYS[2], math.floor(index / NODES_PER_FIELD))
  if not chunk then return '' end
  local line = index % NODES_PER_FIELD
  local pos = 1
  for _ = 1, line do
    local nl = string.find(chunk, '\n', pos, true)
    if not nl then return '' end
    pos = nl + 1
  end
  local stop = string.find(chunk, '\n', pos, true)
  return string.sub(chunk, pos, (stop or (#chunk + 1)) - 1)
end
