/**
 * Verified tokens, so a hot token costs one Map lookup instead of a signature check. Bounded
 * (oldest written evicted first, like the memory store) and never serving an entry past its
 * expiry, which the verifier sets to min(`exp`, now + `cache.maxAge`).
 */
import { OrderedMap } from '../../store/ordered-map.js'

interface Entry<V> {
  readonly value: V
  readonly expiresAt: number
}

/**
 * @example
 * const cache = new TokenCache<Claims>(10_000)
 * cache.set(token, claims, exp * 1000)
 * cache.get(token, clock.now()) // claims, until exp
 */
export class TokenCache<V> {
  readonly maxEntries: number
  readonly #map = new OrderedMap<string, Entry<V>>()

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0)
      throw new TypeError('TokenCache: maxEntries must be a non-negative integer')
    this.maxEntries = maxEntries
  }

  get size(): number {
    return this.#map.size
  }

  get(key: string, now: number): V | undefined {
    const e = this.#map.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt > now) return e.value
    this.#map.delete(key)
    return undefined
  }

  /** Keeps `value` until `expiresAt` (ms); does nothing when that is not in the future. */
  set(key: string, value: V, expiresAt: number, now: number): void {
    if (this.maxEntries === 0 || expiresAt <= now) return
    if (this.#map.has(key)) this.#map.delete(key)
    else if (this.#map.size >= this.maxEntries) {
      // The oldest entry goes first; if it has already expired, so much the better.
      this.#map.deleteOldest()
    }
    this.#map.set(key, { value, expiresAt })
  }

  delete(key: string): void {
    this.#map.delete(key)
  }

  clear(): void {
    this.#map.clear()
  }
}
