import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogRecord } from '../../src/logs/record.js'
import { scanLogs } from '../../src/logs/scan.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-scan-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const NGINX = '203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"'
const JSON_LINE = JSON.stringify({
  event: 'access',
  receivedAt: Date.UTC(2023, 9, 10, 13, 56),
  method: 'GET',
  path: '/b',
  status: 404,
  client: { ip: '198.51.100.1' },
})

describe('scanLogs', () => {
  it('reads a file mixing both formats, counting malformed and skipped lines', async () => {
    const file = join(dir, 'mixed.log')
    await writeFile(
      file,
      [NGINX, 'junk', JSON_LINE, '{"event":"notice"}', '', '{"broken'].join('\n'),
    )
    const seen: LogRecord[] = []
    const progress: number[] = []
    const stats = await scanLogs([file], (r) => void seen.push(r), {
      onProgress: (p) => progress.push(p.lines),
    })
    expect(seen.map((r) => [r.format, r.target, r.lineNo])).toEqual([
      ['nginx', '/a', 1],
      ['bulwark', '/b', 3],
    ])
    expect(stats).toMatchObject({ lines: 6, records: 2, malformed: 2, skipped: 2 })
    expect(stats.malformedExamples).toEqual([
      { source: file, lineNo: 2, why: 'not a combined log line', text: 'junk' },
      { source: file, lineNo: 6, why: 'invalid JSON', text: '{"broken' },
    ])
    expect(stats.from).toBe(Date.UTC(2023, 9, 10, 13, 55, 36))
    expect(stats.to).toBe(Date.UTC(2023, 9, 10, 13, 56))
    expect(stats.sources[0]).toMatchObject({ bytes: expect.any(Number), lines: 6 })
    expect(progress.at(-1)).toBe(6)
  })

  it('reads .gz files and stdin, and awaits an async callback in order', async () => {
    const gz = join(dir, 'a.log.gz')
    await writeFile(gz, gzipSync(`${NGINX}\n${NGINX}\n`))
    const order: number[] = []
    const stats = await scanLogs(
      [gz, '-'],
      async (r) => {
        await new Promise((ok) => setTimeout(ok, 1))
        order.push(r.lineNo)
      },
      { stdin: Readable.from([Buffer.from(JSON_LINE + '\n')]) },
    )
    expect(order).toEqual([1, 2, 1])
    expect(stats.sources.map((s) => [s.source, s.records])).toEqual([
      [gz, 2],
      ['-', 1],
    ])
  })

  it('fails with ERR_LOG_UNREADABLE before reading anything when a file is missing or a directory', async () => {
    const good = join(dir, 'good.log')
    await writeFile(good, NGINX)
    let calls = 0
    await expect(scanLogs([good, join(dir, 'nope.log')], () => void calls++)).rejects.toMatchObject(
      {
        code: 'ERR_LOG_UNREADABLE',
        message: `${join(dir, 'nope.log')}: cannot read log (ENOENT: no such file or directory)`,
      },
    )
    await mkdir(join(dir, 'sub'))
    await expect(scanLogs([join(dir, 'sub')], () => {})).rejects.toMatchObject({
      code: 'ERR_LOG_UNREADABLE',
      message: `${join(dir, 'sub')}: cannot read log (not a file)`,
    })
    expect(calls).toBe(0)
  })

  it('reports a corrupt .gz as unreadable', async () => {
    const gz = join(dir, 'bad.log.gz')
    await writeFile(gz, 'not gzip at all')
    await expect(scanLogs([gz], () => {})).rejects.toMatchObject({ code: 'ERR_LOG_UNREADABLE' })
  })
})
