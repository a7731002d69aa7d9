--[[ workflow-create: store a new workflow and put its first tasks in the outbox (they are dispatched next).
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched (unused here; workflow scripts all take the same keys)
ARGV[1] now ms   ARGV[2] retention ms   ARGV[3] result expression JSON   ARGV[4] onFailure template ('' none)
ARGV[5] N   ARGV[6] C, then C node-info fields (64 node infos per field, one per line: workflow-node.lua), then 2
        values per task: template, number of inputs not completed (0: ready now)
Returns: 1 created, 0 a workflow with this id exists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'st', 'running', 'n', n, 'left', n, 'ct', ARGV[1], 'ret', ARGV[2], 'res', ARGV[3],
  'onf', ARGV[4])
-- Written in chunks of a few hundred fields per command: one command per task would cost far more Lua-to-Redis calls.
local c = tonumber(ARGV[6])
local chunks = {}
for i = 0, c - 1 do
  chunks[#chunks + 1] = i
  chunks[#chunks + 1] = ARGV[7 + i]
  if #chunks >= 1000 or i == c - 1 then
    redis.call('HSET', KEYS[2], unpack(chunks))
    chunks = {}
  end
end
local first = 7 + c
local templates, waiting, ready = {}, {}, {}
local function flush(force)
  if #templates >= 1000 or (force and #templates > 0) then
    redis.call('HSET', KEYS[3], unpack(templates))
    templates = {}
  end
  if #waiting >= 1000 or (force and #waiting > 0) then
    redis.call('HSET', KEYS[4], unpack(waiting))
    waiting = {}
  end
  if #ready >= 1000 or (force and #ready > 0) then
    redis.call('ZADD', KEYS[6], unpack(ready))
    ready = {}
  end
end
for i = 0, n - 1 do
  local b = first + i * 2
  templates[#templates + 1] = i
  templates[#templates + 1] = ARGV[b]
  local deps = tonumber(ARGV[b + 1])
  if deps > 0 then
    waiting[#waiting + 1] = i
    waiting[#waiting + 1] = deps
  else
    ready[#ready + 1] = ARGV[1]
    ready[#ready + 1] = i
  end
  flush(false)
end
flush(true)
return 1
