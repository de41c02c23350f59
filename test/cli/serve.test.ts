/**
 * `bulwark serve` as a process (the built CLI, `npm run build` first): the `listening` log line,
 * hot reload on file change and on SIGHUP, a rejected reload keeping the old config, and a
 * graceful SIGTERM. Every wait is for a log line, with a generous ceiling.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../proxy/helpers.js'

const BIN = resolve(import.meta.dirname, '../../bin/bulwark.js')
const WAIT = 10_000

type LogLine = Record<string, unknown>

/** A running `bulwark serve` and the JSON lines it has logged. */
interface Serve {
  readonly proc: ChildProcess
  readonly lines: LogLine[]
  readonly url: string
  readonly exited: Promise<number | null>
  /** The first line from index `from` on that matches, waiting for it if need be. */
  waitFor(match: (l: LogLine) => boolean, from: number, what: string): Promise<LogLine>
}

async function serve(config: string, ...extra: string[]): Promise<Serve> {
  const proc = spawn(
    process.execPath,
    [BIN, 'serve', '--config', config, '--port', '0', ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const lines: LogLine[] = []
  const waiters = new Set<() => void>()
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine)
    } catch {
      lines.push({ text })
    }
    for (const w of waiters) w()
  })
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  const waitFor = (match: (l: LogLine) => boolean, from: number, what: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const look = () => {
        const hit = lines.slice(from).find(match)
        if (!hit) return false
        done()
        resolve(hit)
        return true
      }
      const timer = setTimeout(() => {
        done()
        reject(
          new Error(
            `no ${what} within ${WAIT} ms; stdout: ${JSON.stringify(lines)}; stderr: ${stderr}`,
          ),
        )
      }, WAIT)
      const check = () => void look()
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      if (!look()) waiters.add(check)
    })
  const listening = await waitFor((l) => l.event === 'listening', 0, 'listening line')
  return { proc, lines, url: listening.url as string, exited, waitFor }
}

async function stop(s: Serve | undefined) {
  if (!s || s.proc.exitCode !== null) return
  s.proc.kill('SIGTERM')
  await s.exited
}

let dir: string
let upstream: Upstream

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-serve-'))
  upstream = await startUpstream()
})

afterAll(async () => {
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

/** A config whose access rules block these paths; `extra` lines go under the first rule. */
function yaml(blocked: readonly string[], extra: readonly string[] = []): string {
  const lines = [
    'upstreams:',
    '  up:',
    `    url: ${upstream.url}`,
    'routes:',
    '  - path: /*',
    '    upstream: up',
    'log:',
    '  level: info',
  ]
  if (blocked.length) {
    lines.push('access:', '  rules:')
    blocked.forEach((p, i) => {
      lines.push(`    - id: rule-${i}`, `      paths: ['${p}']`, '      action: block')
      if (i === 0) lines.push(...extra.map((e) => `      ${e}`))
    })
  }
  return `${lines.join('\n')}\n`
}

/** Replaces the file the way editors do: write beside it, then rename over it. */
async function replace(file: string, text: string) {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, text)
  await rename(tmp, file)
}

async function status(base: string, path: string): Promise<number> {
  const res = await request(`${base}${path}`)
  await res.body.text()
  return res.statusCode
}

describe('bulwark serve: hot reload on file change', () => {
  let s: Serve | undefined
  let file: string

  beforeAll(async () => {
    file = join(dir, 'watched.yaml')
    await writeFile(file, yaml([]))
    s = await serve(file)
  })

  afterAll(() => stop(s))

  it('logs where it listens, and serves the config it was started with', async () => {
    const listening = s!.lines.find((l) => l.event === 'listening')!
    expect(listening).toMatchObject({ event: 'listening', mode: 'enforce', config: file })
    expect(s!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await status(s!.url, '/secret/x')).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/secret/x')
  })

  it('applies a changed config: a new access rule blocks', async () => {
    const from = s!.lines.length
    await replace(file, yaml(['/secret/*']))
    const line = await s!.waitFor((l) => l.event === 'reload', from, 'reload line')
    expect(line).toMatchObject({ ok: true, why: 'file changed', config: file })
    expect(await status(s!.url, '/secret/x')).toBe(403)
    expect(await status(s!.url, '/open')).toBe(200)
  })

  it('rejects an invalid config with file, line and key path, and keeps the previous one', async () => {
    const from = s!.lines.length
    const before = upstream.received.length
    // Line 14 is the first rule's `acton`, a typo for `action`.
    await replace(file, yaml(['/secret/*', '/other/*'], ['acton: block']))
    const line = await s!.waitFor((l) => l.event === 'reload', from, 'reload line')
    expect(line).toMatchObject({
      level: 50,
      ok: false,
      why: 'file changed',
      config: file,
      code: 'ERR_CONFIG_INVALID',
      issues: [`${file}:14 access.rules[0]: unknown key "acton" (did you mean "action"?)`],
    })
    // The previous config is still in force: /secret/* blocked, /other/* (only in the bad file) not.
    expect(await status(s!.url, '/secret/x')).toBe(403)
    expect(await status(s!.url, '/other/x')).toBe(200)
    expect(upstream.received.slice(before).map((r) => r.url)).toEqual(['/other/x'])
  })

  it('still reloads after a rejected config once the file is fixed', async () => {
    const from = s!.lines.length
    await replace(file, yaml(['/secret/*', '/other/*']))
    const line = await s!.waitFor((l) => l.event === 'reload', from, 'reload line')
    expect(line).toMatchObject({ ok: true, why: 'file changed' })
    expect(await status(s!.url, '/other/x')).toBe(403)
  })
})

describe('bulwark serve: a bad config at start', () => {
  it('exits 1 and prints the problem, listening nowhere', async () => {
    const file = join(dir, 'bad-start.yaml')
    await writeFile(file, 'server:\n  prot: 1\n')
    const proc = spawn(process.execPath, [BIN, 'serve', '--config', file, '--port', '0'])
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe(
      `bulwark: ERR_CONFIG_INVALID\n${file}:2 server: unknown key "prot" (did you mean "port"?)\n`,
    )
  })
})

describe('bulwark serve: a port in use', () => {
  it('exits 1 with ERR_LISTEN, what is wrong and what to change, and no stack trace', async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()))
    const port = (busy.address() as AddressInfo).port
    try {
      const file = join(dir, 'busy.yaml')
      await writeFile(file, yaml([]))
      const proc = spawn(process.execPath, [BIN, 'serve', '--config', file, '--port', String(port)])
      let stderr = ''
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))
      expect(code).toBe(1)
      expect(stderr).toBe(
        `bulwark: ERR_LISTEN\ngateway: cannot listen on 127.0.0.1:${port}: the port is in use by another process (stop it, or choose another port: --port or server.port)\n`,
      )
    } finally {
      busy.close()
    }
  })
})

describe('bulwark serve: SIGHUP and SIGTERM', () => {
  let s: Serve | undefined
  let file: string

  beforeAll(async () => {
    file = join(dir, 'hup.yaml')
    await writeFile(file, yaml([]))
    s = await serve(file, '--no-watch')
  })

  afterAll(() => stop(s))

  it('reloads on SIGHUP', async () => {
    expect(await status(s!.url, '/hup/x')).toBe(200)
    await replace(file, yaml(['/hup/*']))
    const from = s!.lines.length
    s!.proc.kill('SIGHUP')
    const line = await s!.waitFor((l) => l.event === 'reload', from, 'reload line')
    expect(line).toMatchObject({ ok: true, why: 'SIGHUP', config: file })
    expect(await status(s!.url, '/hup/x')).toBe(403)
    // --no-watch: the file change alone reloaded nothing.
    expect(s!.lines.filter((l) => l.event === 'reload').map((l) => l.why)).toEqual(['SIGHUP'])
  })

  it('stops on SIGTERM: logs the shutdown and exits 0', async () => {
    const from = s!.lines.length
    s!.proc.kill('SIGTERM')
    expect(await s!.exited).toBe(0)
    const events = s!.lines.slice(from).filter((l) => l.event === 'shutdown')
    expect(events).toMatchObject([{ signal: 'SIGTERM' }, { done: true }])
  })
})
