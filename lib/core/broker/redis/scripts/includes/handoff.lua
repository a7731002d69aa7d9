--[[ handoff: the wake-set member of a task an enqueue leased for an idle worker (redis/handoff.ts parses it too):
`h<id length>:<id><lease score>:<message>`. A hand-off's lease score is a whole number of ms (worker-written scores
always carry a tag fraction), so a whole score tells "leased by a hand-off, not yet taken over by a worker".
handoff_member(id, score, message): the member.
parse_handoff(member): id, lease score, message; nil when malformed.
take_back_handoff(tasksIndex, wakeIndex, id, score): removes the hand-off of `id` leased at `score` from the wake set
KEYS[wakeIndex] if no worker popped it yet; true when it did (the task never started).
]]
local function handoff_member(id, score, message)
  return 'h' .. #id .. ':' .. id .. score .. ':' .. message
end

local function parse_handoff(m)
  local colon = string.find(m, ':', 2, true)
  local len = colon and tonumber(string.sub(m, 2, colon - 1))
  if not len then return nil end
  local scoreEnd = string.find(m, ':', colon + len + 1, true)
  if not scoreEnd then return nil end
  return string.sub(m, colon + 1, colon + len), string.sub(m, colon + len + 1, scoreEnd - 1), string.sub(m, scoreEnd + 1)
end

local function take_back_handoff(tasksIndex, wakeIndex, id, score)
  if tonumber(score) % 1 ~= 0 then return false end
  local stored = redis.call('HGET', KEYS[tasksIndex], id)
  if not stored then return false end
  return redis.call('ZREM', KEYS[wakeIndex], handoff_member(id, string.format('%.0f', tonumber(score)), stored)) == 1
end
