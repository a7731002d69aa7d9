--[[ scheduler-upsert: create or update a periodic entry by id.
A new entry starts with floor = now (it fires strictly after registration). An update that changes the spec or tz
raises the floor to now, so the new schedule does not fire ticks from before the update.
KEYS[1] cron entries (HASH)   KEYS[2] cron state (HASH)
ARGV[1] id   ARGV[2] definition JSON   ARGV[3] now ms
Returns: 0 unchanged (same JSON: nothing written), 1 created, 2 updated
]]
local function parse_state(s)
  if not s then return nil end
  local rev, floor, prev, task = string.match(s, '^(%d+):(%d+):(%d+):(.*)$')
  if not rev then return nil end
  return { rev = rev, floor = floor, prev = prev, task = task }
end

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
redis.call('HSET', KEYS[2], id, (tonumber(st.rev) + 1) .. ':' .. st.floor .. ':' .. st.prev .. ':' .. st.task)
return code
