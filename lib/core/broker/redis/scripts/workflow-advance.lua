--[[ workflow-advance: apply finished tasks to their workflow: record results, make the tasks whose inputs are now
all completed ready (outbox), fail the workflow at the first task that did not complete, finish it when every task
did. Idempotent: a task already recorded is skipped, so a relay applied twice (a re-sent call, a recovery racing the
worker) changes nothing the second time.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] now ms   ARGV[2] done channel   ARGV[3] workflow id   ARGV[4] 1: return the whole outbox, 0: only the tasks
        this call made ready   ARGV[5] N, then 3 values per finished task: index, state (c completed, a archived,
        x canceled), data (result JSON, or the error as a JSON string)
Returns: { state, outbox members... } ({ 'missing' } when the workflow does not exist or expired). A worker applying
         its own finishes asks for what they made ready: the rest of the outbox is someone else's dispatch in flight
         (a chord's 10,000 first tasks while the client still enqueues them), and returning it to every advance would
         dispatch it over and over. The recovery round asks for the whole outbox: it finishes dispatches that died.
]]
--- @include "workflow-finish"
--- @include "workflow-node"
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return { 'missing' } end
local now = ARGV[1]
local whole = ARGV[4] == '1'
local n = tonumber(ARGV[5])
local retention = redis.call('HGET', KEYS[1], 'ret')
local ready = { st }
for i = 0, n - 1 do
  local b = 6 + i * 3
  local k, state, data = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  if redis.call('HSETNX', KEYS[5], k, state .. data) == 1 then
    local left = redis.call('HINCRBY', KEYS[1], 'left', -1)
    if st == 'running' then
      if state == 'c' then
        local dependents = string.match(node_info(k), '^[^\t]*\t[^\t]*\t([^\t]*)')
        if dependents and dependents ~= '' then
          for d in string.gmatch(dependents, '[^,]+') do
            if redis.call('HINCRBY', KEYS[4], d, -1) <= 0 then
              redis.call('HDEL', KEYS[4], d)
              redis.call('ZADD', KEYS[6], now, d)
              ready[#ready + 1] = d
            end
          end
        end
        if left <= 0 then
          st = 'completed'
          finish_workflow(st, now, retention, ARGV[2], ARGV[3])
        end
      else
        -- The first task that did not complete fails the workflow: nothing not yet dispatched ever is.
        st = 'failed'
        redis.call('HSET', KEYS[1], 'fail', cjson.encode({ k = tonumber(k), s = state, e = data }))
        redis.call('DEL', KEYS[6], KEYS[4])
        local onf = redis.call('HGET', KEYS[1], 'onf')
        ready = { st }
        if onf and onf ~= '' then
          redis.call('ZADD', KEYS[6], now, 'F')
          ready[2] = 'F'
        end
        finish_workflow(st, now, retention, ARGV[2], ARGV[3])
      end
    end
  end
end
if not whole then
  ready[1] = st
  return ready
end
local out = redis.call('ZRANGE', KEYS[6], 0, -1)
table.insert(out, 1, st)
return out
