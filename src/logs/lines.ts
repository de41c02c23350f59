/**
 * Splits a byte stream into lines, one batch per chunk read: one decode and one `split` per
 * chunk, no event or promise per line; ASCII chunks (most logs) are decoded as latin1, several
 * times cheaper than UTF-8. bench/logs.ts measures it against node:readline (1.2–3× fewer CPU
 * seconds per line). Unlike readline, memory stays bounded whatever the input: a line longer
 * than `maxLineBytes` is cut there (the rest of it is dropped) instead of growing without end.
 * Called by `scanLogs`.
 */
import { isAscii } from 'node:buffer'
import type { Readable } from 'node:stream'

const NL = 0x0a

/** Longest line kept whole, by default: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20

/**
 * Yields the stream's lines in batches (the lines completed by each chunk), without their `\n`
 * or `\r\n`. A final line without a newline is yielded too. UTF-8 is split only at `\n`, which
 * never occurs inside a multi-byte sequence, so no character is cut in two.
 * @example
 * for await (const batch of lineBatches(createReadStream('access.log')))
 *   for (const line of batch) count++
 */
export async function* lineBatches(
  stream: Readable,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<string[]> {
  let carry: Buffer[] = []
  let carried = 0
  /** Inside an over-long line: bytes up to the next newline are dropped. */
  let dropping = false
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0
    let pending: string | undefined
    if (carried > 0 || dropping) {
      // The line carried from earlier chunks ends at the first newline of this one.
      const first = chunk.indexOf(NL)
      if (first < 0) {
        if (!dropping) [carried, dropping] = keep(carry, carried, chunk, maxLineBytes)
        continue
      }
      if (!dropping) keep(carry, carried, chunk.subarray(0, first), maxLineBytes)
      pending = decode(Buffer.concat(carry).subarray(0, maxLineBytes))
      carry = []
      carried = 0
      dropping = false
      start = first + 1
    }
    const last = chunk.lastIndexOf(NL)
    const lines = last >= start ? decode(chunk.subarray(start, last)).split('\n') : []
    if (pending !== undefined) lines.unshift(pending)
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!
      if (l.length > maxLineBytes) lines[i] = l.slice(0, maxLineBytes)
      else if (l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1)
    }
    if (lines.length > 0) yield lines
    const rest = chunk.subarray(Math.max(start, last + 1))
    if (rest.length > 0) [carried, dropping] = keep(carry, 0, rest, maxLineBytes)
  }
  if (carried > 0) {
    const l = decode(Buffer.concat(carry).subarray(0, maxLineBytes))
    yield [l.charCodeAt(l.length - 1) === 13 ? l.slice(0, -1) : l]
  }
}

/** ASCII (most logs) is decoded as latin1: the same text, and much cheaper than UTF-8. */
function decode(b: Buffer): string {
  return isAscii(b) ? b.toString('latin1') : b.toString('utf8')
}

/** Appends `bytes` to the pending line up to the cap; returns the new length and whether it overflowed. */
function keep(carry: Buffer[], carried: number, bytes: Buffer, max: number): [number, boolean] {
  const room = max - carried
  if (bytes.length <= room) {
    // A copy: the stream may reuse its chunk, and a small tail must not pin a large one.
    carry.push(Buffer.from(bytes))
    return [carried + bytes.length, false]
  }
  if (room > 0) carry.push(Buffer.from(bytes.subarray(0, room)))
  return [max, true]
}
