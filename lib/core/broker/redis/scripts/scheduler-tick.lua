--[[ scheduler-tick: fire due periodic ticks of one queue: a compare-and-set on each entry's last fire time and the
enqueue of its task, atomically, so of all the schedulers that compute the same tick exactly one enqueues it.
KEYS[1] cron entries (HASH id → definition JSON)   KEYS[2] cron state (HASH id → "rev:floor:prevFire:lastTaskId")
KEYS[3] tasks (HASH)   KEYS[4] pending (LIST)   KEYS[5] scheduled (ZSET)   KEYS[6] wake (ZSET)
ARGV[1] N, ARGV[2] the N fires (those of one entry in increasing time), each as two lines:
  "<entry id> <revision the caller computed from> <fire ms> <task id> <processAt ms, 0 = pending now>\n"
  "<task message>\n"   (JSON never contains a raw newline; one argument instead of 2N is much cheaper to send and
  to unpack)
Returns: N TickCodes (script-codes.ts): 0 fired; -1 stale (entry removed, or revised since the caller read it: reload); else the entry's
         floor (a scheduler already fired this tick or a later one: nothing done)
]]
--- @include "cron-state"
--- @include "wake"

local n = tonumber(ARGV[1])
local blob = ARGV[2]
local ids, seen, fires = {}, {}, {}
local pos = 1
for i = 0, n - 1 do
  local e1 = string.find(blob, '\n', pos, true)
  local e2 = e1 and string.find(blob, '\n', e1 + 1, true)
  if not e2 then return redis.error_reply('scheduler-tick: malformed fire list at fire ' .. i) end
  local id, rev, fire, taskId, at = string.match(string.sub(blob, pos, e1 - 1), '^(%S+) (%d+) (%d+) (%S+) (%d+)$')
  if not id then return redis.error_reply('scheduler-tick: malformed fire ' .. string.sub(blob, pos, e1 - 1)) end
  fires[i] = { id = id, rev = rev, fire = fire, taskId = taskId, at = tonumber(at), message = string.sub(blob, e1 + 1, e2 - 1) }
  pos = e2 + 1
  if not seen[id] then
    seen[id] = true
    ids[#ids + 1] = id
  end
end
local raw = redis.call('HMGET', KEYS[2], unpack(ids))
local states = {}
for i, id in ipairs(ids) do states[id] = parse_state(raw[i]) end
local codes, taskFields, stateFields, pending, scheduled = {}, {}, {}, {}, {}
local minDue = nil
local changed = {}
for i = 0, n - 1 do
  local f = fires[i]
  local id, rev, fire = f.id, f.rev, f.fire
  local st = states[id]
  local code
  if st == nil or st.rev ~= rev then
    code = -1
  elseif tonumber(st.floor) >= tonumber(fire) then
    code = tonumber(st.floor)
  else
    code = 0
    local taskId = f.taskId
    st.floor, st.prev, st.task = fire, fire, taskId
    changed[id] = true
    taskFields[#taskFields + 1] = taskId
    taskFields[#taskFields + 1] = f.message
    local at = f.at
    if at > 0 then
      scheduled[#scheduled + 1] = at
      scheduled[#scheduled + 1] = taskId
      if minDue == nil or at < minDue then minDue = at end
    else
      pending[#pending + 1] = taskId
    end
  end
  codes[i + 1] = code
end
for _, id in ipairs(ids) do
  if changed[id] then
    local st = states[id]
    stateFields[#stateFields + 1] = id
    stateFields[#stateFields + 1] = format_state(st)
  end
end
if #stateFields > 0 then
  redis.call('HSET', KEYS[2], unpack(stateFields))
  redis.call('HSET', KEYS[3], unpack(taskFields))
end
if #pending > 0 then
  -- Only a transition from empty needs a wake-up: workers keep draining a non-empty list on their own.
  if redis.call('LPUSH', KEYS[4], unpack(pending)) == #pending then wake_pending(6) end
end
if #scheduled > 0 then
  redis.call('ZADD', KEYS[5], unpack(scheduled))
  wake_if_earliest(6, 5, minDue)
end
return codes
