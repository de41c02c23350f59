/**
 * The in-memory store: one process, synchronous, bounded. Entries are kept in insertion-ordered
 * Maps re-inserted on every write, so the oldest entry is always first: expiry needs no timer
 * per key (a few of the oldest are checked on each write) and the `maxKeys` bound evicts the
 * least recently written key first.
 */
import { gcra } from './gcra.js'
import { roll, slidingWindow, type WindowState } from './sliding-window.js'
import type { Limit, LimitResult, LimitStep, StepResult, Store } from './store.js'
import { OrderedMap } from './ordered-map.js'

export interface MemoryStoreOptions {
  /** Most keys kept across all kinds of state (default 1,000,000). */
  readonly maxKeys?: number
  /** Most members remembered per distinct-count key and window (default 10,000). */
  readonly maxMembers?: number
}

interface Windowed extends WindowState {
  windowMs: number
}

interface DistinctState {
  start: number
  windowMs: number
  current: Set<string>
  previous: Set<string>
  /** Members of `previous` not (yet) seen in `current`. */
  previousOnly: number
}

interface ScoreState {
  value: number
  at: number
  expiresAt: number
}

/**
 * Exponential decay: half of `value` remains after each `halfLifeMs`. `exp` rather than
 * `pow(2, …)`: the same value to the last bits or so, at under half of V8's cost (pow was ~600
 * instructions a request on the demo policy).
 */
export function decay(value: number, elapsedMs: number, halfLifeMs: number): number {
  return elapsedMs <= 0 ? value : value * Math.exp((-elapsedMs / halfLifeMs) * Math.LN2)
}

interface FlagState {
  value: string
  expiresAt: number
}

function tatExpired(tat: number, now: number): boolean {
  return tat <= now
}

function windowExpired(w: { start: number; windowMs: number }, now: number): boolean {
  return w.start + 2 * w.windowMs <= now
}

function ttlExpired(x: { expiresAt: number }, now: number): boolean {
  return x.expiresAt <= now
}

/** How many of the oldest entries a write looks at for expiry. */
const SWEEP = 2

export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  readonly maxKeys: number
  readonly maxMembers: number
  /** GCRA: key → theoretical arrival time. Expired once it is in the past. */
  readonly #tats = new OrderedMap<string, number>()
  readonly #windows = new OrderedMap<string, Windowed>()
  readonly #distinct = new OrderedMap<string, DistinctState>()
  readonly #flags = new OrderedMap<string, FlagState>()
  readonly #scores = new OrderedMap<string, ScoreState>()

  constructor(opts: MemoryStoreOptions = {}) {
    const maxKeys = opts.maxKeys ?? 1_000_000
    const maxMembers = opts.maxMembers ?? 10_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new TypeError('MemoryStore: maxKeys must be a positive integer')
    if (!Number.isInteger(maxMembers) || maxMembers < 1)
      throw new TypeError('MemoryStore: maxMembers must be a positive integer')
    this.maxKeys = maxKeys
    this.maxMembers = maxMembers
  }

  /** Keys currently held, across every kind of state. */
  get size(): number {
    return (
      this.#tats.size +
      this.#windows.size +
      this.#distinct.size +
      this.#flags.size +
      this.#scores.size
    )
  }

  batch(steps: readonly LimitStep[], now: number): StepResult[] {
    const out: StepResult[] = new Array(steps.length)
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!
      out[i] =
        s.unless !== undefined && this.#flag(s.unless, now) !== undefined
          ? null
          : s.op === 'distinct'
            ? this.addDistinct(s.key, s.member ?? '', s.limit.windowMs, now)
            : this.#step(s.key, s.limit, now, s.op === 'consume', s.cost ?? 1)
    }
    return out
  }

  consume(key: string, limit: Limit, now: number, cost = 1): LimitResult {
    return this.#step(key, limit, now, true, cost)
  }

  peek(key: string, limit: Limit, now: number, cost = 1): LimitResult {
    return this.#step(key, limit, now, false, cost)
  }

  refund(key: string, limit: Limit, countedAt: number, now: number, cost = 1): void {
    if (limit.algorithm === 'gcra') {
      const tat = this.#tats.get(key)
      // In the past: the bucket has drained, nothing of that request is held any more.
      if (tat !== undefined && tat > now)
        this.#tats.set(key, tat - (cost * limit.windowMs) / limit.limit)
      return
    }
    const s = this.#windows.get(key)
    if (!s) return
    roll(s, limit.windowMs, now)
    const start = countedAt - (countedAt % limit.windowMs)
    if (start === s.start) s.current = Math.max(0, s.current - cost)
    else if (start === s.start - limit.windowMs) s.previous = Math.max(0, s.previous - cost)
  }

  #step(key: string, limit: Limit, now: number, take: boolean, cost: number): LimitResult {
    if (limit.algorithm === 'gcra') {
      const stored = this.#tats.get(key)
      const step = gcra(stored, limit, now, take, cost)
      if (step.tat !== undefined) this.#put(this.#tats, key, step.tat, now, tatExpired)
      return step.result
    }
    let s = this.#windows.get(key)
    if (!s) {
      if (!take)
        return slidingWindow(
          { start: now - (now % limit.windowMs), current: 0, previous: 0 },
          limit,
          now,
          false,
          cost,
        )
      s = { start: now - (now % limit.windowMs), current: 0, previous: 0, windowMs: limit.windowMs }
    }
    roll(s, limit.windowMs, now)
    const r = slidingWindow(s, limit, now, take, cost)
    if (take) this.#put(this.#windows, key, s, now, windowExpired)
    return r
  }

  addDistinct(key: string, member: string, windowMs: number, now: number): number {
    const start = now - (now % windowMs)
    let s = this.#distinct.get(key)
    if (!s) s = { start, windowMs, current: new Set(), previous: new Set(), previousOnly: 0 }
    else if (s.start !== start) {
      const prev = start - s.start === windowMs ? s.current : new Set<string>()
      s.start = start
      s.previous = prev
      s.current = new Set()
      s.previousOnly = prev.size
    }
    if (!s.current.has(member) && s.current.size < this.maxMembers) {
      s.current.add(member)
      if (s.previous.has(member)) s.previousOnly--
    }
    this.#put(this.#distinct, key, s, now, windowExpired)
    const weight = (windowMs - (now - start)) / windowMs
    return s.current.size + Math.floor(s.previousOnly * weight)
  }

  flag(key: string, value: string, ttlMs: number, now: number): void {
    this.#put(this.#flags, key, { value, expiresAt: now + ttlMs }, now, ttlExpired)
  }

  flagOnce(key: string, value: string, ttlMs: number, now: number): boolean {
    const f = this.#flags.get(key)
    if (f && f.expiresAt > now) return false
    this.flag(key, value, ttlMs, now)
    return true
  }

  take(key: string, now: number): string | undefined {
    const f = this.#flags.get(key)
    if (f === undefined) return undefined
    this.#flags.delete(key)
    return f.expiresAt > now ? f.value : undefined
  }

  flagged(keys: readonly string[], now: number): (string | undefined)[] {
    const out: (string | undefined)[] = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) out[i] = this.#flag(keys[i]!, now)
    return out
  }

  /** A flag's value, or undefined when it is not set (an expired one is dropped). */
  #flag(key: string, now: number): string | undefined {
    const f = this.#flags.get(key)
    if (f === undefined) return undefined
    if (f.expiresAt > now) return f.value
    this.#flags.delete(key)
    return undefined
  }

  unflag(key: string): void {
    this.#flags.delete(key)
  }

  addScore(key: string, delta: number, halfLifeMs: number, now: number): number {
    const s = this.#scores.get(key)
    const value = (s ? decay(s.value, now - s.at, halfLifeMs) : 0) + delta
    if (delta === 0) return value
    // Forgotten once it has decayed below 0.01: ten half-lives of 1000 points, or less.
    const expiresAt = now + halfLifeMs * Math.max(1, Math.log2(Math.max(1, Math.abs(value)) / 0.01))
    this.#put(this.#scores, key, { value, at: now, expiresAt }, now, ttlExpired)
    return value
  }

  scores(keys: readonly string[], halfLifeMs: number, now: number): number[] {
    const out: number[] = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const st = this.#scores.get(keys[i]!)
      out[i] = st ? decay(st.value, now - st.at, halfLifeMs) : 0
    }
    return out
  }

  reset(key: string): void {
    this.#scores.delete(key)
    this.#tats.delete(key)
    this.#windows.delete(key)
    this.#distinct.delete(key)
  }

  async close(): Promise<void> {
    this.#tats.clear()
    this.#windows.clear()
    this.#distinct.clear()
    this.#flags.clear()
  }

  /** Writes `key` as the newest entry, sweeping a few expired entries and enforcing maxKeys. */
  #put<V>(
    map: OrderedMap<string, V>,
    key: string,
    value: V,
    now: number,
    expired: (v: V, now: number) => boolean,
  ) {
    if (!map.has(key)) {
      for (let n = 0; n < SWEEP; n++) {
        const oldest = map.oldest()
        if (!oldest || !expired(oldest[1], now)) break
        map.delete(oldest[0])
      }
      if (this.size >= this.maxKeys) this.#evict(map)
    }
    map.touch(key, value)
  }

  /** Drops the least recently written key, from `prefer` first. */
  #evict(prefer: OrderedMap<string, unknown>) {
    const from =
      prefer.size > 0
        ? prefer
        : [this.#windows, this.#tats, this.#distinct, this.#flags, this.#scores].find(
            (m) => m.size > 0,
          )
    const oldest = from?.oldest()
    if (oldest) from!.delete(oldest[0])
  }
}
