--[[ workflow-initial: the templates of a workflow's first tasks (those ready at creation), until their dispatch is
done. The client that creates a workflow enqueues them at once, so they skip the outbox and the per-task template
fields: they are stored 64 to a field of the templates hash (KEYS[3]), field `i<floor(index / 64)>`, one line per
task ('' for a task not ready at creation), and the meta field `init` (KEYS[1]) holds the number of such fields. A
client that dies before its dispatch is done leaves `init` set, and the recovery round dispatches them.
initial_fields(): the number of such fields (0 once the first dispatch is done).
initial_template(k): task k's template if it is a first task still to dispatch, else nil.
initial_ready(): every first task still to dispatch (indices as strings).
]]
local INITIAL_PER_FIELD = 64
local initial_lines = {}

local function initial_fields()
  return tonumber(redis.call('HGET', KEYS[1], 'init') or '0')
end

local function initial_chunk(field)
  local lines = initial_lines[field]
  if not lines then
    lines = {}
    local chunk = redis.call('HGET', KEYS[3], 'i' .. field)
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
    initial_lines[field] = lines
  end
  return lines
end

local function initial_template(k)
  local index = tonumber(k)
  if not index or initial_fields() == 0 then return nil end
  local line = initial_chunk(math.floor(index / INITIAL_PER_FIELD))[index % INITIAL_PER_FIELD + 1]
  if line == nil or line == '' then return nil end
  return line
end

local function initial_ready()
  local out = {}
  for field = 0, initial_fields() - 1 do
    for i, line in ipairs(initial_chunk(field)) do
      if line ~= '' then out[#out + 1] = tostring(field * INITIAL_PER_FIELD + i - 1) end
    end
  end
  return out
end
