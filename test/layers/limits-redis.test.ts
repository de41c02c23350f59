import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { RedisStore } from '../../src/store/redis.js'
import { deviceCookies } from '../../src/identity/device.js'
import { DeviceSpec } from '../../src/identity/spec.js'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { config, raw, type RawInit } from '../helpers/engine.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'

const rule = (extra: Record<string, unknown> = {}) => ({
  id: 'per-account',
  paths: ['/api/login'],
  key: ['account'],
  limit: 3,
  window: '60s',
  ...extra,
})

function engineOn(url: string, extra: Record<string, unknown> = {}) {
  return engineWith(url, [rule(extra)])
}

function engineWith(
  url: string,
  rules: Record<string, unknown>[],
  identity: Record<string, unknown> = {},
) {
  const store = new RedisStore({
    url,
    timeoutMs: 200,
    prefix: `t${Math.random().toString(36).slice(2)}:`,
  })
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { account: [{ body: 'username', paths: ['/api/login'] }], ...identity },
      limits: { rules },
    }),
    { store },
  )
  const send = async (init: RawInit): Promise<Decision> => {
    const { ctx } = engine.prepare(raw('POST /api/login', init))
    return engine.inspect(ctx)
  }
  return { store, engine, send }
}

/**
 * An engine on Redis with device cookies, a maker of new devices' cookies, and a login of
 * `username` from a device (observed with `status`, when given).
 */
async function devicesOf(url: string, rules: Record<string, unknown>[], username: string) {
  const secret = 'r'.repeat(32)
  const { store, engine } = engineWith(url, rules, { device: { secret } })
  await store.ready()
  const devices = deviceCookies(DeviceSpec.parse({ secret }))
  const cookie = () => devices.read({}, Date.now()).setCookie!.split(';')[0]!
  const login = async (device: string, status?: number) => {
    const { ctx } = engine.prepare(
      raw('POST /api/login', { json: { username }, headers: { cookie: device } }),
    )
    const d = await engine.inspect(ctx)
    if (status) engine.observe(ctx, { status, ms: 1, byGateway: false }, d)
    return d.action
  }
  return { store, cookie, login }
}

describeRedis('limits on Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('limits an account exactly as the memory store does', async () => {
    const { store, send } = engineOn(redis.url)
    await store.ready()
    const actions = []
    for (let i = 0; i < 5; i++)
      actions.push((await send({ json: { username: 'Bob' }, ip: `192.0.2.${i}` })).action)
    expect(actions).toEqual(['allow', 'allow', 'allow', 'throttle', 'throttle'])
    await store.close()
  })

  it('device: unknown skips a device its account used with success, as on the memory store', async () => {
    const { store, cookie, login } = await devicesOf(
      redis.url,
      [rule({ device: 'unknown' })],
      'Bob',
    )
    const owner = cookie()
    expect(await login(owner, 200)).toBe('allow')
    await new Promise((r) => setTimeout(r, 50)) // the "known" write is not awaited
    const others = []
    for (let i = 0; i < 4; i++) others.push(await login(cookie(), 401))
    expect(others).toEqual(['allow', 'allow', 'throttle', 'throttle'])
    expect(await login(owner)).toBe('allow')
    await store.close()
  })

  it('a device: unknown rule beside another costs one round trip: the known flag is read in the same script', async () => {
    const { store, cookie, login } = await devicesOf(
      redis.url,
      [rule({ device: 'unknown' }), rule({ id: 'per-ip', key: ['ip'], limit: 100 })],
      'Kim',
    )
    const owner = cookie()
    expect(await login(owner, 200)).toBe('allow')
    await new Promise((r) => setTimeout(r, 50)) // the "known" write is not awaited
    const watch = await watchCommands(redis.url)
    // A new device: counted by both rules; the owner's device: only by the per-ip rule.
    expect(await login(cookie())).toBe('allow')
    expect(await login(owner)).toBe('allow')
    await new Promise((r) => setTimeout(r, 50)) // MONITOR's lines arrive after the replies
    watch.stop()
    expect(watch.sent).toEqual(['evalsha', 'evalsha'])
    // The counts are right: 3 per account from unknown devices (the owner's first sign-in, when
    // its device was new, and the new device above are two), the known device never counted.
    const others = []
    for (let i = 0; i < 3; i++) others.push(await login(cookie()))
    expect(others).toEqual(['allow', 'throttle', 'throttle'])
    expect(await login(owner)).toBe('allow')
    await store.close()
  })

  it('an outcome rule holds a place for each request in flight: of a burst sent at once, only the limit passes', async () => {
    const { store, send } = engineWith(redis.url, [
      rule({ id: 'failed', count: 'outcomes', outcomes: [401], limit: 5 }),
    ])
    await store.ready()
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send({ json: { username: 'Dee' }, ip: `198.51.100.${i}` }),
      ),
    )
    expect(burst.filter((d) => d.action === 'allow')).toHaveLength(5)
    await store.close()
  })

  it('answers an over-limit key from memory without asking Redis again', async () => {
    const { store, send } = engineOn(redis.url, { onStoreError: 'closed' })
    await store.ready()
    for (let i = 0; i < 4; i++) await send({ json: { username: 'memo' } })
    const before = await store.client.info('commandstats')
    const d = await send({ json: { username: 'memo' } })
    const after = await store.client.info('commandstats')
    expect(d.action).toBe('throttle')
    const calls = (s: string) =>
      [...s.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
    // the two INFO calls are not scripts: the count must not move
    expect(calls(after)).toBe(calls(before))
    await store.close()
  })

  it("runs all of a request's rules in one script call: one round trip, each rule judged on its own", async () => {
    const { store, send } = engineWith(redis.url, [
      rule({ id: 'account', limit: 2 }),
      rule({ id: 'ip', key: ['ip'], algorithm: 'gcra', limit: 100 }),
      rule({ id: 'names', key: ['ip'], count: 'distinct', distinct: 'account', limit: 3 }),
      rule({ id: 'failed', key: ['ip'], count: 'outcomes', outcomes: [401], limit: 5 }),
    ])
    await store.ready()
    const fired: string[][] = []
    const watch = await watchCommands(redis.url)
    for (const name of ['ann', 'ann', 'ann', 'bo', 'cy', 'di']) {
      const d = await send({ json: { username: name }, ip: '198.51.100.7' })
      fired.push(d.verdicts.map((v) => v.rule))
    }
    await new Promise((r) => setTimeout(r, 50)) // MONITOR's lines arrive after the replies
    watch.stop()
    // Six requests, four rules each: six script calls (EVAL once, if Redis did not know the
    // script yet), and nothing else.
    expect(watch.sent.filter((c) => c !== 'eval')).toEqual(Array(6).fill('evalsha'))
    // …and each rule still counted and judged on its own. No answer came back (nothing is
    // observed), so the outcome rule holds a place for each request in flight: the sixth is over.
    expect(fired).toEqual([[], [], ['limits.account'], [], [], ['limits.names', 'limits.failed']])
    await store.close()
  })

  describe('when Redis is unreachable', () => {
    // A port nothing listens on: every call fails at once.
    const down = 'redis://127.0.0.1:1'

    it('onStoreError: open lets requests through', async () => {
      const { store, send } = engineOn(down, { onStoreError: 'open' })
      for (let i = 0; i < 5; i++)
        expect((await send({ json: { username: 'x' } })).action).toBe('allow')
      await store.close()
    })

    it('onStoreError: closed refuses them with 503', async () => {
      const { store, send } = engineOn(down, { onStoreError: 'closed' })
      const d = await send({ json: { username: 'x' } })
      expect(d.action).toBe('block')
      expect(d.decisive).toMatchObject({ status: 503, rule: 'limits.per-account' })
      await store.close()
    })

    it('each rule of a failed batch does what its own onStoreError says', async () => {
      const { store, send } = engineWith(down, [
        rule({ id: 'opened', onStoreError: 'open', limit: 1 }),
        rule({ id: 'local', key: ['ip'], onStoreError: 'local', limit: 2 }),
        rule({ id: 'closed', key: ['ip'], onStoreError: 'closed', mode: 'monitor' }),
      ])
      const seen: string[][] = []
      for (let i = 0; i < 3; i++) {
        const d = await send({ json: { username: 'z' }, ip: '203.0.113.9' })
        seen.push(d.verdicts.map((v) => `${v.rule}:${v.action}${v.monitor ? '(monitor)' : ''}`))
      }
      expect(seen).toEqual([
        ['limits.closed:block(monitor)'],
        ['limits.closed:block(monitor)'],
        ['limits.local:throttle', 'limits.closed:block(monitor)'],
      ])
      await store.close()
    })

    it('onStoreError: local keeps limiting in this process', async () => {
      const { store, send } = engineOn(down, { onStoreError: 'local' })
      const actions = []
      for (let i = 0; i < 4; i++) actions.push((await send({ json: { username: 'y' } })).action)
      expect(actions).toEqual(['allow', 'allow', 'allow', 'throttle'])
      await store.close()
    })
  })

  it('two bulwark processes on one Redis limit a client that alternates between them as one would', async () => {
    const shop: Shop = await startShop({ port: 0 })
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-two-'))
    const file = join(dir, 'bulwark.yaml')
    writeFileSync(
      file,
      [
        'server: { host: 127.0.0.1, port: 0 }',
        `upstreams: { shop: { url: '${shop.url}' } }`,
        'routes: [{ path: /*, upstream: shop }]',
        `store: { type: redis, url: '${redis.url}', prefix: 'two${Date.now()}:' }`,
        'identity: { account: [{ body: username, paths: [/api/login] }] }',
        'limits: { rules: [{ id: login, paths: [/api/login], key: [account], limit: 4, window: 60s, onStoreError: closed }] }',
      ].join('\n'),
    )
    const procs: ChildProcess[] = []
    try {
      const urls = await Promise.all([0, 1].map(() => serve(file, procs)))
      const statuses: number[] = []
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${urls[i % 2]}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'wrong' }),
        })
        statuses.push(res.status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429, 429])
    } finally {
      for (const p of procs) p.kill('SIGTERM')
      await shop.close()
    }
  })
})

/** Starts `bulwark serve` and resolves its URL from the `listening` log line. */
function serve(file: string, procs: ChildProcess[]): Promise<string> {
  const child = spawn(
    process.execPath,
    ['bin/bulwark.js', 'serve', '--config', file, '--no-watch'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  procs.push(child)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bulwark did not start')), 10_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; url?: string }
        if (e.event === 'listening' && e.url) {
          clearTimeout(timer)
          resolve(e.url)
        }
      } catch {
        /* not a JSON line */
      }
    })
    child.once('exit', (code) => reject(new Error(`bulwark exited with ${code}`)))
  })
}

/**
 * Watches what clients send Redis (MONITOR, on a connection of its own): the commands scripts
 * run inside Redis are left out, so each entry is one command a client sent.
 */
async function watchCommands(url: string): Promise<{ sent: string[]; stop(): void }> {
  const { Redis } = await import('ioredis')
  const monitor = await new Redis(url).monitor()
  const sent: string[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') sent.push(String(args[0]).toLowerCase())
  })
  return { sent, stop: () => monitor.disconnect() }
}
