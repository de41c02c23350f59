import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createBulwark,
  isAllowed,
  isAnswered,
  isBlocked,
  isChallenged,
  isDeceived,
  isDelayed,
  isDenied,
  isRateLimited,
  type Bulwark,
  type BulwarkRequest,
} from '../../src/index.js'
import { MemoryStore } from '../../src/store/memory.js'
import { decisions, POLICY } from './helpers.js'
import { secretDigest } from '../../src/identity/facets.js'

const T0 = 1_800_000_000_000
let open: Bulwark[] = []
afterEach(async () => {
  await Promise.all(open.map((b) => b.close()))
  open = []
})

async function make(config: Record<string, unknown> = POLICY) {
  let now = T0
  const b = await createBulwark({ config, clock: { now: () => now } })
  open.push(b)
  return { b, advance: (ms: number) => (now += ms) }
}

const login = (username: string, ip = '198.51.100.1', password = 'x'): BulwarkRequest => ({
  method: 'POST',
  url: '/login',
  headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
  remoteAddress: '127.0.0.1',
  body: JSON.stringify({ username, password }),
})

const get = (url: string, ip = '198.51.100.1', headers: Record<string, string> = {}) => ({
  method: 'GET',
  url,
  headers: { 'x-forwarded-for': ip, ...headers },
  remoteAddress: '127.0.0.1',
})

describe('createBulwark: config', () => {
  it('reads a file exactly as `bulwark serve` does, ${ENV} included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-'))
    const file = join(dir, 'bulwark.yaml')
    process.env.BULWARK_TEST_LIMIT = '1'
    await writeFile(
      file,
      'limits:\n  rules:\n    - id: one\n      key: [ip]\n      limit: ${BULWARK_TEST_LIMIT}\n      window: 60s\n',
    )
    const b = await createBulwark({ configFile: file })
    open.push(b)
    expect(b.config.limits?.rules[0]?.limit).toBe(1)
    expect(isAllowed(await b.inspect(get('/x')))).toBe(true)
    expect(isRateLimited(await b.inspect(get('/x')))).toBe(true)
  })

  it('validates a config object with the file loader’s messages, without line numbers', async () => {
    await expect(
      createBulwark({
        config: { limits: { rules: [{ id: 'a', key: ['ip'], limit: -1, window: '60s' }] } },
      }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: 'config limits.rules[0].limit: expected a positive integer, got -1',
    })
    await expect(createBulwark({ config: { limts: {} } })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: 'config unknown key "limts" (did you mean "limits"?)',
    })
  })

  it('takes values of a config object literally: ${…} is not interpolated', async () => {
    const { b } = await make({
      upstreams: { u: { url: 'http://127.0.0.1:9' } },
      log: {},
      routes: [{ path: '/${x}' }],
    })
    expect(b.config.routes[0]?.path).toBe('/${x}')
  })

  it('names the fix when the file is missing or no source is given', async () => {
    await expect(createBulwark({ configFile: '/nonexistent/bulwark.yaml' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_UNREADABLE',
    })
    await expect(createBulwark({} as never)).rejects.toThrow(
      new TypeError('createBulwark: pass { config: {...} } or { configFile: "bulwark.yaml" }'),
    )
  })
})

describe('inspect: decisions with reasons and guards', () => {
  it('lets a plain request proceed, with no rule and nothing to add', async () => {
    const { b } = await make()
    const r = await b.inspect(get('/products/1'))
    expect(r).toMatchObject({
      kind: 'proceed',
      action: 'allow',
      rule: undefined,
      delayMs: 0,
      rules: [],
    })
    expect(isAllowed(r) && !isAnswered(r) && !isDenied(r) && !isDelayed(r)).toBe(true)
    expect(r.context).toMatchObject({ path: '/products/1', identity: { ip: '198.51.100.1' } })
  })

  it('answers an exceeded limit like the proxy: 429, headers, problem body, reasons', async () => {
    const { b } = await make()
    for (const ip of ['198.51.100.1', '198.51.100.2'])
      expect(isAllowed(await b.inspect(login('victim', ip)))).toBe(true)
    const r = await b.inspect(login(' VICTIM ', '198.51.100.3'))
    expect(isRateLimited(r) && isDenied(r)).toBe(true)
    expect(isBlocked(r) || isChallenged(r) || isDeceived(r)).toBe(false)
    if (!isAnswered(r)) throw new Error('expected an answer')
    expect(r).toMatchObject({
      status: 429,
      action: 'throttle',
      rule: 'limits.login-per-account',
      reason: 'account "victim": 3 requests > 2 per 60s',
    })
    expect(r.rules.map((v) => v.rule)).toEqual(['limits.login-per-account'])
    expect(r.headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': r.id,
      'retry-after': expect.stringMatching(/^\d+$/),
      ratelimit: expect.stringContaining('"login-per-account"'),
    })
    expect(JSON.parse(r.body)).toEqual({ error: 'Too Many Requests', status: 429, requestId: r.id })
  })

  it('refuses an ambiguous path before any rule: blocked, 400', async () => {
    const { b } = await make()
    const r = await b.inspect(get('/admin%2fusers'))
    expect(isBlocked(r) && isDenied(r)).toBe(true)
    expect(r).toMatchObject({ status: 400, rule: 'request.ambiguous' })
  })

  it('blocks by network with the rule’s status (access)', async () => {
    const { b } = await make()
    expect(await b.inspect(get('/ADMIN/users'))).toMatchObject({
      kind: 'answer',
      status: 404,
      rule: 'access.admin-office',
    })
    expect(await b.inspect(get('/admin/users', '10.1.2.3'))).toMatchObject({ kind: 'proceed' })
  })

  it('in monitor mode proceeds and says what it would have done', async () => {
    const { b } = await make({ ...POLICY, mode: 'monitor' })
    await b.inspect(login('bob', '198.51.100.1'))
    await b.inspect(login('bob', '198.51.100.2'))
    const r = await b.inspect(login('bob', '198.51.100.3'))
    expect(r).toMatchObject({
      kind: 'proceed',
      action: 'allow',
      wouldHave: 'throttle',
      rule: undefined,
    })
    expect(r.rules[0]).toMatchObject({ rule: 'limits.login-per-account', monitor: true })
  })

  it('reads a body given as text, bytes or a reader, and refuses an ambiguous one', async () => {
    const { b } = await make()
    const base = { method: 'POST', url: '/login', headers: { 'Content-Type': 'application/json' } }
    const text = '{"username":"carol"}'
    await b.inspect({ ...base, body: text })
    await b.inspect({ ...base, body: Buffer.from(text) })
    const third = await b.inspect({
      ...base,
      body: async () => Buffer.from(text),
      headers: { ...base.headers, 'content-length': String(text.length) },
    })
    expect(third).toMatchObject({ kind: 'answer', rule: 'limits.login-per-account' })
    const dup = await b.inspect({ ...base, body: '{"username":"a","username":"b"}' })
    expect(dup).toMatchObject({ status: 400, rule: 'request.ambiguous-body' })
  })

  it('refuses a body over the cap with 413', async () => {
    const { b } = await make()
    const r = await b.inspect(login('x'.repeat(2000)))
    expect(r).toMatchObject({ status: 413, rule: 'request.body-too-large' })
  })
})

describe('identify: the app says who the user is', () => {
  it('keys limits on the account the app names, canonicalised like any other', async () => {
    const { b } = await make()
    expect(isAllowed(await b.inspect(get('/orders'), { account: ' Alice ' }))).toBe(true)
    const r = await b.inspect(get('/orders', '198.51.100.9'), { account: 'ALICE' })
    expect(r).toMatchObject({ status: 429, reason: 'account "alice": 2 requests > 1 per 60s' })
    // No account, no count: the rule does not apply
    expect(isAllowed(await b.inspect(get('/orders')))).toBe(true)
    expect(isAllowed(await b.inspect(get('/orders'), { account: 'bob' }))).toBe(true)
  })

  it('works in two steps: prepare (refusals at once), identify after auth, inspect once', async () => {
    const { b } = await make()
    const bad = b.prepare(get('/a%2fb'))
    expect(bad.refusal).toMatchObject({ rule: 'request.ambiguous', status: 400 })
    const p = b.prepare(get('/orders'))
    expect(p.refusal).toBeUndefined()
    b.identify(p, { account: 'dave', session: 's1' })
    expect(p.context.identity).toMatchObject({ account: 'dave', session: secretDigest('s1') })
    expect(isAllowed(await b.inspect(p))).toBe(true)
    expect(() => b.identify(p, { account: 'eve' })).toThrow(
      new TypeError('identify(): the request was inspected already; identify it before inspect()'),
    )
    await expect(b.inspect(p)).rejects.toThrow(
      new TypeError('inspect(): this request was inspected already'),
    )
  })

  it('lets an account the app names win over one read from the body', async () => {
    const { b } = await make()
    await b.inspect(login('mallory', '198.51.100.1'), { account: 'victim2' })
    await b.inspect(login('someone-else', '198.51.100.2'), { account: 'victim2' })
    const r = await b.inspect(login('third', '198.51.100.3'), { account: 'victim2' })
    expect(r).toMatchObject({ status: 429, reason: expect.stringContaining('"victim2"') })
  })

  it('rejects objects it did not make', async () => {
    const { b } = await make()
    expect(() => b.identify({ id: 'x', context: {} as never, refusal: undefined }, {})).toThrow(
      TypeError,
    )
  })
})

describe('observe: outcomes and telemetry', () => {
  it('counts failed logins from the status the app answered, once per request', async () => {
    const { b } = await make()
    const d = decisions()
    try {
      for (const u of ['u1', 'u2']) {
        const r = await b.inspect(login(u, '203.0.113.7'))
        b.observe(r, 401)
        b.observe(r, 401) // a second observation is ignored
      }
      const ok = await b.inspect(login('u3', '203.0.113.7'))
      expect(ok).toMatchObject({ kind: 'answer', rule: 'limits.failed-logins', status: 429 })
      b.observe(ok, 429)
      expect(d.messages.map((m) => [m.outcome.status, m.outcome.byGateway])).toEqual([
        [401, false],
        [401, false],
        [429, true],
      ])
      expect(d.messages[2]!.decision.decisive?.rule).toBe('limits.failed-logins')
      expect(d.messages[0]!.outcome.ms).toBe(0)
    } finally {
      d.stop()
    }
  })

  it('does not count successes', async () => {
    const { b } = await make()
    for (let i = 0; i < 5; i++) b.observe(await b.inspect(login(`s${i}`, '203.0.113.8')), 200)
    expect(isAllowed(await b.inspect(login('s9', '203.0.113.8')))).toBe(true)
  })
})

describe('reload and sharing', () => {
  it('swaps the rules in, keeps the counts, and keeps the old config when the new one is bad', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-'))
    const file = join(dir, 'bulwark.yaml')
    const rule = (limit: number) =>
      `limits:\n  rules:\n    - { id: ip, key: [ip], limit: ${limit}, window: 60s }\n`
    await writeFile(file, rule(2))
    const b = await createBulwark({ configFile: file })
    open.push(b)
    await b.inspect(get('/x'))
    await b.inspect(get('/x'))
    await writeFile(file, rule(3))
    await b.reload()
    expect(b.config.limits?.rules[0]?.limit).toBe(3)
    expect(isAllowed(await b.inspect(get('/x')))).toBe(true)
    expect(isRateLimited(await b.inspect(get('/x')))).toBe(true)
    await writeFile(file, 'limits: 3\n')
    await expect(b.reload()).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' })
    expect(b.config.limits?.rules[0]?.limit).toBe(3)
  })

  it('shares a store given to it (two instances, one count)', async () => {
    const store = new MemoryStore({ maxKeys: 100 })
    const config = { limits: { rules: [{ id: 'ip', key: ['ip'], limit: 1, window: '60s' }] } }
    const one = await createBulwark({ config, store })
    const two = await createBulwark({ config, store })
    open.push(one, two)
    expect(isAllowed(await one.inspect(get('/x')))).toBe(true)
    expect(isRateLimited(await two.inspect(get('/x')))).toBe(true)
    await one.close()
    expect(isRateLimited(await two.inspect(get('/x')))).toBe(true)
    await store.close()
  })
})
