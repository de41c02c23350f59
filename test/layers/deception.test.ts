/**
 * The deception layer through the engine, without sockets: honeypot routes and their variants,
 * hidden fields (JSON, form, multipart, query), trap headers, canary credentials and the flags
 * each of them sets.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision, RequestContext } from '../../src/engine/types.js'
import { secretDigest } from '../../src/identity/facets.js'
import { flagKey, parseFlagValue } from '../../src/identity/flags.js'
import { deriveCanaries } from '../../src/layers/deception/canary.js'
import { DeceptionSpec } from '../../src/layers/deception/spec.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

const T0 = 1_800_000_000_000
const SECRET = 'test-deployment-canary-secret'
const canaries = deriveCanaries(SECRET, [])
const canary = (name: string) => canaries.values.get(name)!

function setup(deception: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  let now = T0
  const clock = { now: () => now }
  const store = new MemoryStore()
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { session: { cookie: 'sid' }, apiKey: { header: 'x-api-key' } },
      deception: { seed: 1, canaries: { secret: SECRET }, ...deception },
      ...extra,
    }),
    { clock, store },
  )
  return {
    engine,
    store,
    advance: (ms: number) => (now += ms),
    now: () => now,
    async send(line: string, init: RawInit = {}): Promise<{ d: Decision; ctx: RequestContext }> {
      const { ctx, refusal } = engine.prepare(raw(line, init))
      if (refusal)
        return { d: { action: refusal.action, verdicts: [refusal], decisive: refusal }, ctx }
      return { d: await engine.inspect(ctx), ctx }
    },
    /** Values of the flags on every facet of `ctx`'s client. */
    flags(ctx: RequestContext) {
      const id = ctx.identity
      const keys = {
        ip: flagKey('ip', id.ip),
        ipPrefix: flagKey('ipPrefix', id.ipPrefix),
        fingerprint: flagKey('fingerprint', id.fingerprint ?? '?'),
        session: flagKey('session', id.session ?? '?'),
        apiKey: flagKey('apiKey', id.apiKey ?? '?'),
      }
      const values = store.flagged(Object.values(keys), now)
      return Object.fromEntries(Object.keys(keys).map((k, i) => [k, values[i]]))
    },
  }
}

/** A distinct client: its own IP and browser, so its own fingerprint. */
function client(n: number, more: RawInit = {}): RawInit {
  return {
    ...more,
    ip: `198.51.100.${n}`,
    headers: { 'user-agent': `Browser/${n}.0`, ...more.headers },
  }
}

const honeypots = [
  { id: 'env', paths: ['/.env'], fake: 'env', delay: 0 },
  { id: 'wp', paths: ['/wp-admin/*'], fake: 'admin-login', delay: '2s' },
  { id: 'secrets', paths: ['/api/users/:id/secrets'], methods: ['GET'] },
  { id: 'admin-dashboard', paths: ['/api/v1/admin/dashboard'], fake: 'admin-login' },
  {
    id: 'config-update',
    paths: ['/api/v2/system/config_update'],
    methods: ['POST'],
    fake: 'config-update',
    delay: { min: '500ms', max: '1500ms' },
  },
  { id: 'swagger', paths: ['/swagger.json'], fake: 'swagger' },
]

describe('deception: honeypot routes', () => {
  it('trips on every variant of the path: case, trailing slash, encodings, dot segments, query', async () => {
    const t = setup({ honeypots })
    const variants = [
      '/.env',
      '/.ENV',
      '/.Env/',
      '//.env',
      '/%2eenv',
      '/%2E%65%6E%76',
      '/a/../.env',
      '/a/b/%2e%2e/../.env',
      '/./.env',
      '/.env/.',
      '/.env?download=1',
    ]
    for (const [i, target] of variants.entries()) {
      const { d } = await t.send(`GET ${target}`, client(i + 1))
      expect(d.action, target).toBe('deceive')
      expect(d.decisive, target).toMatchObject({
        rule: 'deception.env',
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      })
      expect(d.decisive?.body, target).toContain(`DB_PASSWORD=${canary('db-password')}\n`)
    }
    for (const m of ['HEAD', 'POST', 'DELETE'])
      expect((await t.send(`${m} /.env`, client(50))).d.decisive?.rule).toBe('deception.env')
  })

  it('matches prefix and template honeypots, and nothing else', async () => {
    const t = setup({ honeypots })
    const hits: [string, string][] = [
      ['GET /wp-admin', 'deception.wp'],
      ['GET /wp-admin/install.php', 'deception.wp'],
      ['POST /WP-Admin/a/b/', 'deception.wp'],
      ['GET /api/users/42/secrets', 'deception.secrets'],
      ['GET /API/Users/7/Secrets/', 'deception.secrets'],
      ['GET /api/v1/admin/dashboard', 'deception.admin-dashboard'],
      ['GET /api//v1/%61dmin/./DASHBOARD/', 'deception.admin-dashboard'],
      ['POST /api/v2/system/config_update', 'deception.config-update'],
    ]
    for (const [i, [line, rule]] of hits.entries())
      expect((await t.send(line, client(i + 1))).d.decisive?.rule, line).toBe(rule)
    const misses = [
      'GET /.envx',
      'GET /api/.env',
      'GET /wp-admins',
      'GET /api/users/42',
      'POST /api/users/42/secrets',
      'GET /api/v2/system/config_update',
      'GET /api/v1/admin',
    ]
    for (const [i, line] of misses.entries())
      expect((await t.send(line, client(100 + i))).d.action, line).toBe('allow')
  })

  it('still folds case when the gateway matches paths case-sensitively', async () => {
    const t = setup({ honeypots }, { server: { pathCase: 'sensitive' } })
    expect((await t.send('GET /.ENV', client(1))).d.decisive?.rule).toBe('deception.env')
    expect((await t.send('GET /Api/V1/Admin/Dashboard', client(2))).d.action).toBe('deceive')
  })

  it('never sees forms that two parsers could read differently: they are refused at the edge', async () => {
    const t = setup({ honeypots })
    for (const target of ['/.env%00', '/.env;.js', '/api%2fv1/admin/dashboard', '/..%2f.env']) {
      const { d } = await t.send(`GET ${target}`, client(1))
      expect(d.decisive, target).toMatchObject({ action: 'block', status: 400 })
    }
  })

  it('answers with the fake, its status, headers and a delay in the configured range', async () => {
    const t = setup({
      honeypots: [
        ...honeypots,
        {
          id: 'custom',
          paths: ['/internal/keys'],
          body: '{"keys":["{{canary:api-key}}"],"request":"{{rid}}"}',
          status: 201,
          headers: { 'x-powered-by': 'Express' },
        },
      ],
    })
    const cfg = (await t.send('POST /api/v2/system/config_update', client(1))).d.decisive!
    expect(cfg.headers).toEqual({ 'content-type': 'application/json' })
    const body = JSON.parse(cfg.body!)
    expect(body).toMatchObject({
      status: 'accepted',
      message: 'Configuration update initiated',
      rollbackToken: canary('admin-session'),
    })
    expect(body.job.id).toMatch(/^cfg_[0-9a-f]{24}$/)
    expect(cfg.delayMs).toBeGreaterThanOrEqual(500)
    expect(cfg.delayMs).toBeLessThanOrEqual(1500)
    // a fresh job id per answer: two answers are not byte-identical
    const again = (await t.send('POST /api/v2/system/config_update', client(2))).d.decisive!
    expect(JSON.parse(again.body!).job.id).not.toBe(body.job.id)

    const wp = (await t.send('GET /wp-admin/', client(3))).d.decisive!
    expect(wp.delayMs).toBe(2000)
    expect(wp.headers?.['content-type']).toBe('text/html; charset=utf-8')
    expect(wp.body).toContain('<form method="post"')
    expect(wp.body).toContain(`admin / ${canary('admin-password')} -->`)
    expect(wp.body).not.toMatch(/\{\{/)

    // default: the generic success fake, a 1–3 s delay
    const secrets = (await t.send('GET /api/users/1/secrets', client(4))).d.decisive!
    expect(JSON.parse(secrets.body!)).toMatchObject({ success: true })
    expect(secrets.delayMs).toBeGreaterThanOrEqual(1000)
    expect(secrets.delayMs).toBeLessThanOrEqual(3000)

    const swagger = JSON.parse((await t.send('GET /swagger.json', client(5))).d.decisive!.body!)
    expect(Object.keys(swagger.paths)).toContain('/api/v2/system/config_update')
    expect(swagger['x-examples'].apiKey).toBe(canary('api-key'))

    const own = (await t.send('GET /internal/keys', client(6))).d.decisive!
    expect(own).toMatchObject({
      status: 201,
      headers: { 'content-type': 'application/json', 'x-powered-by': 'Express' },
    })
    expect(JSON.parse(own.body!).keys).toEqual([canary('api-key')])
  })

  it('flags every facet of the client until the flag expires', async () => {
    const t = setup({ honeypots, flagTtl: '10m' })
    const { ctx } = await t.send(
      'GET /.env',
      client(9, { headers: { cookie: 'sid=s-123', 'x-api-key': 'k-123' } }),
    )
    const flags = t.flags(ctx)
    for (const facet of ['ip', 'ipPrefix', 'fingerprint', 'session', 'apiKey']) {
      expect(flags[facet], facet).toBeDefined()
      expect(parseFlagValue(flags[facet]!)).toMatchObject({
        rule: 'deception.env',
        reason: 'honeypot GET /.env',
        at: T0,
        expiresAt: T0 + 600_000,
      })
    }
    // Credentials are known by their digest only: flags, keys and events never hold the value.
    expect(ctx.identity).toMatchObject({
      session: secretDigest('s-123'),
      apiKey: secretDigest('k-123'),
    })
    expect(ctx.identity.session).toMatch(/^~[\w-]{22}$/)
    expect(JSON.stringify(ctx.identity)).not.toMatch(/s-123|k-123/)
    expect(ctx.identity.fingerprint).toMatch(/^\S{16}$/)
    t.advance(600_000)
    expect(Object.values(t.flags(ctx)).every((v) => v === undefined)).toBe(true)
  })

  it('announces each flag in a notice, at most once a minute per key', async () => {
    const notices: Record<string, unknown>[] = []
    const on = (m: unknown) => void notices.push(m as Record<string, unknown>)
    diagnostics_channel.subscribe('bulwark:notice', on)
    try {
      const t = setup({ honeypots })
      await t.send('GET /.env', client(1))
      await t.send('GET /.env', client(1))
      const flags = notices.filter((n) => n.kind === 'flag')
      expect(flags.map((n) => n.key)).toEqual([
        'flag:ip:198.51.100.1',
        'flag:ipPrefix:198.51.100.1',
        expect.stringMatching(/^flag:fingerprint:/),
      ])
      expect(flags[0]).toMatchObject({
        rule: 'deception.env',
        reason: 'honeypot GET /.env',
        expiresAt: T0 + 3_600_000,
      })
      t.advance(60_000)
      await t.send('GET /.env', client(1))
      expect(notices.filter((n) => n.kind === 'flag')).toHaveLength(6)
    } finally {
      diagnostics_channel.unsubscribe('bulwark:notice', on)
    }
  })

  it('flags only the configured facets', async () => {
    const t = setup({ honeypots, flagFacets: ['session', 'apiKey'] })
    const { ctx } = await t.send(
      'GET /.env',
      client(9, { headers: { cookie: 'sid=s-1', 'x-api-key': 'k-1' } }),
    )
    const f = t.flags(ctx)
    expect([f.ip, f.ipPrefix, f.fingerprint]).toEqual([undefined, undefined, undefined])
    expect(f.session && f.apiKey).toBeTruthy()
  })

  it('in monitor mode says what it would have done, answers nothing and flags nobody', async () => {
    const t = setup({ honeypots, mode: 'monitor' })
    const { d, ctx } = await t.send('GET /.env', client(1))
    expect(d.action).toBe('allow')
    expect(d.wouldHave).toBe('deceive')
    expect(d.verdicts[0]).toMatchObject({ rule: 'deception.env', monitor: true })
    expect(Object.values(t.flags(ctx)).every((v) => v === undefined)).toBe(true)
  })

  it('runs first: a trap flags the client and its fake is the answer, even where another layer would block', async () => {
    const t = setup(
      { honeypots: [{ id: 'admin', paths: ['/admin/*'] }] },
      {
        access: {
          rules: [{ id: 'admin-office-only', paths: ['/admin/*'], notFrom: ['10.0.0.0/8'] }],
        },
      },
    )
    const { d, ctx } = await t.send('GET /admin/login', client(1))
    // an enforced deceive ends the pipeline: a later refusal would tell the bot the trap is fake
    expect(d.verdicts.map((v) => v.rule)).toEqual(['deception.admin'])
    expect(d.action).toBe('deceive')
    expect(t.flags(ctx).ip).toBeDefined()
  })
})

describe('deception: hidden fields', () => {
  const fields = [{ name: 'website', paths: ['/api/signup'], methods: ['POST'] }]
  const signup = (more: Record<string, unknown>) => ({
    username: 'newbie',
    password: 'pw-123456',
    email: 'n@example.com',
    ...more,
  })

  it('flags a filled field in a JSON, form or multipart body, and answers as if it succeeded', async () => {
    const t = setup({ fields })
    const B = '----formboundary7MA4YWxk'
    const bodies: RawInit[] = [
      { json: signup({ website: 'http://spam.example' }) },
      {
        body: 'username=newbie&password=pw&website=spam',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        body: `--${B}\r\nContent-Disposition: form-data; name="username"\r\n\r\nnewbie\r\n--${B}\r\nContent-Disposition: form-data; name="website"\r\n\r\nhttp://x\r\n--${B}--\r\n`,
        headers: { 'content-type': `multipart/form-data; boundary=${B}` },
      },
      { json: signup({ website: 42 }) },
    ]
    for (const [i, b] of bodies.entries()) {
      const { d, ctx } = await t.send('POST /api/signup', client(i + 1, b))
      expect(d.action, `body ${i}`).toBe('deceive')
      expect(d.decisive).toMatchObject({
        rule: 'deception.field.website',
        reason: 'hidden field "website" filled in the body',
        status: 200,
      })
      expect(JSON.parse(d.decisive!.body!)).toMatchObject({ success: true })
      expect(t.flags(ctx).ip).toBeDefined()
    }
  })

  it('flags a filled field in the query', async () => {
    const t = setup({ fields })
    const { d, ctx } = await t.send(
      'POST /api/signup?website=spam',
      client(1, { json: signup({}) }),
    )
    expect(d.decisive).toMatchObject({
      rule: 'deception.field.website',
      reason: 'hidden field "website" filled in the query',
    })
    expect(t.flags(ctx).fingerprint).toBeDefined()
  })

  it('lets a person through: the field empty, blank, null or absent', async () => {
    const t = setup({ fields })
    const people: [string, RawInit][] = [
      ['POST /api/signup', { json: signup({ website: '' }) }],
      ['POST /api/signup', { json: signup({ website: '  ' }) }],
      ['POST /api/signup', { json: signup({ website: null }) }],
      ['POST /api/signup', { json: signup({}) }],
      [
        'POST /api/signup',
        {
          body: 'username=a&website=',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
      ],
      ['POST /api/signup?website=', { json: signup({}) }],
      // the field on another route, or another method, is not the trap
      ['POST /api/login', { json: { username: 'a', website: 'x' } }],
      ['PUT /api/signup', { json: signup({ website: 'x' }) }],
    ]
    for (const [i, [line, init]] of people.entries()) {
      const { d, ctx } = await t.send(line, client(i + 1, init))
      expect(d.action, `${line} ${i}`).toBe('allow')
      expect(t.flags(ctx).ip).toBeUndefined()
    }
  })

  it('refuses a body that hides the field behind a duplicate key', async () => {
    const t = setup({ fields })
    const { d } = await t.send(
      'POST /api/signup',
      client(1, {
        body: '{"website":"","website":"spam"}',
        headers: { 'content-type': 'application/json' },
      }),
    )
    expect(d.decisive).toMatchObject({ rule: 'request.ambiguous-body', status: 400 })
  })

  it('with answer: forward flags silently and lets the request through', async () => {
    const t = setup({ fields: [{ ...fields[0], answer: 'forward' }] })
    const { d, ctx } = await t.send(
      'POST /api/signup',
      client(1, { json: signup({ website: 'x' }) }),
    )
    expect(d.action).toBe('log')
    expect(d.verdicts[0]).toMatchObject({ action: 'log', rule: 'deception.field.website' })
    expect(t.flags(ctx).ip).toBeDefined()
  })

  it('reads no body where only the query is watched', async () => {
    const t = setup({ fields: [{ ...fields[0], in: ['query'] }] })
    const { d, ctx } = await t.send(
      'POST /api/signup',
      client(1, { json: signup({ website: 'x' }) }),
    )
    expect(d.action).toBe('allow')
    expect(ctx.locals.has('bulwark.body.fields')).toBe(false)
  })
})

describe('deception: trap headers', () => {
  it('flags a request that sends one, and answers as if it worked', async () => {
    const t = setup({
      headers: ['x-debug-mode', { name: 'X-Internal-Override', answer: 'forward' }],
    })
    const a = await t.send('GET /api/products', client(1, { headers: { 'x-debug-mode': '1' } }))
    expect(a.d.decisive).toMatchObject({
      action: 'deceive',
      rule: 'deception.header.x-debug-mode',
      status: 200,
    })
    expect(t.flags(a.ctx).ip).toBeDefined()
    const b = await t.send(
      'GET /api/products',
      client(2, { headers: { 'x-internal-override': 'true' } }),
    )
    expect(b.d.action).toBe('log')
    expect(t.flags(b.ctx).fingerprint).toBeDefined()
    expect((await t.send('GET /api/products', client(3))).d.action).toBe('allow')
  })
})

describe('deception: canary credentials', () => {
  it('derives canaries from the deployment secret: stable across instances, formatted like real ones', () => {
    const again = deriveCanaries(SECRET, [])
    expect([...again.values]).toEqual([...canaries.values])
    expect(canary('api-key')).toMatch(/^sk_live_[A-Za-z0-9]{24}$/)
    expect(canary('aws-access-key')).toMatch(/^AKIA[A-Z2-7]{16}$/)
    expect(canary('admin-session')).toMatch(/^[0-9a-f]{32}$/)
    const other = deriveCanaries('another-deployment-secret', [])
    for (const [name, v] of other.values) expect(v, name).not.toBe(canaries.values.get(name))
    const own = deriveCanaries(SECRET, [
      { name: 'github-token', prefix: 'ghp_', length: 36, charset: 'alnum' },
    ])
    expect(own.values.get('github-token')).toMatch(/^ghp_[A-Za-z0-9]{36}$/)
    expect(own.fill('t={{canary:github-token}} id={{id:x}}')).toMatch(
      /^t=ghp_[A-Za-z0-9]{36} id=[A-Za-z0-9]{32}$/,
    )
    // `{{id:…}}` values are stable per deployment too
    expect(own.fill('{{id:x}}')).toBe(again.fill('{{id:x}}'))
  })

  it('flags every facet of a client that uses a canary read from a fake .env', async () => {
    const t = setup({ honeypots, canaries: { secret: SECRET } })
    const env = (await t.send('GET /.env', client(1))).d.decisive!.body!
    const stripe = /^STRIPE_SECRET=(.*)$/m.exec(env)![1]!
    // later, from another IP and another browser: the key alone gives the bot away
    const { d, ctx } = await t.send(
      'GET /api/orders',
      client(2, { headers: { authorization: `Bearer ${stripe}`, cookie: 'sid=bot-session' } }),
    )
    expect(d.decisive).toMatchObject({
      action: 'deceive',
      rule: 'deception.canary.api-key',
      reason: 'canary credential "api-key" used in the headers or query',
      status: 401,
    })
    expect(JSON.parse(d.decisive!.body!)).toMatchObject({ error: 'invalid_api_key' })
    const flags = t.flags(ctx)
    for (const facet of ['ip', 'ipPrefix', 'fingerprint', 'session'])
      expect(parseFlagValue(flags[facet]!), facet).toMatchObject({
        rule: 'deception.canary.api-key',
        expiresAt: T0 + 86_400_000,
      })
  })

  it('finds canaries in an API key header, Basic credentials, cookies and the query', async () => {
    const t = setup({})
    const basic = Buffer.from(`admin:${canary('admin-password')}`).toString('base64')
    const uses: [string, RawInit, string][] = [
      ['GET /api/x', { headers: { 'x-api-key': canary('api-key') } }, 'api-key'],
      ['GET /api/x', { headers: { authorization: `Basic ${basic}` } }, 'admin-password'],
      [
        'GET /api/x',
        { headers: { cookie: `theme=dark; admin_session=${canary('admin-session')}` } },
        'admin-session',
      ],
      [
        'GET /api/x',
        { headers: { authorization: `Token ${canary('db-password')}` } },
        'db-password',
      ],
      [
        `GET /api/x?page=2&key=${encodeURIComponent(canary('aws-access-key'))}&x=y`,
        {},
        'aws-access-key',
      ],
      [`GET /api/x?token=%20${canary('admin-session')}+`, {}, 'admin-session'],
      ['GET /api/x', { headers: { cookie: `k="${canary('api-key')}"` } }, 'api-key'],
      // Padded with spaces (the backend's cookie parser trims them), next to a long cookie.
      [
        'GET /api/x',
        {
          headers: {
            cookie: `bw_device=${'x'.repeat(90)}; k=${' '.repeat(12)}\t"${canary('admin-session')}"  ;z=1`,
          },
        },
        'admin-session',
      ],
    ]
    for (const [i, [line, init, name]] of uses.entries()) {
      const { d, ctx } = await t.send(line, client(i + 1, init))
      expect(d.decisive?.rule, name).toBe(`deception.canary.${name}`)
      expect(t.flags(ctx).ip, name).toBeDefined()
    }
    // the canary itself, used as an API key, is flagged as that client's apiKey facet
    const { ctx } = await t.send(
      'GET /api/x',
      client(20, { headers: { 'x-api-key': canary('api-key') } }),
    )
    expect(ctx.identity.apiKey).toBe(secretDigest(canary('api-key')))
    expect(t.flags(ctx).apiKey).toBeDefined()
  })

  it('finds canaries in body fields only on the configured routes', async () => {
    const t = setup({ canaries: { secret: SECRET, detect: { bodyPaths: ['/api/login'] } } })
    const login = { username: 'admin', password: canary('admin-password') }
    const a = await t.send('POST /api/login', client(1, { json: login }))
    expect(a.d.decisive).toMatchObject({
      rule: 'deception.canary.admin-password',
      reason: 'canary credential "admin-password" used in the body',
    })
    const form = await t.send(
      'POST /api/login',
      client(2, {
        body: `username=admin&password=${canary('db-password')}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    )
    expect(form.d.decisive?.rule).toBe('deception.canary.db-password')
    const elsewhere = await t.send('POST /api/profile', client(3, { json: login }))
    expect(elsewhere.d.action).toBe('allow')
    expect(elsewhere.ctx.locals.has('bulwark.body.fields')).toBe(false)
  })

  it('with answer: forward, flags a canary silently and lets the backend refuse it', async () => {
    const t = setup({
      canaries: { secret: SECRET, answer: 'forward', detect: { bodyPaths: ['/api/login'] } },
    })
    const login = { username: 'admin', password: canary('admin-password') }
    const { d, ctx } = await t.send('POST /api/login', client(1, { json: login }))
    // Forwarded (the login answers with its own failure), logged, and every facet flagged.
    expect(d.action).toBe('log')
    expect(d.verdicts).toContainEqual(
      expect.objectContaining({ rule: 'deception.canary.admin-password', action: 'log' }),
    )
    expect(parseFlagValue(t.flags(ctx).ip!)).toMatchObject({
      rule: 'deception.canary.admin-password',
    })
  })

  it('ignores tokens that only look like canaries', async () => {
    const t = setup({})
    const near = canary('api-key').slice(0, -1) + (canary('api-key').endsWith('A') ? 'B' : 'A')
    const lookalikes: RawInit[] = [
      { headers: { authorization: `Bearer ${near}` } },
      { headers: { 'x-api-key': 'sk_live_' + 'x'.repeat(24) } },
      { headers: { cookie: 'a=b; c' } },
      { headers: { authorization: 'Basic !!!' } },
    ]
    for (const [i, init] of lookalikes.entries())
      expect((await t.send('GET /api/x?q=hello', client(i + 1, init))).d.action).toBe('allow')
  })
})

describe('deception: config', () => {
  it('refuses unknown canaries, a fake with a body, and duplicate ids', () => {
    const r = DeceptionSpec.safeParse({
      honeypots: [
        { id: 'a', paths: ['/a'], body: 'key={{canary:nope}}' },
        { id: 'a', paths: ['/b'], fake: 'env', body: 'x' },
      ],
    })
    expect(r.success).toBe(false)
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^honeypots\.0\.body: unknown canary "nope": expected one of api-key, /,
        ),
        'honeypots.1.id: id "a" is used twice',
        'honeypots.1.body: use either "fake" (a template of the library) or "body" (your own), not both',
      ]),
    )
  })

  it('fills defaults', () => {
    const s = DeceptionSpec.parse({ headers: ['X-Debug'] })
    expect(s).toMatchObject({
      flagTtl: 3_600_000,
      headers: [{ name: 'x-debug', answer: 'fake', headers: {} }],
      chaos: { enabled: true, weights: { '403': 20, '404': 30, '500': 15, '200': 35 } },
      tarpit: { maxConcurrent: 10_000, maxBytes: 64 * 1024 * 1024, overflow: 'close' },
    })
    expect(DeceptionSpec.parse({ tarpit: { overflow: 429 } }).tarpit.overflow).toBe('429')
    expect(DeceptionSpec.safeParse({ canaries: { secret: 'short' } }).success).toBe(false)
  })
})
