import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { duration, parseDuration, parseSize, size } from '../../src/config/units.js'

describe('duration', () => {
  test.each<[string, number]>([
    ['0ms', 0],
    ['250ms', 250],
    ['60s', 60_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.25s', 250],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['007s', 7000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
    expect(duration.parse(text)).toBe(ms)
  })

  test.each([
    '',
    '60',
    '1 minute',
    '60S',
    '1M',
    ' 60s',
    '60s ',
    '-1s',
    '+1s',
    '.5s',
    '1.s',
    '0.5ms',
    '1e3ms',
    '1w',
    '99999999999999999d',
  ])('parseDuration(%j) is undefined', (text) => expect(parseDuration(text)).toBeUndefined())

  test('takes whole non-negative numbers as ms', () => {
    expect(duration.parse(0)).toBe(0)
    expect(duration.parse(1500)).toBe(1500)
  })

  test.each<[unknown, string]>([
    ['1 minute', 'expected a duration like "60s", got "1 minute"'],
    ['0.5ms', 'expected a duration like "60s", got "0.5ms"'],
    [-1, 'expected a duration like "60s", got -1'],
    [1.5, 'expected a duration like "60s", got 1.5'],
    [true, 'expected a duration like "60s", got true'],
    [null, 'expected a duration like "60s", got null'],
    [{ s: 1 }, 'expected a duration like "60s", got {"s":1}'],
  ])('%j fails with one message', (input, message) => {
    expect(duration.safeParse(input).error?.issues).toEqual([
      expect.objectContaining({ path: [], message }),
    ])
  })
})

describe('size', () => {
  test.each<[string, number]>([
    ['0b', 0],
    ['512b', 512],
    ['512B', 512],
    ['64kb', 65_536],
    ['64KB', 65_536],
    ['64Kb', 65_536],
    ['1.5kb', 1536],
    ['1mb', 1_048_576],
    ['2gb', 2_147_483_648],
    ['2GB', 2_147_483_648],
  ])('%s is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
    expect(size.parse(text)).toBe(bytes)
  })

  test.each(['', '512', 'lots', '1 mb', '1tb', '1k', '1.5b', '-1kb', '1mib'])(
    'parseSize(%j) is undefined',
    (text) => expect(parseSize(text)).toBeUndefined(),
  )

  test('takes whole non-negative numbers as bytes', () => {
    expect(size.parse(4096)).toBe(4096)
  })

  test.each<[unknown, string]>([
    ['lots', 'expected a size like "1mb", got "lots"'],
    [-1, 'expected a size like "1mb", got -1'],
    [0.5, 'expected a size like "1mb", got 0.5'],
    [[1], 'expected a size like "1mb", got [1]'],
  ])('%j fails with one message', (input, message) => {
    expect(size.safeParse(input).error?.issues).toEqual([
      expect.objectContaining({ path: [], message }),
    ])
  })

  test('works inside other schemas, with defaults', () => {
    const Limits = z.object({ maxBody: size.default(1024), window: duration.optional() })
    expect(Limits.parse({})).toEqual({ maxBody: 1024 })
    expect(Limits.parse({ maxBody: '1kb', window: '1m' })).toEqual({
      maxBody: 1024,
      window: 60_000,
    })
  })
})
