/**
 * Memoised store keys. A request's limit and risk keys are built from its facet values
 * (`ip-ceiling|203.0.113.7`); the same client sends the same values request after request.
 * Building each key once and handing out the same string means no concatenation per request
 * and a hash computed once: V8 caches a string's hash on the string, and every Map lookup after
 * the first (the memo of blocked keys, the store) reuses it.
 *
 * A miss must stay cheap too — a bot rotating its IP on every request misses every time — so
 * the memo is one flat Map keyed by the first part; keys of two parts keep a short list of
 * second parts per first part (an IP meets a handful of routes); keys of more parts are built
 * every time. Bounded: at `max` first parts the memo starts over.
 */
export class KeyCache<V> {
  readonly #make: (parts: readonly string[]) => V
  readonly #max: number
  #one = new Map<string, V>()
  #two = new Map<string, Pairs<V>>()

  /** `make` builds the value for a list of parts the memo has not seen (or has forgotten). */
  constructor(make: (parts: readonly string[]) => V, max = 10_000) {
    this.#make = make
    this.#max = max
  }

  /** First parts held now. */
  get size(): number {
    return this.#one.size + this.#two.size
  }

  /** The value for one part (no array to make): for caches whose keys have one part. */
  one(part: string): V {
    const hit = this.#one.get(part)
    if (hit !== undefined) return hit
    if (this.#one.size >= this.#max) this.#one = new Map()
    const made = this.#make([part])
    this.#one.set(part, made)
    return made
  }

  /** The value for `parts`. */
  get(parts: readonly string[]): V {
    if (parts.length === 1) return this.one(parts[0]!)
    if (parts.length !== 2) return this.#make(parts)
    return this.two(parts[0]!, parts[1]!, parts)
  }

  /** The value for two parts (no array to make unless the value must be built). */
  two(first: string, second: string, parts?: readonly string[]): V {
    let pairs = this.#two.get(first)
    if (pairs !== undefined) {
      for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === second) return pairs[i + 1] as V
    } else {
      if (this.#two.size >= this.#max) this.#two = new Map()
      this.#two.set(first, (pairs = []))
    }
    const made = this.#make(parts ?? [first, second])
    if (pairs.length < 2 * PAIRS) pairs.push(second, made)
    return made
  }
}

/** Second parts and their values, flat: `[second, value, second, value, …]`. */
type Pairs<V> = (string | V)[]
/** Most second parts remembered per first part; beyond, keys are built every time. */
const PAIRS = 8
