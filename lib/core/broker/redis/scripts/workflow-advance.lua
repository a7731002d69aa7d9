--[[ workflow-advance: apply finished tasks to their workflow: record results, make the tasks whose inputs are now
all completed ready (outbox), fail the workflow at the first task that did not complete, finish it when every task
did. Idempotent: a task already recorded is skipped, so a relay applied twice (a re-sent call, a recovery racing the
worker) changes nothing the second time.
KEYS[1] meta   KEYS[2] nodes   KEYS[3] templates   KEYS[4] waiting   KEYS[5] results   KEYS[6] outbox
KEYS[7] dispatched
ARGV[1] now ms   ARGV[2] done channel   ARGV[3] workflow id   ARGV[4] 1: return the whole outbox (with the first
        tasks whose dispatch is not done, workflow-initial.lua), 0: only the tasks this call made ready   ARGV[5] N, then 3 values per finished task: index, state (c completed, a archived,
        x canceled), data (result JSON, or the error as a JSON string)
Returns: { state, outbox members... } ({ 'missing' } when the workflow does not exist or expired). A worker applying
         its own finishes asks for what they made ready: the rest of the outbox is someone else's dispatch in flight
         (a chord's 10,000 first tasks while the client still enqueues them), and returning it to every advance would
         dispatch it over and over. The recovery round asks for the whole outbox: it finishes dispatches that died.
]]
--- @include "workflow-finish"
--- @include "workflow-node"
--- @include "workflow-initial"
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return { 'missing' } end
local now = ARGV[1]
local whole = ARGV[4] == '1'
local n = tonumber(ARGV[5])
local retention = redis.call('HGET', KEYS[1], 'ret')

-- Which of these are recorded already, read together: one HMGET per thousand, not a HSETNX each.
local recorded = {}
for from = 0, n - 1, 1000 do
  local slice = {}
  for i = from, math.min(from + 999, n - 1) do slice[#slice + 1] = ARGV[6 + i * 3] end
  local existing = redis.call('HMGET', KEYS[5], unpack(slice))
  for j, k in ipairs(slice) do
    if existing[j] then recorded[k] = true end
  end
end

-- Record the new ones; count, per dependent, how many of its inputs completed now.
local fields, fresh, failure = {}, 0, nil
local decrements, dependents = {}, {}
for i = 0, n - 1 do
  local b = 6 + i * 3
  local k, state, data = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  if not recorded[k] then
    recorded[k] = true
    fresh = fresh + 1
    fields[#fields + 1] = k
    fields[#fields + 1] = state .. data
    if #fields >= 1000 then
      redis.call('HSET', KEYS[5], unpack(fields))
      fields = {}
    end
    if st == 'running' and not failure then
      if state == 'c' then
        local deps = string.match(node_info(k), '^[^\t]*\t[^\t]*\t([^\t]*)')
        if deps and deps ~= '' then
          for d in string.gmatch(deps, '[^,]+') do
            if not decrements[d] then dependents[#dependents + 1] = d end
            decrements[d] = (decrements[d] or 0) + 1
          end
        end
      else
        -- The first task that did not complete fails the workflow: nothing not yet dispatched ever is.
        failure = cjson.encode({ k = tonumber(k), s = state, e = data })
      end
    end
  end
end
if #fields > 0 then redis.call('HSET', KEYS[5], unpack(fields)) end
if fresh == 0 and not whole then return { st } end
local left = fresh > 0 and redis.call('HINCRBY', KEYS[1], 'left', -fresh) or 1

local ready = { st }
if failure then
  st = 'failed'
  ready[1] = st
  redis.call('HSET', KEYS[1], 'fail', failure)
  redis.call('DEL', KEYS[6], KEYS[4])
  local onf = redis.call('HGET', KEYS[1], 'onf')
  if onf and onf ~= '' then
    redis.call('ZADD', KEYS[6], now, 'F')
    ready[2] = 'F'
  end
  finish_workflow(st, now, retention, ARGV[2], ARGV[3])
elseif st == 'running' then
  for _, d in ipairs(dependents) do
    if redis.call('HINCRBY', KEYS[4], d, -decrements[d]) <= 0 then
      redis.call('HDEL', KEYS[4], d)
      redis.call('ZADD', KEYS[6], now, d)
      ready[#ready + 1] = d
    end
  end
  if left <= 0 then
    st = 'completed'
    ready[1] = st
    finish_workflow(st, now, retention, ARGV[2], ARGV[3])
  end
end

if not whole then return ready end
local out = redis.call('ZRANGE', KEYS[6], 0, -1)
-- First tasks whose dispatch was not done (the creating client died): still to dispatch while it runs.
if st == 'running' then
  for _, k in ipairs(initial_ready()) do out[#out + 1] = k end
end
table.insert(out, 1, st)
return out
