--[[ retry: move a batch of failed active tasks to the retry set (active → retry).
Fenced on the lease score like complete.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] retry   KEYS[5] wake   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8] failed   KEYS[9] failed:<day>
ARGV[1] daily counter expire-at ms   ARGV[2] N, then 5 values per task: id, lease score, new message (retried,
        last error), retry-at ms, counts as failure (1/0)
Returns: ids whose lease was lost (nothing written for them)
]]
--- @include "lease-fence"
--- @include "counters"
--- @include "wake"
local n = tonumber(ARGV[2])
local owned, lost = fence_leases(2, n, 3, 5)
local ids, fields, due = {}, {}, {}
local failures, minDue = 0, nil
for _, b in ipairs(owned) do
  local id = ARGV[b]
  ids[#ids + 1] = id
  fields[#fields + 1] = id
  fields[#fields + 1] = ARGV[b + 2]
  local at = tonumber(ARGV[b + 3])
  due[#due + 1] = at
  due[#due + 1] = id
  if minDue == nil or at < minDue then minDue = at end
  if ARGV[b + 4] == '1' then failures = failures + 1 end
end
if #ids > 0 then
  redis.call('ZREM', KEYS[2], unpack(ids))
  redis.call('SREM', KEYS[3], unpack(ids))
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZADD', KEYS[4], unpack(due))
  wake_if_earliest(5, 4, minDue)
  if failures > 0 then
    bump_counters(6, 7, failures, ARGV[1])
    bump_counters(8, 9, failures, ARGV[1])
  end
end
return lost
