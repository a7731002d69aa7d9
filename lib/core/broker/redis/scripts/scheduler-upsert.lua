--[[ scheduler-upsert: create or update a periodic entry by id.
A new entry starts with floor = now (it fires strictly after registration). An update that changes the spec or tz
raises the floor to now, so the new schedule does not fire ticks from before the update.
KEYS[1] cron entries (HASH)   KEYS[2] cron state (HASH)
ARGV[1] id   ARGV[2] definition JSON   ARGV[3] now ms
Returns: an UpsertCode (script-codes.ts): 0 unchanged (same JSON: nothing written), 1 created, 2 updated
]]
--- @include "cron-state"

local id, def, now = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HGET', KEYS[1], id)
local st = parse_state(redis.call('HGET', KEYS[2], id))
if old == def and st ~= nil then return 0 end
local code = 2
if old == false or st == nil then
  code = 1
  st = { rev = '0', floor = now, prev = '0', task = '' }
else
  local okOld, o = pcall(cjson.decode, old)
  local n = cjson.decode(def)
  if not okOld or type(o) ~= 'table' or o.spec ~= n.spec or o.tz ~= n.tz then
    if tonumber(st.floor) < tonumber(now) then st.floor = now end
  end
end
redis.call('HSET', KEYS[1], id, def)
st.rev = tostring(tonumber(st.rev) + 1)
redis.call('HSET', KEYS[2], id, format_state(st))
return code
