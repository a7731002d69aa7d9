--[[ complete: finish a batch of active tasks successfully (active → deleted, or completed with retention).
Fenced: a task whose lease score is not exactly the one given is left alone (its lease was lost) and reported.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] completed   KEYS[5] waiters   KEYS[6] processed
KEYS[7] processed:<day>   KEYS[8] workflow relay   KEYS[9..] unique lock keys, referenced by index from ARGV
ARGV[1] daily counter expire-at ms   ARGV[2] done channel   ARGV[3] now ms   ARGV[4] N, then 7 values per task: id,
        lease score, retain-until ms (0 = delete), message with result ('' when deleting, or when keeping the stored
        one), uniqueKeyIndex (0 = none),
        result JSON ('' = none), workflow relay entry ('' = not a workflow task)
Returns: ids whose lease was lost (nothing written for them)
]]
--- @include "lease-fence"
--- @include "counters"
--- @include "done"
local n = tonumber(ARGV[4])
local owned, lost = fence_leases(2, n, 5, 7)
local ids, results, del, fields, completed, relays = {}, {}, {}, {}, {}, {}
for _, b in ipairs(owned) do
  local id = ARGV[b]
  ids[#ids + 1] = id
  results[#ids] = ARGV[b + 5] == '' and 'null' or ARGV[b + 5]
  local keepUntil = tonumber(ARGV[b + 2])
  if keepUntil > 0 then
    -- Kept as stored (a workflow task, whose result its workflow holds): not sent back, not rewritten.
    if ARGV[b + 3] ~= '' then
      fields[#fields + 1] = id
      fields[#fields + 1] = ARGV[b + 3]
    end
    completed[#completed + 1] = keepUntil
    completed[#completed + 1] = id
  else
    del[#del + 1] = id
  end
  local ui = tonumber(ARGV[b + 4])
  if ui > 0 and redis.call('GET', KEYS[ui]) == id then redis.call('DEL', KEYS[ui]) end
  if ARGV[b + 6] ~= '' then
    relays[#relays + 1] = ARGV[b + 6]
    relays[#relays + 1] = ARGV[3]
  end
end
if #ids > 0 then
  redis.call('ZREM', KEYS[2], unpack(ids))
  redis.call('SREM', KEYS[3], unpack(ids))
  if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end
  if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
  if #completed > 0 then redis.call('ZADD', KEYS[4], unpack(completed)) end
  if #relays > 0 then redis.call('HSET', KEYS[8], unpack(relays)) end
  bump_counters(6, 7, #ids, ARGV[1])
  publish_done(5, ARGV[2], ids, 'completed', results)
end
return lost
