--[[ dequeue: claim up to N pending tasks (pending → active) under one lease.
KEYS[1] pending (LIST)   KEYS[2] tasks (HASH)   KEYS[3] active (SET)   KEYS[4] lease (ZSET)   KEYS[5] paused
KEYS[6] wake (ZSET)
ARGV[1] N   ARGV[2] lease score (expiry ms + worker tag fraction)
Returns: flat array: first a due-changed flag (1 when a `d` marker was waiting: a busy worker never blocks on the
         wake key, so it learns of earlier due times here and consumes the marker), then id1, message1, id2,
         message2, ...; a message is '' when the id had no task record (the id is dropped, not leased).
]]
local dueChanged = redis.call('ZREM', KEYS[6], 'd')
if redis.call('EXISTS', KEYS[5]) == 1 then return { dueChanged } end
local ids = redis.call('RPOP', KEYS[1], ARGV[1])
if not ids then return { dueChanged } end
local messages = redis.call('HMGET', KEYS[2], unpack(ids))
local out, leases, members = { dueChanged }, {}, {}
for i, id in ipairs(ids) do
  local m = messages[i]
  out[#out + 1] = id
  if m then
    out[#out + 1] = m
    leases[#leases + 1] = ARGV[2]
    leases[#leases + 1] = id
    members[#members + 1] = id
  else
    out[#out + 1] = ''
  end
end
if #members > 0 then
  redis.call('ZADD', KEYS[4], unpack(leases))
  redis.call('SADD', KEYS[3], unpack(members))
end
-- Tasks are left: make sure another idle worker wakes for them.
if #ids == tonumber(ARGV[1]) and redis.call('LLEN', KEYS[1]) > 0 then redis.call('ZADD', KEYS[6], 0, 'p') end
return out
