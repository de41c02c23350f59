/**
 * Lua scripts of the Redis store: each limit step is one script, so one round trip. ioredis
 * loads them once and calls them with EVALSHA (falling back to EVAL after a Redis restart).
 * The arithmetic mirrors gcra.ts and sliding-window.ts exactly; the store contract suite runs
 * the same cases against both stores to keep them in step.
 * Kept as strings rather than .lua files so the build has nothing to copy.
 */

/** KEYS[1] tat · ARGV now, emission interval T, burst, take (1/0). → allowed, remaining, retry, reset, count */
export const GCRA = `
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local take = ARGV[4] == '1'
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local newTat = tat + t
local allowAt = newTat - t * burst
local used = math.ceil((tat - now) / t)
if now < allowAt then
  return {0, 0, math.ceil(allowAt - now), math.ceil(tat - now), used + 1}
end
local remaining = math.floor((now - allowAt) / t)
if take then
  -- %.17g round-trips the double, so Redis computes on exactly the TAT gcra.ts would keep.
  redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.ceil(newTat - now) + 1000)
  return {1, remaining, 0, math.ceil(newTat - now), used + 1}
end
return {1, remaining + 1, 0, math.ceil(tat - now), used + 1}
`

/** KEYS[1] current window, KEYS[2] previous · ARGV limit, windowMs, elapsed, take. */
export const SLIDING_WINDOW = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local take = ARGV[4] == '1'
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local weight = (window - elapsed) / window
local est = prev * weight + cur
local reset = 0
if cur > 0 then reset = 2 * window - elapsed elseif prev > 0 then reset = window - elapsed end
if est + 1 > limit then
  local retry
  if cur + 1 > limit then
    retry = window - elapsed + math.ceil(((cur + 1 - limit) / cur) * window)
  else
    retry = math.ceil(((est + 1 - limit) / prev) * window)
  end
  return {0, 0, math.max(1, math.ceil(retry)), math.ceil(reset), math.floor(est) + 1}
end
if take then
  cur = redis.call('INCR', KEYS[1])
  if cur == 1 then redis.call('PEXPIRE', KEYS[1], window * 2) end
  reset = 2 * window - elapsed
end
local after = prev * weight + cur
local remaining = math.floor(limit - after)
if remaining < 0 then remaining = 0 end
local count = math.floor(after)
if not take then count = count + 1 end
return {1, remaining, 0, math.ceil(reset), count}
`

/** KEYS[1] current HyperLogLog, KEYS[2] previous · ARGV member, windowMs, elapsed. → estimate */
export const DISTINCT = `
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
if redis.call('PFADD', KEYS[1], ARGV[1]) == 1 then redis.call('PEXPIRE', KEYS[1], window * 2) end
local c = redis.call('PFCOUNT', KEYS[1])
local u = redis.call('PFCOUNT', KEYS[1], KEYS[2])
return c + math.floor((u - c) * ((window - elapsed) / window))
`

/** KEYS[1] score hash · ARGV delta, halfLifeMs, now. → new value (as a string: a float) */
export const ADD_SCORE = `
local delta = tonumber(ARGV[1])
local hl = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[3])
if now > t then v = v * math.pow(2, -(now - t) / hl) end
v = v + delta
if delta ~= 0 then
  redis.call('HSET', KEYS[1], 'v', string.format('%.17g', v), 't', ARGV[3])
  local life = hl * math.max(1, math.log(math.max(1, math.abs(v)) / 0.01) / math.log(2))
  redis.call('PEXPIRE', KEYS[1], math.ceil(life))
end
return string.format('%.17g', v)
`

/** KEYS… score hashes · ARGV halfLifeMs, now. → decayed values (strings) */
export const SCORES = `
local hl = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local out = {}
for i, k in ipairs(KEYS) do
  local v = tonumber(redis.call('HGET', k, 'v') or '0')
  local t = tonumber(redis.call('HGET', k, 't') or ARGV[2])
  if now > t then v = v * math.pow(2, -(now - t) / hl) end
  out[i] = string.format('%.17g', v)
end
return out
`
