--[[ requeue: give a batch of active tasks back to the head of their queue (active → pending), on shutdown.
Fenced on the lease score like complete.
KEYS[1] lease   KEYS[2] active   KEYS[3] pending   KEYS[4] wake
ARGV[1] N, then 2 values per task: id, lease score
Returns: ids whose lease was lost (nothing written for them)
]]
--- @include "lease-fence"
--- @include "wake"
local owned, lost = fence_leases(1, tonumber(ARGV[1]), 2, 2)
if #owned > 0 then
  local ids = {}
  for _, b in ipairs(owned) do ids[#ids + 1] = ARGV[b] end
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('SREM', KEYS[2], unpack(ids))
  -- The head is the right end; push the batch in reverse so the first claimed is the first served again.
  local reversed = {}
  for i = #ids, 1, -1 do reversed[#reversed + 1] = ids[i] end
  redis.call('RPUSH', KEYS[3], unpack(reversed))
  wake_pending(4)
end
return lost
