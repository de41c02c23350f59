/**
 * How the contract reads a query, path, header or form value as the number its schema wants:
 * only forms every backend reads as the same number (the bounds were checked against it).
 */
import { describe, expect, it } from 'vitest'
import { coerce, type Shape } from '../../src/layers/contract/shape.js'

const shape = (...types: string[]): Shape => ({
  types: new Set(types),
  items: undefined,
  props: undefined,
})

describe('contract: strings read as numbers', () => {
  it('reads an integer only in its plain form, and only when a double holds it exactly', () => {
    const int = shape('integer')
    expect(coerce('7', int)).toBe(7)
    expect(coerce('-12', int)).toBe(-12)
    expect(coerce('9007199254740991', int)).toBe(Number.MAX_SAFE_INTEGER)
    // Left as strings, so the schema's `type` refuses them.
    for (const v of ['1e3', '7.0', '1.5', '+7', '007', ' 7', '0x10', '9007199254740993', ''])
      expect(coerce(v, int), v).toBe(v)
  })

  it('reads a number in decimal or exponent form, unless parsing it loses digits', () => {
    const num = shape('number')
    expect(coerce('1.5', num)).toBe(1.5)
    expect(coerce('2.5e3', num)).toBe(2500)
    expect(coerce('0.001', num)).toBe(0.001)
    expect(coerce('123456789012345', num)).toBe(123456789012345)
    // 10000.00000000000001 is 10000 as a double but more than 10000 to an exact-decimal backend.
    expect(coerce('10000.00000000000001', num)).toBe('10000.00000000000001')
    // Doubles near 1e15 are 0.25 apart: .5 is one of them, .7 is read as .75.
    expect(coerce('1234567890123456.5', num)).toBe(1234567890123456.5)
    expect(coerce('1234567890123456.7', num)).toBe('1234567890123456.7')
    // What JavaScript itself prints for a double is read back unchanged, however long.
    expect(coerce('0.30000000000000004', num)).toBe(0.1 + 0.2)
    expect(coerce('1.5000000000000000', num)).toBe(1.5)
  })

  it('leaves a value a string when the schema allows strings', () => {
    expect(coerce('1e3', shape('string', 'integer'))).toBe('1e3')
  })
})
