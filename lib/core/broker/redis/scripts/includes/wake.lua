--[[ wake: the markers idle workers block on (BZPOPMIN on the queue's wake set, every member at score 0).
wake_pending(wakeIndex): `p`, pending work appeared.
wake_if_earliest(wakeIndex, setIndex, minDue): `d` when `minDue` is now the earliest due time of the sorted set
KEYS[setIndex] (scheduled or retry), so a sleeping worker's forwarder timer moves earlier.
]]
local function wake_pending(wakeIndex)
  redis.call('ZADD', KEYS[wakeIndex], 0, 'p')
end

local function wake_if_earliest(wakeIndex, setIndex, minDue)
  local first = redis.call('ZRANGE', KEYS[setIndex], 0, 0, 'WITHSCORES')
  if tonumber(first[2]) >= minDue then redis.call('ZADD', KEYS[wakeIndex], 0, 'd') end
end
