/**
 * Traffic over the last minutes, for the dashboard's charts: requests per second by action,
 * and per minute by route and by rule. Fixed-size arrays and small maps, reused as time moves
 * on, so counting a request is a few array writes.
 *
 * Owns its counters. Called by the admin feed (feed.ts); read by the admin API (api.ts).
 */
import { ACTIONS, type Action } from '../engine/types.js'

/** Seconds of per-second history kept. */
const SECONDS = 900
/** Minutes of per-route and per-rule history kept. */
const MINUTES = 15
const N = ACTIONS.length
export const ACTION_INDEX: Readonly<Record<Action, number>> = Object.fromEntries(
  ACTIONS.map((a, i) => [a, i]),
) as Record<Action, number>

interface Minute {
  stamp: number
  routes: Map<string, number[]>
  rules: Map<string, number>
  honeypot: number
}

export interface TrafficSummary {
  readonly now: number
  readonly actions: readonly Action[]
  /** Buckets of `bucketMs`, oldest first: `[start, countsByAction]`. */
  readonly bucketMs: number
  readonly series: readonly (readonly [number, readonly number[]])[]
  readonly totals: Readonly<Record<Action, number>>
  readonly routes: readonly { route: string; total: number; byAction: Record<Action, number> }[]
  readonly rules: readonly { rule: string; count: number }[]
  /** Trap hits: honeypot routes, hidden fields, trap headers and canaries (deception). */
  readonly honeypotHits: number
}

/**
 * @example
 * const t = new Traffic()
 * t.record(Date.now(), '/api/login', 'throttle', ['limits.login-per-account'])
 * t.record(Date.now(), '/.env', 'deceive', ['deception.env'], 1)
 * t.summary(Date.now(), 10_000, 15 * 60_000)
 */
export class Traffic {
  readonly #counts = new Uint32Array(SECONDS * N)
  readonly #stamps = new Float64Array(SECONDS).fill(-1)
  readonly #minutes: Minute[] = Array.from({ length: MINUTES }, () => ({
    stamp: -1,
    routes: new Map(),
    rules: new Map(),
    honeypot: 0,
  }))

  /** Counts one request: its route, action, the rules that objected and its trap hits. */
  record(now: number, route: string, action: Action, rules: readonly string[], traps = 0): void {
    const a = ACTION_INDEX[action]
    const second = Math.floor(now / 1000)
    const slot = second % SECONDS
    if (this.#stamps[slot] !== second) {
      this.#stamps[slot] = second
      this.#counts.fill(0, slot * N, slot * N + N)
    }
    this.#counts[slot * N + a]!++
    const m = this.#minute(now)
    let byAction = m.routes.get(route)
    if (!byAction) m.routes.set(route, (byAction = new Array<number>(N).fill(0)))
    byAction[a]!++
    for (const r of rules) m.rules.set(r, (m.rules.get(r) ?? 0) + 1)
    m.honeypot += traps
  }

  /** Counts by action for the second that ended most recently before `now`. */
  lastSecond(now: number): number[] {
    const second = Math.floor(now / 1000) - 1
    const slot = ((second % SECONDS) + SECONDS) % SECONDS
    if (this.#stamps[slot] !== second) return new Array<number>(N).fill(0)
    return Array.from(this.#counts.subarray(slot * N, slot * N + N))
  }

  /** The last `spanMs` (at most 15 minutes) in buckets of `bucketMs`, plus top routes and rules. */
  summary(now: number, bucketMs = 10_000, spanMs = MINUTES * 60_000, top = 10): TrafficSummary {
    const span = Math.min(spanMs, (SECONDS - 1) * 1000)
    const bucketS = Math.max(1, Math.round(bucketMs / 1000))
    // Buckets end with the last complete second, so none of them is partly in the future.
    const lastSecond = Math.floor(now / 1000) - 1
    const buckets = Math.max(1, Math.floor(span / 1000 / bucketS))
    const series: [number, number[]][] = []
    for (let k = buckets - 1; k >= 0; k--) {
      const b = lastSecond - (k + 1) * bucketS + 1
      const counts = new Array<number>(N).fill(0)
      for (let s = b; s < b + bucketS; s++) {
        const slot = s % SECONDS
        if (this.#stamps[slot] !== s) continue
        for (let a = 0; a < N; a++) counts[a]! += this.#counts[slot * N + a]!
      }
      series.push([b * 1000, counts])
    }
    const totals = zero()
    for (const [, counts] of series) counts.forEach((c, a) => (totals[ACTIONS[a]!] += c))

    // Every minute that overlaps the span: the one `now - span` falls in counts too (it was
    // left out, so a summary taken just after a minute turned lost routes the series showed).
    const minutes = this.#minutes.filter((m) => m.stamp >= Math.floor((now - span) / 60_000))
    const routes = new Map<string, number[]>()
    const rules = new Map<string, number>()
    let honeypotHits = 0
    for (const m of minutes) {
      for (const [route, counts] of m.routes) {
        const sum = routes.get(route) ?? new Array<number>(N).fill(0)
        counts.forEach((c, a) => (sum[a]! += c))
        routes.set(route, sum)
      }
      for (const [rule, n] of m.rules) rules.set(rule, (rules.get(rule) ?? 0) + n)
      honeypotHits += m.honeypot
    }
    return {
      now,
      actions: ACTIONS,
      bucketMs: bucketS * 1000,
      series,
      totals,
      routes: [...routes]
        .map(([route, counts]) => ({
          route,
          total: counts.reduce((x, y) => x + y, 0),
          byAction: Object.fromEntries(ACTIONS.map((a, i) => [a, counts[i]!])) as Record<
            Action,
            number
          >,
        }))
        .sort((x, y) => y.total - x.total)
        .slice(0, top),
      rules: [...rules]
        .map(([rule, count]) => ({ rule, count }))
        .sort((x, y) => y.count - x.count)
        .slice(0, top),
      honeypotHits,
    }
  }

  #minute(now: number): Minute {
    const minute = Math.floor(now / 60_000)
    const m = this.#minutes[minute % MINUTES]!
    if (m.stamp !== minute) {
      m.stamp = minute
      m.routes = new Map()
      m.rules = new Map()
      m.honeypot = 0
    }
    return m
  }
}

function zero(): Record<Action, number> {
  return Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>
}
