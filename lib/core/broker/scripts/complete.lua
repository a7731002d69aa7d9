--[[ complete: finish a batch of active tasks successfully (active → deleted, or completed with retention).
Fenced: a task whose lease score is not exactly the one given is left alone (its lease was lost) and reported.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] completed   KEYS[5] waiters   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8..] unique lock keys, referenced by index from ARGV
ARGV[1] daily counter expire-at ms   ARGV[2] done channel   ARGV[3] N, then 6 values per task: id, lease score,
        retain-until ms (0 = delete), message with result ('' when deleting), uniqueKeyIndex (0 = none),
        result JSON ('' = none)
Returns: ids whose lease was lost (nothing written for them)
]]
local n = tonumber(ARGV[3])
local ids = {}
for i = 0, n - 1 do ids[i + 1] = ARGV[4 + i * 6] end
local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
local owned, ownedResult, lost, del, fields, completed = {}, {}, {}, {}, {}, {}
for i = 0, n - 1 do
  local b = 4 + i * 6
  local id = ARGV[b]
  local s = scores[i + 1]
  if s and tonumber(s) == tonumber(ARGV[b + 1]) then
    owned[#owned + 1] = id
    ownedResult[#owned] = ARGV[b + 5]
    local keepUntil = tonumber(ARGV[b + 2])
    if keepUntil > 0 then
      fields[#fields + 1] = id
      fields[#fields + 1] = ARGV[b + 3]
      completed[#completed + 1] = keepUntil
      completed[#completed + 1] = id
    else
      del[#del + 1] = id
    end
    local ui = tonumber(ARGV[b + 4])
    if ui > 0 and redis.call('GET', KEYS[ui]) == id then redis.call('DEL', KEYS[ui]) end
  else
    lost[#lost + 1] = id
  end
end
if #owned > 0 then
  redis.call('ZREM', KEYS[2], unpack(owned))
  redis.call('SREM', KEYS[3], unpack(owned))
  if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end
  if #fields > 0 then
    redis.call('HSET', KEYS[1], unpack(fields))
    redis.call('ZADD', KEYS[4], unpack(completed))
  end
  redis.call('INCRBY', KEYS[6], #owned)
  if redis.call('INCRBY', KEYS[7], #owned) == #owned then redis.call('PEXPIREAT', KEYS[7], ARGV[1]) end
  if redis.call('SCARD', KEYS[5]) > 0 then
    local waited = redis.call('SMISMEMBER', KEYS[5], unpack(owned))
    for i, flag in ipairs(waited) do
      if flag == 1 then
        local r = ownedResult[i]
        if r == '' then r = 'null' end
        redis.call('PUBLISH', ARGV[2], '[' .. cjson.encode(owned[i]) .. ',"completed",' .. r .. ']')
        redis.call('SREM', KEYS[5], owned[i])
      end
    end
  end
end
return lost
