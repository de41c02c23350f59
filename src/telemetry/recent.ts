/**
 * The recent past, in memory and bounded: every decision other than a plain allow (up to
 * `capacity`), and a sample of allowed requests (at most `allowPerSecond`, up to
 * `allowCapacity`) so the normal traffic of a client can be seen next to what was refused.
 * Each event gets a sequence number, so a reader can ask for what came after the last it saw.
 *
 * Owns two rings. Called by the admin feed (src/admin/feed.ts), read by the admin API.
 * @see ../../docs/dashboard.md
 */
import type { Action } from '../engine/types.js'
import type { DecisionEvent } from './event.js'

/** A decision event with its place in the sequence. */
export interface RecentEvent extends DecisionEvent {
  readonly seq: number
}

/** Client facets an event can be searched by. */
export const CLIENT_FACETS = [
  'ip',
  'ipPrefix',
  'fingerprint',
  'account',
  'session',
  'apiKey',
  'device',
] as const
export type ClientFacet = (typeof CLIENT_FACETS)[number]

export interface EventFilter {
  readonly actions?: readonly Action[]
  /** Exact rule id that must be among the event's rules. */
  readonly rule?: string
  /** Exact route template. */
  readonly route?: string
  /** A client facet that must equal `value`. */
  readonly facet?: { readonly name: ClientFacet; readonly value: string }
  /** Case-insensitive text in the path, a reason or a client facet. */
  readonly text?: string
  /** Only events numbered above this. */
  readonly after?: number
  /** Only events received at or after this time (ms). */
  readonly since?: number
  /** Most events returned, newest first (default 100). */
  readonly limit?: number
}

export interface RecentEventsOptions {
  /** Decisions other than a plain allow kept (default 2000). */
  readonly capacity?: number
  /** Sampled allowed requests kept (default 500). */
  readonly allowCapacity?: number
  /** Most allowed requests sampled per second (default 20). */
  readonly allowPerSecond?: number
}

/**
 * @example
 * const recent = new RecentEvents({ capacity: 2000 })
 * recent.add(toEvent(ctx, decision, outcome))
 * recent.query({ actions: ['block'], limit: 50 })
 */
export class RecentEvents {
  readonly #decisions: Ring<RecentEvent>
  readonly #allowed: Ring<RecentEvent>
  readonly #allowPerSecond: number
  #seq = 0
  #second = -1
  #sampled = 0

  constructor(opts: RecentEventsOptions = {}) {
    this.#decisions = new Ring(opts.capacity ?? 2_000)
    this.#allowed = new Ring(opts.allowCapacity ?? 500)
    this.#allowPerSecond = opts.allowPerSecond ?? 20
  }

  /** The last sequence number given out. */
  get seq(): number {
    return this.#seq
  }

  /**
   * Whether an allowed request received at `now` should be sampled. Ask before building its
   * event, so requests past the sample cost nothing.
   */
  sampleAllow(now: number): boolean {
    const second = Math.floor(now / 1000)
    // Answers do not end in arrival order: a late one from the second before counts against
    // this second's budget, rather than opening a new one.
    if (second > this.#second) {
      this.#second = second
      this.#sampled = 0
    }
    return this.#sampled++ < this.#allowPerSecond
  }

  /** Numbers and keeps an event; plain allows go to the sample ring. */
  add(event: DecisionEvent): RecentEvent {
    const e: RecentEvent = { seq: ++this.#seq, ...event }
    if (isPlainAllow(e)) this.#allowed.push(e)
    else this.#decisions.push(e)
    return e
  }

  /** Events matching `filter`, newest first. */
  query(filter: EventFilter = {}): RecentEvent[] {
    const limit = filter.limit ?? 100
    const text = filter.text?.toLowerCase()
    const wantsAllowed = !filter.actions || filter.actions.includes('allow')
    const match = (e: RecentEvent) =>
      (filter.after === undefined || e.seq > filter.after) &&
      (filter.since === undefined || e.receivedAt >= filter.since) &&
      (!filter.actions || filter.actions.includes(e.action)) &&
      (filter.rule === undefined || e.rules.includes(filter.rule)) &&
      (filter.route === undefined || e.route === filter.route) &&
      (!filter.facet || e.client[filter.facet.name] === filter.facet.value) &&
      (text === undefined || mentions(e, text))
    const out: RecentEvent[] = []
    // Both rings are newest first: merge them by sequence number.
    const a = this.#decisions.newestFirst()
    const b = wantsAllowed ? this.#allowed.newestFirst() : []
    let i = 0
    let j = 0
    while (out.length < limit && (i < a.length || j < b.length)) {
      const e = j >= b.length || (i < a.length && a[i]!.seq > b[j]!.seq) ? a[i++]! : b[j++]!
      if (filter.after !== undefined && e.seq <= filter.after) break
      if (match(e)) out.push(e)
    }
    return out
  }

  clear(): void {
    this.#decisions.clear()
    this.#allowed.clear()
  }
}

/** An allow no rule objected to (allow verdicts, such as CORS headers, do not count). */
export function isPlainAllow(e: Pick<DecisionEvent, 'action' | 'wouldHave' | 'reasons'>): boolean {
  return (
    e.action === 'allow' &&
    e.wouldHave === undefined &&
    e.reasons.every((r) => r.action === 'allow')
  )
}

function mentions(e: RecentEvent, text: string): boolean {
  if (e.path.toLowerCase().includes(text)) return true
  if (e.reasons.some((r) => r.reason.toLowerCase().includes(text) || r.rule.includes(text)))
    return true
  return CLIENT_FACETS.some((f) => e.client[f]?.toLowerCase().includes(text))
}

/** A fixed-size ring: pushing past capacity drops the oldest. */
class Ring<T> {
  readonly #items: (T | undefined)[]
  #next = 0
  #size = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new TypeError('RecentEvents: capacity must be a positive integer')
    this.#items = new Array<T | undefined>(capacity)
  }

  push(item: T): void {
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.#items.length
    if (this.#size < this.#items.length) this.#size++
  }

  newestFirst(): T[] {
    const out: T[] = []
    const n = this.#items.length
    for (let k = 1; k <= this.#size; k++) out.push(this.#items[(this.#next - k + n) % n]!)
    return out
  }

  clear(): void {
    this.#items.fill(undefined)
    this.#next = 0
    this.#size = 0
  }
}
