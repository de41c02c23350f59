import { Secret, TOTP } from 'otpauth'
import { beforeAll, describe, expect, it } from 'vitest'
import type { RawRequest } from '../../src/engine/context.js'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision, RequestContext } from '../../src/engine/types.js'
import { enrollTotp } from '../../src/layers/auth/enroll-totp.js'
import { MemoryStore } from '../../src/store/memory.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { config, raw, type RawInit } from '../helpers/engine.js'
import { sign, testKey, type TestKey } from '../helpers/oidc.js'

const T0 = 1_800_000_000_000
const NOW_S = T0 / 1000
const ISS = 'https://idp.test'
const TOTP_KEY = 'a'.repeat(64)

let rsa: TestKey
let ec: TestKey
beforeAll(async () => {
  rsa = await testKey('RS256', 'rsa-1')
  ec = await testKey('ES256', 'ec-1')
})

function issuer(extra: Record<string, unknown> = {}) {
  return { issuer: ISS, audience: 'shop-api', keys: [rsa.jwk, ec.jwk], ...extra }
}

function setup(auth: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  let now = T0
  const clock = { now: () => now }
  const store = new MemoryStore()
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      auth: { issuers: [issuer()], ...auth },
      ...extra,
    }),
    { clock, store },
  )
  async function send(line: string, init: RawInit = {}, rawReq?: RawRequest) {
    const { ctx, refusal } = engine.prepare(rawReq ?? raw(line, init))
    expect(refusal).toBeUndefined()
    const decision = await engine.inspect(ctx)
    return { decision, ctx }
  }
  return {
    engine,
    store,
    advance: (ms: number) => (now += ms),
    now: () => now,
    send,
    /** `GET path` with `Authorization: Bearer token`. */
    async get(path: string, token?: string, headers: Record<string, string> = {}) {
      return send(`GET ${path}`, {
        headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
      })
    },
  }
}

const tok = (claims: Record<string, unknown> = {}, key: TestKey = rsa) =>
  sign(key, ISS, claims, { now: NOW_S })

const upstreamHeaders = (ctx: RequestContext) => ctx.upstreamHeaders

const www = (d: Decision) => d.decisive?.headers?.['www-authenticate']

describe('auth: except', () => {
  it('a catch-all rule with except: every path needs a token but the ones left out, a route added later included', async () => {
    const t = setup({
      rules: [
        { id: 'signed-in', paths: ['/v1/*'], except: ['/v1/login', '/v1/signup', '/v1/public/*'] },
        { id: 'admin', paths: ['/v1/admin/*'], require: { claims: { roles: 'admin' } } },
      ],
    })
    // Left out: no token needed.
    for (const p of ['/v1/login', '/V1/Login/', '/v1/signup', '/v1/public/terms'])
      expect((await t.get(p)).decision.action, p).toBe('allow')
    // Everything else under /v1, documented or not, needs one.
    for (const p of ['/v1/accounts/7', '/v1/route-added-later', '/v1/login/extra']) {
      const { decision } = await t.get(p)
      expect(decision.action, p).toBe('block')
      expect(decision.decisive).toMatchObject({ rule: 'auth.signed-in', status: 401 })
    }
    expect((await t.get('/v1/accounts/7', await tok())).decision.action).toBe('allow')
    // except on one rule leaves the others: the admin rule still applies to its paths.
    const admin = await t.get('/v1/admin/users', await tok())
    expect(admin.decision.decisive).toMatchObject({ rule: 'auth.admin', status: 403 })
  })

  it('bulwark check counts a path an except leaves out as not covered', () => {
    const engine = createEngine(
      config({
        upstreams: { app: { url: 'http://127.0.0.1:9' } },
        routes: [{ path: '/*', upstream: 'app' }],
        auth: {
          issuers: [issuer()],
          rules: [{ id: 'all', paths: ['/*'], except: ['/api/products/*'] }],
        },
        limits: {
          rules: [
            {
              id: 'anon',
              paths: ['/api/products/:id'],
              key: ['ip'],
              limit: 5,
              window: '1m',
              signedIn: false,
            },
          ],
        },
      }),
      { store: new MemoryStore() },
    )
    expect(engine.warnings.join('\n')).toContain(
      'limits.rules[0].signedIn: no auth rule covers /api/products/:id',
    )
  })
})

describe('auth: who needs a token', () => {
  const rules = {
    rules: [
      { id: 'account', paths: ['/api/account', '/api/account/*'] },
      { id: 'cart', paths: ['/api/cart'], require: { authenticated: false } },
    ],
  }

  it('leaves routes no rule guards alone, token or not', async () => {
    const t = setup(rules)
    expect((await t.get('/api/products/1')).decision.action).toBe('allow')
    expect((await t.get('/api/products/1', 'garbage')).decision.action).toBe('allow')
    const { ctx } = await t.get('/api/products/1', await tok())
    expect(ctx.identity.account).toBeUndefined()
  })

  it('answers a guarded route without a token 401 with a bare Bearer challenge', async () => {
    const t = setup(rules)
    const { decision } = await t.get('/api/account')
    expect(decision.decisive).toMatchObject({
      action: 'block',
      status: 401,
      rule: 'auth.account',
      reason: 'no bearer token',
    })
    // RFC 6750 §3.1: no error code when the request carried no credentials
    expect(www(decision)).toBe('Bearer')
    // another scheme is not a bearer token
    expect(
      (await t.get('/api/account', undefined, { authorization: 'Basic YTpi' })).decision.decisive
        ?.status,
    ).toBe(401)
  })

  it('accepts RS256 and ES256 tokens, case-insensitive scheme, and makes sub the account', async () => {
    const t = setup(rules)
    for (const key of [rsa, ec]) {
      const { decision, ctx } = await t.get('/api/account', await tok({ sub: 'Alice' }, key))
      expect(decision.action).toBe('allow')
      expect(ctx.identity.account).toBe('alice')
      expect((ctx.locals.get('auth.claims') as { sub: string }).sub).toBe('Alice')
    }
    const lower = await t.send('GET /api/account', {
      headers: { authorization: `bearer ${await tok()}` },
    })
    expect(lower.decision.action).toBe('allow')
  })

  it('accepts only the algorithms listed for the issuer', async () => {
    const ps = await testKey('PS256', 'ps-1')
    const token = await tok({}, ps)
    const strict = setup(rules)
    expect((await strict.get('/api/account', token)).decision.decisive?.reason).toBe(
      `invalid token: alg "PS256" is not accepted from ${ISS}`,
    )
    const listed = setup({
      ...rules,
      issuers: [issuer({ keys: [rsa.jwk, ps.jwk], algorithms: ['PS256'] })],
    })
    expect((await listed.get('/api/account', token)).decision.action).toBe('allow')
    expect((await listed.get('/api/account', await tok())).decision.decisive?.status).toBe(401)
  })

  it('makes a token optional with authenticated: false, but refuses an invalid one', async () => {
    const t = setup(rules)
    expect((await t.get('/api/cart')).decision.action).toBe('allow')
    const ok = await t.get('/api/cart', await tok({ sub: 'bob' }))
    expect(ok.decision.action).toBe('allow')
    expect(ok.ctx.identity.account).toBe('bob')
    const bad = await t.get('/api/cart', (await tok()).slice(0, -4) + 'AAAA')
    expect(bad.decision.decisive).toMatchObject({ status: 401, rule: 'auth.cart' })
    expect(www(bad.decision)).toBe('Bearer error="invalid_token"')
  })

  it('feeds the verified sub to limits keyed on account, whatever the IP', async () => {
    const t = setup(rules, {
      limits: { rules: [{ id: 'per-account', key: ['account'], limit: 2, window: '60s' }] },
    })
    const token = await tok({ sub: 'mallory' })
    for (const ip of ['192.0.2.1', '192.0.2.2'])
      expect(
        (await t.send('GET /api/account', { headers: { authorization: `Bearer ${token}` }, ip }))
          .decision.action,
      ).toBe('allow')
    const third = await t.send('GET /api/account', {
      headers: { authorization: `Bearer ${token}` },
      ip: '192.0.2.3',
    })
    expect(third.decision.decisive).toMatchObject({
      action: 'throttle',
      rule: 'limits.per-account',
    })
    expect((await t.get('/api/account', await tok({ sub: 'alice' }))).decision.action).toBe('allow')
  })

  it('reports a refusal under monitor mode as "would have"', async () => {
    const t = setup({ rules: [{ id: 'm', paths: ['/api/*'], mode: 'monitor' }] })
    const { decision } = await t.get('/api/x', 'not.a.token')
    expect(decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
  })
})

describe('auth: scopes and claims', () => {
  it('requires every scope, from a scope string or an scp array or string', async () => {
    const t = setup({
      rules: [{ id: 'admin', paths: ['/api/admin/*'], require: { scopes: ['admin_access'] } }],
    })
    for (const claims of [
      { scope: 'shop admin_access' },
      { scp: ['shop', 'admin_access'] },
      { scp: 'admin_access' },
    ])
      expect((await t.get('/api/admin/users', await tok(claims))).decision.action).toBe('allow')
    const { decision } = await t.get('/api/admin/users', await tok({ scope: 'shop' }))
    expect(decision.decisive).toMatchObject({
      action: 'block',
      status: 403,
      rule: 'auth.admin',
      reason: 'token lacks scope admin_access',
    })
    expect(www(decision)).toBe('Bearer error="insufficient_scope", scope="admin_access"')
    // without a token the challenge names the scope too, still without an error code
    expect(www((await t.get('/api/admin/users')).decision)).toBe('Bearer scope="admin_access"')
  })

  it('checks claims: equal, one of, array contains, dotted path, route parameter', async () => {
    const t = setup({
      rules: [
        { id: 'role', paths: ['/api/admin/*'], require: { claims: { role: 'admin' } } },
        { id: 'plan', paths: ['/api/reports'], require: { claims: { plan: ['pro', 'team'] } } },
        {
          id: 'realm',
          paths: ['/api/realm'],
          require: { claims: { 'realm_access.roles': 'auditor', level: 3 } },
        },
        {
          id: 'tenant',
          paths: ['/api/tenants/:tenant/*'],
          require: { claims: { tenant: { param: 'tenant' } } },
        },
      ],
    })
    const go = async (path: string, claims: Record<string, unknown>) =>
      (await t.get(path, await tok(claims))).decision
    expect((await go('/api/admin/x', { role: 'admin' })).action).toBe('allow')
    expect((await go('/api/admin/x', { role: ['user', 'admin'] })).action).toBe('allow')
    const role = await go('/api/admin/x', { role: 'administrator' })
    expect(role.decisive).toMatchObject({ status: 403, reason: 'claim role is not "admin"' })
    expect((await go('/api/admin/x', {})).decisive?.status).toBe(403)
    expect((await go('/api/reports', { plan: 'team' })).action).toBe('allow')
    expect((await go('/api/reports', { plan: 'free' })).decisive?.reason).toBe(
      'claim plan is not one of "pro", "team"',
    )
    expect(
      (await go('/api/realm', { realm_access: { roles: ['auditor'] }, level: '3' })).action,
    ).toBe('allow')
    expect((await go('/api/realm', { realm_access: { roles: ['user'] }, level: 3 })).action).toBe(
      'block',
    )
    expect((await go('/api/tenants/acme/orders', { tenant: 'acme' })).action).toBe('allow')
    const other = await go('/api/tenants/globex/orders', { tenant: 'acme' })
    expect(other.decisive?.reason).toBe('claim tenant does not match the :tenant in the path')
    // the segment as the upstream sees it, not the case-folded match key
    expect((await go('/api/tenants/ACME/orders', { tenant: 'acme' })).action).toBe('block')
  })

  it('restricts a rule to some issuers; tokens of every configured issuer verify', async () => {
    const secret = 's'.repeat(32)
    const t = setup({
      issuers: [
        issuer(),
        {
          issuer: 'https://partner.test',
          audience: ['partner', 'shop-api'],
          secret,
          algorithms: ['HS256'],
        },
      ],
      rules: [
        { id: 'api', paths: ['/api/*'] },
        { id: 'admin', paths: ['/api/admin/*'], issuers: [ISS] },
      ],
    })
    const { SignJWT } = await import('jose')
    const partner = await new SignJWT({ sub: 'p1', aud: 'partner', iss: 'https://partner.test' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(new TextEncoder().encode(secret))
    expect((await t.get('/api/orders', partner)).decision.action).toBe('allow')
    const admin = await t.get('/api/admin/users', partner)
    expect(admin.decision.decisive).toMatchObject({
      status: 401,
      rule: 'auth.admin',
      reason: 'invalid token: issuer "https://partner.test" is not accepted here',
    })
    expect((await t.get('/api/admin/users', await tok())).decision.action).toBe('allow')
    // an RS256 token claiming the secret issuer is refused: that issuer only knows HS256
    const forged = await sign(rsa, 'https://partner.test', { aud: 'partner' }, { now: NOW_S })
    expect((await t.get('/api/orders', forged)).decision.decisive?.reason).toBe(
      'invalid token: alg "RS256" is not accepted from https://partner.test',
    )
  })
})

describe('auth: claims forwarded upstream', () => {
  const rules = {
    rules: [
      {
        id: 'api',
        paths: ['/api/*'],
        forwardClaims: {
          sub: 'X-User-Id',
          role: 'x-user-role',
          groups: 'x-user-groups',
          name: 'x-user-name',
        },
      },
    ],
  }

  it('sets the chosen claims as upstream headers and removes what the client sent', async () => {
    const t = setup(rules)
    const { ctx, decision } = await t.get(
      '/api/orders',
      await tok({ sub: 'alice', groups: ['a', 'b'], name: 'Zoë' }),
      { 'x-user-id': 'admin', 'x-user-role': 'admin' },
    )
    expect(decision.action).toBe('allow')
    expect(upstreamHeaders(ctx)).toEqual({
      'x-user-id': 'alice',
      'x-user-role': '', // the token has no role: the client's copy goes, none replaces it
      'x-user-groups': 'a, b',
      'x-user-name': 'Zo%C3%AB',
    })
  })

  it('strips a spoofed claim header on every route, guarded or not', async () => {
    const t = setup(rules)
    const { ctx } = await t.get('/public', undefined, { 'x-user-id': 'admin' })
    expect(upstreamHeaders(ctx)).toEqual({ 'x-user-id': '' })
    const clean = await t.get('/public')
    expect(upstreamHeaders(clean.ctx)).toBeUndefined()
  })

  it('refuses to forward a claim in a header that frames the request', () => {
    expect(
      problem({
        issuers: [issuer()],
        rules: [{ id: 'a', forwardClaims: { sub: 'Authorization' } }],
      }),
    ).toBe(
      'bulwark.yaml:1 auth.rules[0].forwardClaims.sub: header "authorization" cannot carry a claim',
    )
  })
})

describe('auth: step-up (RFC 9470)', () => {
  const rules = {
    rules: [
      { id: 'signed-in', paths: ['/api/*'] },
      {
        id: 'password',
        paths: ['/api/account/password'],
        methods: ['POST'],
        stepUp: { acr: ['urn:mfa', 'phr'], amr: ['otp', 'hwk'], maxAge: '5m' },
      },
    ],
  }

  it('challenges a token without a strong, recent authentication', async () => {
    const t = setup(rules)
    const post = async (claims: Record<string, unknown>) =>
      (
        await t.send('POST /api/account/password', {
          headers: { authorization: `Bearer ${await tok(claims)}` },
        })
      ).decision
    const good = { acr: 'urn:mfa', amr: ['pwd', 'otp'], auth_time: NOW_S - 60 }
    expect((await post(good)).action).toBe('allow')
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, acr: undefined }, 'token has no acr'],
      [{ ...good, acr: 'pwd' }, 'acr "pwd" is not one of "urn:mfa", "phr"'],
      [{ ...good, amr: ['pwd'] }, 'amr has none of otp, hwk'],
      [{ ...good, amr: 'otp' }, 'amr has none of otp, hwk'],
      [{ ...good, auth_time: undefined }, 'token has no auth_time'],
      [{ ...good, auth_time: NOW_S - 301 }, 'authenticated 301s ago, more than 300s'],
    ]
    for (const [claims, why] of cases) {
      const d = await post(claims)
      expect(d.decisive).toMatchObject({
        action: 'challenge',
        status: 401,
        rule: 'auth.password',
        reason: `step-up required: ${why}`,
      })
      expect(www(d)).toBe(
        'Bearer error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required", acr_values="urn:mfa phr", max_age="300"',
      )
    }
    // other routes and methods need no step-up
    expect((await t.get('/api/account/password', await tok())).decision.action).toBe('allow')
  })
})

describe('auth: TOTP step-up', () => {
  const rules = {
    rules: [
      { id: 'signed-in', paths: ['/api/*'] },
      {
        id: 'transfer',
        paths: ['/api/transfers'],
        methods: ['POST'],
        require: { scopes: ['payments'] },
        stepUp: { totp: true },
      },
    ],
    totp: { encryptionKey: TOTP_KEY, maxFailures: 3, failureWindow: '15m' },
  }

  function totpFor(secret: string) {
    return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 })
  }

  async function harness() {
    const t = setup(rules)
    const token = await tok({ sub: 'Alice', scope: 'payments' })
    const post = async (code?: string, bearer = token) =>
      await t.send('POST /api/transfers', {
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(code === undefined ? {} : { 'x-totp-code': code }),
        },
      })
    return { ...t, token, post }
  }

  it('enrols an account and accepts its current code once', async () => {
    const t = await harness()
    const { secret, otpauthUrl } = await enrollTotp(t.engine, 'Alice')
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(otpauthUrl).toBe(
      `otpauth://totp/Bulwark:Alice?issuer=Bulwark&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
    )
    const code = totpFor(secret).generate({ timestamp: t.now() })
    const ok = await t.post(code)
    expect(ok.decision.action).toBe('allow')
    // the code never goes upstream
    expect(upstreamHeaders(ok.ctx)).toEqual({ 'x-totp-code': '' })
    const again = await t.post(code)
    expect(again.decision.decisive).toMatchObject({
      action: 'challenge',
      status: 401,
      reason: 'account "Alice": already used TOTP code (1 of 3 failures)',
    })
    // the next time step's code is good (clock drift of one step either side is accepted)
    t.advance(30_000)
    expect((await t.post(totpFor(secret).generate({ timestamp: t.now() }))).decision.action).toBe(
      'allow',
    )
    const previous = totpFor(secret).generate({ timestamp: t.now() - 30_000 })
    expect((await t.post(previous)).decision.action).toBe('challenge') // that step was used
  })

  it('challenges a request without a code, and spends no code on a request refused anyway', async () => {
    const t = await harness()
    const { secret } = await enrollTotp(t.engine, 'Alice')
    const missing = await t.post()
    expect(missing.decision.decisive).toMatchObject({ action: 'challenge', status: 401 })
    expect(www(missing.decision)).toBe(
      'Bearer error="insufficient_user_authentication", error_description="a current TOTP code is required"',
    )
    const code = totpFor(secret).generate({ timestamp: t.now() })
    const noScope = await t.post(code, await tok({ sub: 'Alice', scope: 'shop' }))
    expect(noScope.decision.decisive?.status).toBe(403)
    expect((await t.post(code)).decision.action).toBe('allow')
  })

  it('counts wrong codes per account and then refuses even the right one', async () => {
    const t = await harness()
    const { secret } = await enrollTotp(t.engine, 'Alice')
    for (const [i, wrong] of ['000000', '12345', 'abcdef'].entries()) {
      const d = (await t.post(wrong)).decision
      expect(d.decisive?.reason).toBe(`account "Alice": wrong TOTP code (${i + 1} of 3 failures)`)
    }
    const right = totpFor(secret).generate({ timestamp: t.now() })
    const locked = (await t.post(right)).decision
    expect(locked.decisive).toMatchObject({
      action: 'throttle',
      status: 429,
      reason: 'account "Alice": too many wrong TOTP codes',
    })
    expect(Number(locked.decisive?.headers?.['retry-after'])).toBeGreaterThan(0)
    // another account is unaffected
    const { secret: bobs } = await enrollTotp(t.engine, 'bob')
    const bob = await tok({ sub: 'bob', scope: 'payments' })
    expect(
      (await t.post(totpFor(bobs).generate({ timestamp: t.now() }), bob)).decision.action,
    ).toBe('allow')
    // the window slides by
    t.advance(31 * 60_000)
    const fresh = await sign(rsa, ISS, { sub: 'Alice', scope: 'payments' }, { now: t.now() / 1000 })
    const code = totpFor(secret).generate({ timestamp: t.now() })
    expect((await t.post(code, fresh)).decision.action).toBe('allow')
  })

  it('refuses an account that never enrolled, and keeps secrets sealed in the store', async () => {
    const t = await harness()
    expect((await t.post('123456')).decision.decisive).toMatchObject({
      action: 'block',
      status: 403,
      reason: 'account "Alice": no TOTP enrolment',
    })
    const { secret } = await enrollTotp(t.engine, 'Alice')
    const [sealed] = t.store.flagged(['auth.totp|secret|Alice'], t.now())
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/)
    expect(sealed).not.toContain(secret)
    // a sealed secret copied to another account does not open there
    t.store.flag('auth.totp|secret|bob', sealed!, 60_000, t.now())
    const bob = await tok({ sub: 'bob', scope: 'payments' })
    const code = totpFor(secret).generate({ timestamp: t.now() })
    expect((await t.post(code, bob)).decision.decisive?.reason).toBe(
      'account "bob": no TOTP enrolment',
    )
    // the sub is used exactly: "alice" is not "Alice"
    const lower = await tok({ sub: 'alice', scope: 'payments' })
    expect((await t.post(code, lower)).decision.decisive?.status).toBe(403)
  })

  it('needs a totp block, and enrollTotp says so', async () => {
    expect(problem({ issuers: [issuer()], rules: [{ id: 'x', stepUp: { totp: true } }] })).toBe(
      'bulwark.yaml:1 auth.rules[0].stepUp.totp: needs an auth.totp block (header, encryptionKey)',
    )
    const t = setup({ rules: [] })
    await expect(enrollTotp(t.engine, 'alice')).rejects.toThrow(
      'enrollTotp: the config has no auth.totp block',
    )
  })
})

describe('auth: verified-token cache', () => {
  it('answers a cached token synchronously, and not past its exp', async () => {
    const t = setup({ rules: [{ id: 'api', paths: ['/api/*'] }] })
    const token = await tok({ exp: NOW_S + 60 })
    const first = t.engine.prepare(
      raw('GET /api/x', { headers: { authorization: `Bearer ${token}` } }),
    )
    const pending = t.engine.inspect(first.ctx)
    expect(pending).toBeInstanceOf(Promise) // a signature check
    expect((await pending).action).toBe('allow')
    const second = t.engine.prepare(
      raw('GET /api/x', { headers: { authorization: `Bearer ${token}` } }),
    )
    const cached = t.engine.inspect(second.ctx)
    expect(cached).not.toBeInstanceOf(Promise) // a Map lookup
    expect((cached as Decision).action).toBe('allow')
    expect(second.ctx.identity.account).toBe('alice')
    t.advance(61_000) // past exp, within the 30s tolerance: verified again, still good
    expect((await t.get('/api/x', token)).decision.action).toBe('allow')
    t.advance(30_000)
    expect((await t.get('/api/x', token)).decision.decisive?.reason).toBe(
      'invalid token: token expired',
    )
  })

  it('refuses a token issued in the future (beyond the clock tolerance)', async () => {
    const t = setup({ rules: [{ id: 'api', paths: ['/api/*'] }] })
    const ahead = await tok({ iat: NOW_S + 365 * 86_400, exp: NOW_S + 366 * 86_400 })
    expect((await t.get('/api/x', ahead)).decision.decisive?.reason).toBe(
      'invalid token: "iat" claim timestamp check failed (it should be in the past)',
    )
    // Within the tolerance (30 s by default), a clock a little ahead is fine.
    const skewed = await tok({ iat: NOW_S + 20 })
    expect((await t.get('/api/x', skewed)).decision.action).toBe('allow')
  })

  it('can be turned off', async () => {
    const t = setup({ rules: [{ id: 'api', paths: ['/api/*'] }], cache: { maxEntries: 0 } })
    const token = await tok()
    for (let i = 0; i < 2; i++) {
      const { ctx } = t.engine.prepare(
        raw('GET /api/x', { headers: { authorization: `Bearer ${token}` } }),
      )
      const d = t.engine.inspect(ctx)
      expect(d).toBeInstanceOf(Promise)
      expect((await d).action).toBe('allow')
    }
  })
})

/** The config as the loader reports it: `bulwark.yaml:1 auth.…: message`. */
function problem(auth: Record<string, unknown>): string {
  try {
    parseGatewayConfig(JSON.stringify({ auth }), 'bulwark.yaml', {})
  } catch (err) {
    return (err as Error).message
  }
  return 'no problem'
}

describe('auth: config', () => {
  const bad = (auth: Record<string, unknown>, message: RegExp) =>
    expect(problem(auth)).toMatch(message)

  it('never accepts none, in any case', () => {
    for (const none of ['none', 'None', 'NONE'])
      expect(problem({ issuers: [issuer({ algorithms: [none] })] })).toBe(
        'bulwark.yaml:1 auth.issuers[0].algorithms[0]: "none" is never accepted: every token must be signed',
      )
  })

  it('keeps public keys and HMAC secrets apart', () => {
    bad(
      { issuers: [issuer({ algorithms: ['RS256', 'HS256'] })] },
      /HS256 needs a shared "secret"; public keys are never used as HMAC secrets/,
    )
    bad(
      { issuers: [{ issuer: ISS, audience: 'a', secret: 's'.repeat(32) }] },
      /a secret is only used with HS256, HS384, HS512/,
    )
    bad(
      { issuers: [{ issuer: ISS, audience: 'a', secret: 'short', algorithms: ['HS256'] }] },
      /at least 32 bytes/,
    )
    bad(
      { issuers: [issuer({ jwksUri: 'https://idp.test/jwks' })] },
      /expected one key source, got jwksUri and keys/,
    )
    bad({ issuers: [{ issuer: ISS, audience: 'a' }] }, /needs one key source/)
    bad(
      { issuers: [issuer({ keys: [{ ...rsa.jwk, d: 'x' }] })] },
      /expected a public key, got a private member "d"/,
    )
    bad(
      { issuers: [issuer({ keys: [{ kty: 'oct', k: 'x' }] })] },
      /a shared secret goes in "secret"/,
    )
  })

  it('fetches keys over https, or http on loopback only', () => {
    const remote = (jwksUri: string) => ({
      issuers: [{ issuer: ISS, audience: 'a', jwksUri }],
    })
    bad(remote('http://idp.example.com/jwks'), /http is accepted for loopback hosts only/)
    expect(problem(remote('http://127.0.0.1:3001/jwks'))).toBe('no problem')
    expect(problem(remote('https://idp.example.com/jwks'))).toBe('no problem')
  })

  it('rejects rules that contradict themselves', () => {
    bad(
      {
        issuers: [issuer()],
        rules: [{ id: 'a', require: { authenticated: false, scopes: ['x'] } }],
      },
      /cannot be false with scopes: those need a token/,
    )
    bad(
      { issuers: [issuer()], rules: [{ id: 'a', require: { scopes: ['shop admin_access'] } }] },
      /expected one scope \(no spaces/,
    )
    bad(
      { issuers: [issuer()], rules: [{ id: 'a', issuers: ['https://other'] }] },
      /configured issuers/,
    )
    bad({ issuers: [issuer(), issuer()] }, /duplicate issuer/)
    bad({ issuers: [issuer()], rules: [{ id: 'a', stepUp: {} }] }, /needs acr, amr or maxAge/)
    bad({ issuers: [issuer()], totp: { encryptionKey: 'short' } }, /expected a 256-bit key/)
  })
})
