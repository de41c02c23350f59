import { describe, expect, it } from 'vitest'
import { requestId } from '../../src/request/request-id.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('request ids', () => {
  it('are random version-4 UUIDs, unique across batches', () => {
    const seen = new Set<string>()
    const variants = new Set<string>()
    for (let i = 0; i < 5_000; i++) {
      const id = requestId()
      expect(id).toMatch(UUID_V4)
      seen.add(id)
      variants.add(id[19]!)
    }
    expect(seen.size).toBe(5_000)
    // Every variant digit turns up: the bits come from the random bytes, not a constant.
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b'])
  })

  it('draw every hex digit at every random position (no byte pair written twice or skipped)', () => {
    const digits = Array.from({ length: 36 }, () => new Set<string>())
    for (let i = 0; i < 3_000; i++) {
      const id = requestId()
      for (let k = 0; k < 36; k++) digits[k]!.add(id[k]!)
    }
    for (let k = 0; k < 36; k++) {
      const expected = [8, 13, 18, 23].includes(k) ? 1 : k === 14 ? 1 : k === 19 ? 4 : 16
      expect(digits[k]!.size, `position ${k}`).toBe(expected)
    }
  })
})
