--[[ extend-lease: heartbeat; move the lease of tasks still held by this worker to a new expiry.
KEYS[1] lease
ARGV[1] new lease score   ARGV[2] N, then 2 values per task: id, current lease score
Returns: ids whose lease was lost (not extended)
]]
--- @include "lease-fence"
local owned, lost = fence_leases(1, tonumber(ARGV[2]), 3, 2)
if #owned > 0 then
  local extend = {}
  for _, b in ipairs(owned) do
    extend[#extend + 1] = ARGV[1]
    extend[#extend + 1] = ARGV[b]
  end
  redis.call('ZADD', KEYS[1], 'XX', unpack(extend))
end
return lost
