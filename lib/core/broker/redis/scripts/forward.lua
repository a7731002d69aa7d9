--[[ forward: move due scheduled and retry tasks to pending (scheduled|retry → pending).
KEYS[1] scheduled   KEYS[2] retry   KEYS[3] pending   KEYS[4] wake
ARGV[1] now ms   ARGV[2] max tasks per set
Returns: { moved count, next due ms of what is left (-1 when nothing is scheduled) }
]]
--- @include "wake"
local moved = 0
for k = 1, 2 do
  local ids = redis.call('ZRANGE', KEYS[k], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
  if #ids > 0 then
    redis.call('ZREM', KEYS[k], unpack(ids))
    redis.call('LPUSH', KEYS[3], unpack(ids))
    moved = moved + #ids
  end
end
if moved > 0 then wake_pending(4) end
local nextDue = -1
for k = 1, 2 do
  local first = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
  if #first > 0 then
    local at = tonumber(first[2])
    if nextDue < 0 or at < nextDue then nextDue = at end
  end
end
return { moved, tostring(nextDue) }
