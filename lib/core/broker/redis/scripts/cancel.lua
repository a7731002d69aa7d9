--[[ cancel: remove a waiting task (pending/scheduled/retry → deleted), or report that it is active.
A hand-off that no worker popped yet (whole-number lease, member still in the wake set) has not started: it is
removed like a waiting task.
KEYS[1] tasks   KEYS[2] pending   KEYS[3] scheduled   KEYS[4] retry   KEYS[5] lease   KEYS[6] active   KEYS[7] wake
KEYS[8] workflow relay   KEYS[9] unique lock (optional)
ARGV[1] id   ARGV[2] workflow relay entry of a removed task ('' = not a workflow task)   ARGV[3] now ms
Returns: a CancelCode (script-codes.ts): 1 removed, 2 active (the caller publishes the cancel), 0 not found or not cancelable (archived/completed)
]]
--- @include "handoff"
local id = ARGV[1]
local leased = redis.call('ZSCORE', KEYS[5], id)
if leased then
  if not take_back_handoff(1, 7, id, leased) then return 2 end
  redis.call('ZREM', KEYS[5], id)
  redis.call('SREM', KEYS[6], id)
else
  local removed = redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
  if removed == 0 then removed = redis.call('LREM', KEYS[2], 1, id) end
  if removed == 0 then return 0 end
end
redis.call('HDEL', KEYS[1], id)
if KEYS[9] and redis.call('GET', KEYS[9]) == id then redis.call('DEL', KEYS[9]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[8], ARGV[2], ARGV[3]) end
return 1
