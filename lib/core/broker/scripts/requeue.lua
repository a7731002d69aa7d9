--[[ requeue: give a batch of active tasks back to the head of their queue (active → pending), on shutdown.
Fenced on the lease score like complete.
KEYS[1] lease   KEYS[2] active   KEYS[3] pending   KEYS[4] wake
ARGV[1] N, then 2 values per task: id, lease score
Returns: ids whose lease was lost (nothing written for them)
]]
local n = tonumber(ARGV[1])
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[2 + i * 2] end
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids))
local owned, lost = {}, {}
for i = 0, n - 1 do
  local s = scores[i + 1]
  if s and tonumber(s) == tonumber(ARGV[3 + i * 2]) then owned[#owned + 1] = ids[i + 1] else lost[#lost + 1] = ids[i + 1] end
end
if #owned > 0 then
  redis.call('ZREM', KEYS[1], unpack(owned))
  redis.call('SREM', KEYS[2], unpack(owned))
  -- The head is the right end; push the batch in reverse so the first claimed is the first served again.
  local reversed = {}
  for i = #owned, 1, -1 do reversed[#reversed + 1] = owned[i] end
  redis.call('RPUSH', KEYS[3], unpack(reversed))
  redis.call('ZADD', KEYS[4], 0, 'p')
end
return lost
