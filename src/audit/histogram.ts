/**
 * A fixed-size histogram for percentiles over a stream: integers below 64 are counted exactly,
 * larger values in 32 log-linear buckets per power of two (at most 1/32 relative error). It never
 * keeps the values, so its size does not grow with the log (≤ 6 kB, 256 B while values stay
 * small). Used by the audit for per-identity request rates.
 */

const EXACT = 64
const SUB = 32
const LOG_MIN = 6 // 2^6 = EXACT
const LOG_MAX = 53

/**
 * @example
 * const h = new Histogram()
 * for (const v of [1, 2, 2, 3, 40]) h.add(v)
 * h.quantile(0.5) // 2
 */
export class Histogram {
  #exact = new Uint32Array(EXACT)
  #log: Uint32Array | undefined
  count = 0
  min = Infinity
  max = -Infinity

  /** Adds a non-negative value `n` times. Negative and non-finite values are ignored. */
  add(v: number, n = 1): void {
    if (!(v >= 0) || !Number.isFinite(v)) return
    if (v < EXACT) this.#exact[Math.floor(v)]! += n
    else (this.#log ??= new Uint32Array((LOG_MAX - LOG_MIN) * SUB))[logIndex(v)]! += n
    this.count += n
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  /**
   * The nearest-rank `q` quantile (0 < q ≤ 1): exact for integers below 64; above, the upper
   * bound of the value's bucket (never above the maximum), so a limit derived from it errs high.
   * 0 when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return 0
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let i = 0; i < EXACT; i++) {
      seen += this.#exact[i]!
      if (seen >= rank) return Math.max(this.min, Math.min(this.max, i))
    }
    const log = this.#log!
    for (let i = 0; i < log.length; i++) {
      seen += log[i]!
      if (seen >= rank) return Math.max(this.min, Math.min(this.max, upperBound(i)))
    }
    return this.max
  }

  /** Adds every value of `other` to this one. */
  merge(other: Histogram): void {
    if (other.count === 0) return
    for (let i = 0; i < EXACT; i++) this.#exact[i]! += other.#exact[i]!
    if (other.#log) {
      const log = (this.#log ??= new Uint32Array(other.#log.length))
      for (let i = 0; i < log.length; i++) log[i]! += other.#log[i]!
    }
    this.count += other.count
    this.min = Math.min(this.min, other.min)
    this.max = Math.max(this.max, other.max)
  }
}

function logIndex(v: number): number {
  const e = Math.min(LOG_MAX - 1, Math.floor(Math.log2(v)))
  const sub = Math.min(SUB - 1, Math.floor((v / 2 ** e - 1) * SUB))
  return (e - LOG_MIN) * SUB + sub
}

function upperBound(i: number): number {
  const e = LOG_MIN + Math.floor(i / SUB)
  const sub = i % SUB
  // The largest integer inside [2^e (1 + sub/32), 2^e (1 + (sub+1)/32)).
  return Math.ceil(2 ** e * (1 + (sub + 1) / SUB)) - 1
}
