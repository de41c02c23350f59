/**
 * Checks made when a config is compiled: parts that are valid alone but never do what they say
 * together (src/config/lint.ts), through `createEngine` as the gateway and `bulwark check` run it.
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { ConfigError } from '../../src/errors.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, HS_ISSUER } from '../helpers/engine.js'

const CONTRACT = { openapi: 'test/fixtures/openapi/keywords.yaml' }

function compile(extra: Record<string, unknown>, routes = [{ path: '/*', upstream: 'app' }]) {
  return createEngine(
    config({ upstreams: { app: { url: 'http://127.0.0.1:9' } }, routes, ...extra }),
    { store: new MemoryStore(), configFile: 'bulwark.yaml' },
  )
}

const sweep = (paths: string[], distinct: string) => ({
  limits: {
    rules: [
      {
        id: 'sweep',
        paths,
        key: ['fingerprint'],
        count: 'distinct',
        distinct,
        limit: 30,
        window: '1m',
      },
    ],
  },
})

describe('config checks: a route parameter that is never set', () => {
  it('refuses a limit counting param:NAME that no path names', () => {
    let err: unknown
    try {
      compile(sweep(['/items/*'], 'param:itemId'))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('ERR_CONFIG_INVALID')
    expect((err as ConfigError).issues[0]).toMatchObject({
      file: 'bulwark.yaml',
      path: 'limits.rules[0].distinct',
      message: expect.stringContaining('param:itemId is never set'),
    })
  })

  it('accepts it when the rule, a route or a documented operation names it', async () => {
    await compile(sweep(['/items/:itemId'], 'param:itemId')).close()
    await compile(sweep(['/items/*'], 'param:itemId'), [
      { path: '/items/:itemId', upstream: 'app' },
      { path: '/*', upstream: 'app' },
    ]).close()
    // keywords.yaml documents /items/{id}
    await compile({ ...sweep(['/items/*'], 'param:id'), contract: CONTRACT }).close()
    expect(() => compile({ ...sweep(['/items/*'], 'param:itemId'), contract: CONTRACT })).toThrow(
      /no documented operation names :itemId/,
    )
  })

  it('checks a limit key as well as its distinct facet', () => {
    expect(() =>
      compile({
        limits: {
          rules: [
            { id: 'per-item', paths: ['/items/*'], key: ['param:sku'], limit: 5, window: '1m' },
          ],
        },
      }),
    ).toThrow(/limits\.rules\[0\]\.key\[0\]: param:sku is never set/)
  })
})

describe('config checks: warnings against the contract', () => {
  it('warns about a rule path no documented operation matches (a typo turns the rule off)', async () => {
    const e = compile({
      contract: CONTRACT,
      limits: {
        rules: [
          { id: 'typo', paths: ['/serach'], key: ['ip'], limit: 5, window: '1m' },
          {
            id: 'fine',
            paths: ['/search', '/items/:id', '/items/*'],
            key: ['ip'],
            limit: 5,
            window: '1m',
          },
        ],
      },
    })
    expect(e.warnings).toHaveLength(1)
    expect(e.warnings[0]).toMatch(
      /^limits\.rules\[0\]\.paths\[0\] "\/serach" matches no documented operation/,
    )
    await e.close()
  })

  it('warns about a gateway route the contract refuses, and says what a flow typo does', async () => {
    const e = compile({
      routes: [
        { path: '/health', upstream: 'app' },
        { path: '/items/:id', upstream: 'app' },
        { path: '/*', upstream: 'app' },
      ],
      contract: { ...CONTRACT, undocumented: 'flag' },
      behavior: {
        flows: [
          {
            id: 'buy',
            paths: ['/search'],
            after: { paths: ['/itmes/:id'] },
            within: '10m',
            by: ['ip'],
            action: 'block',
          },
        ],
      },
    })
    // (The flow also makes the document's unshaped successes matter: that warning is beside.)
    expect(e.warnings.filter((w) => /^(routes|behavior)/.test(w))).toEqual([
      expect.stringMatching(
        /^routes\[0\]\.path "\/health" is not in the contract: with contract\.undocumented: flag its requests are answered 404 and their clients flagged as bots/,
      ),
      expect.stringMatching(
        /^behavior\.flows\[0\]\.after\.paths\[0\] "\/itmes\/:id" matches no documented operation: a typo means the first step is never seen: every request to the flow's paths breaks it and is refused/,
      ),
    ])
    await e.close()
    // Exempt, it is the gateway's own on purpose.
    const exempt = compile({
      routes: [
        { path: '/health', upstream: 'app' },
        { path: '/*', upstream: 'app' },
      ],
      contract: { ...CONTRACT, undocumented: 'flag', exempt: ['/health'] },
    })
    expect(exempt.warnings.filter((w) => w.startsWith('routes'))).toEqual([])
    await exempt.close()
  })

  it('warns about operations the document secures that no auth rule covers', async () => {
    const contract = { openapi: 'test/fixtures/openapi/secured.yaml' }
    const partial = compile({
      contract,
      auth: { issuers: [HS_ISSUER], rules: [{ id: 'me', paths: ['/v1/me'] }] },
    })
    // /v1/status opts out (security: []), /v1/catalog makes it optional ({}): no warning.
    expect(partial.warnings).toEqual([
      expect.stringMatching(
        /^1 operation\(s\) the OpenAPI document secures match no auth rule .*: GET \/v1\/exports\/\{id\}/,
      ),
    ])
    await partial.close()
    const covered = compile({
      contract,
      auth: { issuers: [HS_ISSUER], rules: [{ id: 'all', paths: ['/v1/*'] }] },
    })
    expect(covered.warnings).toEqual([])
    await covered.close()
    const none = compile({ contract })
    expect(none.warnings).toEqual([
      expect.stringMatching(/secures 2 operation\(s\) .* and no auth block is configured/),
    ])
    await none.close()
  })

  it('warns about a honeypot on a documented operation', async () => {
    const e = compile({
      contract: CONTRACT,
      deception: { honeypots: [{ id: 'trap', paths: ['/items/:id', '/.env'] }] },
    })
    expect(e.warnings).toEqual([
      expect.stringMatching(
        /^deception\.honeypots\[0\]\.paths\[0\] "\/items\/:id" is a documented operation/,
      ),
    ])
    await e.close()
  })

  it('warns about an auth rule on a mistyped path, not about rules on exempt paths', async () => {
    const e = compile({
      contract: { ...CONTRACT, exempt: ['/internal/*'] },
      auth: {
        issuers: [HS_ISSUER],
        rules: [{ id: 'items', paths: ['/itmes/*'] }],
      },
      limits: {
        rules: [{ id: 'debug', paths: ['/internal/debug'], key: ['ip'], limit: 5, window: '1m' }],
      },
    })
    expect(e.warnings).toEqual([
      expect.stringMatching(
        /^auth\.rules\[0\]\.paths\[0\] "\/itmes\/\*" matches no documented operation/,
      ),
    ])
    await e.close()
  })

  it('warns that deceive answers are generic where the document describes no JSON success', () => {
    const deceive = {
      limits: {
        rules: [{ id: 'd', paths: ['/*'], key: ['ip'], limit: 5, window: '1m', action: 'deceive' }],
      },
    }
    const warned = compile({ contract: CONTRACT, ...deceive }).warnings.find((w) =>
      w.includes('describe no JSON success response'),
    )
    expect(warned).toMatch(
      /^\d+ documented operation\(s\) describe no JSON success response \(GET \//,
    )
    expect(warned).toContain('docs/deception.md#fakes-shaped-like-your-api')
    // Without a deceive anywhere, the fakes do not matter: nothing to say.
    expect(
      compile({ contract: CONTRACT }).warnings.some((w) => w.includes('no JSON success')),
    ).toBe(false)
    // Behaviour never fakes where deceive.except says so: those operations need no shape…
    const spared = { behavior: { deceive: { except: ['/*'] } } }
    expect(
      compile({ contract: CONTRACT, ...spared }).warnings.some((w) =>
        w.includes('no JSON success'),
      ),
    ).toBe(false)
    // …but a limit that deceives still fakes there.
    expect(
      compile({ contract: CONTRACT, ...spared, ...deceive }).warnings.some((w) =>
        w.includes('no JSON success'),
      ),
    ).toBe(true)
  })

  it('has nothing to say without a contract', async () => {
    const e = compile({
      limits: { rules: [{ id: 'any', paths: ['/serach'], key: ['ip'], limit: 5, window: '1m' }] },
    })
    expect(e.warnings).toEqual([])
    await e.close()
  })
})

describe('config checks: behaviour thresholds', () => {
  it('refuses thresholds where a higher score gets a milder action', () => {
    const bad = {
      behavior: {
        thresholds: [
          { score: 40, action: 'block', for: '10m' },
          { score: 100, action: 'throttle' },
        ],
      },
    }
    expect(() => compile(bad)).toThrow(
      /behavior\.thresholds\.1\.action|score 100 gets throttle, milder than block at score 40/,
    )
    // Listed in any order, escalating by score: fine.
    const ok = {
      behavior: {
        thresholds: [
          { score: 150, action: 'deceive', for: '10m' },
          { score: 40, action: 'log' },
        ],
      },
    }
    expect(() => compile(ok).close()).not.toThrow()
  })
})

describe('config checks: a session or API-key facet on its default name', () => {
  const flow = (by: string[]) => ({
    behavior: {
      flows: [
        {
          id: 'checkout-needs-hold',
          paths: ['/api/checkout'],
          methods: ['POST'],
          after: { paths: ['/api/holds'], methods: ['POST'] },
          within: '10m',
          by,
        },
      ],
    },
  })
  const warnings = (extra: Record<string, unknown>) => {
    const engine = compile(extra)
    void engine.close()
    return engine.warnings
  }

  it('warns when a flow or a limit relies on the default session cookie or API-key header', () => {
    expect(warnings(flow(['session']))).toEqual([
      expect.stringMatching(
        /^behavior\.flows\[0\]\.by\[0\]: the session facet reads the cookie "session" \(identity\.session is not configured\).*every guarded request is a violation$/,
      ),
    ])
    const limits = {
      limits: {
        rules: [
          { id: 'per-key', key: ['apiKey'], limit: 10, window: '1m' },
          {
            id: 'sessions',
            key: ['ip'],
            count: 'distinct',
            distinct: 'session',
            limit: 10,
            window: '1m',
          },
        ],
      },
    }
    expect(warnings(limits).map((w) => w.split(':')[0])).toEqual([
      'limits.rules[0].key[0]',
      'limits.rules[1].distinct',
    ])
  })

  it('says nothing once identity names them', () => {
    const identity = {
      identity: { session: { cookie: 'sid' }, apiKey: { header: 'x-api-key' } },
    }
    const w = warnings({ ...flow(['session', 'apiKey']), ...identity })
    expect(w.filter((x) => /facet reads/.test(x))).toEqual([])
  })
})

describe('config checks: rules that would count nothing (red team)', () => {
  const warningsOf = (extra: Record<string, unknown>) => {
    const engine = compile(extra)
    void engine.close()
    return engine.warnings
  }
  const errorOf = (extra: Record<string, unknown>): ConfigError => {
    try {
      void compile(extra).close()
    } catch (e) {
      return e as ConfigError
    }
    throw new Error('expected a ConfigError')
  }
  const perAccount = (extra: Record<string, unknown> = {}) => ({
    limits: {
      rules: [
        {
          id: 'per-account',
          paths: ['/login'],
          key: ['account'],
          limit: 5,
          window: '1m',
          ...extra,
        },
      ],
    },
  })

  it('warns of a limit on the account facet when nothing sets it', () => {
    expect(warningsOf(perAccount())).toEqual([
      expect.stringMatching(/^limits\.rules\[0\]\.key\[0\]: the account facet has no source/),
    ])
    // A body field, or a verified token, sets it.
    const identity = { identity: { account: [{ body: 'username', paths: ['/login'] }] } }
    expect(warningsOf({ ...perAccount(), ...identity })).toEqual([])
    const auth = { auth: { issuers: [HS_ISSUER], rules: [{ id: 'all', paths: ['/*'] }] } }
    expect(warningsOf({ ...perAccount(), ...auth })).toEqual([])
  })

  it('refuses signedIn without an auth issuer, and accepts it with one', async () => {
    const identity = { identity: { account: [{ body: 'username', paths: ['/login'] }] } }
    const err = errorOf({ ...perAccount({ signedIn: false }), ...identity })
    expect(err.issues[0]).toMatchObject({
      path: 'limits.rules[0].signedIn',
      message: expect.stringContaining('auth.issuers is not configured'),
    })
    const auth = { auth: { issuers: [HS_ISSUER], rules: [{ id: 'all', paths: ['/*'] }] } }
    await compile({ ...perAccount({ signedIn: false }), ...auth }).close()
  })

  it('warns of signedIn on paths no auth rule covers (the token is never checked there)', () => {
    const auth = (paths: string[]) => ({
      auth: {
        issuers: [HS_ISSUER],
        rules: [{ id: 'a', paths, require: { authenticated: false } }],
      },
    })
    const rule = {
      limits: {
        rules: [
          {
            id: 'r',
            paths: ['/v1/users/:h'],
            key: ['route'],
            signedIn: false,
            limit: 5,
            window: '1m',
          },
        ],
      },
    }
    expect(warningsOf({ ...rule, ...auth(['/v1/posts/*']) })).toEqual([
      expect.stringMatching(
        /^limits\.rules\[0\]\.signedIn: no auth rule covers \/v1\/users\/:h.*signed-in users are counted too/,
      ),
    ])
    expect(warningsOf({ ...rule, ...auth(['/v1/*']) })).toEqual([])
  })

  it('refuses a path written the OpenAPI way, {name}, and says how to write it', () => {
    const err = errorOf({
      limits: {
        rules: [{ id: 'p', paths: ['/v1/users/{handle}'], key: ['ip'], limit: 5, window: '1m' }],
      },
    })
    expect(JSON.stringify(err.issues)).toContain(
      'read literally: write a parameter as \\":handle\\"',
    )
  })
})

describe('config checks: fake sessions', () => {
  const signIn = { account: [{ body: 'username', paths: ['/api/login', '/api/signup'] }] }

  it('warns when behaviour deceives where sign-ins are read, unless deceive.except spares them', () => {
    const warned = compile({ identity: signIn, behavior: {} }).warnings
    expect(warned.filter((w) => w.includes('fake session'))).toEqual([
      'behavior.thresholds deceive, and /api/login, /api/signup (where identity.account reads sign-ins) are not in behavior.deceive.except: a person misjudged by risk shared with bots is handed a fake session there (add them to behavior.deceive.except, which answers with a throttle instead; see docs/behavior.md#thresholds)',
    ])
    const one = compile({ identity: signIn, behavior: { deceive: { except: ['/API/Login'] } } })
    expect(one.warnings.filter((w) => w.includes('fake session'))).toEqual([
      expect.stringMatching(
        /^behavior\.thresholds deceive, and \/api\/signup \(where .* is not in/,
      ),
    ])
    for (const behavior of [
      { deceive: { except: ['/api/*'] } },
      { thresholds: [{ score: 100, action: 'throttle' }] },
    ])
      expect(
        compile({ identity: signIn, behavior }).warnings.filter((w) => w.includes('fake session')),
      ).toEqual([])
  })
})
