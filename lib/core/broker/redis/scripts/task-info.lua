--[[ task-info: read a task's message and derive its state from the structure that holds its id.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] scheduled   KEYS[5] retry   KEYS[6] archived
KEYS[7] completed
ARGV[1] id
Returns: {} when there is no such task, else { message, state, score ('' when none) }
]]
local id = ARGV[1]
local m = redis.call('HGET', KEYS[1], id)
if not m then return {} end
local s = redis.call('ZSCORE', KEYS[2], id)
if s or redis.call('SISMEMBER', KEYS[3], id) == 1 then return { m, 'active', s or '' } end
local states = { 'scheduled', 'retry', 'archived', 'completed' }
for k = 4, 7 do
  s = redis.call('ZSCORE', KEYS[k], id)
  if s then return { m, states[k - 3], s } end
end
return { m, 'pending', '' }
