--[[ extend-lease: heartbeat; move the lease of tasks still held by this worker to a new expiry.
KEYS[1] lease
ARGV[1] new lease score   ARGV[2] N, then 2 values per task: id, current lease score
Returns: ids whose lease was lost (not extended)
]]
local n = tonumber(ARGV[2])
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[3 + i * 2] end
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids))
local extend, lost = {}, {}
for i = 0, n - 1 do
  local s = scores[i + 1]
  if s and tonumber(s) == tonumber(ARGV[4 + i * 2]) then
    extend[#extend + 1] = ARGV[1]
    extend[#extend + 1] = ids[i + 1]
  else
    lost[#lost + 1] = ids[i + 1]
  end
end
if #extend > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(extend)) end
return lost
