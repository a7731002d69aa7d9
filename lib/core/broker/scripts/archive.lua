--[[ archive: move a batch of failed active tasks to the archive (active → archived), then trim the archive.
Fenced on the lease score like complete. The unique lock is kept until its TTL (as Asynq does).
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] archived   KEYS[5] waiters   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8] failed   KEYS[9] failed:<day>
ARGV[1] now ms   ARGV[2] daily counter expire-at ms   ARGV[3] done channel   ARGV[4] max archived tasks
ARGV[5] max archive age ms   ARGV[6] N, then 4 values per task: id, lease score, new message, last error
Returns: ids whose lease was lost (nothing written for them)
]]
local n = tonumber(ARGV[6])
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[7 + i * 4] end
local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
local owned, ownedError, lost, fields, archived = {}, {}, {}, {}, {}
for i = 0, n - 1 do
  local b = 7 + i * 4
  local id = ARGV[b]
  local s = scores[i + 1]
  if s and tonumber(s) == tonumber(ARGV[b + 1]) then
    owned[#owned + 1] = id
    ownedError[#owned] = ARGV[b + 3]
    fields[#fields + 1] = id
    fields[#fields + 1] = ARGV[b + 2]
    archived[#archived + 1] = ARGV[1]
    archived[#archived + 1] = id
  else
    lost[#lost + 1] = id
  end
end
if #owned > 0 then
  redis.call('ZREM', KEYS[2], unpack(owned))
  redis.call('SREM', KEYS[3], unpack(owned))
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZADD', KEYS[4], unpack(archived))
  local c = #owned
  redis.call('INCRBY', KEYS[6], c)
  if redis.call('INCRBY', KEYS[7], c) == c then redis.call('PEXPIREAT', KEYS[7], ARGV[2]) end
  redis.call('INCRBY', KEYS[8], c)
  if redis.call('INCRBY', KEYS[9], c) == c then redis.call('PEXPIREAT', KEYS[9], ARGV[2]) end
  if redis.call('SCARD', KEYS[5]) > 0 then
    local waited = redis.call('SMISMEMBER', KEYS[5], unpack(owned))
    for i, flag in ipairs(waited) do
      if flag == 1 then
        redis.call('PUBLISH', ARGV[3], '[' .. cjson.encode(owned[i]) .. ',"archived",' .. cjson.encode(ownedError[i]) .. ']')
        redis.call('SREM', KEYS[5], owned[i])
      end
    end
  end
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
