import { describe, expect, it } from 'vitest'
import { namedInConnection } from '../../src/proxy/forward.js'

describe('namedInConnection', () => {
  it('names no header for close and keep-alive, in any case or combination', () => {
    expect(namedInConnection('keep-alive', undefined)).toBeUndefined()
    expect(namedInConnection('Close', undefined)).toBeUndefined()
    expect(namedInConnection('close, Keep-Alive', undefined)).toBeUndefined()
  })

  it('collects the other names, lower case and trimmed, across several headers', () => {
    const first = namedInConnection('Keep-Alive, X-Hop ,', undefined)
    expect([...first!]).toEqual(['x-hop'])
    const both = namedInConnection('cookie', first)
    expect(both).toBe(first)
    expect([...both!].sort()).toEqual(['cookie', 'x-hop'])
  })
})
