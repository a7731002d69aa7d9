--[[ unpause: resume the pickup of a queue and wake idle workers when tasks are waiting.
KEYS[1] paused   KEYS[2] pending   KEYS[3] wake
Returns: 1 unpaused now, 0 was not paused
]]
--- @include "wake"
local was = redis.call('DEL', KEYS[1])
if redis.call('LLEN', KEYS[2]) > 0 then wake_pending(3) end
return was
