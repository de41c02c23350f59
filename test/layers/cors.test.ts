import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { toEffect } from '../../src/engine/effect.js'
import { createEngine } from '../../src/engine/engine.js'
import { originMatcher } from '../../src/layers/cors/origins.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { toEvent } from '../../src/telemetry/event.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, HS_ISSUER, raw, type RawInit } from '../helpers/engine.js'

const SHOP = 'https://shop.example'
const RULE = {
  id: 'front',
  paths: ['/api/*'],
  origins: [SHOP, 'https://*.shop.example', 'http://localhost:*'],
  methods: ['GET', 'POST', 'DELETE'],
  headers: ['content-type', 'x-csrf-token'],
  exposeHeaders: ['x-request-id'],
  credentials: true,
  maxAge: '10m',
}

function setup(extra: Record<string, unknown> = {}, rules: unknown[] = [RULE]) {
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      cors: { rules },
      ...extra,
    }),
    { store: new MemoryStore() },
  )
  return async (line: string, init: RawInit = {}) => {
    const { ctx } = engine.prepare(raw(line, init))
    const decision = await engine.inspect(ctx)
    return { ctx, decision, effect: toEffect(decision, ctx.id), verdict: decision.verdicts[0] }
  }
}

const preflight = (origin: string, method: string, headers?: string): RawInit => ({
  headers: {
    origin,
    'access-control-request-method': method,
    ...(headers ? { 'access-control-request-headers': headers } : {}),
  },
})

describe('cors: preflights answered at the edge', () => {
  it('answers an allowed preflight itself: 204 with the policy, never the backend', async () => {
    const send = setup()
    const d = await send('OPTIONS /api/cart', preflight(SHOP, 'POST', 'Content-Type, X-CSRF-Token'))
    expect(d.effect).toEqual({
      kind: 'respond',
      delayMs: 0,
      status: 204,
      body: '',
      headers: {
        'access-control-allow-origin': SHOP,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': 'content-type, x-csrf-token',
        'access-control-max-age': '600',
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      },
    })
    expect(d.verdict).toMatchObject({ rule: 'cors.front', action: 'allow' })
  })

  it.each([
    ['an origin not listed', 'https://evil.example', 'POST', undefined, 'origin not allowed'],
    ['a suffix attack', 'https://shop.example.evil.test', 'POST', undefined, 'origin not allowed'],
    ['a prefix attack', 'https://evilshop.example', 'POST', undefined, 'origin not allowed'],
    [
      'two labels under a one-label pattern',
      'https://a.b.shop.example',
      'POST',
      undefined,
      'origin not allowed',
    ],
    ['another scheme', 'http://shop.example', 'POST', undefined, 'origin not allowed'],
    ['the null origin', 'null', 'GET', undefined, 'origin not allowed'],
    ['a method not allowed', SHOP, 'PUT', undefined, 'method PUT not allowed'],
    ['a header not allowed', SHOP, 'POST', 'content-type, x-admin', 'header x-admin not allowed'],
  ])(
    'refuses a preflight from %s (403, no CORS headers)',
    async (_what, origin, method, headers, why) => {
      const send = setup()
      const d = await send('OPTIONS /api/cart', preflight(origin, method, headers))
      expect(d.decision.action).toBe('block')
      expect(d.verdict?.reason).toBe(`CORS preflight from ${origin} for ${method}: ${why}`)
      expect(d.effect).toMatchObject({ kind: 'respond', status: 403 })
      expect(JSON.stringify((d.effect as { headers: object }).headers)).not.toContain(
        'access-control',
      )
    },
  )

  it('allows one subdomain level and any port where the pattern says so', async () => {
    const send = setup()
    for (const origin of ['https://eu.shop.example', 'http://localhost:5173', 'http://localhost'])
      expect((await send('OPTIONS /api/cart', preflight(origin, 'GET'))).effect).toMatchObject({
        status: 204,
        headers: { 'access-control-allow-origin': origin },
      })
  })
})

describe('cors: actual requests', () => {
  const BLANK = {
    'access-control-allow-methods': '',
    'access-control-allow-headers': '',
    'access-control-max-age': '',
    'access-control-allow-private-network': '',
  }

  it('an allowed origin gets its own origin back (never *), with credentials; backend CORS headers go', async () => {
    const send = setup()
    const d = await send('POST /api/cart', { headers: { origin: SHOP, cookie: 'sid=1' }, json: {} })
    expect(d.effect).toEqual({
      kind: 'forward',
      delayMs: 0,
      headers: {
        ...BLANK,
        'access-control-allow-origin': SHOP,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-request-id',
      },
    })
  })

  it('refuses and logs a disallowed origin that carries credentials', async () => {
    const send = setup()
    for (const [headers, kind] of [
      [{ cookie: 'sid=victim' }, 'cookie'],
      [{ authorization: 'Bearer x' }, 'authorization'],
    ] as const) {
      const d = await send('POST /api/cart', {
        headers: { origin: 'https://evil.example', ...headers },
        json: {},
      })
      expect(d.decision.action).toBe('block')
      expect(d.verdict).toMatchObject({
        rule: 'cors.front',
        status: 403,
        reason: `cross-origin request from https://evil.example (not an allowed origin) carries credentials (${kind})`,
        data: { origin: 'https://evil.example', credentials: kind },
      })
    }
  })

  it('forwards a disallowed origin without credentials, logged, with every CORS header removed', async () => {
    const send = setup()
    const d = await send('GET /api/products', { headers: { origin: 'https://evil.example' } })
    expect(d.decision.action).toBe('log')
    expect(d.effect).toEqual({
      kind: 'forward',
      delayMs: 0,
      headers: {
        ...BLANK,
        'access-control-allow-origin': '',
        'access-control-allow-credentials': '',
        'access-control-expose-headers': '',
      },
    })
  })

  it('no Origin, or the page’s own host: not cross-origin; the backend’s CORS headers are still removed', async () => {
    const send = setup()
    for (const init of [{}, { headers: { origin: 'http://gw.test', cookie: 'sid=1' } }]) {
      const d = await send('POST /api/cart', { ...init, json: {} })
      expect(d.decision.action).toBe('allow')
      expect(
        (d.effect as { headers: Record<string, string> }).headers['access-control-allow-origin'],
      ).toBe('')
      // Headers only: nothing an event should list among its reasons.
      expect(d.decision.verdicts).toHaveLength(1)
      expect(toEvent(d.ctx, d.decision, { status: 200, ms: 1, byGateway: false }).reasons).toEqual(
        [],
      )
    }
  })

  it('paths no rule covers are left alone', async () => {
    const send = setup()
    const d = await send('GET /health', {
      headers: { origin: 'https://evil.example', cookie: 'a=1' },
    })
    expect(d.decision.verdicts).toEqual([])
  })

  it('"*" answers a literal * and never reflects the origin', async () => {
    const send = setup({}, [{ paths: ['/public/*'], origins: ['*'] }])
    const d = await send('GET /public/prices', { headers: { origin: 'https://anyone.example' } })
    expect(d.effect).toMatchObject({
      kind: 'forward',
      headers: { 'access-control-allow-origin': '*', 'access-control-allow-credentials': '' },
    })
    expect(d.verdict?.rule).toBe('cors.0')
  })

  it('monitor mode decides and logs, but answers nothing and refuses nothing', async () => {
    const send = setup({ mode: 'monitor' })
    const pre = await send('OPTIONS /api/cart', preflight(SHOP, 'POST'))
    expect(pre.effect).toMatchObject({ kind: 'forward', headers: {} })
    const bad = await send('POST /api/cart', {
      headers: { origin: 'https://evil.example', cookie: 'a=1' },
      json: {},
    })
    expect(bad.decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
  })

  it('a contract refusal carries the CORS headers, so the allowed page can read why', async () => {
    const send = setup(
      { contract: { openapi: 'test/fixtures/openapi/keywords.yaml', exempt: ['/api/*'] } },
      [{ ...RULE, paths: ['/*'] }],
    )
    const d = await send('GET /items/0', { headers: { origin: SHOP, cookie: 'sid=1' } })
    expect(d.effect).toMatchObject({
      kind: 'respond',
      status: 400,
      headers: {
        'content-type': 'application/problem+json',
        'access-control-allow-origin': SHOP,
        'access-control-allow-credentials': 'true',
      },
    })
    const evil = await send('GET /items/0', { headers: { origin: 'https://evil.example' } })
    expect(JSON.stringify((evil.effect as { headers: object }).headers)).not.toContain(
      'access-control',
    )
  })
})

describe('cors: config', () => {
  const problem = (rule: Record<string, unknown>) => {
    try {
      parseGatewayConfig(JSON.stringify({ cors: { rules: [rule] } }), 'bulwark.yaml', {})
    } catch (err) {
      return (err as Error).message
    }
    return 'no problem'
  }

  it('refuses origins that would leak: null, * with credentials, paths, upper case', () => {
    expect(problem({ origins: ['null'] })).toBe(
      'bulwark.yaml:1 cors.rules[0].origins[0]: expected an origin like "https://shop.example" or "https://*.shop.example", got "null": the "null" origin (sandboxed pages, file: URLs, redirects) can be sent by any page; it is never allowed',
    )
    expect(problem({ origins: [null] })).toBe(
      'bulwark.yaml:1 cors.rules[0].origins[0]: expected an origin like "https://shop.example", got null (a bare null in YAML is no value; the "null" origin itself is never allowed: any page can send it)',
    )
    expect(problem({ origins: ['*'], credentials: true })).toBe(
      'bulwark.yaml:1 cors.rules[0].origins: "*" cannot be used with credentials: true (browsers read it literally); list the origins instead',
    )
    expect(problem({ origins: ['https://shop.example/'] })).toMatch(/an origin has no path/)
    expect(problem({ origins: ['https://Shop.example'] })).toMatch(/origins are lower case/)
    expect(problem({ origins: ['https://shop.*.example'] })).toMatch(
      /"\*\." only as the first label/,
    )
    expect(problem({ origins: [SHOP], methods: ['GET POST'] })).toMatch(/expected an HTTP token/)
  })

  it('matches origins exactly, by one-label pattern, and with default ports', () => {
    const m = originMatcher([SHOP, 'https://*.shop.example', 'http://localhost:*'])
    expect(m.allows(SHOP)).toBe(true)
    expect(m.allows('https://shop.example:443')).toBe(true)
    expect(m.allows('https://eu.shop.example')).toBe(true)
    expect(m.allows('https://shop.example.evil.test')).toBe(false)
    expect(m.allows('https://eushop.example')).toBe(false)
    expect(m.allows('https://.shop.example')).toBe(false)
    expect(m.allows('http://localhost:3000')).toBe(true)
    expect(m.allows('http://localhost.evil.test')).toBe(false)
    expect(m.any).toBe(false)
  })
})

describe('cors: through the gateway, in front of a careless backend', () => {
  let upstream: Server
  let gw: Gateway
  let client: Client
  const seen: string[] = []

  beforeAll(async () => {
    // Answers everything with the worst CORS policy there is.
    upstream = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      req.resume()
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': '*',
        'access-control-allow-headers': '*',
      })
      res.end('{"secret":"account data"}')
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    const port = (upstream.address() as AddressInfo).port
    gw = await startGateway(
      config({
        server: { host: '127.0.0.1' },
        upstreams: { app: { url: `http://127.0.0.1:${port}` } },
        routes: [{ path: '/*', upstream: 'app' }],
        cors: { rules: [RULE] },
      }),
      { port: 0 },
    )
    client = new Client(gw.url)
  })

  afterAll(async () => {
    await client.close()
    await gw.close()
    await new Promise((r) => upstream.close(r))
  })

  async function get(method: string, path: string, headers: Record<string, string>) {
    const before = seen.length
    const res = await client.request({ method: method as 'GET', path, headers })
    await res.body.text()
    return { status: res.statusCode, headers: res.headers, reached: seen.length > before }
  }

  it('an allowed origin reads the answer under the policy, not the backend’s *', async () => {
    const r = await get('GET', '/api/account', { origin: SHOP, cookie: 'sid=1' })
    expect(r).toMatchObject({ status: 200, reached: true })
    expect(r.headers['access-control-allow-origin']).toBe(SHOP)
    expect(r.headers['access-control-allow-credentials']).toBe('true')
    expect(r.headers['access-control-expose-headers']).toBe('x-request-id')
    expect(r.headers['access-control-allow-methods']).toBeUndefined()
    expect(r.headers['access-control-allow-headers']).toBeUndefined()
  })

  it('a disallowed origin without credentials gets the answer with no CORS headers at all', async () => {
    const r = await get('GET', '/api/products', { origin: 'https://evil.example' })
    expect(r).toMatchObject({ status: 200, reached: true })
    expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control'))).toEqual([])
  })

  it('a disallowed origin with cookies is refused before the backend', async () => {
    const r = await get('GET', '/api/account', {
      origin: 'https://evil.example',
      cookie: 'sid=victim',
    })
    expect(r).toMatchObject({ status: 403, reached: false })
    expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control'))).toEqual([])
  })

  it('preflights never reach the backend', async () => {
    const ok = await get('OPTIONS', '/api/cart', {
      origin: SHOP,
      'access-control-request-method': 'POST',
    })
    expect(ok).toMatchObject({ status: 204, reached: false })
    expect(ok.headers['access-control-allow-origin']).toBe(SHOP)
    const bad = await get('OPTIONS', '/api/cart', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    })
    expect(bad).toMatchObject({ status: 403, reached: false })
  })

  it('a request without Origin gets no CORS headers either', async () => {
    const r = await get('GET', '/api/products', {})
    expect(r).toMatchObject({ status: 200, reached: true })
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('cors: preflights and the auth layer', () => {
  // Browsers send preflights without credentials (Fetch standard): an auth rule on the path must
  // not turn the edge's 204 into a 401, or no page on an allowed origin can call the API.
  const auth = {
    auth: {
      issuers: [HS_ISSUER],
      rules: [{ id: 'signed-in', paths: ['/api/*'] }],
    },
  }

  it('answers an allowed preflight to a signed-in route with 204, not 401', async () => {
    const send = setup(auth)
    const d = await send('OPTIONS /api/cart', preflight(SHOP, 'POST', 'Content-Type'))
    expect(d.effect).toMatchObject({ kind: 'respond', status: 204 })
    expect(d.decision.action).toBe('allow')
  })

  it('still asks for a token on the request itself and on a refused preflight', async () => {
    const send = setup(auth)
    const actual = await send('POST /api/cart', { headers: { origin: SHOP } })
    expect(actual.effect).toMatchObject({ kind: 'respond', status: 401 })
    const evil = await send('OPTIONS /api/cart', preflight('https://evil.example', 'POST'))
    expect(evil.effect).toMatchObject({ kind: 'respond', status: 403 })
    // An OPTIONS that is not a preflight (no Access-Control-Request-Method) is not exempt.
    const bare = await send('OPTIONS /api/cart', { headers: { origin: SHOP } })
    expect(bare.effect).toMatchObject({ kind: 'respond', status: 401 })
  })

  it('under a monitor-mode cors rule the preflight is forwarded, so auth applies', async () => {
    const send = setup(auth, [{ ...RULE, mode: 'monitor' }])
    const d = await send('OPTIONS /api/cart', preflight(SHOP, 'POST'))
    expect(d.effect).toMatchObject({ kind: 'respond', status: 401 })
  })
})
