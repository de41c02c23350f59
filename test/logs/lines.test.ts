import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { lineBatches } from '../../src/logs/lines.js'

async function lines(chunks: (string | Buffer)[], max?: number): Promise<string[]> {
  const stream = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))
  const out: string[] = []
  for await (const batch of lineBatches(stream, max)) out.push(...batch)
  return out
}

describe('lineBatches', () => {
  it('splits lines across chunk boundaries, with or without a final newline', async () => {
    expect(await lines(['a\nb', 'c\nd', '\n', 'e'])).toEqual(['a', 'bc', 'd', 'e'])
    expect(await lines(['a\n', 'b\n'])).toEqual(['a', 'b'])
    expect(await lines(['x', 'y', 'z'])).toEqual(['xyz'])
    expect(await lines([])).toEqual([])
  })

  it('drops \\r of CRLF line ends and keeps empty lines', async () => {
    expect(await lines(['a\r\n\r\nb\r', '\nc\r\n'])).toEqual(['a', '', 'b', 'c'])
  })

  it('never cuts a multi-byte character split between chunks', async () => {
    const euro = Buffer.from('€uro\n')
    expect(await lines([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)])).toEqual([
      '€uro',
    ])
  })

  it('cuts a line longer than the cap and drops the rest of it, in bounded memory', async () => {
    const long = 'x'.repeat(50)
    expect(await lines([long.slice(0, 20), long.slice(20), '\nnext\n'], 10)).toEqual([
      'x'.repeat(10),
      'next',
    ])
    expect(await lines([`${long}\nok\n`], 10)).toEqual(['x'.repeat(10), 'ok'])
    expect(await lines([long], 10)).toEqual(['x'.repeat(10)])
  })
})
