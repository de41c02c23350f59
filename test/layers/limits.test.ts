import { describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import type { Verdict } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, sender, type RawInit } from '../helpers/engine.js'

const T0 = 1_800_000_000_000

function setup(extra: Record<string, unknown>) {
  let now = T0
  const clock = { now: () => now }
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: {
        account: [{ body: 'username', paths: ['/api/login'] }],
        session: { cookie: 'sid' },
      },
      ...extra,
    }),
    { clock, store: new MemoryStore() },
  )
  return {
    engine,
    advance: (ms: number) => (now += ms),
    send: sender(engine),
  }
}

const login = (username: unknown, ip = '203.0.113.1'): [string, RawInit] => [
  'POST /api/login',
  { json: { username, password: 'x' }, ip },
]

describe('limits: requests per account', () => {
  const rules = {
    limits: {
      rules: [
        {
          id: 'login-per-account',
          paths: ['/api/login'],
          methods: ['POST'],
          key: ['account'],
          limit: 5,
          window: '60s',
        },
      ],
    },
  }

  it('allows 5 attempts per account per minute from rotating IPs, then throttles with headers', async () => {
    const t = setup(rules)
    for (let i = 0; i < 5; i++)
      expect((await t.send(...login('victim', `198.51.100.${i}`))).action).toBe('allow')
    const d = await t.send(...login('victim', '198.51.100.99'))
    expect(d.action).toBe('throttle')
    const v = d.decisive as Verdict
    expect(v).toMatchObject({ rule: 'limits.login-per-account', status: 429 })
    expect(v.reason).toBe('account "victim": 6 requests > 5 per 60s')
    // the full current window becomes the previous one, still weighing ~100%: 60s + 1/5 of 60s
    expect(v.headers?.['retry-after']).toBe('72')
    expect(v.headers?.['ratelimit-policy']).toMatch(
      /^"login-per-account";q=5;w=60;pk=:[A-Za-z0-9+/=]{16}:$/,
    )
    expect(v.headers?.ratelimit).toMatch(/^"login-per-account";r=0;t=72;pk=:/)
    expect(JSON.stringify(v.headers)).not.toContain('victim')
    // another account is unaffected
    expect((await t.send(...login('alice'))).action).toBe('allow')
    // a minute and more later the account recovers (sliding window: two windows clear it)
    t.advance(120_000)
    expect((await t.send(...login('victim'))).action).toBe('allow')
  })

  it('canonicalises the account: case, whitespace, NFKC, JSON vs form vs multipart', async () => {
    const t = setup(rules)
    const variants: RawInit[] = [
      { json: { username: 'Victim' } },
      { json: { username: ' victim ' } },
      { json: { username: 'ｖｉｃｔｉｍ' } },
      {
        body: 'username=VICTIM&password=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        body: '--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nvIcTiM\r\n--b--\r\n',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
      },
    ]
    for (const v of variants) expect((await t.send('POST /api/login', v)).action).toBe('allow')
    const d = await t.send('POST /api/login', { json: { username: 'victim' } })
    expect(d.action).toBe('throttle')
  })

  it('refuses bodies the gateway and backend could read differently', async () => {
    const t = setup(rules)
    const dup = await t.send('POST /api/login', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.decisive).toMatchObject({ rule: 'request.ambiguous-body', status: 400 })
    expect(dup.decisive?.reason).toContain('"username" twice')
    const escaped = await t.send('POST /api/login', {
      body: '{"username":"a","\\u0075sername":"b"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(escaped.decisive?.status).toBe(400)
    const wrongType = await t.send('POST /api/login', { json: { username: ['a', 'b'] } })
    expect(wrongType.decisive?.reason).toBe('body field "username" is a array, expected a string')
    const mismatch = await t.send('POST /api/login', {
      body: '{"username":"a"}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(mismatch.decisive?.reason).toBe('body looks like JSON but Content-Type says form')
    const notJson = await t.send('POST /api/login', {
      body: 'username=a',
      headers: { 'content-type': 'application/json' },
    })
    expect(notJson.decisive?.status).toBe(400)
    const twice = await t.send('POST /api/login', {
      body: 'username=a&username=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(twice.decisive?.reason).toBe('body field "username" given more than once')
    // nested duplicate keys elsewhere in the object are refused too
    const nested = await t.send('POST /api/login', {
      body: '{"username":"a","x":{"k":1,"k":2}}',
      headers: { 'content-type': 'application/json' },
    })
    expect(nested.decisive?.status).toBe(400)
    // A byte-order mark: the gateway's decoder would skip it, most backends' JSON.parse refuses.
    const bom = await t.send('POST /api/login', {
      body: '\uFEFF{"username":"a"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(bom.decisive).toMatchObject({
      status: 400,
      reason: 'JSON body starts with a byte-order mark (RFC 8259 §8.1)',
    })
    // Declared in another charset: the backend may decode it otherwise than as UTF-8.
    for (const type of [
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded;charset="Shift_JIS"',
    ]) {
      const other = await t.send('POST /api/login', {
        body: type.includes('json') ? '{"username":"a"}' : 'username=a',
        headers: { 'content-type': type },
      })
      expect(other.decisive?.status).toBe(400)
      expect(other.decisive?.reason).toMatch(
        /^a body in charset (utf-16|shift_jis) cannot be inspected/,
      )
    }
    for (const type of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"']) {
      const utf8 = await t.send('POST /api/login', {
        body: '{"username":"a"}',
        headers: { 'content-type': type },
      })
      expect(utf8.decisive).toBeUndefined()
    }
  })

  it('does not read bodies on routes no account source names', async () => {
    const t = setup({
      limits: { rules: [{ id: 'acct', key: ['account'], limit: 1, window: '60s' }] },
    })
    let read = 0
    const r = raw('POST /api/cart', { json: { username: 'x' } })
    const { ctx } = t.engine.prepare({ ...r, readBody: (cap) => (read++, r.readBody(cap)) })
    await t.engine.inspect(ctx)
    expect(read).toBe(0)
  })
})

describe('limits: outcomes, distinct, algorithms', () => {
  it('counts failed logins per IP after the response, across accounts', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'failed-logins-ip',
            paths: ['/api/login'],
            key: ['ip'],
            count: 'outcomes',
            outcomes: [401, 403],
            limit: 3,
            window: '5m',
          },
        ],
      },
    })
    // successes do not count
    for (let i = 0; i < 5; i++) expect((await t.send(...login(`u${i}`), 200)).action).toBe('allow')
    for (let i = 0; i < 3; i++) expect((await t.send(...login(`x${i}`), 401)).action).toBe('allow')
    const d = await t.send(...login('x9'), 401)
    expect(d.action).toBe('throttle')
    expect(d.decisive?.reason).toBe('ip "203.0.113.1": 4 counted outcomes > 3 per 300s')
    // another IP is fine
    expect((await t.send(...login('x0', '192.0.2.1'), 401)).action).toBe('allow')
  })

  it('holds a place for each request in flight: a burst sent side by side cannot all pass, and answers that do not count give theirs back', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'failed-logins-account',
            paths: ['/api/login'],
            key: ['account'],
            count: 'outcomes',
            outcomes: [401],
            limit: 5,
            window: '60s',
          },
        ],
      },
    })
    // Twenty guesses against one account, all checked before any answer is back (a burst).
    const inFlight = []
    for (let i = 0; i < 20; i++) {
      const { ctx } = t.engine.prepare(raw(...login('victim', `198.51.100.${i}`)))
      inFlight.push({ ctx, d: await t.engine.inspect(ctx) })
    }
    const passed = inFlight.filter((r) => r.d.action === 'allow')
    expect(passed).toHaveLength(5)
    expect(inFlight[5]!.d.decisive?.reason).toBe('account "victim": 6 counted outcomes > 5 per 60s')
    // Three answers count (401), two do not (200): those two places are given back…
    passed.forEach((r, i) =>
      t.engine.observe(r.ctx, { status: i < 3 ? 401 : 200, ms: 1, byGateway: false }, r.d),
    )
    // …and so are the refused ones' (the gateway answered: nothing was counted for them).
    for (const r of inFlight.slice(5))
      t.engine.observe(r.ctx, { status: 429, ms: 0, byGateway: true }, r.d)
    const next = []
    for (let i = 0; i < 3; i++) next.push((await t.send(...login('victim'), 401)).action)
    expect(next).toEqual(['allow', 'allow', 'throttle'])
  })

  it('gives the place back when another rule refused the request, or the client left while it was held back', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'failed',
            paths: ['/api/login'],
            key: ['ip'],
            count: 'outcomes',
            outcomes: [401],
            limit: 2,
            window: '60s',
          },
        ],
      },
    })
    for (const outcome of [
      { status: 403, ms: 0, byGateway: true },
      // Gone during a delay: the request never reached the backend.
      { status: 0, ms: 5, byGateway: true },
      { status: 429, ms: 0, byGateway: true },
    ]) {
      const { ctx } = t.engine.prepare(raw(...login('a')))
      const d = await t.engine.inspect(ctx)
      expect(d.action).toBe('allow')
      t.engine.observe(ctx, outcome, d)
    }
    // Nothing was kept: two failures still fit.
    expect((await t.send(...login('a'), 401)).action).toBe('allow')
    expect((await t.send(...login('a'), 401)).action).toBe('allow')
    expect((await t.send(...login('a'), 401)).action).toBe('throttle')
  })

  it('keeps the place when the backend had the request but its answer is unknown: a client that hangs up, an upstream that failed after the request was sent', async () => {
    const rule = {
      id: 'voucher-guesses',
      paths: ['/api/login'],
      key: ['account'],
      count: 'outcomes',
      outcomes: [401],
      limit: 3,
      window: '60s',
    }
    const t = setup({ limits: { rules: [rule] } })
    const unknown = [
      { status: 0, ms: 5, byGateway: false }, // the client hung up before the answer
      { status: 504, ms: 5, byGateway: true, unanswered: true }, // timed out after being sent it
      { status: 502, ms: 5, byGateway: true, unanswered: true }, // broke the exchange
    ]
    for (const outcome of unknown) {
      const { ctx } = t.engine.prepare(raw(...login('victim', '198.51.100.7')))
      const d = await t.engine.inspect(ctx)
      expect(d.action).toBe('allow')
      t.engine.observe(ctx, outcome, d)
    }
    // All three places are still taken: the fourth guess is refused before the backend sees it.
    const d = await t.send(...login('victim', '198.51.100.8'), 401)
    expect(d.action).toBe('throttle')
    expect(d.decisive?.reason).toBe('account "victim": 4 counted outcomes > 3 per 60s')

    // An upstream that could not be reached never had the request (a 502 without `unanswered`):
    // given back, so people retrying through an outage are not counted as failures.
    const u = setup({ limits: { rules: [rule] } })
    for (let i = 0; i < 5; i++) {
      const { ctx } = u.engine.prepare(raw(...login('victim')))
      const d = await u.engine.inspect(ctx)
      expect(d.action).toBe('allow')
      u.engine.observe(ctx, { status: 502, ms: 0, byGateway: true }, d)
    }
    for (let i = 0; i < 3; i++) expect((await u.send(...login('victim'), 401)).action).toBe('allow')
  })

  it('counts distinct product ids per fingerprint, whatever the IP', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'product-sweep',
            paths: ['/api/products/:id'],
            key: ['fingerprint'],
            count: 'distinct',
            distinct: 'param:id',
            limit: 10,
            window: '60s',
          },
        ],
      },
    })
    const ua = { 'user-agent': 'sweeper/1.0', accept: '*/*' }
    for (let i = 1; i <= 10; i++)
      expect(
        (await t.send(`GET /api/products/${i}`, { headers: ua, ip: `10.0.${i}.1` })).action,
      ).toBe('allow')
    // revisiting a seen id is not a new distinct value
    expect((await t.send('GET /api/products/3', { headers: ua })).action).toBe('allow')
    const d = await t.send('GET /api/products/11', { headers: ua, ip: '10.9.9.9' })
    expect(d.action).toBe('throttle')
    expect(d.decisive?.data).toMatchObject({ count: 11, limit: 10 })
    // a person with another browser is unaffected
    expect(
      (
        await t.send('GET /api/products/11', {
          headers: { 'user-agent': 'Mozilla/5.0', accept: 'application/json' },
        })
      ).action,
    ).toBe('allow')
  })

  it('counts distinct accounts per IP (credential stuffing) and distinct IPs per account', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'accounts-per-ip',
            paths: ['/api/login'],
            key: ['ip'],
            count: 'distinct',
            distinct: 'account',
            limit: 3,
            window: '10m',
          },
          {
            id: 'ips-per-account',
            paths: ['/api/login'],
            key: ['account'],
            count: 'distinct',
            distinct: 'ip',
            limit: 3,
            window: '10m',
          },
        ],
      },
    })
    for (const u of ['a', 'b', 'c']) expect((await t.send(...login(u))).action).toBe('allow')
    expect((await t.send(...login('d'))).decisive?.rule).toBe('limits.accounts-per-ip')
    for (const ip of ['192.0.2.1', '192.0.2.2'])
      expect((await t.send(...login('bob', ip))).action).toBe('allow')
    // bob was also tried from 203.0.113.1? no: bob is new; third and fourth IPs
    expect((await t.send(...login('bob', '192.0.2.3'))).action).toBe('allow')
    expect((await t.send(...login('bob', '192.0.2.4'))).decisive?.rule).toBe(
      'limits.ips-per-account',
    )
  })

  it('GCRA allows the burst then one request per emission interval', async () => {
    const t = setup({
      limits: {
        rules: [{ id: 'g', key: ['ip'], limit: 60, window: '60s', algorithm: 'gcra', burst: 3 }],
      },
    })
    for (let i = 0; i < 3; i++) expect((await t.send('GET /x')).action).toBe('allow')
    const d = await t.send('GET /x')
    expect(d.action).toBe('throttle')
    expect(d.decisive?.headers?.['retry-after']).toBe('1')
    t.advance(1_000)
    expect((await t.send('GET /x')).action).toBe('allow')
    expect((await t.send('GET /x')).action).toBe('throttle')
  })

  it('monitor rules only say what they would have done', async () => {
    const t = setup({
      limits: { rules: [{ id: 'm', key: ['ip'], limit: 1, window: '60s', mode: 'monitor' }] },
    })
    await t.send('GET /x')
    const d = await t.send('GET /x')
    expect(d).toMatchObject({ action: 'allow', wouldHave: 'throttle' })
  })

  it('can send RateLimit headers on every answer when configured', async () => {
    const t = setup({
      limits: { headers: 'all', rules: [{ id: 'h', key: ['ip'], limit: 5, window: '60s' }] },
    })
    const d = await t.send('GET /x')
    expect(d.action).toBe('allow')
    expect(d.decisive?.headers?.ratelimit).toMatch(/^"h";r=4;t=\d+;pk=/)
  })

  it('skips a rule when its key facet is missing', async () => {
    const t = setup({ limits: { rules: [{ id: 'k', key: ['apiKey'], limit: 1, window: '60s' }] } })
    for (let i = 0; i < 3; i++) expect((await t.send('GET /x')).action).toBe('allow')
    await t.send('GET /x', { headers: { 'x-api-key': 'k1' } })
    expect((await t.send('GET /x', { headers: { 'x-api-key': 'k1' } })).action).toBe('throttle')
  })
})

describe('limits: config', () => {
  it('rejects rules that contradict themselves', () => {
    expect(() =>
      config({
        limits: { rules: [{ id: 'a', key: ['ip'], limit: 1, window: '1s', count: 'outcomes' }] },
      }),
    ).toThrow(/outcomes/)
    expect(() =>
      config({ limits: { rules: [{ id: 'a', key: ['nope'], limit: 1, window: '1s' }] } }),
    ).toThrow(/expected one of ip/)
  })
  it('keeps engines independent', () => {
    const a: Engine = setup({}).engine
    expect(a.layers.map((l) => l.name)).toEqual([])
  })
})

describe('limits: signedIn (red team)', () => {
  it('signedIn: false counts only requests without a verified token; true only those with one', async () => {
    const { SignJWT } = await import('jose')
    const { HS_ISSUER } = await import('../helpers/engine.js')
    const nowS = Math.floor(T0 / 1000)
    const token = await new SignJWT({ sub: 'alice', aud: 'api', iss: HS_ISSUER.issuer })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + 600)
      .sign(new TextEncoder().encode(HS_ISSUER.secret))
    const rule = (id: string, signedIn: boolean) => ({
      id,
      paths: ['/api/posts/*'],
      key: ['route'],
      signedIn,
      limit: 2,
      window: '1m',
    })
    const t = setup({
      auth: {
        issuers: [HS_ISSUER],
        rules: [{ id: 'optional', paths: ['/api/*'], require: { authenticated: false } }],
      },
      limits: { rules: [rule('anonymous', false), rule('members', true)] },
    })
    const signedIn = { headers: { authorization: `Bearer ${token}` } }
    const refused = async (init: RawInit) => (await t.send('GET /api/posts/1', init)).decisive?.rule
    // Signed-in users (an app without cookies) are not counted by the anonymous clients' rule.
    for (let i = 0; i < 2; i++) expect(await refused(signedIn)).toBeUndefined()
    expect(await refused(signedIn)).toBe('limits.members')
    for (let i = 0; i < 2; i++) expect(await refused({})).toBeUndefined()
    expect(await refused({})).toBe('limits.anonymous')
  })
})

describe('limits: session filter', () => {
  it('session: missing counts only requests without one; present only those with one', async () => {
    const rule = (id: string, session: 'missing' | 'present') => ({
      id,
      paths: ['/api/notes/*'],
      key: ['route'],
      session,
      limit: 2,
      window: '1m',
    })
    const t = setup({
      identity: { session: { header: 'authorization' } },
      limits: { rules: [rule('anonymous', 'missing'), rule('with-token', 'present')] },
    })
    const refused = async (init: RawInit) => (await t.send('GET /api/notes/1', init)).decisive?.rule
    const withToken = (n: number): RawInit => ({ headers: { authorization: `Bearer user-${n}` } })
    // Requests with a token (each user's own) are not counted by the anonymous clients' rule.
    for (let i = 0; i < 2; i++) expect(await refused(withToken(i))).toBeUndefined()
    expect(await refused(withToken(9))).toBe('limits.with-token')
    for (let i = 0; i < 2; i++) expect(await refused({})).toBeUndefined()
    expect(await refused({})).toBe('limits.anonymous')
  })
})
