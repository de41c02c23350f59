/**
 * OrderedMap: the oldest entry in O(1) for bounded caches (the memory store, the behaviour
 * layer's trackers, the limits memo, the token cache). Correctness here; its speed under
 * eviction is in `npm run bench:engine` (demo policy, every request a new client).
 */
import { describe, expect, it } from 'vitest'
import { OrderedMap } from '../../src/store/ordered-map.js'

describe('OrderedMap', () => {
  it('reports the oldest entry as entries come and go', () => {
    const m = new OrderedMap<string, number>()
    expect(m.oldest()).toBeUndefined()
    expect(m.deleteOldest()).toBe(false)
    m.set('a', 1).set('b', 2).set('c', 3)
    expect(m.oldest()).toEqual(['a', 1])
    expect(m.deleteOldest()).toBe(true)
    expect(m.oldest()).toEqual(['b', 2])
    m.delete('c')
    expect(m.oldest()).toEqual(['b', 2])
    m.delete('b')
    expect(m.oldest()).toBeUndefined()
    m.set('d', 4)
    expect(m.oldest()).toEqual(['d', 4])
  })

  it('touch moves a key to the newest end; set in place keeps its position, with the new value', () => {
    const m = new OrderedMap<string, number>([
      ['a', 1],
      ['b', 2],
    ])
    expect(m.oldest()).toEqual(['a', 1])
    m.touch('a', 10)
    expect(m.oldest()).toEqual(['b', 2])
    m.set('b', 20)
    expect(m.oldest()).toEqual(['b', 20])
    m.deleteOldest()
    expect([...m]).toEqual([['a', 10]])
  })

  it('touching the newest key again replaces its value in place; order stays exact', () => {
    const m = new OrderedMap<string, number>([['a', 1]])
    m.touch('b', 2)
    m.touch('b', 3) // already the newest: in place
    m.set('c', 4) // a plain set of a new key: now c is the newest
    m.touch('b', 5) // so b moves again
    expect([...m]).toEqual([
      ['a', 1],
      ['c', 4],
      ['b', 5],
    ])
    m.delete('b')
    m.touch('b', 6)
    expect([...m.keys()]).toEqual(['a', 'c', 'b'])
    expect(m.oldest()).toEqual(['a', 1])
  })

  it('evicts in insertion order through many deletions at the head (a bounded cache)', () => {
    const m = new OrderedMap<number, number>()
    const max = 100
    for (let i = 0; i < 10_000; i++) {
      if (m.size >= max) m.deleteOldest()
      m.set(i, i)
      expect(m.oldest()![0]).toBe(Math.max(0, i - max + 1))
    }
    expect([...m.keys()]).toEqual(Array.from({ length: max }, (_, k) => 10_000 - max + k))
    m.clear()
    expect(m.oldest()).toBeUndefined()
    m.set(1, 1)
    expect(m.oldest()).toEqual([1, 1])
  })
})
