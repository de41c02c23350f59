/**
 * `bulwark check`: exit codes and exact output, from the built CLI (`npm run build` first).
 * Runs in a temporary directory so file names in messages are short and stable.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'

const BIN = resolve(import.meta.dirname, '../../bin/bulwark.js')

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-check-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function check(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, 'check', ...args], { cwd: dir }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      done({ code, stdout, stderr })
    })
  })
}

async function file(name: string, text: string): Promise<string> {
  await writeFile(join(dir, name), text)
  return name
}

// Each case is its own process and file: run them side by side.
describe.concurrent('bulwark check', () => {
  it('exits 0 and summarises a valid config', async ({ expect }) => {
    const name = await file(
      'good.yaml',
      [
        'upstreams:',
        '  up:',
        '    url: http://127.0.0.1:9',
        'routes:',
        '  - path: /*',
        '    upstream: up',
        'access:',
        '  rules:',
        '    - id: a',
        '      paths: [/x]',
        '',
      ].join('\n'),
    )
    expect(await check('--config', name)).toEqual({
      code: 0,
      stdout: 'good.yaml: ok (1 routes, 1 upstreams, layers: access; mode enforce)\n',
      stderr: '',
    })
  })

  it('passes the demo config with no warning: the example follows its own advice', async ({
    expect,
  }) => {
    const demo = resolve(import.meta.dirname, '../../examples/shop/bulwark.yaml')
    const r = await check('--config', demo)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // One line, the summary: no `warning:` line before it.
    expect(r.stdout).toMatch(
      /^[^\n]*bulwark\.yaml: ok \(7 routes, 1 upstreams, layers: deception, access[^\n]*\n$/,
    )
    expect(r.stdout).not.toContain('warning')
  })

  it('takes JSON too', async ({ expect }) => {
    const name = await file('m.json', '{"mode":"monitor"}')
    expect(await check('-c', name)).toEqual({
      code: 0,
      stdout: 'm.json: ok (0 routes, 0 upstreams, layers: none; mode monitor)\n',
      stderr: '',
    })
  })

  it('exits 1 naming the file, line, key path and a fix for an unknown key', async ({ expect }) => {
    const name = await file(
      'unknown-key.yaml',
      [
        'version: 1',
        'server:',
        '  prot: 8080',
        'upstreams:',
        '  up:',
        '    url: http://127.0.0.1:9',
        '',
      ].join('\n'),
    )
    expect(await check('--config', name)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'ERR_CONFIG_INVALID\nunknown-key.yaml:3 server: unknown key "prot" (did you mean "port"?)\n',
    })
  })

  it('lists every problem, one a line, in file order', async ({ expect }) => {
    const name = await file(
      'multi.yaml',
      [
        'server:',
        '  prot: 8080',
        '  headersTimeout: soon',
        'upstreams:',
        '  up:',
        '    url: ftp://x',
        '',
      ].join('\n'),
    )
    expect(await check('--config', name)).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        'ERR_CONFIG_INVALID',
        'multi.yaml:2 server: unknown key "prot" (did you mean "port"?)',
        'multi.yaml:3 server.headersTimeout: expected a duration like "60s", got "soon"',
        'multi.yaml:6 upstreams.up.url: expected an http:// or https:// URL, got "ftp://x"',
        '',
      ].join('\n'),
    })
  })

  it('exits 1 with ERR_CONFIG_PARSE for broken YAML', async ({ expect }) => {
    const name = await file('syntax.yaml', 'server:\n  port: [1\n')
    const run = await check('--config', name)
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^ERR_CONFIG_PARSE\nsyntax\.yaml:\d+ .+\n$/)
  })

  it('exits 1 with ERR_CONFIG_UNREADABLE for a missing file', async ({ expect }) => {
    expect(await check('--config', 'missing.yaml')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'ERR_CONFIG_UNREADABLE\nmissing.yaml cannot read file (ENOENT: no such file or directory)\n',
    })
  })

  it('exits 1 for a limit counting a parameter no path names, 0 with a warning for a typo', async ({
    expect,
  }) => {
    const head = [
      'upstreams: { up: { url: http://127.0.0.1:9 } }',
      'routes: [{ path: /*, upstream: up }]',
    ]
    const never = await file(
      'never.yaml',
      [
        ...head,
        'limits:',
        '  rules:',
        '    - { id: sweep, paths: [/items/*], key: [ip], count: distinct, distinct: param:itemId, limit: 9, window: 1m }',
        '',
      ].join('\n'),
    )
    expect(await check('--config', never)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "ERR_CONFIG_INVALID\nnever.yaml:5 limits.rules[0].distinct: param:itemId is never set: no path of this rule, no route names :itemId, so the rule counts nothing (name it in the rule's paths, e.g. /items/:itemId)\n",
    })
    const openapi = resolve(import.meta.dirname, '../fixtures/openapi/keywords.yaml')
    const typo = await file(
      'typo.yaml',
      [
        ...head,
        `contract: { openapi: ${JSON.stringify(openapi)} }`,
        'limits:',
        '  rules:',
        '    - { id: search, paths: [/serach], key: [ip], limit: 9, window: 1m }',
        '',
      ].join('\n'),
    )
    const run = await check('--config', typo)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(
      /^warning: typo\.yaml: limits\.rules\[0\]\.paths\[0\] "\/serach" matches no documented operation.*\ntypo\.yaml: ok/,
    )
  })

  it('exits 1 without --config', async ({ expect }) => {
    const run = await check()
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("required option '-c, --config <file>' not specified")
  })
})
