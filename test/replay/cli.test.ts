/**
 * `bulwark replay`: exit codes and output, in-process through src/cli/replay.ts; and both new
 * commands through the built `bulwark` binary when it has been built (`npm test` builds first).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { replay } from '../../src/cli/replay.js'
import { bulwarkLine, T0, tempDir } from '../logs/fixtures.js'
import { recordingIo } from '../logs/io.js'
import { onCi } from '../helpers/redis.js'

const CONFIG = `identity:
  account:
    - body: username
      paths: [/api/login]
limits:
  rules:
    - id: login-per-account
      paths: [/api/login]
      methods: [POST]
      key: [account]
      limit: 5
      window: 60s
`

let tmp: Awaited<ReturnType<typeof tempDir>>
let log: string
let cfg: string
beforeAll(async () => {
  tmp = await tempDir('bulwark-replay-cli-')
  const lines = Array.from({ length: 10 }, (_, i) =>
    bulwarkLine({
      ip: `198.51.100.${i}`,
      time: T0 + i,
      method: 'POST',
      path: '/api/login',
      account: 'alice',
    }),
  )
  log = await tmp.write('bulwark.log', lines.join('\n'))
  cfg = await tmp.write('bulwark.yaml', CONFIG)
})
afterAll(() => tmp.cleanup())

describe('bulwark replay', () => {
  it('exits 0 with the report as tables', async () => {
    const run = recordingIo()
    expect(await replay({ log: [log], config: cfg }, run.io)).toBe(0)
    expect(run.stdout).toContain('Replayed 10 requests')
    expect(run.stdout).toMatch(/throttle\s+5\s+50\.0%/)
    expect(run.stdout).toMatch(/limits\.login-per-account\s+5\s+throttle 5\s+1/)
    expect(run.stdout).toMatch(/account "alice"\s+5\s+5\s+limits\.login-per-account/)
    expect(run.stderr).toBe('')
  })

  it('prints JSON with --json, listing --top identities', async () => {
    const run = recordingIo()
    expect(
      await replay({ log: [log], config: cfg, json: true, top: '1', examples: '1' }, run.io),
    ).toBe(0)
    const r = JSON.parse(run.stdout)
    expect(r.actions.throttle).toBe(5)
    expect(r.rules[0].examples).toHaveLength(1)
    expect(r.identities).toHaveLength(1)
  })

  it('exits 1 on bad input, printing the ConfigError as bulwark check does', async () => {
    const bad = await tmp.write(
      'bad.yaml',
      'limits:\n  rules:\n    - id: x\n      key: [ip]\n      limit: -1\n      window: 60s\n',
    )
    const cases: [Parameters<typeof replay>[0], string][] = [
      [
        { log: [log], config: bad },
        `ERR_CONFIG_INVALID\n${bad}:5 limits.rules[0].limit: expected a positive integer, got -1`,
      ],
      [
        { log: [log], config: tmp.path('none.yaml') },
        `ERR_CONFIG_UNREADABLE\n${tmp.path('none.yaml')} cannot read file (ENOENT: no such file or directory)`,
      ],
      [
        { log: [tmp.path('none.log')], config: cfg },
        `ERR_LOG_UNREADABLE\n${tmp.path('none.log')}: cannot read log (ENOENT: no such file or directory)`,
      ],
      [
        { log: [], config: cfg },
        'bulwark replay: give at least one log: --log FILE (or - for stdin)',
      ],
      [
        { log: [log], config: cfg, top: 'x' },
        'bulwark replay: --top must be a positive number, got "x"',
      ],
    ]
    for (const [opts, message] of cases) {
      const run = recordingIo()
      expect(await replay(opts, run.io)).toBe(1)
      expect(run.stderr).toBe(message)
    }
  })
})

const BIN = resolve(import.meta.dirname, '../../bin/bulwark.js')
const built = existsSync(resolve(import.meta.dirname, '../../dist/src/cli/replay.js'))

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

// `npm test` builds first (pretest); a bare `vitest` run may not have: say so, and on CI fail.
if (!built) {
  if (onCi())
    throw new Error('dist/ is not built: run `npm run build` (npm test does) before the tests')
  console.warn('[bulwark] skipped "the bulwark binary": dist/ is not built (run `npm run build`)')
}

describe.skipIf(!built)('the bulwark binary', () => {
  it('runs audit and replay, and exits 1 on bad input', async () => {
    const [a, r, missing, none] = await Promise.all([
      cli('audit', log, '--no-progress'),
      cli('replay', '--config', cfg, '--log', log, '--json'),
      cli('replay', '--config', cfg, '--log', tmp.path('none.log')),
      cli('audit'),
    ])
    expect(a).toMatchObject({ code: 0, stderr: '' })
    expect(a.stdout).toContain('POST    /api/login')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).actions.throttle).toBe(5)
    expect(missing).toMatchObject({ code: 1 })
    expect(none).toMatchObject({ code: 1 })
  }, 60_000)
})
