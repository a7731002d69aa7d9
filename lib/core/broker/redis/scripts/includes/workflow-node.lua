--[[ workflow-node: a workflow task's node info (type \t queue \t dependents \t input). Node infos are stored 64 to a
field of the nodes hash (KEYS[2]), one per line, field = floor(index / 64): a field per task would cost ~50 bytes of
hash overhead each (keys.ts, WorkflowKeys.nodes).
node_info(k): the info of task k ('' when missing). A field read once is kept split for the rest of the call: an
  advance applying 100 finished members of a chord reads two fields, not a hundred.
]]
local NODES_PER_FIELD = 64
local node_fields = {}

local function node_info(k)
  local index = tonumber(k)
  local field = math.floor(index / NODES_PER_FIELD)
  local lines = node_fields[field]
  if not lines then
    lines = {}
    local chunk = redis.call('HGET', KEYS[2], field)
    if chunk then
      local pos = 1
      while true do
        local nl = string.find(chunk, '\n', pos, true)
        if not nl then
          lines[#lines + 1] = string.sub(chunk, pos)
          break
        end
        lines[#lines + 1] = string.sub(chunk, pos, nl - 1)
        pos = nl + 1
      end
    end
    node_fields[field] = lines
  end
  return lines[index % NODES_PER_FIELD + 1] or ''
end
