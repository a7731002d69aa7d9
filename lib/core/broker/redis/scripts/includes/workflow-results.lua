--[[ workflow-results: the results an input or result expression names (workflow/plan.ts ResultExpr: { r = index }
or { a = { expr, ... } }), from the results hash (KEYS[5]).
expr_leaves(expr, into): appends the indices expr names (strings) to the list into.
append_results(indices, out): appends index, result ('' none) for each index to out, HMGET a thousand at a time:
  unpack() takes at most a few thousand values, and a chord's callback may have 100,000 inputs.
]]
local function expr_leaves(expr, into)
  if type(expr) ~= 'table' then return end
  if expr.r ~= nil then into[#into + 1] = tostring(expr.r) end
  if expr.a ~= nil then for _, e in ipairs(expr.a) do expr_leaves(e, into) end end
end

local function append_results(indices, out)
  for from = 1, #indices, 1000 do
    local chunk = { unpack(indices, from, math.min(from + 999, #indices)) }
    local values = redis.call('HMGET', KEYS[5], unpack(chunk))
    for j, d in ipairs(chunk) do
      out[#out + 1] = d
      out[#out + 1] = values[j] or ''
    end
  end
end
