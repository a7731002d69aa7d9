--[[ lease-fence: which tasks of a batch this worker still holds.
A finalize write (complete, retry, archive, requeue, extend-lease) is fenced on the lease: a task counts as owned
only when its score in the lease set is exactly the one the worker sent (two workers never write the same score, see
running-tasks.ts). Anything else was taken over or recovered meanwhile and gets no write at all.
fence_leases(leaseIndex, n, first, stride): the batch's ids are ARGV[first], ARGV[first + stride], ... and each id's
lease score is the argument right after it. Returns the ARGV offsets of the owned tasks, and the ids of the lost ones.
]]
local function fence_leases(leaseIndex, n, first, stride)
  local ids = {}
  for i = 0, n - 1 do ids[i + 1] = ARGV[first + i * stride] end
  local scores = redis.call('ZMSCORE', KEYS[leaseIndex], unpack(ids))
  local owned, lost = {}, {}
  for i = 0, n - 1 do
    local b = first + i * stride
    local s = scores[i + 1]
    if s and tonumber(s) == tonumber(ARGV[b + 1]) then owned[#owned + 1] = b else lost[#lost + 1] = ARGV[b] end
  end
  return owned, lost
end
