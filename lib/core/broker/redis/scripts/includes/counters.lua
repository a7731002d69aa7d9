--[[ counters: processed/failed statistics.
bump_counters(totalIndex, dayIndex, count, expireAt): adds `count` to the all-time counter KEYS[totalIndex] and to the
daily counter KEYS[dayIndex]; a daily counter created by this call expires at `expireAt` (ms).
]]
local function bump_counters(totalIndex, dayIndex, count, expireAt)
  redis.call('INCRBY', KEYS[totalIndex], count)
  if redis.call('INCRBY', KEYS[dayIndex], count) == count then redis.call('PEXPIREAT', KEYS[dayIndex], expireAt) end
end
