/**
 * Durations and sizes as people write them in config files (`60s`, `1mb`), turned into plain
 * numbers (milliseconds, bytes) once, at load time. Used by `schema.ts`; nothing on the hot path
 * parses a unit string.
 * @see ../../docs/errors.md#err_config_invalid
 */
import { z } from 'zod'

const MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}
const BYTES: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

// Durations are case-sensitive on purpose: `1M` could mean a minute or a month. Sizes spell out
// their cases instead of using the `i` flag, which a JSON Schema `pattern` would drop.
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
const SIZE = /^(\d+(?:\.\d+)?)([bB]|[kKmMgG][bB])$/

/**
 * `amount × unit` computed on integers so `1.1s` is exactly 1100, not 1100.0000000000002.
 * Undefined unless the result is a whole, safe number (`0.5ms` is not).
 */
function scale(text: string, unit: number): number | undefined {
  const [whole, fraction = ''] = text.split('.')
  const divisor = 10 ** fraction.length
  const scaled = Number(whole + fraction) * unit
  if (!Number.isSafeInteger(scaled) || scaled % divisor !== 0) return undefined
  return scaled / divisor
}

/**
 * Milliseconds in a duration string such as `250ms`, `60s`, `5m`, `1h`, `1d` or `1.5s`;
 * undefined when the string is not one.
 * @example parseDuration('1.5s') // 1500
 */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s)
  return m ? scale(m[1], MS[m[2]]) : undefined
}

/**
 * Bytes in a size string such as `512b`, `64kb`, `1mb` or `2gb` (case-insensitive, 1024-based);
 * undefined when the string is not one.
 * @example parseSize('64KB') // 65536
 */
export function parseSize(s: string): number | undefined {
  const m = SIZE.exec(s)
  return m ? scale(m[1], BYTES[m[2].toLowerCase()]) : undefined
}

/**
 * A whole non-negative number as is, or a string `parse` understands. Every way of failing
 * (wrong type, negative, fractional, unknown unit, too big) gives the one message, so the error
 * is set on each check that can report. The pattern also lands in the generated JSON Schema.
 */
function unit(
  name: string,
  example: string,
  pattern: RegExp,
  parse: (s: string) => number | undefined,
) {
  const error = (issue: { readonly input?: unknown }) =>
    `expected a ${name} like "${example}", got ${JSON.stringify(issue.input) ?? String(issue.input)}`
  const text = z
    .string()
    .regex(pattern, { error, abort: true })
    .refine((s) => parse(s) !== undefined, { error })
  return z
    .union([z.int().min(0, { error }), text], { error })
    .transform((v) => (typeof v === 'number' ? v : (parse(v) as number)))
}

/**
 * A duration: milliseconds as a non-negative integer, or a string like `250ms`, `60s`, `5m`, `1h`,
 * `1d`, `1.5s`. Parses to milliseconds. Fails with `expected a duration like "60s", got "1 minute"`.
 * @example z.object({ window: duration }).parse({ window: '5m' }) // { window: 300000 }
 */
export const duration = unit('duration', '60s', DURATION, parseDuration)

/**
 * A size: bytes as a non-negative integer, or a string like `512b`, `64kb`, `1mb`, `2gb`
 * (case-insensitive, 1024-based). Parses to bytes. Fails with `expected a size like "1mb", got "lots"`.
 * @example z.object({ maxBody: size }).parse({ maxBody: '1mb' }) // { maxBody: 1048576 }
 */
export const size = unit('size', '1mb', SIZE, parseSize)
