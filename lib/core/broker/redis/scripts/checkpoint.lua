--[[ checkpoint: record a handler chain's progress on a running task (its message, with the last finished handler and
its output), so a retry or a crash resumes at the next handler. Fenced on the lease like complete: a worker that lost
the task writes nothing.
KEYS[1] tasks   KEYS[2] lease
ARGV[1] id   ARGV[2] lease score   ARGV[3] new message
Returns: 1 written, 0 the lease was lost
]]
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
