/**
 * The device cookie (src/identity/device.ts): issued to every client without one, checked by
 * its HMAC, refreshed past half its life; the `device` facet and the limits `device:` filter;
 * carried on forwarded answers next to the upstream's own cookies and on the gateway's answers;
 * and in an embedding, next to the app's cookies.
 */
import { createServer, type Server } from 'node:http'
import express from 'express'
import { Client } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkExpress } from '../../src/adapters/express.js'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import { ConfigError } from '../../src/errors.js'
import { deviceCookies, REISSUE_AFTER } from '../../src/identity/device.js'
import { DeviceSpec } from '../../src/identity/spec.js'
import { createBulwark } from '../../src/index.js'
import type { Gateway } from '../../src/proxy/gateway.js'
import { MemoryStore } from '../../src/store/memory.js'
import { close, listen } from '../adapters/helpers.js'
import { config, raw } from '../helpers/engine.js'
import { startGw, startUpstream, type Upstream } from '../proxy/helpers.js'

const SECRET = 'k'.repeat(32)
const DAY = 86_400_000
const T0 = 1_800_000_000_000

/** Sends `GET /a` (with a cookie, if given) through `engine`: the context and the deciding rule. */
function asker(engine: Engine) {
  return (cookie?: string) => {
    const { ctx } = engine.prepare(raw('GET /a', cookie ? { headers: { cookie } } : {}))
    const d = engine.inspect(ctx)
    if (d instanceof Promise) throw new Error('sync expected')
    return { ctx, rule: d.decisive?.rule }
  }
}

/** `name=value` of a Set-Cookie line. */
const pair = (setCookie: string | undefined) => setCookie?.split(';')[0]

describe('device cookies', () => {
  const devices = deviceCookies(DeviceSpec.parse({ secret: SECRET }))

  it('gives a client without one a signed cookie, and knows it on the next request', () => {
    const first = devices.read({}, T0)
    expect(first.id).toBeUndefined()
    expect(first.setCookie).toMatch(
      /^bw_device=[0-9a-f]{32}\.[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{22}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure$/,
    )
    const cookie = pair(first.setCookie)!
    const next = devices.read({ cookie: `sid=abc; ${cookie}` }, T0 + 60_000)
    expect(next.id).toBe(cookie.slice('bw_device='.length, cookie.indexOf('.')))
    expect(next.setCookie).toBeUndefined()
    // Another client gets another id.
    expect(pair(devices.read({}, T0).setCookie)).not.toBe(cookie)
  })

  it('treats a forged, tampered, foreign or malformed cookie as none, and replaces it', () => {
    const cookie = pair(devices.read({}, T0).setCookie)!
    const [id, since, issued, build, mac] = cookie.slice('bw_device='.length).split('.') as [
      string,
      string,
      string,
      string,
      string,
    ]
    const later = (t: string) => (parseInt(t, 36) + 1).toString(36)
    const other = deviceCookies(DeviceSpec.parse({ secret: 'o'.repeat(32) }))
    const bad = [
      `bw_device=${'f'.repeat(32)}.${since}.${issued}.${build}.${mac}`, // another id under this MAC
      `bw_device=${id}.${since}.${later(issued)}.${build}.${mac}`, // a later issue time
      `bw_device=${id}.${later(since)}.${issued}.${build}.${mac}`, // a younger device
      `bw_device=${id}.${since}.${issued}.${'A'.repeat(8)}.${mac}`, // another browser's
      `bw_device=${id}.${since}.${issued}.${build}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      pair(other.read({}, T0).setCookie)!, // signed with another deployment's key
      `bw_device=${id}`,
      'bw_device=',
      `bw_device=${id}.${issued}.${build}.${mac}`, // the wrong number of parts
      `bw_device=${id}.${since}.${issued}.${mac}`, // a cookie from before builds were bound
      `bw_device=${id}.${since}.${issued}.${build}.${mac}.x`,
    ]
    for (const c of bad) {
      const r = devices.read({ cookie: c }, T0)
      expect(r.id, c).toBeUndefined()
      expect(r.setCookie, c).toMatch(/^bw_device=/)
    }
    // Two genuine devices in one header could be anybody's: none.
    const twice = devices.read({ cookie: `${cookie}; ${pair(devices.read({}, T0).setCookie)}` }, T0)
    expect(twice.id).toBeUndefined()
    // The same value twice is still the one device; so is a genuine one next to copies that
    // are not (set for a sibling domain, or planted): only one can be Bulwark's.
    expect(devices.read({ cookie: `${cookie}; ${cookie}` }, T0).id).toBe(id)
    for (const other of ['bw_device=junk', `bw_device=${id}.${since}.${issued}.${'A'.repeat(22)}`])
      for (const header of [`${other}; ${cookie}`, `${cookie}; ${other}`])
        expect(devices.read({ cookie: header }, T0).id, header).toBe(id)
  })

  it('expires after maxAge, and refreshes (same id) a cookie past half its life', () => {
    const cookie = pair(devices.read({}, T0).setCookie)!
    const id = cookie.slice('bw_device='.length, cookie.indexOf('.'))
    expect(devices.read({ cookie }, T0 + 14 * DAY).setCookie).toBeUndefined()
    const refreshed = devices.read({ cookie }, T0 + 16 * DAY)
    expect(refreshed.id).toBe(id)
    // The device's age is kept across refreshes: it is known since its first cookie, and
    // trusted once known for trustAfter (10 minutes).
    expect(refreshed.since).toBe(Math.floor(T0 / 1000) * 1000)
    expect(refreshed.trusted).toBe(true)
    expect(devices.read({ cookie }, T0 + 9 * 60_000).trusted).toBe(false)
    expect(devices.read({ cookie }, T0 + 11 * 60_000).trusted).toBe(true)
    expect(devices.read({ cookie: pair(refreshed.setCookie)! }, T0 + 40 * DAY).since).toBe(
      Math.floor(T0 / 1000) * 1000,
    )
    expect(pair(refreshed.setCookie)).toMatch(new RegExp(`^bw_device=${id}\\.`))
    expect(pair(refreshed.setCookie)).not.toBe(cookie)
    const expired = devices.read({ cookie }, T0 + 31 * DAY)
    expect(expired.id).toBeUndefined()
    expect(pair(expired.setCookie)).not.toMatch(new RegExp(`^bw_device=${id}\\.`))
  })

  it('is trusted only with the User-Agent it was issued to: elsewhere the same device starts again (red team)', () => {
    const firefox = {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    }
    const chrome = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0' }
    const cookie = pair(devices.read(firefox, T0).setCookie)!
    const id = cookie.slice('bw_device='.length, cookie.indexOf('.'))
    // Aged in the browser it was issued to: trusted.
    expect(devices.read({ ...firefox, cookie }, T0 + 20 * 60_000)).toMatchObject({
      id,
      trusted: true,
    })
    // Harvested and handed to another header set: the same device id (limits keep counting on
    // it), but new — re-issued for this User-Agent, not trusted until trustAfter from now.
    const moved = devices.read({ ...chrome, cookie }, T0 + 20 * 60_000)
    expect(moved).toMatchObject({ id, trusted: false, since: T0 + 20 * 60_000 })
    const rebound = pair(moved.setCookie)!
    expect(rebound).toMatch(new RegExp(`^bw_device=${id}\\.`))
    expect(devices.read({ ...chrome, cookie: rebound }, T0 + 25 * 60_000).trusted).toBe(false)
    expect(devices.read({ ...chrome, cookie: rebound }, T0 + 31 * 60_000).trusted).toBe(true)
    // And back in the first browser, that one starts again too.
    expect(devices.read({ ...firefox, cookie: rebound }, T0 + 31 * 60_000).trusted).toBe(false)
    // A bot rotating User-Agents on one connection gets one new cookie per pause, not per request.
    const conn = {}
    expect(devices.read({ ...chrome, cookie }, T0, conn).setCookie).toBeDefined()
    expect(devices.read({ ...chrome, cookie }, T0 + 100, conn).setCookie).toBeUndefined()
  })

  it('gives a connection whose client threw its cookie away no other for a while', () => {
    const conn = {}
    const first = devices.read({}, T0, conn)
    expect(first.setCookie).toBeDefined()
    // Back on the same connection without it: a browser would have sent it.
    const again = devices.read({}, T0 + 500, conn)
    expect(again).toMatchObject({ id: undefined, setCookie: undefined, trusted: false })
    // A forged cookie is no cookie either.
    const forged = devices.read({ cookie: 'bw_device=x.y.z.w' }, T0 + 600, conn)
    expect(forged.setCookie).toBeUndefined()
    // Another connection, a listener without connections, and the same connection once the
    // pause is over: new cookies.
    expect(devices.read({}, T0 + 800, {}).setCookie).toBeDefined()
    expect(devices.read({}, T0 + 900).setCookie).toBeDefined()
    expect(devices.read({}, T0 + 900).setCookie).toBeDefined()
    expect(devices.read({}, T0 + 1999, conn).setCookie).toBeUndefined()
    expect(devices.read({}, T0 + REISSUE_AFTER, conn).setCookie).toBeDefined()
    // A valid cookie is read whatever the connection did before.
    const cookie = pair(first.setCookie)!
    expect(devices.read({ cookie }, T0 + REISSUE_AFTER + 1, conn).id).toBeDefined()
  })

  it('rotates keys: the first secret signs, every secret verifies', () => {
    const old = deviceCookies(DeviceSpec.parse({ secret: 'a'.repeat(32) }))
    const cookie = pair(old.read({}, T0).setCookie)!
    const rotated = deviceCookies(DeviceSpec.parse({ secret: ['b'.repeat(32), 'a'.repeat(32)] }))
    expect(rotated.read({ cookie }, T0).id).toBeDefined()
    const fresh = pair(rotated.read({}, T0).setCookie)!
    expect(old.read({ cookie: fresh }, T0).id).toBeUndefined()
  })

  it('sets its attributes from the config, and refuses settings browsers would drop', () => {
    const lax = deviceCookies(
      DeviceSpec.parse({
        secret: SECRET,
        cookie: 'dev',
        maxAge: '1h',
        secure: false,
        sameSite: 'strict',
      }),
    )
    expect(lax.read({}, T0).setCookie).toMatch(
      /^dev=[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Strict$/,
    )
    expect(() => DeviceSpec.parse({ sameSite: 'none', secure: false })).toThrow(/secure: true/)
    expect(() => DeviceSpec.parse({ secret: 'short' })).toThrow(/32 characters/)
  })
})

describe('the device facet and the limits device: filter', () => {
  /** `device: null` leaves identity.device out. */
  const cfg = (rules: unknown[], device: unknown = { secret: SECRET }) =>
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: device === null ? {} : { device },
      limits: { rules },
    })

  it('counts cookie-less requests apart from those with a device, and each device alone', () => {
    const engine = createEngine(
      cfg([
        { id: 'cookieless', key: ['fingerprint'], device: 'missing', limit: 2, window: '1m' },
        { id: 'per-device', key: ['device'], limit: 3, window: '1m' },
      ]),
      { store: new MemoryStore() },
    )
    const ask = asker(engine)
    const given = pair(ask().ctx.deviceCookie)!
    expect(ask().rule).toBeUndefined()
    expect(ask().rule).toBe('limits.cookieless')
    // A client with its cookie is not in the cookie-less count, and has its own.
    const mine = ask(given)
    expect(mine.ctx.identity.device).toBeDefined()
    expect(mine.ctx.deviceCookie).toBeUndefined()
    expect(mine.rule).toBeUndefined()
    expect(ask(given).rule).toBeUndefined()
    expect(ask(given).rule).toBeUndefined()
    expect(ask(given).rule).toBe('limits.per-device')
    // Another device is counted on its own.
    const other = pair(ask().ctx.deviceCookie)!
    expect(ask(other).rule).toBeUndefined()
  })

  /** Sign-ins at /login, 2 per account a minute from devices the account has not used. */
  const signInEngine = () =>
    createEngine(
      config({
        upstreams: { app: { url: 'http://127.0.0.1:9' } },
        routes: [{ path: '/*', upstream: 'app' }],
        identity: {
          device: { secret: SECRET },
          account: [{ body: 'username', paths: ['/login'] }],
        },
        limits: {
          rules: [
            { id: 'per-account', key: ['account'], device: 'unknown', limit: 2, window: '1m' },
          ],
        },
      }),
      { store: new MemoryStore() },
    )

  it('device: unknown skips a device its account signed in from, as the account was sent', async () => {
    const engine = signInEngine()
    const devices = deviceCookies(DeviceSpec.parse({ secret: SECRET }))
    const device = () => pair(devices.read({}, Date.now()).setCookie)!
    const login = async (cookie: string, username: string, status: number) => {
      const { ctx } = engine.prepare(
        raw('POST /login', { json: { username }, headers: { cookie } }),
      )
      const d = await engine.inspect(ctx)
      engine.observe(ctx, { status, ms: 1, byGateway: false }, d)
      return d.decisive?.rule ?? 'allowed'
    }
    const owners = device()
    const attackers = device()
    expect(await login(owners, 'alice', 200)).toBe('allowed')
    // The attacker signs in to an account of its own whose name folds to the same one
    // (full-width letters): one account to limits, but not the account the owner signed in to.
    expect(await login(attackers, 'ａｌｉｃｅ', 200)).toBe('allowed')
    expect(await login(attackers, 'alice', 401)).toBe('limits.per-account')
    // The owner's device is known to "alice" and skipped, however the account is spent.
    expect(await login(owners, 'alice', 200)).toBe('allowed')
    expect(await login(device(), 'alice', 200)).toBe('limits.per-account')
  })

  it('device: unknown remembers a browser whose first request is the sign-in, by the cookie it is given', async () => {
    const engine = signInEngine()
    // Returns the rule that refused, and the device cookie the answer gave.
    const login = async (username: string, status: number, cookie?: string) => {
      const { ctx } = engine.prepare(
        raw('POST /login', { json: { username }, headers: cookie ? { cookie } : {} }),
      )
      const d = await engine.inspect(ctx)
      engine.observe(ctx, { status, ms: 1, byGateway: false }, d)
      return { rule: d.decisive?.rule ?? 'allowed', given: pair(ctx.deviceCookie) }
    }
    // The owner's browser signs in on its very first request, with no cookie yet.
    const first = await login('bob', 200)
    expect(first.rule).toBe('allowed')
    // An attacker without cookies spends the account's budget...
    for (const status of [401, 401]) await login('bob', status)
    expect((await login('bob', 401)).rule).toBe('limits.per-account')
    // ...but the cookie the owner was given with that success is known to the account.
    expect((await login('bob', 200, first.given!)).rule).toBe('allowed')
    // A cookie given with a failed attempt is not.
    const failed = await login('bob', 401)
    expect((await login('bob', 200, failed.given!)).rule).toBe('limits.per-account')
  })

  it('tells devices known for trustAfter from new ones (device: untrusted | trusted)', () => {
    let now = T0
    const engine = createEngine(
      cfg(
        [
          { id: 'new', key: ['fingerprint'], device: 'untrusted', limit: 2, window: '1h' },
          { id: 'known', key: ['fingerprint'], device: 'trusted', limit: 1, window: '1h' },
        ],
        { secret: SECRET, trustAfter: '5m' },
      ),
      { store: new MemoryStore(), clock: { now: () => now } },
    )
    const ask = asker(engine)
    const cookie = pair(ask().ctx.deviceCookie)!
    // A fresh cookie is untrusted, counted with the cookie-less request before it.
    expect(ask(cookie).ctx.identity.deviceTrusted).toBe(false)
    expect(ask(cookie).rule).toBe('limits.new')
    now += 6 * 60_000
    // Known for five minutes: trusted, and counted on its own.
    const later = ask(cookie)
    expect(later.ctx.identity.deviceTrusted).toBe(true)
    expect(later.rule).toBeUndefined()
    expect(ask(cookie).rule).toBe('limits.known')
  })

  it('refuses rules on the device without identity.device, and warns without a secret', () => {
    let err: unknown
    try {
      createEngine(
        cfg(
          [
            { id: 'a', key: ['ip'], device: 'missing', limit: 2, window: '1m' },
            { id: 'b', key: ['device'], limit: 2, window: '1m' },
          ],
          null,
        ),
        { store: new MemoryStore(), configFile: 'bulwark.yaml' },
      )
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const issues = (err as ConfigError).issues
    expect(issues.map((i) => i.path)).toEqual(['limits.rules[0].device', 'limits.rules[1].key[0]'])
    expect(issues[0]!.hint).toMatch(/identity: \{ device:/)
    const engine = createEngine(cfg([], {}), { store: new MemoryStore() })
    expect(engine.warnings.join()).toMatch(/identity\.device\.secret is not set/)
    // `device: unknown` asks the account too.
    const unknown = [{ id: 'u', key: ['ip'], device: 'unknown', limit: 2, window: '1m' }]
    expect(() => createEngine(cfg(unknown), { store: new MemoryStore() })).toThrow(
      /device: unknown needs the account facet/,
    )
  })
})

describe('the gateway carries the device cookie', () => {
  let upstream: Upstream | undefined
  let gw: Gateway | undefined
  afterEach(async () => {
    await gw?.close()
    await upstream?.close()
    gw = upstream = undefined
  })

  it("next to the upstream's own cookies, and on its own refusals", async () => {
    upstream = await startUpstream({
      '/login': (_req, res) => {
        res.setHeader('set-cookie', ['sid=s1; Path=/; HttpOnly', 'theme=dark'])
        res.end('ok')
      },
    })
    gw = await startGw({
      upstreams: { app: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { device: { secret: SECRET } },
      access: { rules: [{ id: 'no-admin', paths: ['/admin'], action: 'block' }] },
    })
    const res = await fetch(`${gw.url}/login`)
    await res.text()
    const cookies = res.headers.getSetCookie()
    expect(cookies.slice(0, 2)).toEqual(['sid=s1; Path=/; HttpOnly', 'theme=dark'])
    expect(cookies[2]).toMatch(/^bw_device=[^;]+; Path=\//)
    expect(cookies).toHaveLength(3)
    // With the cookie, no new one; the upstream never sees Bulwark's cookie set for it.
    const device = pair(cookies[2])!
    const again = await fetch(`${gw.url}/login`, { headers: { cookie: device } })
    await again.text()
    expect(again.headers.getSetCookie()).toEqual(['sid=s1; Path=/; HttpOnly', 'theme=dark'])
    // The gateway's own answers carry it too: a refused first visit (on a connection of its
    // own: see the next test) gets its device.
    const client = new Client(gw.url)
    try {
      const refused = await client.request({ path: '/admin', method: 'GET' })
      await refused.body.text()
      expect(refused.statusCode).toBe(403)
      expect(String(refused.headers['set-cookie'])).toMatch(/^bw_device=/)
    } finally {
      await client.close()
    }
  })

  it('gives a client that throws its cookie away one per connection, not one per request (unless proxied)', async () => {
    upstream = await startUpstream()
    gw = await startGw({
      upstreams: { app: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { device: { secret: SECRET } },
      server: { trustedProxies: ['127.0.0.1/32'] },
    })
    const setCookies = async (client: Client, n: number, proxied = false) => {
      const out: unknown[] = []
      for (let i = 0; i < n; i++) {
        const headers = proxied ? { 'x-forwarded-for': `198.51.100.${i}` } : {}
        const res = await client.request({ path: `/p${i}`, method: 'GET', headers })
        await res.body.text()
        out.push(res.headers['set-cookie'])
      }
      return out
    }
    const one = new Client(gw.url, { pipelining: 1 })
    const two = new Client(gw.url, { pipelining: 1 })
    try {
      const first = await setCookies(one, 3)
      expect(first[0]).toMatch(/^bw_device=/)
      expect(first.slice(1)).toEqual([undefined, undefined])
      // Every request still reached the upstream, and a new connection gets its own cookie.
      expect(upstream.received.map((r) => r.url)).toEqual(['/p0', '/p1', '/p2'])
      expect((await setCookies(two, 1))[0]).toMatch(/^bw_device=/)
      // A trusted proxy's connection carries many clients: each is given its cookie.
      const proxied = await setCookies(two, 3, true)
      for (const c of proxied) expect(c).toMatch(/^bw_device=/)
    } finally {
      await one.close()
      await two.close()
    }
  })

  it('but never hands it to the upstream: the Cookie header goes on without it', async () => {
    upstream = await startUpstream()
    gw = await startGw({
      upstreams: { app: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { device: { secret: SECRET }, session: { cookie: 'sid' } },
      limits: { rules: [{ id: 'per-session', key: ['session'], limit: 100, window: '1m' }] },
    })
    const url = gw.url
    const first = await fetch(`${url}/first`)
    await first.text()
    const device = pair(first.headers.getSetCookie()[0]!)!
    const send = async (path: string, cookie: string) => {
      const res = await fetch(`${url}${path}`, { headers: { cookie } })
      await res.text()
      expect(res.status).toBe(200)
      // Accepted (no new cookie): the gateway read it before taking it out.
      expect(res.headers.getSetCookie()).toEqual([])
      return upstream!.received.at(-1)!
    }
    const mixed = await send('/mixed', `sid=s1; ${device}; theme=dark`)
    expect(mixed.headers.cookie).toBe('sid=s1; theme=dark')
    const alone = await send('/alone', device)
    expect(alone.headers.cookie).toBeUndefined()
    expect(alone.rawHeaders.map((h) => h.toLowerCase())).not.toContain('cookie')
    // A cookie whose value merely mentions the name is the backend's, as sent.
    const lookalike = await send('/lookalike', `note=bw_device; ${device}`)
    expect(lookalike.headers.cookie).toBe('note=bw_device')
  })

  it('not at all when identity.device is not configured', async () => {
    upstream = await startUpstream()
    gw = await startGw({
      upstreams: { app: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'app' }],
    })
    const res = await fetch(`${gw.url}/x`)
    await res.text()
    expect(res.headers.getSetCookie()).toEqual([])
  })
})

describe('an embedding carries the device cookie', () => {
  let server: Server | undefined
  afterEach(async () => {
    if (server) await close(server)
    server = undefined
  })

  it("next to the app's cookies (express)", async () => {
    const bulwark = await createBulwark({
      config: { identity: { device: { secret: SECRET } } },
    })
    const app = express()
    app.use(bulwarkExpress(bulwark))
    app.get('/a', (_req, res) => {
      res.cookie('sid', 's1')
      res.setHeader('x-app', '1')
      res.send('ok')
    })
    app.get('/b', (_req, res) => {
      res.writeHead(200, { 'set-cookie': 'theme=dark', 'content-type': 'text/plain' })
      res.end('ok')
    })
    server = createServer(app)
    const base = await listen(server)
    for (const [path, own] of [
      ['/a', 'sid=s1; Path=/'],
      ['/b', 'theme=dark'],
    ] as const) {
      const res = await fetch(`${base}${path}`)
      await res.text()
      const cookies = res.headers.getSetCookie()
      expect(cookies, path).toContain(own)
      expect(
        cookies.filter((c) => c.startsWith('bw_device=')),
        path,
      ).toHaveLength(1)
    }
    await bulwark.close()
  })
})
