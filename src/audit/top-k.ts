/**
 * The heaviest keys of a stream in fixed space (Metwally's Space-Saving): `capacity` counters;
 * an unseen key takes over the smallest one. A key's count may be over-estimated by at most its
 * `error`, and any key with more than total/capacity occurrences is guaranteed to be listed.
 * Used for the top identities of an endpoint (audit) and of a rule (replay).
 * @see https://www.cs.ucsb.edu/sites/default/files/documents/2005-23.pdf
 */
import { detach } from '../logs/detach.js'

/** One counted key. */
export interface TopEntry<T> {
  readonly key: string
  count: number
  /** Over-estimation bound: the true count is in [count - error, count]. */
  error: number
  /** Caller's payload, reset when the counter is taken over by another key. */
  data: T | undefined
}

/**
 * @example
 * const top = new TopK(10)
 * top.add('203.0.113.9')
 * top.top(3) // [{ key: '203.0.113.9', count: 1, error: 0, data: undefined }]
 */
export class TopK<T = undefined> {
  readonly capacity: number
  readonly #entries: TopEntry<T>[] = []
  readonly #slots = new Map<string, number>()
  /** No entry's count is below this; entries at it are the ones to take over. */
  #floor = 0
  #cursor = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new TypeError('TopK: capacity must be a positive integer')
    this.capacity = capacity
  }

  /** Counts `key` `n` times and returns its entry (to update `data`). */
  add(key: string, n = 1): TopEntry<T> {
    const slot = this.#slots.get(key)
    if (slot !== undefined) {
      const e = this.#entries[slot]!
      e.count += n
      return e
    }
    if (this.#entries.length < this.capacity) {
      const fresh: TopEntry<T> = { key: detach(key), count: n, error: 0, data: undefined }
      this.#slots.set(fresh.key, this.#entries.length)
      this.#entries.push(fresh)
      return fresh
    }
    const i = this.#smallest()
    const old = this.#entries[i]!
    this.#slots.delete(old.key)
    const taken: TopEntry<T> = {
      key: detach(key),
      count: old.count + n,
      error: old.count,
      data: undefined,
    }
    this.#entries[i] = taken
    this.#slots.set(taken.key, i)
    return taken
  }

  /** The `k` largest counts, largest first (ties: fewer error first, then key). */
  top(k = this.capacity): TopEntry<T>[] {
    return [...this.#entries]
      .sort((a, b) => b.count - a.count || a.error - b.error || (a.key < b.key ? -1 : 1))
      .slice(0, k)
  }

  get size(): number {
    return this.#entries.length
  }

  /**
   * The slot of an entry with the smallest count. Counts only grow, so the floor is a lower
   * bound; many light keys tie at it, so the search from the last position is short (amortised
   * O(1) instead of a scan of every counter per unseen key).
   */
  #smallest(): number {
    const entries = this.#entries
    const n = entries.length
    for (;;) {
      for (let k = 0; k < n; k++) {
        const i = (this.#cursor + k) % n
        if (entries[i]!.count <= this.#floor) {
          this.#cursor = (i + 1) % n
          return i
        }
      }
      let min = Infinity
      for (const e of entries) if (e.count < min) min = e.count
      this.#floor = min
    }
  }
}
