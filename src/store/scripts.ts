/**
 * Lua scripts of the Redis store: a request's limit steps are one script call, so one round trip. ioredis
 * loads them once and calls them with EVALSHA (falling back to EVAL after a Redis restart).
 * The arithmetic mirrors gcra.ts and sliding-window.ts exactly; the store contract suite runs
 * the same cases against both stores to keep them in step.
 * Kept as strings rather than .lua files so the build has nothing to copy.
 */

/**
 * Limit steps, any number in one call (a request's rules: one round trip). Each step is an op
 * letter in ARGV followed by its arguments, and takes its keys from KEYS in order:
 * - `g` gcra: KEYS tat · ARGV now, emission interval T, burst, take (1/0), cost
 * - `w` sliding window: KEYS current window, previous · ARGV limit, windowMs, elapsed, take, cost
 *   (cost: how many requests the step counts as, all or nothing)
 * - `d` distinct: KEYS current HyperLogLog, previous · ARGV member, windowMs, elapsed (the
 *   union count is cached under `<current>:u`)
 * - `u` guard, before a step: KEYS flag · no ARGV. When the flag exists the next step is skipped.
 * Replies are flat, in step order: five integers for `g` and `w` (allowed, remaining, retry,
 * reset, count), one for `d` (the estimate); a guard replies 1 (the step skipped, no replies of
 * its own follow) or 0 (the step's replies follow).
 */
export const LIMIT_STEPS = `
local out = {}
local function put(...)
  for _, v in ipairs({...}) do out[#out + 1] = v end
end

local function gcra(key, now, t, burst, take, cost)
  local tat = tonumber(redis.call('GET', key))
  if not tat or tat < now then tat = now end
  local newTat = tat + t * cost
  local allowAt = newTat - t * burst
  local used = math.ceil((tat - now) / t)
  if now < allowAt then
    return put(0, 0, math.ceil(allowAt - now), math.ceil(tat - now), used + cost)
  end
  local remaining = math.floor((now - allowAt) / t)
  if take then
    -- %.17g round-trips the double, so Redis computes on exactly the TAT gcra.ts would keep.
    redis.call('SET', key, string.format('%.17g', newTat), 'PX', math.ceil(newTat - now) + 1000)
    return put(1, remaining, 0, math.ceil(newTat - now), used + cost)
  end
  put(1, remaining + cost, 0, math.ceil(tat - now), used + cost)
end

local function sliding(curKey, prevKey, limit, window, elapsed, take, cost)
  local cur = tonumber(redis.call('GET', curKey) or '0')
  local prev = tonumber(redis.call('GET', prevKey) or '0')
  local weight = (window - elapsed) / window
  local est = prev * weight + cur
  local reset = 0
  if cur > 0 then reset = 2 * window - elapsed elseif prev > 0 then reset = window - elapsed end
  if est + cost > limit then
    local retry
    if cur + cost > limit then
      retry = window - elapsed
      if cur > 0 then retry = retry + math.ceil(math.min(1, (cur + cost - limit) / cur) * window) end
    else
      retry = math.ceil(((est + cost - limit) / prev) * window)
    end
    return put(0, 0, math.max(1, math.ceil(retry)), math.ceil(reset), math.floor(est) + cost)
  end
  if take then
    local before = cur
    cur = redis.call('INCRBY', curKey, cost)
    if before == 0 then redis.call('PEXPIRE', curKey, window * 2) end
    reset = 2 * window - elapsed
  end
  local after = prev * weight + cur
  local remaining = math.floor(limit - after)
  if remaining < 0 then remaining = 0 end
  local count = math.floor(after)
  if not take then count = count + cost end
  put(1, remaining, 0, math.ceil(reset), count)
end

-- PFCOUNT of two keys merges both HyperLogLogs (16k registers) on every call; the previous
-- window no longer changes, so the union only changes when PFADD changed the current one, and
-- is cached beside it (curKey:u) until then.
local function distinct(curKey, prevKey, member, window, elapsed)
  local unionKey = curKey .. ':u'
  local u
  if redis.call('PFADD', curKey, member) == 1 then
    redis.call('PEXPIRE', curKey, window * 2)
  else
    u = tonumber(redis.call('GET', unionKey))
  end
  local c = redis.call('PFCOUNT', curKey)
  if not u then
    if redis.call('EXISTS', prevKey) == 1 then u = redis.call('PFCOUNT', curKey, prevKey) else u = c end
    redis.call('SET', unionKey, u, 'PX', window * 2)
  end
  if u < c then u = c end
  put(c + math.floor((u - c) * ((window - elapsed) / window)))
end

local k, a = 1, 1
local skip = false
while a <= #ARGV do
  local op = ARGV[a]
  if op == 'u' then
    skip = redis.call('EXISTS', KEYS[k]) == 1
    put(skip and 1 or 0)
    k, a = k + 1, a + 1
  elseif op == 'g' then
    if not skip then
      gcra(KEYS[k], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4] == '1', tonumber(ARGV[a + 5]))
    end
    skip = false
    k, a = k + 1, a + 6
  elseif op == 'w' then
    if not skip then
      sliding(KEYS[k], KEYS[k + 1], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4] == '1', tonumber(ARGV[a + 5]))
    end
    skip = false
    k, a = k + 2, a + 6
  elseif op == 'd' then
    if not skip then
      distinct(KEYS[k], KEYS[k + 1], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]))
    end
    skip = false
    k, a = k + 2, a + 4
  else
    return redis.error_reply('bulwark: unknown limit step ' .. tostring(op))
  end
end
return out
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

/**
 * Gives back a counted request (an outcome rule's, whose answer did not count).
 * GCRA: KEYS tat · ARGV 'g', now, T × cost — the TAT moves back by that while ahead of now.
 * Sliding window: KEYS the fixed window the request was counted in · ARGV 'w', cost — that
 * many less, never below 0 (an expired window is gone: nothing to give back).
 */
export const REFUND = `
if ARGV[1] == 'g' then
  local tat = tonumber(redis.call('GET', KEYS[1]))
  local now = tonumber(ARGV[2])
  if tat and tat > now then
    local back = tat - tonumber(ARGV[3])
    if back > now then
      redis.call('SET', KEYS[1], string.format('%.17g', back), 'PX', math.ceil(back - now) + 1000)
    else
      redis.call('DEL', KEYS[1])
    end
  end
  return 0
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECRBY', KEYS[1], math.min(n, tonumber(ARGV[2] or '1'))) end
return 0
`
