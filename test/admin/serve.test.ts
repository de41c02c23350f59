/**
 * The admin listener in `bulwark serve` (the built CLI, `npm run build` first): it starts with
 * the gateway and logs its address, wants its token, reloads the config through the API and
 * counts reloads from any trigger, and a taken admin port does not stop the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const BIN = resolve(import.meta.dirname, '../../bin/bulwark.js')
const TOKEN = 'serve-test-admin-token-42'

interface Serve {
  readonly proc: ChildProcess
  readonly lines: Record<string, unknown>[]
  line(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

function serve(config: string): Serve {
  const proc = spawn(process.execPath, [BIN, 'serve', '--config', config, '--no-watch'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BULWARK_ADMIN_TOKEN: TOKEN },
  })
  const lines: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    lines.push(JSON.parse(text) as Record<string, unknown>)
    for (const w of waiters.splice(0)) w()
  })
  const line = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such line in ${JSON.stringify(lines)}`)),
        10_000,
      )
      const look = () => {
        const hit = lines.find(match)
        if (hit) {
          clearTimeout(timer)
          resolve(hit)
        } else waiters.push(look)
      }
      look()
    })
  return { proc, lines, line }
}

async function stop(s: Serve) {
  if (s.proc.exitCode !== null) return
  const exited = new Promise((r) => s.proc.once('exit', r))
  s.proc.kill('SIGTERM')
  await exited
}

let dir: string
let blocker: Server
let taken: number

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-admin-serve-'))
  blocker = createServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  taken = (blocker.address() as { port: number }).port
})
afterAll(async () => {
  blocker.close()
  await rm(dir, { recursive: true, force: true })
})

describe('bulwark serve with the admin listener', () => {
  it('starts it, protects it with the token, and reloads through it', async () => {
    const file = join(dir, 'admin.yaml')
    const config = (mode: string) =>
      [
        `mode: ${mode}`,
        'server: { port: 0 }',
        'upstreams: { app: { url: "http://127.0.0.1:9" } }',
        'routes: [{ path: /*, upstream: app }]',
        'admin: { port: 0, token: "${BULWARK_ADMIN_TOKEN}" }',
        '',
      ].join('\n')
    await writeFile(file, config('enforce'))
    const s = serve(file)
    try {
      const admin = (await s.line((l) => l.event === 'admin')).url as string
      expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const auth = { authorization: `Bearer ${TOKEN}` }
      expect((await fetch(`${admin}/metrics`)).status).toBe(401)
      expect((await fetch(`${admin}/metrics`, { headers: auth })).status).toBe(200)

      await writeFile(file, config('monitor'))
      const r = await fetch(`${admin}/api/reload`, { method: 'POST', headers: auth })
      expect(await r.json()).toMatchObject({ ok: true, why: 'admin API' })
      const status = (await (await fetch(`${admin}/api/status`, { headers: auth })).json()) as {
        mode: string
      }
      expect(status.mode).toBe('monitor')

      await writeFile(file, 'mode: nonsense\n')
      const bad = await fetch(`${admin}/api/reload`, { method: 'POST', headers: auth })
      expect(bad.status).toBe(422)
      expect(((await bad.json()) as { error: string }).error).toMatch(/^ERR_CONFIG_INVALID: .*mode/)
      const text = await (await fetch(`${admin}/metrics`, { headers: auth })).text()
      expect(text).toContain('bulwark_config_reloads_total{result="ok"} 1')
      expect(text).toContain('bulwark_config_reloads_total{result="error"} 1')
    } finally {
      await stop(s)
    }
  })

  it('keeps the gateway serving when the admin port is taken', async () => {
    const file = join(dir, 'taken.yaml')
    await writeFile(
      file,
      [
        'server: { port: 0 }',
        'upstreams: { app: { url: "http://127.0.0.1:9" } }',
        'routes: [{ path: /*, upstream: app }]',
        `admin: { port: ${taken} }`,
        '',
      ].join('\n'),
    )
    const s = serve(file)
    try {
      const failed = await s.line((l) => l.event === 'admin')
      expect(failed).toMatchObject({
        ok: false,
        code: 'ERR_LISTEN',
        error: `admin listener: cannot listen on 127.0.0.1:${taken} (EADDRINUSE)`,
        msg: 'admin listener not started',
      })
      const gw = (await s.line((l) => l.event === 'listening')).url as string
      expect((await fetch(`${gw}/x`)).status).toBe(502)
    } finally {
      await stop(s)
    }
  })
})
