/**
 * GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time (TAT).
 * Requests are spaced `T = window / limit` apart, with `burst` of them allowed at once.
 * The Redis script (redis.ts) implements the same arithmetic; keep them in step.
 */
import { burstOf, type Limit, type LimitResult } from './store.js'

/** Result of a GCRA step and the new TAT to store (undefined: store nothing). */
export interface GcraStep {
  readonly result: LimitResult
  readonly tat: number | undefined
}

/**
 * `cost`: how many requests this one counts as (a batch of 20 operations: 20); all or nothing.
 * @example
 * gcra(undefined, { algorithm: 'gcra', limit: 5, windowMs: 60_000 }, 0, true).result.remaining // 4
 */
export function gcra(
  storedTat: number | undefined,
  l: Limit,
  now: number,
  take: boolean,
  cost = 1,
): GcraStep {
  const t = l.windowMs / l.limit
  const burst = burstOf(l)
  const tat = storedTat === undefined || storedTat < now ? now : storedTat
  const newTat = tat + t * cost
  const allowAt = newTat - t * burst
  // Requests currently "in flight" in the bucket, for events: how full the burst is.
  const used = Math.ceil((tat - now) / t)
  if (now < allowAt) {
    return {
      result: {
        allowed: false,
        remaining: 0,
        retryAfterMs: Math.ceil(allowAt - now),
        resetMs: Math.ceil(tat - now),
        count: used + cost,
      },
      tat: undefined,
    }
  }
  // After this request when taking; including it when only peeking ("still allowed now").
  const remaining = Math.floor((now - allowAt) / t) + (take ? 0 : cost)
  return {
    result: {
      allowed: true,
      remaining,
      retryAfterMs: 0,
      resetMs: Math.ceil((take ? newTat : tat) - now),
      count: used + cost,
    },
    tat: take ? newTat : undefined,
  }
}
