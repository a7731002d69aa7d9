--[[ dequeue: claim up to N tasks under one lease: first hand-offs that no idle worker popped (they are already active:
the lease moves to this worker), then pending tasks (pending → active).
KEYS[1] pending (LIST)   KEYS[2] tasks (HASH)   KEYS[3] active (SET)   KEYS[4] lease (ZSET)   KEYS[5] paused
KEYS[6] wake (ZSET)
ARGV[1] N   ARGV[2] lease score (expiry ms + worker tag fraction)
Returns: flat array: first a due-changed flag (1 when a `d` marker was waiting: a busy worker never blocks on the
         wake key, so it learns of earlier due times here and consumes the marker), then id1, message1, id2,
         message2, ...; a message is '' when the id had no task record (the id is dropped, not leased), '-' when the
         id is already leased (a duplicate entry: dropped silently).
]]
--- @include "handoff"
--- @include "wake"
local SKIPLIST_SEED = string.rep('~', 65)
local want = tonumber(ARGV[1])
local dueChanged = redis.call('ZREM', KEYS[6], 'd')
local out, leases, members, seen = { dueChanged }, {}, {}, {}
-- Hand-offs (all at score 0, so a lex range finds them; the member format is in includes/handoff.lua). One
-- whose lease changed meanwhile (recovered, canceled) is dropped: its task lives on elsewhere.
local handoffs = redis.call('ZRANGE', KEYS[6], '[h', '(i', 'BYLEX', 'LIMIT', 0, want)
local taken = 0
if #handoffs > 0 then
  redis.call('ZREM', KEYS[6], unpack(handoffs))
  for _, m in ipairs(handoffs) do
    local id, score, message = parse_handoff(m)
    local held = id and redis.call('ZSCORE', KEYS[4], id)
    if held and tonumber(held) == tonumber(score) then
      taken = taken + 1
      seen[id] = true
      out[#out + 1] = id
      out[#out + 1] = message
      leases[#leases + 1] = ARGV[2]
      leases[#leases + 1] = id
    end
  end
  if taken > 0 then redis.call('ZADD', KEYS[4], 'XX', unpack(leases)) end
  leases = {}
end
-- Hand-offs were picked up before any pause; pending tasks wait for the unpause.
if taken >= want or redis.call('EXISTS', KEYS[5]) == 1 then return out end
local ids = redis.call('RPOP', KEYS[1], want - taken)
if not ids then return out end
local messages = redis.call('HMGET', KEYS[2], unpack(ids))
-- An id can sit in pending while it is leased (an enqueue re-sent after a lost reply pushed it twice): never lease a
-- running task a second time.
local held = redis.call('ZMSCORE', KEYS[4], unpack(ids))
for i, id in ipairs(ids) do
  local m = messages[i]
  out[#out + 1] = id
  if held[i] or seen[id] then
    out[#out + 1] = '-'
  elseif m then
    seen[id] = true
    out[#out + 1] = m
    leases[#leases + 1] = ARGV[2]
    leases[#leases + 1] = id
    members[#members + 1] = id
  else
    out[#out + 1] = ''
  end
end
if #members > 0 then
  if #members > 16 and redis.call('EXISTS', KEYS[4]) == 0 then
    -- Create the lease set in Redis's skiplist encoding: a member longer than zset-max-listpack-value (64) forces it,
    -- and removing the member keeps it. A batch insert into the compact listpack encoding scans the list for each
    -- member: 100 leases cost ~20x more there (a few cost nothing, so small claims skip this).
    redis.call('ZADD', KEYS[4], 0, SKIPLIST_SEED)
    redis.call('ZADD', KEYS[4], unpack(leases))
    redis.call('ZREM', KEYS[4], SKIPLIST_SEED)
  else
    redis.call('ZADD', KEYS[4], unpack(leases))
  end
  redis.call('SADD', KEYS[3], unpack(members))
end
-- Tasks are left: make sure another idle worker wakes for them.
if #ids == want - taken and redis.call('LLEN', KEYS[1]) > 0 then wake_pending(6) end
return out
