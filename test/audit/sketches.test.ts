import { describe, expect, it } from 'vitest'
import { DistinctCounter } from '../../src/audit/distinct.js'
import { Histogram } from '../../src/audit/histogram.js'
import { RateTracker } from '../../src/audit/rate-tracker.js'
import { TopK } from '../../src/audit/top-k.js'

/** Nearest-rank percentile of sorted values: what Histogram.quantile estimates. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!
}

function seeded(seed: number) {
  let a = seed
  return () => {
    a = (a * 1103515245 + 12345) % 2 ** 31
    return a / 2 ** 31
  }
}

describe('Histogram', () => {
  it('gives exact percentiles for integers below 64', () => {
    const h = new Histogram()
    const values = [1, 1, 2, 3, 3, 3, 5, 8, 13, 21, 34, 55, 63, 4, 4]
    for (const v of values) h.add(v)
    const sorted = [...values].sort((a, b) => a - b)
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 1]) expect(h.quantile(q)).toBe(exact(sorted, q))
    expect([h.count, h.min, h.max]).toEqual([15, 1, 63])
  })

  it('stays within 1/32 of the exact percentile above, and never exceeds the maximum', () => {
    const rnd = seeded(42)
    for (const scale of [100, 5_000, 1e6]) {
      const h = new Histogram()
      const values: number[] = []
      for (let i = 0; i < 2000; i++) {
        const v = Math.floor(rnd() ** 3 * scale)
        values.push(v)
        h.add(v)
      }
      values.sort((a, b) => a - b)
      for (const q of [0.5, 0.9, 0.99, 0.999]) {
        const want = exact(values, q)
        const got = h.quantile(q)
        expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(1, want / 32))
        expect(got).toBeGreaterThanOrEqual(want)
      }
      expect(h.quantile(1)).toBe(values.at(-1))
    }
  })

  it('merges, ignores junk and reads 0 when empty', () => {
    const a = new Histogram()
    const b = new Histogram()
    expect(a.quantile(0.5)).toBe(0)
    a.add(1)
    a.add(-1)
    a.add(NaN)
    b.add(1000, 3)
    a.merge(b)
    expect([a.count, a.quantile(0.5), a.quantile(0.25)]).toEqual([4, 1000, 1])
  })
})

describe('DistinctCounter', () => {
  it('counts distinct strings within a few percent', () => {
    for (const n of [1, 10, 1000, 50_000]) {
      const d = new DistinctCounter()
      for (let i = 0; i < n; i++) {
        d.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
        d.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
      }
      expect(Math.abs(d.estimate() - n)).toBeLessThanOrEqual(Math.max(1, n * 0.05))
    }
  })
})

describe('TopK', () => {
  it('finds the heavy hitters among many light keys', () => {
    // Space-Saving lists every key above total/capacity (11,500/40 ≈ 288) above the light ones.
    const top = new TopK(40)
    for (let i = 0; i < 10_000; i++) {
      top.add(`light${i}`)
      if (i % 10 === 0) top.add('heavy')
      if (i % 20 === 0) top.add('second')
    }
    const [first, second] = top.top(2)
    expect(first!.key).toBe('heavy')
    expect(first!.count - first!.error).toBeLessThanOrEqual(1000)
    expect(first!.count).toBeGreaterThanOrEqual(1000)
    expect(second!.key).toBe('second')
    expect(top.size).toBe(40)
  })

  it('is exact while under capacity', () => {
    const top = new TopK(4)
    for (const k of ['a', 'b', 'a', 'c', 'a', 'b']) top.add(k)
    expect(top.top().map((e) => [e.key, e.count, e.error])).toEqual([
      ['a', 3, 0],
      ['b', 2, 0],
      ['c', 1, 0],
    ])
    expect(() => new TopK(0)).toThrow(TypeError)
  })
})

describe('RateTracker', () => {
  it('turns each identity-minute into one sample of requests', () => {
    const h = new Histogram()
    const t = new RateTracker(100)
    // a: 3 in minute 0, 1 in minute 5; b: 2 in minute 1 (the second one logged late, in minute 0).
    for (const [k, m] of [
      ['a', 0],
      ['a', 0],
      ['b', 1],
      ['a', 0],
      ['b', 0],
      ['a', 5],
    ] as const)
      t.add(k, m, h)
    t.flush()
    expect([h.count, h.quantile(0.01), h.quantile(0.5), h.quantile(1)]).toEqual([3, 1, 2, 3])
  })

  it('closes the identities seen longest ago when full', () => {
    const h = new Histogram()
    const t = new RateTracker(3)
    for (let i = 0; i < 3; i++) t.add(`ip${i}`, 0, h)
    t.add('ip0', 1, h) // ip0 is seen again: ip1 is now the stalest
    t.add('ip3', 1, h)
    expect([t.size, t.evicted, h.count]).toEqual([3, 1, 2]) // ip0's minute 0, ip1's
    t.add('ip1', 2, h)
    expect([t.size, t.evicted]).toEqual([3, 2]) // ip2 went
    t.flush()
    expect([t.size, h.count]).toEqual([0, 6])
  })
})
