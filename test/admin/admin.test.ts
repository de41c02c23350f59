/**
 * The admin listener over real sockets: health and readiness, Prometheus metrics with bounded
 * labels, recent events and their filters, the live stream, flags, the identity drill-down,
 * unblock, reload, and the static dashboard files.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAdmin } from '../../src/admin/admin.js'
import { notice } from '../../src/telemetry/channels.js'
import { gwConfig } from '../proxy/helpers.js'
import { eventually, startStack, type Stack } from './helpers.js'

const web = mkdtempSync(join(tmpdir(), 'bulwark-web-'))
mkdirSync(join(web, 'assets'))
writeFileSync(join(web, 'index.html'), '<!doctype html><title>dash</title>')
writeFileSync(join(web, 'assets', 'app-1234.js'), 'console.log(1)')

let s: Stack
let reloads = 0

beforeAll(async () => {
  s = await startStack(
    {
      limits: {
        rules: [
          { id: 'per-ip', paths: ['/api/products/:id'], key: ['ip'], limit: 2, window: '60s' },
          // computes the fingerprint facet, for the drill-down
          { id: 'per-device', paths: ['/api/*'], key: ['fingerprint'], limit: 1000, window: '60s' },
        ],
      },
      access: {
        rules: [{ id: 'no-admin', paths: ['/api/admin/*'], action: 'block', status: 403 }],
      },
    },
    {
      webRoot: web,
      configFile: 'bulwark.yaml',
      reload: async () => ({ ok: ++reloads > 0, at: Date.now(), why: 'admin API' }),
    },
  )
})
afterAll(() => s.close())

/** Sends `n` requests for product 1 as `ip` and returns their statuses. */
async function products(ip: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await s.send('/api/products/1', { ip })
    await r.arrayBuffer()
    out.push(r.status)
  }
  return out
}

async function events(query: string) {
  const r = await s.api(`/api/events?${query}`)
  expect(r.status).toBe(200)
  return ((await r.json()) as { events: Record<string, any>[] }).events
}

describe('admin: health and metrics', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await (await s.api('/healthz')).json()).toEqual({ status: 'ok' })
    const r = await s.api('/readyz')
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ status: 'ready', checks: { gateway: 'ok', store: 'ok' } })
  })

  it('counts requests and decisions by route template, action and rule: never raw paths or IPs', async () => {
    await products('198.51.100.7', 3)
    const r = await s.send('/api/admin/users', { ip: '198.51.100.8' })
    expect(r.status).toBe(403)
    await r.arrayBuffer()
    const text = await eventually(async () => {
      const t = await (await s.api('/metrics')).text()
      return t.includes('rule="access.no-admin"') ? t : undefined
    })
    expect(text).toContain(
      'bulwark_requests_total{route="/api/products/:id",action="allow",status="2xx"} 2',
    )
    expect(text).toContain(
      'bulwark_requests_total{route="/api/products/:id",action="throttle",status="4xx"} 1',
    )
    expect(text).toContain(
      'bulwark_decisions_total{route="/api/products/:id",rule="limits.per-ip",action="throttle",mode="enforce"} 1',
    )
    expect(text).toMatch(/bulwark_upstream_duration_seconds_count\{upstream="app"\} \d+/)
    expect(text).toMatch(
      /bulwark_upstream_duration_seconds_bucket\{upstream="app",le="0.001"\} \d+/,
    )
    expect(text).toMatch(
      /bulwark_upstream_duration_seconds_bucket\{upstream="app",le="\+Inf"\} \d+/,
    )
    expect(text).toContain('# TYPE bulwark_upstream_duration_seconds histogram')
    expect(text).toContain('bulwark_in_flight_requests 0')
    expect(text).toContain('bulwark_tarpit_requests 0')
    expect(text).toContain('bulwark_config_reloads_total')
    expect(text).not.toContain('198.51.100.7')
    expect(text).not.toContain('/api/products/1"')
  })

  it('counts store errors from notices and reloads', async () => {
    notice({ kind: 'store-error', level: 'error', msg: 'x', rule: 'limits.per-ip' })
    s.admin.reloaded({ ok: false, at: Date.now(), why: 'test', error: 'bad' })
    const text = await (await s.api('/metrics')).text()
    expect(text).toContain('bulwark_store_errors_total{origin="limits.per-ip"} 1')
    expect(text).toContain('bulwark_config_reloads_total{result="error"} 1')
  })
})

describe('admin: events', () => {
  it('keeps decisions with their reasons, filtered by action, rule, route, facet and text', async () => {
    await products('203.0.113.1', 3)
    const throttled = await events('action=throttle&facet=ip&value=203.0.113.1')
    expect(throttled).toHaveLength(1)
    expect(throttled[0]).toMatchObject({
      method: 'GET',
      path: '/api/products/1',
      route: '/api/products/:id',
      action: 'throttle',
      status: 429,
      client: { ip: '203.0.113.1' },
      rules: ['limits.per-ip'],
    })
    expect(throttled[0]!.reasons[0].reason).toMatch(/3 requests > 2 per 60s/)
    expect(await events('rule=limits.per-ip&q=203.0.113.1')).toHaveLength(1)
    expect(await events('route=/api/*&action=block')).toHaveLength(1)
    // sampled allowed requests are kept too, newest first
    const all = await events('facet=ip&value=203.0.113.1')
    expect(all.map((e) => e.action)).toEqual(['throttle', 'allow', 'allow'])
    expect(all[0]!.seq).toBeGreaterThan(all[1]!.seq)
  })

  it('refuses bad filters with 400', async () => {
    expect((await s.api('/api/events?action=nope')).status).toBe(400)
    expect((await s.api('/api/events?facet=path&value=x')).status).toBe(400)
    expect((await s.api('/api/events?limit=0')).status).toBe(400)
  })

  it('streams decisions as server-sent events, with the backlog after Last-Event-ID', async () => {
    const lines: string[] = []
    const req = request(`${s.admin.url}/api/events/stream`, { headers: { 'last-event-id': '0' } })
    const got = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          lines.push(...chunk.split('\n'))
          if (lines.some((l) => l.includes('"198.51.100.99"'))) resolve()
        })
      })
    })
    req.end()
    await eventually(async () => (lines.length ? true : undefined))
    // the backlog: every decision so far (the throttles above), oldest first
    expect(lines.filter((l) => l === 'event: decision').length).toBeGreaterThan(0)
    const r = await s.send('/api/admin/x', { ip: '198.51.100.99' })
    await r.arrayBuffer()
    await got
    req.destroy()
    const data = lines.filter((l) => l.startsWith('data: ') && l.includes('198.51.100.99'))
    expect(JSON.parse(data[0]!.slice(6))).toMatchObject({ action: 'block', status: 403 })
  })
})

describe('admin: flags, drill-down and unblock', () => {
  it('lists flags from notices and from recent clients, with reasons and expiry', async () => {
    const store = s.gw.engine.store
    const now = Date.now()
    await products('192.0.2.50', 1)
    await store.flag(
      'flag:ip:192.0.2.50',
      JSON.stringify({ reason: 'honeypot', rule: 'deception.honeypot', expiresAt: now + 60_000 }),
      60_000,
      now,
    )
    await store.flag('flag:account:mallory', 'credential stuffing', 60_000, now)
    notice({
      kind: 'flag',
      level: 'info',
      msg: 'flagged',
      key: 'flag:account:mallory',
      reason: 'credential stuffing',
      rule: 'contract.x',
      ttlMs: 60_000,
    })
    // a notice about another value than the one stored adds nothing to it
    await store.flag('flag:account:trudy', 'plain reason', 60_000, now)
    notice({
      kind: 'flag',
      level: 'info',
      msg: 'x',
      key: 'flag:account:trudy',
      reason: 'other',
      rule: 'deception.y',
    })
    const { flags } = (await (await s.api('/api/flags')).json()) as { flags: any[] }
    expect(flags).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          key: 'flag:ip:192.0.2.50',
          facet: 'ip',
          value: '192.0.2.50',
          reason: 'honeypot',
          rule: 'deception.honeypot',
          expiresAt: now + 60_000,
          events: 1,
        }),
        expect.objectContaining({
          key: 'flag:account:mallory',
          facet: 'account',
          reason: 'credential stuffing',
          rule: 'contract.x',
          expiresAt: expect.any(Number),
          events: 0,
        }),
      ]),
    )
    const trudy = flags.find((f: { key: string }) => f.key === 'flag:account:trudy')
    expect(trudy).toEqual({
      key: 'flag:account:trudy',
      facet: 'account',
      value: 'trudy',
      reason: 'plain reason',
      events: 0,
    })
    const del = await s.api(`/api/flags?key=${encodeURIComponent('flag:account:mallory')}`, {
      method: 'DELETE',
    })
    expect(await del.json()).toEqual({ key: 'flag:account:mallory', removed: true })
    expect(await store.flagged(['flag:account:mallory'], Date.now())).toEqual([undefined])
    expect((await s.api('/api/flags?key=x', { method: 'DELETE' })).status).toBe(400)
  })

  it('drills down into one client: facets seen together, signals, routes, events, flags', async () => {
    await products('192.0.2.50', 3)
    const r = await s.api('/api/identity?facet=ip&value=192.0.2.50')
    const view = (await r.json()) as Record<string, any>
    expect(view.facet).toBe('ip')
    expect(view.events).toBe(4)
    expect(view.actions).toMatchObject({ allow: 2, throttle: 2 })
    expect(view.related.fingerprint).toHaveLength(1)
    expect(view.related.ip).toEqual([])
    expect(view.signals[0]).toMatchObject({ rule: 'limits.per-ip', action: 'throttle', count: 2 })
    expect(view.routes).toEqual([{ route: '/api/products/:id', count: 4 }])
    expect(view.flags.map((f: { key: string }) => f.key)).toEqual(['flag:ip:192.0.2.50'])
    expect((await s.api('/api/identity?facet=ip')).status).toBe(400)
  })

  it('unblocks: removes the flags and resets the limits, and the client gets through', async () => {
    expect(await products('192.0.2.50', 1)).toEqual([429])
    const r = await s.api('/api/unblock', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ facets: { ip: '192.0.2.50' } }),
    })
    expect(await r.json()).toEqual({ flagsRemoved: ['flag:ip:192.0.2.50'], keysReset: 1 })
    expect(await products('192.0.2.50', 3)).toEqual([200, 200, 429])
    const bad = await s.api('/api/unblock', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ facets: { path: '/x' } }),
    })
    expect(bad.status).toBe(400)
  })
})

describe('admin: status, reload, summary and the dashboard files', () => {
  it('describes the gateway', async () => {
    const st = (await (await s.api('/api/status')).json()) as Record<string, any>
    expect(st).toMatchObject({
      gateway: s.gw.url,
      mode: 'enforce',
      store: 'memory',
      canReload: true,
      layers: ['access', 'limits'],
      rules: ['access.no-admin', 'limits.per-ip', 'limits.per-device'],
    })
  })

  it('reloads through the hook it was given', async () => {
    const r = await s.api('/api/reload', { method: 'POST' })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ ok: true, why: 'admin API' })
  })

  it('summarises traffic by action over time, top routes and rules', async () => {
    // the series ends with the last complete second: wait for it to hold the throttles above
    const sum = await eventually(async () => {
      const r = (await (await s.api('/api/summary?span=60&bucket=10')).json()) as Record<
        string,
        any
      >
      return r.totals.throttle >= 4 ? r : undefined
    })
    expect(sum.series).toHaveLength(6)
    expect(sum.routes[0]).toMatchObject({ route: '/api/products/:id' })
    expect(sum.rules[0]).toMatchObject({ rule: 'limits.per-ip' })
  })

  it('serves the built dashboard with strict headers, and nothing outside it', async () => {
    const page = await s.api('/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    expect(await page.text()).toContain('<title>dash</title>')
    const asset = await s.api('/assets/app-1234.js')
    expect(asset.headers.get('cache-control')).toContain('immutable')
    expect((await s.api('/../package.json')).status).toBe(404)
    expect((await s.api('/%2e%2e/package.json')).status).toBe(404)
    expect((await s.api('/api/nope')).status).toBe(404)
  })
})

describe('admin: authentication', () => {
  const token = 'a-long-enough-admin-token'
  let t: Stack
  beforeAll(async () => {
    t = await startStack({ admin: { token } }, { webRoot: web })
  })
  afterAll(() => t.close())

  it('wants the bearer token for the API and /metrics, not for health checks or page files', async () => {
    expect((await t.api('/api/status')).status).toBe(401)
    expect((await t.api('/api/status')).headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await t.api('/metrics', { token: 'wrong-token-of-some-length' })).status).toBe(401)
    expect((await t.api('/metrics', { token })).status).toBe(200)
    expect((await t.api('/healthz')).status).toBe(200)
    expect((await t.api('/')).status).toBe(200)
  })

  it('gives the dashboard a session cookie for the right token, and refuses cross-origin writes', async () => {
    const bad = await t.api('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'nope' }),
    })
    expect(bad.status).toBe(401)
    const ok = await t.api('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    })
    const cookie = ok.headers.get('set-cookie')!
    expect(cookie).toMatch(/^bulwark_admin=\d+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict/)
    const session = cookie.split(';')[0]!
    expect((await t.api('/api/status', { headers: { cookie: session } })).status).toBe(200)
    expect(await (await t.api('/api/session', { headers: { cookie: session } })).json()).toEqual({
      auth: 'token',
      authenticated: true,
    })
    const forged = await t.api('/api/unblock', {
      method: 'POST',
      headers: {
        cookie: session,
        origin: 'http://evil.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ facets: { ip: '1.2.3.4' } }),
    })
    expect(forged.status).toBe(403)
    // One character of the signature changed (to another one: a signature may start with 'A',
    // or with '-', which \w does not match: 1 run in 64 found nothing to change).
    const tampered = session.replace(/\.([\w-])/, (_, c: string) => (c === 'A' ? '.B' : '.A'))
    expect(tampered).not.toBe(session)
    expect((await t.api('/api/status', { headers: { cookie: tampered } })).status).toBe(401)
  })

  it('without a token, answers only to a loopback Host (no DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) =>
      request(`${s.admin.url}/api/status`, { headers: { host: 'rebind.example:9090' } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
        .on('error', reject)
        .end(),
    )
    expect(status).toBe(403)
  })

  it('refuses to start on a non-loopback address without a token', async () => {
    const config = gwConfig({ admin: { host: '127.0.0.1' } })
    await expect(
      startAdmin({ config: { ...config.admin, host: '0.0.0.0' }, gateway: s.gw, port: 0 }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: 'admin.token: required when admin.host is not a loopback address ("0.0.0.0")',
    })
  })

  it('fails with ERR_LISTEN when its port is taken', async () => {
    await expect(
      startAdmin({
        config: s.gw.engine.config.admin,
        gateway: s.gw,
        port: s.admin.port,
        processMetrics: false,
      }),
    ).rejects.toMatchObject({ code: 'ERR_LISTEN' })
  })
})
