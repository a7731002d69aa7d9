--[[ retry: move a batch of failed active tasks to the retry set (active → retry).
Fenced on the lease score like complete.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] retry   KEYS[5] wake   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8] failed   KEYS[9] failed:<day>
ARGV[1] daily counter expire-at ms   ARGV[2] N, then 5 values per task: id, lease score, new message (retried,
        last error), retry-at ms, counts as failure (1/0)
Returns: ids whose lease was lost (nothing written for them)
]]
local n = tonumber(ARGV[2])
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[3 + i * 5] end
local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
local owned, lost, fields, due = {}, {}, {}, {}
local failures, minDue = 0, nil
for i = 0, n - 1 do
  local b = 3 + i * 5
  local id = ARGV[b]
  local s = scores[i + 1]
  if s and tonumber(s) == tonumber(ARGV[b + 1]) then
    owned[#owned + 1] = id
    fields[#fields + 1] = id
    fields[#fields + 1] = ARGV[b + 2]
    local at = tonumber(ARGV[b + 3])
    due[#due + 1] = at
    due[#due + 1] = id
    if minDue == nil or at < minDue then minDue = at end
    if ARGV[b + 4] == '1' then failures = failures + 1 end
  else
    lost[#lost + 1] = id
  end
end
if #owned > 0 then
  redis.call('ZREM', KEYS[2], unpack(owned))
  redis.call('SREM', KEYS[3], unpack(owned))
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZADD', KEYS[4], unpack(due))
  local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if tonumber(first[2]) >= minDue then redis.call('ZADD', KEYS[5], 0, 'd') end
  if failures > 0 then
    redis.call('INCRBY', KEYS[6], failures)
    if redis.call('INCRBY', KEYS[7], failures) == failures then redis.call('PEXPIREAT', KEYS[7], ARGV[1]) end
    redis.call('INCRBY', KEYS[8], failures)
    if redis.call('INCRBY', KEYS[9], failures) == failures then redis.call('PEXPIREAT', KEYS[9], ARGV[1]) end
  end
end
return lost
