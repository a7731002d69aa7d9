--[[ workflow-results: the results an input or result expression names (workflow/plan.ts ResultExpr: { r = index },
{ a = { expr, ... } } or { s = first, n = count }), from the results hash (KEYS[5]).
expr_leaves(expr, into): appends the indices expr names (strings) to the list into.
append_results(indices, out): appends two strings to out: the indices joined by ',' and their results ('' none)
  joined by '\n' (results are JSON, which has no raw line break), read with HMGET a thousand at a time: unpack()
  takes at most a few thousand values, and a chord's callback may have 100,000 inputs. Two strings, not a pair per
  result: a reply of 200,000 items costs the client far more to read than two long strings.
]]
local function expr_leaves(expr, into)
  if type(expr) ~= 'table' then return end
  if expr.r ~= nil then into[#into + 1] = tostring(expr.r) end
  if expr.a ~= nil then for _, e in ipairs(expr.a) do expr_leaves(e, into) end end
  if expr.s ~= nil then for i = expr.s, expr.s + expr.n - 1 do into[#into + 1] = tostring(i) end end
end

local function append_results(indices, out)
  local values = {}
  for from = 1, #indices, 1000 do
    local chunk = { unpack(indices, from, math.min(from + 999, #indices)) }
    local read = redis.call('HMGET', KEYS[5], unpack(chunk))
    for j = 1, #chunk do values[#values + 1] = read[j] or '' end
  end
  out[#out + 1] = table.concat(indices, ',')
  out[#out + 1] = table.concat(values, '\n')
end
