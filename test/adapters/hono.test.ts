import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkHono, type BulwarkHonoEnv } from '../../src/adapters/hono.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import {
  appAnswer,
  close,
  decisions,
  ECHO_POLICY,
  eventually,
  logins,
  POLICY,
  send,
} from './helpers.js'

let servers: Server[] = []
let bulwarks: Bulwark[] = []
afterEach(async () => {
  await Promise.all(servers.map(close))
  await Promise.all(bulwarks.map((b) => b.close()))
  servers = []
  bulwarks = []
})

async function app(config: Record<string, unknown> = POLICY) {
  const bulwark = await createBulwark({ config })
  bulwarks.push(bulwark)
  const calls: string[] = []
  const app = new Hono<BulwarkHonoEnv>()
  app.use(bulwarkHono(bulwark, { identify: (c) => c.req.header('x-user') }))
  app.post('/raw', async (c) => c.json({ raw: await c.req.raw.text() }))
  app.all('*', async (c) => {
    calls.push(c.req.path)
    const type = c.req.header('content-type') ?? ''
    const body =
      c.req.method !== 'POST'
        ? undefined
        : type.startsWith('application/json')
          ? await c.req.json()
          : await c.req.parseBody()
    const a = appAnswer(c.req.method, c.req.path, body)
    return c.json({ ...(a.json as object), inspection: c.get('bulwark').kind }, a.status as 200)
  })
  return { app, calls, bulwark }
}

async function start(config: Record<string, unknown> = POLICY) {
  const a = await app(config)
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: a.app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    )
  })
  servers.push(server)
  return { ...a, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

describe('hono middleware (node-server)', () => {
  it('answers a breached limit itself, the way the proxy does', async () => {
    const h = await start()
    expect(await logins(h.url, 3, 'victim')).toEqual([401, 401, 429])
    expect(h.calls).toHaveLength(2)
    const r = await send(h.url, '/login', { json: { username: 'Victim' } })
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toMatch(/^\d+$/)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json()).toEqual({
      error: 'Too Many Requests',
      status: 429,
      requestId: r.headers['x-request-id'],
    })
  })

  it('hands the bytes it read back: c.req.json(), parseBody() and c.req.raw read them', async () => {
    const h = await start({
      ...ECHO_POLICY,
      identity: { account: [{ body: 'username', paths: ['/echo', '/raw', '/login'] }] },
      limits: {
        rules: [
          ...ECHO_POLICY.limits.rules,
          { id: 'raw', paths: ['/raw'], key: ['account'], limit: 9, window: '60s' },
        ],
      },
    })
    const r = await send(h.url, '/echo', { json: { username: 'alice', list: [1] } })
    expect(r.json()).toMatchObject({
      body: { username: 'alice', list: [1] },
      inspection: 'proceed',
    })
    const form = await send(h.url, '/echo', {
      body: 'username=bob&x=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.json()).toMatchObject({ body: { username: 'bob', x: '1' } })
    const raw = await send(h.url, '/raw', { json: { username: 'carol' } })
    expect(raw.json()).toEqual({ raw: '{"username":"carol"}' })
    const dup = await send(h.url, '/login', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.status).toBe(400)
  })

  it('sees the target as received, so ambiguous paths are refused though URL parsing would hide them', async () => {
    const h = await start()
    expect((await send(h.url, '/x/%2e%2e/%2e%2e/admin')).status).toBe(400)
    expect((await send(h.url, '/x/../../admin')).status).toBe(400)
    expect((await send(h.url, '/a%2fb')).status).toBe(400)
    expect((await send(h.url, '/ADMIN/users', { from: '203.0.113.1' })).status).toBe(404)
    expect(h.calls).toEqual([])
  })

  it('counts failed logins and adds its headers to the app’s response', async () => {
    const h = await start({
      ...POLICY,
      limits: {
        headers: 'all',
        rules: [POLICY.limits.rules[1]!, { id: 'ip', key: ['ip'], limit: 100, window: '60s' }],
      },
    })
    const d = decisions()
    try {
      const from = '203.0.113.7'
      const first = await send(h.url, '/login', { json: { username: 'a' }, from })
      expect(first.status).toBe(401)
      expect(first.headers.ratelimit).toMatch(/"ip";r=99/)
      expect(first.headers['x-request-id']).toBe(d.messages[0]?.ctx.id)
      expect((await send(h.url, '/login', { json: { username: 'b' }, from })).status).toBe(401)
      expect((await send(h.url, '/login', { json: { username: 'c' }, from })).status).toBe(429)
      await eventually(() => d.messages.length === 3)
      expect(d.messages.map((m) => m.outcome.status)).toEqual([401, 401, 429])
      expect(d.last()?.rule).toBe('limits.failed-logins')
    } finally {
      d.stop()
    }
  })

  it('takes the account from `identify`', async () => {
    const h = await start()
    expect((await send(h.url, '/orders', { headers: { 'x-user': 'alice' } })).status).toBe(200)
    expect((await send(h.url, '/orders', { headers: { 'x-user': 'Alice' } })).status).toBe(429)
  })
})

describe('hono middleware without node-server (app.request)', () => {
  it('falls back to the Request and to the remoteAddress option', async () => {
    const bulwark = await createBulwark({ config: POLICY })
    bulwarks.push(bulwark)
    const h = new Hono()
    h.use(bulwarkHono(bulwark, { remoteAddress: (c) => c.req.header('x-test-peer') }))
    h.post('/login', async (c) => c.json(await c.req.json(), 401))
    h.get('*', (c) => c.text('ok'))
    const peer = { 'x-test-peer': '10.9.9.9' }
    expect((await h.request('/admin/users', { headers: peer })).status).toBe(200)
    expect(
      (await h.request('/admin/users', { headers: { 'x-test-peer': '203.0.113.9' } })).status,
    ).toBe(404)
    expect((await h.request('/a%2fb', { headers: peer })).status).toBe(400)
    // The body: read through the Request, and still there for the handler
    const post = (username: string) =>
      h.request('/login', {
        method: 'POST',
        headers: { ...peer, 'content-type': 'application/json' },
        body: JSON.stringify({ username }),
      })
    expect(await (await post('zed')).json()).toEqual({ username: 'zed' })
    expect((await post('zed')).status).toBe(401)
    expect((await post('ZED')).status).toBe(429)
  })
})
