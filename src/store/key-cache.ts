/**
 * Memoised store keys. A request's limit and risk keys are built from its facet values
 * (`ip-ceiling|203.0.113.7`); the same client sends the same values request after request.
 * Building each key once and handing out the same string means no concatenation per request
 * and a hash computed once: V8 caches a string's hash on the string, and every Map lookup after
 * the first (the memo of blocked keys, the store) reuses it.
 *
 * Bounded: when `max` keys are held the memo starts over (a flood of distinct values costs one
 * Map insert each, and memory stays flat).
 */
export class KeyCache<V> {
  readonly #make: (parts: readonly string[]) => V
  readonly #max: number
  #root = new Map<string, unknown>()
  #size = 0

  /** `make` builds the value for a list of parts the memo has not seen (or has forgotten). */
  constructor(make: (parts: readonly string[]) => V, max = 10_000) {
    this.#make = make
    this.#max = max
  }

  /** Entries held now. */
  get size(): number {
    return this.#size
  }

  /** The value for one part (no array to make): for caches whose keys have one part. */
  one(part: string): V {
    const hit = this.#root.get(part) as V | undefined
    if (hit !== undefined) return hit
    if (this.#size >= this.#max) {
      this.#root = new Map()
      this.#size = 0
    }
    const made = this.#make([part])
    this.#root.set(part, made)
    this.#size++
    return made
  }

  /** The value for `parts`. Every call of one cache must pass the same number of parts. */
  get(parts: readonly string[]): V {
    let at = this.#root
    const last = parts.length - 1
    for (let i = 0; i < last; i++) {
      let next = at.get(parts[i]!) as Map<string, unknown> | undefined
      if (next === undefined) at.set(parts[i]!, (next = new Map()))
      at = next
    }
    const hit = at.get(parts[last]!) as V | undefined
    if (hit !== undefined) return hit
    if (this.#size >= this.#max) {
      this.#root = new Map()
      this.#size = 0
      return this.get(parts)
    }
    const made = this.#make(parts)
    at.set(parts[last]!, made)
    this.#size++
    return made
  }
}
