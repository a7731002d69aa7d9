--[[ janitor: delete completed tasks whose retention expired, trim the archive by age, and drop the idle
registrations that lapsed (a worker that died while idle).
KEYS[1] tasks   KEYS[2] completed   KEYS[3] archived   KEYS[4] idle
ARGV[1] now ms   ARGV[2] batch size   ARGV[3] max archive age ms
Returns: number of task records deleted
]]
local deleted = 0
local expired = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
  deleted = deleted + #expired
end
local old = redis.call('ZRANGE', KEYS[3], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]), 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
  deleted = deleted + #old
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[1])
return deleted
