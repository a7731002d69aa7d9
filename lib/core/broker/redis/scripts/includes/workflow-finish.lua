--[[ workflow-finish: the end of a workflow (completed, failed or canceled).
finish_workflow(state, now, retention, channel, id): records the state and the finish time, announces it on
`channel` (`[id, state]`) and lets every key of the workflow (KEYS[1..7], workflow scripts take them in that order)
expire after `retention` ms. The tasks' own records expire on their own (their retention covers the workflow's).
]]
local function finish_workflow(state, now, retention, channel, id)
  redis.call('HSET', KEYS[1], 'st', state, 'ft', now)
  redis.call('PUBLISH', channel, '[' .. cjson.encode(id) .. ',"' .. state .. '"]')
  for i = 1, 7 do redis.call('PEXPIRE', KEYS[i], retention) end
end
