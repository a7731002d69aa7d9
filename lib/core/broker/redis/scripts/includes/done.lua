--[[ done: announce finished tasks that someone awaits (waitForResult, send).
publish_done(waitersIndex, channel, ids, state, payloads): for each of `ids` in the waiters set KEYS[waitersIndex],
publishes `[id, state, payload]` on `channel` (payloads[i] is already JSON: the result, or the encoded last error)
and forgets the waiter. Costs one SCARD when nobody waits.
]]
local function publish_done(waitersIndex, channel, ids, state, payloads)
  if #ids == 0 or redis.call('SCARD', KEYS[waitersIndex]) == 0 then return end
  local waited = redis.call('SMISMEMBER', KEYS[waitersIndex], unpack(ids))
  for i, flag in ipairs(waited) do
    if flag == 1 then
      redis.call('PUBLISH', channel, '[' .. cjson.encode(ids[i]) .. ',"' .. state .. '",' .. payloads[i] .. ']')
      redis.call('SREM', KEYS[waitersIndex], ids[i])
    end
  end
end
