--[[ idle-join: register a worker as idle on a queue until `expiry` (it is about to block on the wake key for that
long), so an enqueue into the empty queue hands it a task (enqueue.lua); registrations that expired are dropped.
KEYS[1] idle (ZSET)
ARGV[1] now ms   ARGV[2] expiry ms   ARGV[3] member `<leaseMs>:<workerId>`
Returns: 1
]]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
