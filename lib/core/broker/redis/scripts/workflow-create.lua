--[[ workflow-create: store a new workflow. Its first tasks (ready at once) are dispatched next by the caller; their
templates are kept as workflow-initial.lua describes until that dispatch is done.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched (unused here; workflow scripts all take the same keys)
ARGV[1] now ms   ARGV[2] retention ms   ARGV[3] result expression JSON   ARGV[4] onFailure template ('' none)
ARGV[5] N   ARGV[6] C, then C node-info fields (64 node infos per field, one per line: workflow-node.lua)
then I, then I fields of first-task templates (workflow-initial.lua; '' a field without any)
then W, then 3 values per task that waits for inputs: index, template, number of inputs not completed
Returns: 1 created, 0 a workflow with this id exists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[5])
local c = tonumber(ARGV[6])
local initial = tonumber(ARGV[7 + c])
redis.call('HSET', KEYS[1], 'st', 'running', 'n', n, 'left', n, 'ct', ARGV[1], 'ret', ARGV[2], 'res', ARGV[3],
  'onf', ARGV[4], 'init', initial)
-- Written a few hundred fields per command: one command per task would cost far more Lua-to-Redis calls.
local fields = {}
for i = 0, c - 1 do
  fields[#fields + 1] = i
  fields[#fields + 1] = ARGV[7 + i]
  if #fields >= 1000 then
    redis.call('HSET', KEYS[2], unpack(fields))
    fields = {}
  end
end
if #fields > 0 then redis.call('HSET', KEYS[2], unpack(fields)) end
fields = {}
for i = 0, initial - 1 do
  local chunk = ARGV[8 + c + i]
  if chunk ~= '' then
    fields[#fields + 1] = 'i' .. i
    fields[#fields + 1] = chunk
  end
  if #fields >= 1000 then
    redis.call('HSET', KEYS[3], unpack(fields))
    fields = {}
  end
end
if #fields > 0 then redis.call('HSET', KEYS[3], unpack(fields)) end
local w = tonumber(ARGV[8 + c + initial])
local first = 9 + c + initial
local templates, waiting = {}, {}
for i = 0, w - 1 do
  local b = first + i * 3
  templates[#templates + 1] = ARGV[b]
  templates[#templates + 1] = ARGV[b + 1]
  waiting[#waiting + 1] = ARGV[b]
  waiting[#waiting + 1] = ARGV[b + 2]
  if #templates >= 1000 then
    redis.call('HSET', KEYS[3], unpack(templates))
    redis.call('HSET', KEYS[4], unpack(waiting))
    templates, waiting = {}, {}
  end
end
if #templates > 0 then
  redis.call('HSET', KEYS[3], unpack(templates))
  redis.call('HSET', KEYS[4], unpack(waiting))
end
return 1
