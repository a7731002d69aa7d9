--[[ workflow-create: store a new workflow and put its first tasks in the outbox (they are dispatched next).
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] now ms   ARGV[2] retention ms   ARGV[3] result expression JSON   ARGV[4] onFailure template ('' none)
ARGV[5] N, then 4 values per task: node info (type \t queue \t dependents \t input), template, number of inputs
        not completed (0: ready now)
Returns: 1 created, 0 a workflow with this id exists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'st', 'running', 'n', n, 'left', n, 'ct', ARGV[1], 'ret', ARGV[2], 'res', ARGV[3],
  'onf', ARGV[4])
local ready = {}
for i = 0, n - 1 do
  local b = 6 + i * 3
  redis.call('HSET', KEYS[2], i, ARGV[b])
  redis.call('HSET', KEYS[3], i, ARGV[b + 1])
  local deps = tonumber(ARGV[b + 2])
  if deps > 0 then
    redis.call('HSET', KEYS[4], i, deps)
  else
    ready[#ready + 1] = ARGV[1]
    ready[#ready + 1] = i
    if #ready >= 1000 then
      redis.call('ZADD', KEYS[6], unpack(ready))
      ready = {}
    end
  end
end
if #ready > 0 then redis.call('ZADD', KEYS[6], unpack(ready)) end
return 1
