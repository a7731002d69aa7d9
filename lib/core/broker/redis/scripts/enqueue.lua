--[[ enqueue: add a batch of tasks to one queue (immediate or scheduled, optionally unique or with a chosen id).
Immediate tasks go to pending, except that while the queue is empty and not paused, each idle worker registered in
`idle` is handed one task of the batch: the task is leased here (pending is skipped) and put in the wake set as a
hand-off member carrying its message, so a blocked worker's BZPOPMIN returns the task itself (includes/handoff.lua
has the member format). Registrations stay: a worker leaves once it stops being idle (wake-source.ts).
KEYS[1] tasks (HASH)   KEYS[2] pending (LIST)   KEYS[3] scheduled (ZSET)   KEYS[4] wake (ZSET)
KEYS[5] waiters (SET)   KEYS[6] idle (ZSET)   KEYS[7] paused   KEYS[8] lease (ZSET)   KEYS[9] active (SET)
KEYS[10..] unique lock keys, referenced by index from ARGV
ARGV[1] N   ARGV[2] now ms, then 7 values per task: id, message, processAt ms (0 = now), checkId (1 = caller-chosen
        id), uniqueKeyIndex (0 = none, else index into KEYS), uniqueTtl ms, awaited (1 = add to waiters, so a result
        published the instant it finishes is not missed)
Returns: N EnqueueCodes (script-codes.ts) in order: 1 enqueued (or already enqueued by an identical re-sent call), 0 id conflict, -1 duplicate
         (unique lock held by another task)
]]
--- @include "handoff"
--- @include "wake"
local n = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local codes, fields, pending, messages, scheduled, seen = {}, {}, {}, {}, {}, {}
local minDue = nil
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[3 + i * 7] end
-- One read for the whole batch: a chosen id that exists conflicts; a generated id that exists means this call is a
-- re-send of one whose reply was lost (ioredis re-sends after a reconnect), so the task must not be pushed twice.
local existing = redis.call('HMGET', KEYS[1], unpack(ids))
for i = 0, n - 1 do
  local b = 3 + i * 7
  local id = ARGV[b]
  local at = tonumber(ARGV[b + 2])
  local code = 1
  local present = existing[i + 1] or seen[id]
  if present and ARGV[b + 3] == '1' then code = 0 end
  local ui = tonumber(ARGV[b + 4])
  if code == 1 and not present and ui > 0 then
    if not redis.call('SET', KEYS[ui], id, 'NX', 'PX', ARGV[b + 5]) then code = -1 end
  end
  if code == 1 and not present then
    seen[id] = true
    if ARGV[b + 6] == '1' then redis.call('SADD', KEYS[5], id) end
    fields[#fields + 1] = id
    fields[#fields + 1] = ARGV[b + 1]
    if at > 0 then
      scheduled[#scheduled + 1] = at
      scheduled[#scheduled + 1] = id
      if minDue == nil or at < minDue then minDue = at end
    else
      pending[#pending + 1] = id
      messages[#pending] = ARGV[b + 1]
    end
  end
  codes[i + 1] = code
end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if #pending > 0 then
  local handed = 0
  -- A non-empty pending list has workers draining it (hand-offs would overtake it); a paused queue picks nothing up.
  if redis.call('LLEN', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
    local idle = redis.call('ZRANGE', KEYS[6], now, '+inf', 'BYSCORE', 'LIMIT', 0, #pending)
    for _, worker in ipairs(idle) do
      -- A registration is `<leaseMs>:<workerId>`: the task is leased for as long as that worker leases its own.
      local leaseMs = tonumber(string.match(worker, '^(%d+):'))
      if leaseMs then
        handed = handed + 1
        local id = pending[handed]
        local score = string.format('%.0f', now + leaseMs)
        redis.call('ZADD', KEYS[8], score, id)
        redis.call('SADD', KEYS[9], id)
        redis.call('ZADD', KEYS[4], 0, handoff_member(id, score, messages[handed]))
      end
    end
  end
  if handed < #pending then
    local rest = {}
    for i = handed + 1, #pending do rest[#rest + 1] = pending[i] end
    -- Only a transition from empty needs a wake-up: workers keep draining a non-empty list on their own.
    if redis.call('LPUSH', KEYS[2], unpack(rest)) == #rest then wake_pending(4) end
  end
end
if #scheduled > 0 then
  redis.call('ZADD', KEYS[3], unpack(scheduled))
  wake_if_earliest(4, 3, minDue)
end
return codes
