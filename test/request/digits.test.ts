import { describe, expect, it } from 'vitest'
import { digitsValue } from '../../src/request/digits.js'

describe('digitsValue', () => {
  it('reads 1 to 15 ASCII digits, and nothing else', () => {
    expect(digitsValue('0')).toBe(0)
    expect(digitsValue('0042')).toBe(42)
    expect(digitsValue('999999999999999')).toBe(999_999_999_999_999)
    for (const bad of ['', '1000000000000000', '-1', '+1', '1.5', '1e3', ' 1', '1 ', '٣', '0x1f'])
      expect(digitsValue(bad), JSON.stringify(bad)).toBe(-1)
  })
})
