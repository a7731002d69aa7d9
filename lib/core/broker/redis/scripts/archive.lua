--[[ archive: move a batch of failed active tasks to the archive (active → archived), then trim the archive.
Fenced on the lease score like complete. The unique lock is kept until its TTL (as Asynq does).
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] archived   KEYS[5] waiters   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8] failed   KEYS[9] failed:<day>   KEYS[10] workflow relay
ARGV[1] now ms   ARGV[2] daily counter expire-at ms   ARGV[3] done channel   ARGV[4] max archived tasks
ARGV[5] max archive age ms   ARGV[6] N, then 5 values per task: id, lease score, new message, last error, workflow
        relay entry ('' = not a workflow task)
Returns: ids whose lease was lost (nothing written for them)
]]
--- @include "lease-fence"
--- @include "counters"
--- @include "done"
local n = tonumber(ARGV[6])
local owned, lost = fence_leases(2, n, 7, 5)
local ids, errors, fields, archived = {}, {}, {}, {}
for _, b in ipairs(owned) do
  local id = ARGV[b]
  ids[#ids + 1] = id
  errors[#ids] = cjson.encode(ARGV[b + 3])
  fields[#fields + 1] = id
  fields[#fields + 1] = ARGV[b + 2]
  archived[#archived + 1] = ARGV[1]
  archived[#archived + 1] = id
  if ARGV[b + 4] ~= '' then redis.call('HSET', KEYS[10], ARGV[b + 4], ARGV[1]) end
end
if #ids > 0 then
  redis.call('ZREM', KEYS[2], unpack(ids))
  redis.call('SREM', KEYS[3], unpack(ids))
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZADD', KEYS[4], unpack(archived))
  bump_counters(6, 7, #ids, ARGV[2])
  bump_counters(8, 9, #ids, ARGV[2])
  publish_done(5, ARGV[3], ids, 'archived', errors)
  -- Trim by age, then by size, deleting the trimmed task records too.
  local old = redis.call('ZRANGE', KEYS[4], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[5]), 'BYSCORE', 'LIMIT', 0, 1000)
  if #old > 0 then
    redis.call('HDEL', KEYS[1], unpack(old))
    redis.call('ZREM', KEYS[4], unpack(old))
  end
  local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[4])
  if excess > 0 then
    local extra = redis.call('ZRANGE', KEYS[4], 0, math.min(excess, 1000) - 1)
    redis.call('HDEL', KEYS[1], unpack(extra))
    redis.call('ZREM', KEYS[4], unpack(extra))
  end
end
return lost
