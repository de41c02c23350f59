/**
 * KeyCache: memoised composite store keys — the same parts give back the very same string,
 * different parts never share one, and the memo is bounded.
 * @see ../../src/store/key-cache.ts
 */
import { describe, expect, it } from 'vitest'
import { KeyCache } from '../../src/store/key-cache.js'

describe('KeyCache', () => {
  it('builds a key once per distinct list of parts and hands back the same one after', () => {
    let built = 0
    const keys = new KeyCache((parts) => {
      built++
      return `rule|${parts.join('|')}`
    })
    const a = keys.get(['203.0.113.7', '/api/login'])
    // A fresh string with the same text (as a request parser would make) finds the memo.
    const b = keys.get([['203.0.113', '7'].join('.'), '/api/login'])
    expect(a).toBe('rule|203.0.113.7|/api/login')
    expect(b).toBe(a)
    expect(built).toBe(1)
    expect(keys.get(['203.0.113.8', '/api/login'])).toBe('rule|203.0.113.8|/api/login')
    expect(keys.get(['203.0.113.7', '/api/cart'])).toBe('rule|203.0.113.7|/api/cart')
    expect(built).toBe(3)
    // Counted by first part: two addresses.
    expect(keys.size).toBe(2)
  })

  it('keeps parts apart: values that would join to the same text are different keys', () => {
    const keys = new KeyCache((parts) => ({ parts: [...parts] }))
    const x = keys.get(['a|b', 'c'])
    const y = keys.get(['a', 'b|c'])
    expect(x).not.toBe(y)
    expect(x.parts).toEqual(['a|b', 'c'])
    expect(y.parts).toEqual(['a', 'b|c'])
  })

  it('one(part) is get([part]) without the array', () => {
    const keys = new KeyCache(([v]) => `flag:ip:${v}`)
    const viaOne = keys.one('198.51.100.1')
    expect(viaOne).toBe('flag:ip:198.51.100.1')
    expect(keys.get(['198.51.100.1'])).toBe(viaOne)
    expect(keys.size).toBe(1)
  })

  it('is bounded: at max entries it starts over, and still answers correctly', () => {
    let built = 0
    const keys = new KeyCache((parts) => {
      built++
      return parts.join('|')
    }, 100)
    for (let i = 0; i < 1_000; i++) expect(keys.get([`k${i}`, 'x'])).toBe(`k${i}|x`)
    expect(keys.size).toBeLessThanOrEqual(100)
    expect(built).toBe(1_000)
    // Recent keys are still memoised after the reset; old ones are built again.
    keys.get(['k999', 'x'])
    expect(built).toBe(1_000)
    keys.get(['k0', 'x'])
    expect(built).toBe(1_001)
    const singles = new KeyCache(([v]) => `one:${v}`, 100)
    for (let i = 0; i < 300; i++) expect(singles.one(`single${i}`)).toBe(`one:single${i}`)
    expect(singles.size).toBeLessThanOrEqual(100)
  })

  it('answers keys of any shape correctly, memoised or not', () => {
    let built = 0
    const keys = new KeyCache((parts) => {
      built++
      return parts.join('|')
    })
    // Three parts are built every time (no memo), and are right.
    expect(keys.get(['a', 'b', 'c'])).toBe('a|b|c')
    expect(keys.get(['a', 'b', 'c'])).toBe('a|b|c')
    expect(built).toBe(2)
    // One first part with many second parts: the first few are remembered, the rest are built.
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 20; i++) expect(keys.get(['ip', `route${i}`])).toBe(`ip|route${i}`)
    expect(built).toBeGreaterThan(2 + 20)
    expect(built).toBeLessThan(2 + 40)
  })
})
