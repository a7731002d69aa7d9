--[[ cron-state: a periodic entry's fire state, "rev:floor:prevFire:lastTaskId" (periodic/entry.ts parses it too).
parse_state(s): a table { rev, floor, prev, task } (strings), or nil when missing or malformed.
format_state(st): the stored form.
]]
local function parse_state(s)
  if not s then return nil end
  local rev, floor, prev, task = string.match(s, '^(%d+):(%d+):(%d+):(.*)$')
  if not rev then return nil end
  return { rev = rev, floor = floor, prev = prev, task = task }
end

local function format_state(st)
  return st.rev .. ':' .. st.floor .. ':' .. st.prev .. ':' .. st.task
end
