/**
 * Sliding-window counter: the count of the current fixed window plus the previous window's
 * count weighted by how much of it the sliding window still covers. Two numbers per key.
 * The Redis script (redis.ts) implements the same arithmetic; keep them in step.
 */
import type { Limit, LimitResult } from './store.js'

export interface WindowState {
  /** Start of the current fixed window (a multiple of windowMs). */
  start: number
  current: number
  previous: number
}

/** Rolls `s` forward to the window containing `now` (mutates and returns it). */
export function roll(s: WindowState, windowMs: number, now: number): WindowState {
  const start = now - (now % windowMs)
  if (start !== s.start) {
    s.previous = start - s.start === windowMs ? s.current : 0
    s.current = 0
    s.start = start
  }
  return s
}

/**
 * Decides on a rolled state; adds `cost` (how many requests this one counts as) when `take` and
 * allowed — all or nothing.
 */
export function slidingWindow(
  s: WindowState,
  l: Limit,
  now: number,
  take: boolean,
  cost = 1,
): LimitResult {
  const elapsed = now - s.start
  const weight = (l.windowMs - elapsed) / l.windowMs
  const estimate = s.previous * weight + s.current
  // Back to the full allowance once both windows' counts have slid out (now, if both are 0).
  const resetMs =
    s.current > 0 ? 2 * l.windowMs - elapsed : s.previous > 0 ? l.windowMs - elapsed : 0
  if (estimate + cost > l.limit) {
    // When does the estimate drop enough? The previous window's share shrinks linearly. If the
    // current window alone is full, it becomes the previous window when this one ends, still
    // weighted ~100%: the wait is the rest of this window plus that window's share shrinking.
    let retry: number
    // (A cost that does not fit even an empty window waits out this one, and is refused again.)
    if (s.current + cost > l.limit)
      retry =
        l.windowMs -
        elapsed +
        (s.current > 0
          ? Math.ceil(Math.min(1, (s.current + cost - l.limit) / s.current) * l.windowMs)
          : 0)
    else retry = Math.ceil(((estimate + cost - l.limit) / s.previous) * l.windowMs)
    return {
      allowed: false,
      remaining: 0,
      retryAfterMs: Math.max(1, Math.ceil(retry)),
      resetMs: Math.ceil(resetMs),
      count: Math.floor(estimate) + cost,
    }
  }
  let reset = resetMs
  if (take) {
    s.current += cost
    reset = 2 * l.windowMs - elapsed
  }
  const after = s.previous * weight + s.current
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor(l.limit - after)),
    retryAfterMs: 0,
    resetMs: Math.ceil(reset),
    count: Math.floor(after) + (take ? 0 : cost),
  }
}
