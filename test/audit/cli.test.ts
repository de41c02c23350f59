/**
 * `bulwark audit`: exit codes and output, run in-process through the command function the CLI
 * wires up (src/cli/audit.ts).
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit } from '../../src/cli/audit.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { nginxLine, T0, tempDir } from '../logs/fixtures.js'
import { recordingIo } from '../logs/io.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
let log: string
beforeAll(async () => {
  tmp = await tempDir('bulwark-audit-cli-')
  const lines = []
  for (let i = 0; i < 30; i++)
    lines.push(
      nginxLine({ ip: `10.0.0.${i % 4}`, time: T0 + i * 2000, path: `/api/products/${i}` }),
    )
  lines.push(nginxLine({ method: 'POST', path: '/api/login', status: 401 }))
  log = await tmp.write('access.log', lines.join('\n') + '\n')
})
afterAll(() => tmp.cleanup())

describe('bulwark audit', () => {
  it('exits 0 with the report and the suggested config on stdout', async () => {
    const run = recordingIo()
    expect(await audit({ log: [log] }, run.io)).toBe(0)
    expect(run.stdout).toContain('Read 31 lines from')
    expect(run.stdout).toMatch(/GET\s+\/api\/products\/:id\s+30\s+4\s+100%/)
    expect(run.stdout).toContain(
      'Suggested config: 4 limit rules, mode: monitor (write it to a file with --out):',
    )
    expect(run.stdout).toContain('mode: monitor\n')
    expect(run.stderr).toBe('')
    expect(run.progress).toEqual([])
  })

  it('writes a config the gateway accepts with --out, with the margin given', async () => {
    const out = tmp.path('suggested.yaml')
    const run = recordingIo()
    expect(await audit({ log: [log], out, margin: '10', minLimit: '1' }, run.io)).toBe(0)
    expect(run.stdout).toContain(`written to ${out}`)
    const config = parseGatewayConfig(await readFile(out, 'utf8'), 'suggested.yaml', {})
    // 10.0.0.x each sent 7 or 8 requests a minute (one every 8 s).
    expect(config.limits!.rules.find((r) => r.id === 'get-api-products-id-per-ip')!.limit).toBe(80)
  })

  it('prints JSON with --json', async () => {
    const run = recordingIo()
    expect(await audit({ log: [log], json: true, openapi: undefined }, run.io)).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.endpoints.map((e: { template: string }) => e.template)).toEqual([
      '/api/login',
      '/api/products/:id',
    ])
    expect(report.suggestion.text).toContain('version: 1')
  })

  it('draws a progress bar on a terminal and clears it', async () => {
    const run = recordingIo(true)
    expect(await audit({ log: [log] }, run.io)).toBe(0)
    expect(run.progress[0]).toMatch(/^\r\x1b\[2Kaudit {2}\[█+\] {2}100%/)
    expect(run.progress.at(-1)).toBe('\r\x1b[2K')
  })

  it('exits 1 on bad input, naming the problem', async () => {
    const cases: [Parameters<typeof audit>[0], string][] = [
      [{ log: [] }, 'bulwark audit: give at least one log: --log FILE (or - for stdin)'],
      [
        { log: [tmp.path('missing.log')] },
        `ERR_LOG_UNREADABLE\n${tmp.path('missing.log')}: cannot read log (ENOENT: no such file or directory)`,
      ],
      [
        { log: [log], openapi: await tmp.write('bad-openapi.yaml', 'info: {}\n') },
        `ERR_OPENAPI_INVALID\n${tmp.path('bad-openapi.yaml')}: expected an OpenAPI document with a "paths" object`,
      ],
      [
        { log: [await tmp.write('junk.log', 'nothing\nuseful\n')] },
        `ERR_LOG_EMPTY\nno request lines in ${tmp.path('junk.log')} (2 lines, 2 malformed)`,
      ],
      [{ log: [log], margin: '0' }, 'bulwark audit: --margin must be a positive number, got "0"'],
    ]
    for (const [opts, message] of cases) {
      const run = recordingIo()
      expect(await audit(opts, run.io)).toBe(1)
      expect(run.stderr).toBe(message)
      expect(run.stdout).toBe('')
    }
  })
})
