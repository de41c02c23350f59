/**
 * The memory store: the store contract, plus what only memory owns: its bounds (`maxKeys`,
 * `maxMembers`), expiry without timers, option checks and the footprint of a million keys.
 * @see ../../src/store/memory.ts
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it, vi } from 'vitest'
import { MemoryStore } from '../../src/store/memory.js'
import type { Limit } from '../../src/store/store.js'
import { B, storeContract } from './store-contract.js'

storeContract('memory', async () => ({ store: new MemoryStore({ maxKeys: 1_000 }) }))

const G5: Limit = { algorithm: 'gcra', limit: 5, windowMs: 60_000 }
const S10: Limit = { algorithm: 'sliding-window', limit: 10, windowMs: 60_000 }
const MB = 2 ** 20

describe('MemoryStore options', () => {
  it('is bounded by default: 1,000,000 keys, 10,000 members per distinct key', () => {
    const store = new MemoryStore()
    expect([store.maxKeys, store.maxMembers]).toEqual([1_000_000, 10_000])
  })

  it('throws a TypeError naming the option when it is not a positive integer', () => {
    const bad = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]
    for (const n of bad) {
      expect(thrown(() => new MemoryStore({ maxKeys: n }))).toEqual(
        new TypeError('MemoryStore: maxKeys must be a positive integer'),
      )
      expect(thrown(() => new MemoryStore({ maxMembers: n }))).toEqual(
        new TypeError('MemoryStore: maxMembers must be a positive integer'),
      )
    }
    expect(thrown(() => new MemoryStore({ maxKeys: 1, maxMembers: 1 }))).toBeUndefined()
  })
})

describe('MemoryStore bounds', () => {
  /** Requests counted for `k` so far: a fresh key's peek counts 1. */
  const counted = (store: MemoryStore, k: string) => store.peek(k, G5, B).count - 1

  it('holds at most maxKeys, evicting the least recently written key first', () => {
    const store = new MemoryStore({ maxKeys: 3 })
    for (const k of ['a', 'b', 'c']) store.consume(k, G5, B)
    store.consume('a', G5, B) // rewritten: 'b' is now the oldest write
    store.peek('b', G5, B) // reads do not count as writes
    store.consume('d', G5, B)
    expect(store.size).toBe(3)
    expect(['a', 'b', 'c', 'd'].map((k) => counted(store, k))).toEqual([2, 0, 1, 1])
    store.consume('e', G5, B)
    expect(['a', 'c', 'd', 'e'].map((k) => counted(store, k))).toEqual([2, 0, 1, 1])
  })

  it('counts every kind of state against one maxKeys', () => {
    const store = new MemoryStore({ maxKeys: 4 })
    for (let i = 0; i < 50; i++) {
      store.consume(`g${i}`, G5, B)
      store.consume(`w${i}`, S10, B)
      store.addDistinct(`d${i}`, 'm', 60_000, B)
      store.flag(`f${i}`, 'v', 60_000, B)
      expect(store.size).toBeLessThanOrEqual(4)
    }
    expect(store.size).toBe(4)
    // Each write evicted the oldest key of its own kind: the newest of each kind is left.
    expect(store.flagged(['f48', 'f49'], B)).toEqual([undefined, 'v'])
    expect([counted(store, 'g48'), counted(store, 'g49')]).toEqual([0, 1])
    expect(store.addDistinct('d49', 'n', 60_000, B)).toBe(2)
  })

  it('remembers at most maxMembers members per distinct key and window', () => {
    const store = new MemoryStore({ maxMembers: 5 })
    const seen = Array.from({ length: 8 }, (_, i) => store.addDistinct('k', `m${i}`, 60_000, B))
    expect(seen).toEqual([1, 2, 3, 4, 5, 5, 5, 5])
  })

  it('sweeps expired entries on later writes, with no timers', () => {
    vi.useFakeTimers()
    try {
      const store = new MemoryStore()
      for (let i = 0; i < 10; i++) {
        store.consume(`g${i}`, G5, B) // TAT B + 12 s
        store.consume(`w${i}`, S10, B) // counts until B + 2 windows
        store.addDistinct(`d${i}`, 'm', 60_000, B)
        store.flag(`f${i}`, 'v', 1_000, B)
      }
      expect(store.size).toBe(40)
      const later = B + 120_000
      for (let i = 0; i < 5; i++) {
        store.consume(`g-new${i}`, G5, later)
        store.consume(`w-new${i}`, S10, later)
        store.addDistinct(`d-new${i}`, 'm', 60_000, later)
        store.flag(`f-new${i}`, 'v', 1_000, later)
      }
      expect(store.size).toBe(20)
      // A flag read after its expiry is dropped too.
      expect(store.flagged(['f-new0'], later + 1_000)).toEqual([undefined])
      expect(store.size).toBe(19)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps entries that have not expired when it sweeps', () => {
    const store = new MemoryStore()
    for (let i = 0; i < 10; i++) store.consume(`g${i}`, G5, B)
    for (let i = 0; i < 10; i++) store.consume(`h${i}`, G5, B + 11_999)
    expect(store.size).toBe(20)
    expect(counted(store, 'g0')).toBe(1)
  })
})

describe('MemoryStore footprint', () => {
  const key = (i: number) => `limits.login-per-account|account:user${100_000 + i}`

  it('tracks 1,000,000 keys in under 300 MB and never more than maxKeys', () => {
    const gc = collector()
    gc()
    const before = process.memoryUsage().heapUsed
    const store = new MemoryStore()
    // A million accounts within one second (no entry expires meanwhile).
    for (let i = 0; i < 1_000_000; i++) store.consume(key(i), G5, B + (i >> 10))
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(store.size).toBe(1_000_000)
    expect(grown / MB).toBeLessThan(300)
    // The default bound: more keys replace the oldest instead of growing the store.
    for (let i = 1_000_000; i < 1_001_000; i++) store.consume(key(i), G5, B + 1_000)
    expect(store.size).toBe(1_000_000)
  })

  it('holds exactly maxKeys = 100,000 after 1,000,000 inserts, the newest ones', () => {
    const store = new MemoryStore({ maxKeys: 100_000 })
    for (let i = 0; i < 1_000_000; i++) store.consume(key(i), G5, B + (i >> 10))
    expect(store.size).toBe(100_000)
    const at = B + 1_000
    expect(store.peek(key(999_999), G5, at).count).toBe(2)
    expect(store.peek(key(900_000), G5, at).count).toBe(2)
    expect(store.peek(key(899_999), G5, at).count).toBe(1)
  })
})

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

/**
 * `gc()` without `--expose-gc` on the command line. When even that fails, heap growth includes
 * garbage, which only makes the bound stricter.
 */
function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) return g
  try {
    v8.setFlagsFromString('--expose-gc')
    return vm.runInNewContext('gc') as () => void
  } catch {
    return () => {}
  }
}
