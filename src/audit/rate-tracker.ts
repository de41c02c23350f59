/**
 * Per-identity request rates over a stream, in bounded memory. For each identity it keeps one
 * counter per histogram it feeds (one per endpoint, plus the all-routes one) holding the count
 * of its latest minute; when a later minute starts, the count becomes one sample of the
 * {@link Histogram} ("requests per identity per active minute"). At most `maxActive`
 * identities are kept: when the table is full, the 1/16 seen longest ago are closed (their
 * open counts become samples) and dropped. So memory is capped whatever the log's size.
 *
 * Logs are nearly in time order; a record up to one minute late is counted in the current
 * minute. An identity closed while still active may have a minute split in two samples
 * (under-estimating its rate); `evicted` says how often it happened. Closing identities only
 * when the table is full, rather than sweeping idle ones every minute, measured twice as fast,
 * and the samples are the same.
 */
import { detach } from '../logs/detach.js'
import type { Histogram } from './histogram.js'

interface Counter {
  readonly into: Histogram
  minute: number
  count: number
}

interface Active {
  /** The latest minute the identity was seen in. */
  minute: number
  /**
   * One counter per histogram (endpoint) fed. Most identities feed two or three, so a list
   * searched in order costs less than a Map per identity; past {@link LIST_MAX}, a Map.
   */
  list: Counter[]
  map: Map<Histogram, Counter> | undefined
}

const LIST_MAX = 8

/**
 * @example
 * const t = new RateTracker(100_000)
 * t.add(record.ip, Math.floor(record.time / 60_000), endpoint.ipRate, allRoutes)
 * t.flush() // at the end: every open minute becomes a sample
 */
export class RateTracker {
  readonly maxActive: number
  /** Identities closed early because `maxActive` was reached. */
  evicted = 0
  /** Insertion order is the order identities were last seen in a new minute: stalest first. */
  readonly #active = new Map<string, Active>()

  constructor(maxActive: number) {
    if (!Number.isInteger(maxActive) || maxActive < 1)
      throw new TypeError('RateTracker: maxActive must be a positive integer')
    this.maxActive = maxActive
  }

  /** Counts one request of `identity` in `minute` into each histogram given. */
  add(identity: string, minute: number, a: Histogram, b?: Histogram): void {
    let id = this.#active.get(identity)
    if (id === undefined) {
      if (this.#active.size >= this.maxActive) this.#evictStalest(Math.ceil(this.maxActive / 16))
      id = { minute, list: [], map: undefined }
      this.#active.set(detach(identity), id)
    } else if (minute > id.minute) {
      id.minute = minute
      // Move to the end: the map stays ordered by when identities were last seen.
      this.#active.delete(identity)
      this.#active.set(identity, id)
    }
    count(id, a, minute)
    if (b !== undefined) count(id, b, minute)
  }

  /** Closes every open counter (end of the log). */
  flush(): void {
    for (const id of this.#active.values()) close(id)
    this.#active.clear()
  }

  /** Identities currently open. */
  get size(): number {
    return this.#active.size
  }

  /**
   * Closes the `n` stalest identities. In batches: a Map keeps deleted slots at its front until
   * it is rebuilt, so finding the first live entry once per insert would cost O(size) each time.
   */
  #evictStalest(n: number): void {
    for (const [key, id] of this.#active) {
      if (n-- <= 0) break
      close(id)
      this.#active.delete(key)
      this.evicted++
    }
  }
}

function count(id: Active, into: Histogram, minute: number): void {
  let c: Counter | undefined
  if (id.map !== undefined) c = id.map.get(into)
  else
    for (const x of id.list)
      if (x.into === into) {
        c = x
        break
      }
  if (c === undefined) {
    c = { into, minute, count: 1 }
    if (id.map !== undefined) id.map.set(into, c)
    else if (id.list.push(c) > LIST_MAX) {
      id.map = new Map(id.list.map((x) => [x.into, x]))
      id.list = []
    }
  } else if (minute === c.minute || minute === c.minute - 1) c.count++
  else {
    into.add(c.count)
    c.minute = minute
    c.count = 1
  }
}

function close(id: Active): void {
  for (const c of id.map?.values() ?? id.list) c.into.add(c.count)
}
