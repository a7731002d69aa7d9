--[[ recover: reclaim tasks of workers that died (expired lease, or active without a lease).
Each task moves to pending (run again at once, retried + 1) or to the archive (no retries left), except a hand-off
that no worker popped (its lease is a whole number and its member is still in the wake set): it never started, so it
goes back to the head of pending as it was, not counted as an attempt, and its member is removed so nobody pops it later.
Fenced: an expired lease must still hold exactly the score the recoverer saw; an orphan must still be active
without a lease. Anything else changed meanwhile and is left alone.
KEYS[1] tasks   KEYS[2] lease   KEYS[3] active   KEYS[4] pending   KEYS[5] archived   KEYS[6] wake   KEYS[7] waiters
KEYS[8] processed   KEYS[9] processed:<day>   KEYS[10] failed   KEYS[11] failed:<day>   KEYS[12] workflow relay
ARGV[1] now ms   ARGV[2] daily counter expire-at ms   ARGV[3] done channel   ARGV[4] N, then 6 values per task:
        id, seen lease score ('' = orphan), new message, action ('pending' | 'archive'), last error, workflow relay
        entry for the archive action ('' = not a workflow task)
Returns: number of tasks recovered (hand-offs given back included)
]]
--- @include "handoff"
--- @include "counters"
--- @include "done"
--- @include "wake"
local n = tonumber(ARGV[4])
local count, toPending, handedBack = 0, 0, 0
for i = 0, n - 1 do
  local b = 5 + i * 6
  local id = ARGV[b]
  local s = redis.call('ZSCORE', KEYS[2], id)
  local ok
  if ARGV[b + 1] == '' then
    ok = (not s) and redis.call('SISMEMBER', KEYS[3], id) == 1
  else
    ok = s and tonumber(s) == tonumber(ARGV[b + 1])
  end
  if ok then
    local unstarted = s and take_back_handoff(1, 6, id, s)
    redis.call('ZREM', KEYS[2], id)
    redis.call('SREM', KEYS[3], id)
    if unstarted then
      redis.call('RPUSH', KEYS[4], id)
      toPending = toPending + 1
      handedBack = handedBack + 1
    else
      count = count + 1
      redis.call('HSET', KEYS[1], id, ARGV[b + 2])
      if ARGV[b + 3] == 'archive' then
        redis.call('ZADD', KEYS[5], ARGV[1], id)
        publish_done(7, ARGV[3], { id }, 'archived', { cjson.encode(ARGV[b + 4]) })
        if ARGV[b + 5] ~= '' then redis.call('HSET', KEYS[12], ARGV[b + 5], ARGV[1]) end
      else
        redis.call('LPUSH', KEYS[4], id)
        toPending = toPending + 1
      end
    end
  end
end
if count > 0 then
  bump_counters(8, 9, count, ARGV[2])
  bump_counters(10, 11, count, ARGV[2])
end
if toPending > 0 then wake_pending(6) end
return count + handedBack
