/**
 * `bulwark init` (src/config/init.ts, src/cli/init.ts): a config written from an OpenAPI
 * document of an API that is not the demo shop — a bank with its sign-in at `/v1/auth/token`
 * (an `email` field behind a `$ref`), a base path from `servers`, ids with dashes in their
 * names — and that config, as written, in front of that API: people pass, and brute force,
 * sweeps, undocumented paths, tampered parameters and scanners do not.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadGatewayConfig, parseGatewayConfig } from '../../src/config/gateway-config.js'
import { INIT_SECRETS, initConfig } from '../../src/config/init.js'
import { createEngine } from '../../src/engine/engine.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { MemoryStore } from '../../src/store/memory.js'
import { sign, startJwksServer, testKey, type JwksServer, type TestKey } from '../helpers/oidc.js'
import { startUpstream, type Upstream } from '../proxy/helpers.js'

const FIXTURE = resolve(import.meta.dirname, '../fixtures/openapi/bank.yaml')
const BIN = resolve(import.meta.dirname, '../../bin/bulwark.js')
const ENV = Object.fromEntries(INIT_SECRETS.map((s) => [s, `${s.toLowerCase()}-`.padEnd(40, 'x')]))

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-init-'))
  await copyFile(FIXTURE, join(dir, 'bank.yaml'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A gateway on a free port running the config file at `file`, as `bulwark serve` would. */
async function serve(file: string): Promise<Gateway> {
  return startGateway(await loadGatewayConfig(file, ENV), {
    port: 0,
    host: '127.0.0.1',
    configDir: dir,
    configFile: file,
  })
}

function generate(extra: Partial<Parameters<typeof initConfig>[0]> = {}) {
  return initConfig({
    openapi: join(dir, 'bank.yaml'),
    out: join(dir, 'bulwark.yaml'),
    upstream: 'http://127.0.0.1:3000',
    ...extra,
  })
}

describe('initConfig reads the API from its document', () => {
  it('finds its sign-in, sign-up and reset by path, operation id and account field', () => {
    const { found } = generate()
    expect(found).toEqual({
      operations: 12,
      signIn: ['/v1/auth/token'],
      signUp: ['/v1/register'],
      reset: ['/v1/password/forgot', '/v1/password/reset'],
      sweeps: 2,
      listings: 3,
      // Until the front end answers puzzles, stuffing and mass sign-up are only logged…
      monitorRules: [
        'failed-logins-new-devices',
        'signups-new-devices',
        'pages-cursor-new-devices',
        'pages-page-new-devices',
        'pages-offset-new-devices',
      ],
      // …and a transfer is the bank's business: no rule counts it (the note says so).
      unlimited: ['POST /v1/transfers'],
      authRules: 0,
    })
  })

  it('says what is only logged and what nothing counts, and enforces the puzzles with --puzzles', () => {
    const { notes } = generate()
    expect(notes.join('\n')).toMatch(
      /failed-logins-new-devices and signups-new-devices and pages-cursor-new-devices and pages-page-new-devices and pages-offset-new-devices are in monitor mode: out of the box, credential stuffing, mass sign-up, paging through whole listings from rotating IPs and headers are logged, not stopped/,
    )
    expect(notes.join('\n')).toMatch(
      /no limit counts 1 state-changing operation\(s\).*POST \/v1\/transfers/,
    )
    expect(notes.join('\n')).toMatch(/per-install header .*identity\.fingerprint\.headers/)
    const enforced = generate({ puzzles: true })
    expect(enforced.found.monitorRules).toEqual([])
    const rules = parseGatewayConfig(enforced.text, 'x.yaml', ENV).limits!.rules
    expect(rules.find((r) => r.id === 'failed-logins-new-devices')).toMatchObject({
      action: 'challenge',
    })
    expect(rules.find((r) => r.id === 'failed-logins-new-devices')!.mode).toBeUndefined()
    expect(rules.find((r) => r.id === 'signups-new-devices')!.mode).toBeUndefined()
    expect(rules.find((r) => r.id === 'pages-page-new-devices')).toMatchObject({
      device: 'untrusted',
      action: 'challenge',
    })
    expect(rules.find((r) => r.id === 'pages-page-new-devices')!.mode).toBeUndefined()
    expect(enforced.notes.join('\n')).not.toMatch(/monitor mode/)
  })

  it('writes a config the schema, the contract and the config check accept', () => {
    const { text } = generate()
    const config = parseGatewayConfig(text, join(dir, 'bulwark.yaml'), ENV)
    const engine = createEngine(config, {
      store: new MemoryStore(),
      configDir: dir,
      configFile: 'bulwark.yaml',
    })
    void engine.close()
    // Both warnings are about what init could not do alone: its successes are not described
    // as JSON (fakes are generic), and no issuer was given for the operations it secures.
    expect(engine.warnings).toHaveLength(2)
    expect(engine.warnings[0]).toMatch(/describe no JSON success response/)
    expect(engine.warnings[1]).toMatch(/secures 7 operation\(s\).*no auth block/)
    expect(config.contract!.undocumented).toBe('block')
    expect(config.identity.account).toEqual([
      {
        body: 'email',
        paths: ['/v1/auth/token', '/v1/register', '/v1/password/forgot', '/v1/password/reset'],
      },
    ])
    // The document's bearer security: the Authorization header is each client's session.
    expect(config.identity.session).toEqual({ header: 'authorization' })
    const rules = config.limits!.rules
    const sweep = rules.filter((r) => r.id.startsWith('sweep-'))
    const accounts = ['/v1/accounts/:accountId', '/v1/accounts/:accountId/transactions']
    const statements = ['/v1/statements/:statement_id']
    expect(sweep.map((r) => [r.id, r.paths, r.key, r.distinct])).toEqual([
      ['sweep-accountid', accounts, ['device'], 'param:accountId'],
      ['sweep-accountid-cookieless', accounts, ['fingerprint', 'ipPrefix'], 'param:accountId'],
      ['sweep-accountid-per-token', accounts, ['session'], 'param:accountId'],
      ['sweep-statement-id', statements, ['device'], 'param:statement_id'],
      [
        'sweep-statement-id-cookieless',
        statements,
        ['fingerprint', 'ipPrefix'],
        'param:statement_id',
      ],
      ['sweep-statement-id-per-token', statements, ['session'], 'param:statement_id'],
    ])
    // Listings: positions by name (`page` from the path item, through a $ref; an offset; a cursor), and
    // records through the page size: 60 pages of its documented default (or of 20), re-reads
    // included.
    const pages = rules.filter((r) => /^(pages|records)-/.test(r.id))
    const branches = ['/v1/branches']
    const transactions = ['/v1/accounts/:accountId/transactions']
    expect(pages.map((r) => [r.id, r.paths, r.key, r.distinct ?? r.cost, r.limit])).toEqual([
      ['pages-cursor', transactions, ['device'], 'query:cursor', 30],
      ['pages-cursor-cookieless', transactions, ['fingerprint', 'ipPrefix'], 'query:cursor', 20],
      ['pages-cursor-per-token', transactions, ['session'], 'query:cursor', 30],
      // Rotation resets every budget above but one: distinct positions route-wide among new
      // devices (people read the first pages, a scraper all), a puzzle past 60 a minute.
      ['pages-cursor-new-devices', transactions, ['route'], 'query:cursor', 60],
      ['records-cursor', transactions, ['device'], 'query:limit', 1200],
      ['records-cursor-cookieless', transactions, ['fingerprint', 'ipPrefix'], 'query:limit', 800],
      ['records-cursor-per-token', transactions, ['session'], 'query:limit', 1200],
      ['pages-page', branches, ['device'], 'query:page', 30],
      ['pages-page-cookieless', branches, ['fingerprint', 'ipPrefix'], 'query:page', 20],
      ['pages-page-per-token', branches, ['session'], 'query:page', 30],
      ['pages-page-new-devices', branches, ['route'], 'query:page', 60],
      ['records-page', branches, ['device'], 'query:per_page', 1500],
      ['records-page-cookieless', branches, ['fingerprint', 'ipPrefix'], 'query:per_page', 1000],
      ['records-page-per-token', branches, ['session'], 'query:per_page', 1500],
      // Every position a listing takes: a scraper pages with whichever is not limited.
      ['pages-offset', branches, ['device'], 'query:offset', 30],
      ['pages-offset-cookieless', branches, ['fingerprint', 'ipPrefix'], 'query:offset', 20],
      ['pages-offset-per-token', branches, ['session'], 'query:offset', 30],
      ['pages-offset-new-devices', branches, ['route'], 'query:offset', 60],
      // (the listing's records budget is written once, with its first position)
    ])
    // Wrong voucher codes, per token, device and network.
    expect(
      rules.filter((r) => r.id.startsWith('code-guesses-')).map((r) => [r.id, r.paths, r.key]),
    ).toEqual([
      ['code-guesses-per-token', ['/v1/vouchers/redeem'], ['session']],
      ['code-guesses-per-device', ['/v1/vouchers/redeem'], ['device']],
      ['code-guesses-per-network', ['/v1/vouchers/redeem'], ['ipPrefix']],
    ])
    // Failed sign-ins are the 401 the document gives the operation (it documents no 403).
    expect(rules.find((r) => r.id === 'failed-logins-per-ip')!.outcomes).toEqual([401])
    expect(config.behavior!.deceive.except).toEqual([
      '/v1/auth/token',
      '/v1/register',
      '/v1/password/forgot',
      '/v1/password/reset',
    ])
    // Wrong codes add up per account on the step that takes one; requests per account and network.
    expect(rules.find((r) => r.id === 'reset-codes-per-account')!.paths).toEqual([
      '/v1/password/reset',
    ])
    expect(rules.find((r) => r.id === 'resets-per-account-network')!.key).toEqual([
      'account',
      'ipPrefix',
    ])
    // The stuffing puzzle waits in monitor mode until the front end answers puzzles.
    expect(rules.find((r) => r.id === 'failed-logins-new-devices')!.mode).toBe('monitor')
    expect(rules.find((r) => r.id === 'signups-new-devices')).toMatchObject({
      paths: ['/v1/register'],
      device: 'untrusted',
      action: 'challenge',
      mode: 'monitor',
    })
    // Honeypots go under the API's prefix, never on a documented path.
    expect(config.deception!.honeypots.map((h) => h.paths[0])).toContain('/v1/admin/dashboard')
    expect(config.contract!.openapi).toBe('./bank.yaml')
    // The partners' key scheme is the apiKey facet, and key guessing is counted where keys open.
    expect(config.identity.apiKey).toEqual({ header: 'x-partner-key' })
    expect(rules.find((r) => r.id === 'bad-keys-route')!.paths).toEqual(['/v1/partners/report'])
  })

  it('turns the security the document declares into auth rules, given an issuer', () => {
    const r = generate({ issuer: 'https://idp.bank.example/', audience: 'bank-api' })
    const config = parseGatewayConfig(r.text, join(dir, 'bulwark.yaml'), ENV)
    const engine = createEngine(config, { store: new MemoryStore(), configDir: dir })
    void engine.close()
    // Every secured operation is covered: the only warning left is the one about fakes.
    expect(engine.warnings).toHaveLength(1)
    expect(config.auth!.issuers[0]!.jwksUri).toBe('https://idp.bank.example/.well-known/jwks.json')
    expect(r.notes.join('\n')).toMatch(/jwksUri is a guess/)
    expect(config.auth!.rules.map((x) => [x.id, x.paths, x.methods, x.require])).toEqual([
      [
        'scope-accounts-read-get',
        ['/v1/accounts/:accountId', '/v1/accounts/:accountId/transactions'],
        ['GET'],
        { authenticated: true, scopes: ['accounts:read'], claims: {} },
      ],
      [
        'signed-in-post',
        ['/v1/vouchers/redeem'],
        ['POST'],
        { authenticated: true, scopes: [], claims: {} },
      ],
      [
        'signed-in-get',
        ['/v1/statements/:statement_id'],
        ['GET'],
        { authenticated: true, scopes: [], claims: {} },
      ],
      [
        'scope-accounts-read-transfers-write-post',
        ['/v1/transfers'],
        ['POST'],
        { authenticated: true, scopes: ['accounts:read', 'transfers:write'], claims: {} },
      ],
      [
        'scope-admin-get',
        ['/v1/admin/users'],
        ['GET'],
        { authenticated: true, scopes: ['admin'], claims: {} },
      ],
      [
        'token-optional-get',
        ['/v1/partners/report'],
        ['GET'],
        { authenticated: false, scopes: [], claims: {} },
      ],
      // Wherever a token is sent, it must be genuine: but for signing in again.
      ['token-checked-everywhere', ['/*'], [], { authenticated: false, scopes: [], claims: {} }],
    ])
    expect(config.auth!.rules.at(-1)!.except).toEqual([
      '/v1/auth/token',
      '/v1/register',
      '/v1/password/forgot',
      '/v1/password/reset',
    ])
  })

  it('leaves a trap out where the API has a path, and writes CORS only for given origins', () => {
    const { text } = generate({ origins: ['https://app.bank.example'] })
    const config = parseGatewayConfig(text, 'x.yaml', ENV)
    expect(config.cors!.rules[0]!.origins).toEqual(['https://app.bank.example'])
    expect(parseGatewayConfig(generate().text, 'x.yaml', ENV).cors).toBeUndefined()
  })

  it('never sets a trap on a path a documented template matches', async () => {
    const sections = join(dir, 'sections.yaml')
    await writeFile(
      sections,
      [
        'openapi: 3.0.3',
        'info: { title: t, version: "1" }',
        'servers: [{ url: /v1 }]',
        'paths:',
        '  /admin/{section}:',
        '    get: { responses: { "200": { description: ok } } }',
        '  /items/{id}:',
        '    get: { responses: { "200": { description: ok } } }',
        '',
      ].join('\n'),
    )
    const r = initConfig({ openapi: sections, out: join(dir, 's.yaml'), upstream: 'http://x' })
    const traps = parseGatewayConfig(r.text, 'x.yaml', ENV).deception!.honeypots
    // `/v1/admin/dashboard` is a section the API serves: no trap there.
    expect(traps.map((h) => h.paths[0])).toEqual([
      '/v1/system/config_update',
      '/v1/internal/debug',
      '/.env',
      '/.git/config',
    ])
  })

  it('reads other conventions: POST /sessions, a public POST /users with a password, PUT /password-resets/{id}', async () => {
    const social = join(dir, 'social.yaml')
    const json = (props: string) =>
      `{ content: { application/json: { schema: { type: object, properties: { ${props} } } } } }`
    await writeFile(
      social,
      [
        'openapi: 3.0.3',
        'info: { title: social, version: "1" }',
        'servers: [{ url: /api/v2 }]',
        'paths:',
        '  /sessions:',
        `    post: { requestBody: ${json('login: { type: string }, secret: { type: string }')}, responses: { "201": { description: ok } } }`,
        '  /users:',
        `    post: { requestBody: ${json('handle: { type: string }, email: { type: string }, secret: { type: string }')}, responses: { "201": { description: ok } } }`,
        '  /password-resets:',
        `    post: { requestBody: ${json('email: { type: string }')}, responses: { "202": { description: ok } } }`,
        '  /password-resets/{resetId}:',
        '    put:',
        '      parameters: [{ name: resetId, in: path, required: true, schema: { type: string } }]',
        `      requestBody: ${json('code: { type: string }, secret: { type: string }')}`,
        '      responses: { "204": { description: ok } }',
        '',
      ].join('\n'),
    )
    const r = initConfig({ openapi: social, out: join(dir, 'social-b.yaml'), upstream: 'http://x' })
    expect(r.found).toMatchObject({
      signIn: ['/api/v2/sessions'],
      signUp: ['/api/v2/users'],
      reset: ['/api/v2/password-resets', '/api/v2/password-resets/:resetId'],
    })
    const config = parseGatewayConfig(r.text, 'x.yaml', ENV)
    expect(config.identity.account).toEqual([
      { body: 'login', paths: ['/api/v2/sessions'] },
      { body: 'email', paths: ['/api/v2/users', '/api/v2/password-resets'] },
    ])
    // The confirmation names its reset in the path: wrong codes are counted per reset.
    const codes = config.limits!.rules.find((x) => x.id === 'reset-codes-per-resetid')!
    expect([codes.paths, codes.methods, codes.key]).toEqual([
      ['/api/v2/password-resets/:resetId'],
      ['PUT'],
      ['param:resetId'],
    ])
  })

  it('says what it could not find', async () => {
    const flat = join(dir, 'flat.yaml')
    await writeFile(
      flat,
      'openapi: 3.0.3\ninfo: { title: t, version: "1" }\npaths:\n  /items/{id}:\n    get: { responses: { "200": { description: ok } } }\n',
    )
    const r = initConfig({
      openapi: flat,
      out: join(dir, 'flat-bulwark.yaml'),
      upstream: 'http://x',
    })
    expect(r.found.signIn).toEqual([])
    expect(r.notes.join('\n')).toMatch(/no sign-in operation found/)
    const config = parseGatewayConfig(r.text, 'x.yaml', ENV)
    expect(config.identity.account).toEqual([])
    expect(r.found.authRules).toBe(0)
    expect(config.limits!.rules.map((x) => x.id)).toEqual([
      'sweep-id',
      'sweep-id-cookieless',
      'ip-ceiling',
    ])
  })
})

describe('the written config in front of the API', () => {
  let upstream: Upstream
  let gw: Gateway

  beforeAll(async () => {
    upstream = await startUpstream({
      '/v1/vouchers/redeem': (req, res) => {
        req.resume()
        req.on('end', () => {
          res.writeHead(404, { 'content-type': 'application/json' })
          res.end('{"error":"no such voucher"}')
        })
      },
      '/v1/password/reset': (req, res) => {
        req.resume()
        req.on('end', () => {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end('{"error":"wrong or expired code"}')
        })
      },
      '/v1/auth/token': (req, res) => {
        let body = ''
        req.on('data', (c: Buffer) => (body += c))
        req.on('end', () => {
          const ok = (JSON.parse(body) as { password?: string }).password === 'right'
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
          res.end(ok ? '{"token":"t"}' : '{"error":"wrong email or password"}')
        })
      },
    })
    const file = join(dir, 'served.yaml')
    const { text } = initConfig({
      openapi: join(dir, 'bank.yaml'),
      out: file,
      upstream: upstream.url,
    })
    // Behind a trusted proxy, so that each client of the test has an address of its own.
    await writeFile(file, `${text}server:\n  trustedProxies: ['127.0.0.1/32']\n`)
    gw = await serve(file)
  })

  afterAll(async () => {
    await gw?.close()
    await upstream?.close()
  })

  /**
   * A client at `ip`; `keep` keeps its device cookie, as a browser does; `token` is sent as a
   * bearer token (the document asks for one on most operations).
   */
  function client(ip: string, keep = true, token?: string) {
    let cookie: string | undefined
    return async (method: string, path: string, body?: string, type = 'application/json') => {
      const headers: Record<string, string> = { 'x-forwarded-for': ip, 'user-agent': `t/${ip}` }
      if (cookie) headers.cookie = cookie
      if (token) headers.authorization = `Bearer ${token}`
      if (body !== undefined) headers['content-type'] = type
      const res = await fetch(`${gw.url}${path}`, { method, headers, body })
      const set = res.headers.getSetCookie()[0]
      if (keep && set) cookie = set.slice(0, set.indexOf(';'))
      return { status: res.status, text: await res.text() }
    }
  }
  const seen = (path: string) => upstream.received.some((r) => r.url === path)

  it('lets a person sign in, read an account and transfer', async () => {
    const person = client('198.51.100.1', true, 'ann-token')
    expect((await person('GET', '/v1/accounts/7')).status).toBe(200)
    // The document asks for a token there: none, and the gateway answers 401 itself.
    const anonymous = client('198.51.100.2')
    expect((await anonymous('GET', '/v1/accounts/7')).status).toBe(401)
    const signIn = await person(
      'POST',
      '/v1/auth/token',
      '{"email":"ann@x.example","password":"right"}',
    )
    expect(signIn.status).toBe(200)
    expect((await person('GET', '/v1/accounts/7/transactions?limit=20')).status).toBe(200)
    // (The test upstream answers every path it has no handler for with 200 and an echo.)
    expect((await person('POST', '/v1/transfers', '{"from":7,"to":8,"amount":25}')).status).toBe(
      200,
    )
    expect(seen('/v1/transfers')).toBe(true)
  })

  it('refuses brute force on one account, however its name is spelled', async () => {
    const spellings = [
      'victim@x.example',
      'Victim@X.example',
      ' victim@x.example',
      'ＶＩＣＴＩＭ@x.example',
    ]
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      const attacker = client(`203.0.113.${i + 1}`, false)
      const email = spellings[i % spellings.length]
      statuses.push(
        (await attacker('POST', '/v1/auth/token', JSON.stringify({ email, password: `guess${i}` })))
          .status,
      )
    }
    // Five attempts reach the API (login-per-account), from eight addresses; then 429.
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.slice(5)).toEqual([429, 429, 429])
  })

  it('holds a reset flood from one network without locking the owner out of hers', async () => {
    const form = 'application/x-www-form-urlencoded'
    const flood = client('203.0.113.90', false)
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await flood('POST', '/v1/password/forgot', 'email=Carol%40x.example', form)).status,
      )
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const carol = client('198.51.100.60')
    expect((await carol('POST', '/v1/password/forgot', 'email=carol@x.example', form)).status).toBe(
      200,
    )
  })

  it('refuses tampered parameters and bodies at the edge', async () => {
    const c = client('198.51.100.20', true, 'tamper-token')
    const before = upstream.received.length
    expect((await c('GET', '/v1/accounts/abc')).status).toBe(400)
    expect((await c('GET', '/v1/accounts/7/transactions?limit=1&limit=9999')).status).toBe(400)
    expect((await c('GET', '/v1/accounts/7/transactions?debug=1')).status).toBe(400)
    expect((await c('POST', '/v1/transfers', '{"from":7,"to":8,"amount":25,"fee":0}')).status).toBe(
      400,
    )
    expect(
      (await c('POST', '/v1/transfers', '{"from":7,"to":8,"amount":5,"amount":-100}')).status,
    ).toBe(400)
    // Mass assignment: a field the sign-up's schema does not declare.
    const signUp = '{"email":"eve@x.example","password":"p","name":"Eve","role":"admin"}'
    expect((await c('POST', '/v1/register', signUp)).status).toBe(400)
    expect(upstream.received.length).toBe(before)
  })

  it('stops a sweep through account ids by a client that keeps its cookie', async () => {
    // Each read with a token of its own (a bot making accounts): the device still counts them.
    let n = 0
    let cookie: string | undefined
    const sweep = async (id: number) => {
      const res = await fetch(`${gw.url}/v1/accounts/${id}`, {
        headers: {
          'x-forwarded-for': '198.51.100.30',
          'user-agent': 'sweeper/1',
          authorization: `Bearer account-${++n}`,
          ...(cookie ? { cookie } : {}),
        },
      })
      await res.text()
      const set = res.headers.getSetCookie()[0]
      if (set) cookie = set.slice(0, set.indexOf(';'))
      return res.status
    }
    const statuses: number[] = []
    for (let id = 1; id <= 34; id++) statuses.push(await sweep(id))
    // The first read came before its device cookie (an id no device counts), then 30 per device.
    expect(statuses.slice(0, 31).every((s) => s === 200)).toBe(true)
    expect(statuses.slice(31)).toEqual([429, 429, 429])
  })

  it('holds a scraper paging through a listing, however large the pages it asks for', async () => {
    // A person reads a few pages of 25 (the document's default) and then a big one.
    const person = client('198.51.100.40')
    const read: number[] = []
    for (const q of ['', '?page=2', '?page=3&city=Leeds', '?page=4', '?page=1&per_page=100'])
      read.push((await person('GET', `/v1/branches${q}`)).status)
    expect(read).toEqual([200, 200, 200, 200, 200])
    // A scraper that keeps its cookie: 30 distinct pages a minute.
    const scraper = client('198.51.100.41')
    const paged: number[] = []
    for (let page = 1; page <= 33; page++)
      paged.push((await scraper('GET', `/v1/branches?page=${page}`)).status)
    // (its first request came before its cookie: no device counted it)
    expect(paged.slice(0, 31).every((s) => s === 200)).toBe(true)
    expect(paged.slice(31)).toEqual([429, 429])
    // One asking for pages of 100: 1,500 records a minute (60 pages of 25, re-reads
    // included), 15 of its pages where paging alone would give it 30.
    const greedy = client('198.51.100.42')
    await greedy('GET', '/v1/branches')
    const big: number[] = []
    for (let page = 1; page <= 17; page++)
      big.push((await greedy('GET', `/v1/branches?page=${page}&per_page=100`)).status)
    expect(big.slice(0, 15).every((s) => s === 200)).toBe(true)
    expect(big.slice(15)).toEqual([429, 429])
    // A person re-reading the same few pages of 50 is not a scraper: 20 reads (1,000 records)
    // pass.
    const rereader = client('198.51.100.44')
    const again: number[] = []
    for (let n = 0; n < 20; n++)
      again.push((await rereader('GET', `/v1/branches?page=${(n % 4) + 1}&per_page=50`)).status)
    expect(again.filter((s) => s !== 200)).toEqual([])
    // Without cookies, from one network and one build: 20 pages.
    const noCookies = client('198.51.100.43', false)
    const bare: number[] = []
    for (let page = 1; page <= 22; page++)
      bare.push((await noCookies('GET', `/v1/branches?page=${page}`)).status)
    expect(bare.slice(0, 20).every((s) => s === 200)).toBe(true)
    expect(bare.slice(20)).toEqual([429, 429])
  })

  it('holds voucher guessing per token and per device, from rotating IPs', async () => {
    const guess = async (n: number, headers: Record<string, string>) => {
      const res = await fetch(`${gw.url}/v1/vouchers/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ code: String(100000 + n) }),
      })
      await res.text()
      return res.status
    }
    // One token, a new address and browser for every guess, no cookies.
    const byToken: number[] = []
    for (let n = 0; n < 13; n++)
      byToken.push(
        await guess(n, {
          authorization: 'Bearer guesser-1',
          'x-forwarded-for': `192.0.2.${100 + n}`,
          'user-agent': `g/${n}`,
        }),
      )
    expect(byToken.slice(0, 10).every((s) => s === 404)).toBe(true)
    expect(byToken.slice(10)).toEqual([429, 429, 429])
    // A new token for every guess, one device that keeps its cookie.
    let cookie = ''
    const byDevice: number[] = []
    for (let n = 0; n < 13; n++) {
      const res = await fetch(`${gw.url}/v1/vouchers/redeem`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer farmed-${n}`,
          'x-forwarded-for': `198.51.100.${100 + n}`,
          ...(cookie ? { cookie } : {}),
        },
        body: JSON.stringify({ code: String(200000 + n) }),
      })
      await res.text()
      const set = res.headers.getSetCookie()[0]
      if (set) cookie = set.slice(0, set.indexOf(';'))
      byDevice.push(res.status)
    }
    // (the first guess came before its cookie)
    expect(byDevice.slice(0, 11).every((s) => s === 404)).toBe(true)
    expect(byDevice.slice(11)).toEqual([429, 429])
  })

  it('holds one stolen token sweeping from rotating IPs, headers and no cookies', async () => {
    const statuses: number[] = []
    for (let id = 1; id <= 34; id++) {
      // A new address and browser each time, and the scheme spelled anew: one token still.
      const scheme = id % 2 ? 'Bearer' : 'bearer'
      const res = await fetch(`${gw.url}/v1/accounts/${100 + id}`, {
        headers: {
          'x-forwarded-for': `192.0.2.${id}`,
          'user-agent': `thief/${id}`,
          authorization: `${scheme} stolen-token-1`,
        },
      })
      await res.text()
      statuses.push(res.status)
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true)
    expect(statuses.slice(30)).toEqual([429, 429, 429, 429])
  })

  it('lets app users without cookies, on one app build behind one carrier NAT, read their own accounts', async () => {
    // 8 users, one IP, one User-Agent, no cookies: each with a token of its own, each reading
    // its 6 accounts twice (48 ids between them: over a budget shared per network and build).
    const statuses: number[] = []
    for (let u = 0; u < 8; u++)
      for (let n = 0; n < 12; n++) {
        const res = await fetch(`${gw.url}/v1/accounts/${500 + u * 6 + (n % 6)}`, {
          headers: {
            'x-forwarded-for': '100.64.0.1',
            'user-agent': 'BankApp/4.2 (iPhone; iOS 18.1)',
            authorization: `Bearer app-user-${u}`,
          },
        })
        await res.text()
        statuses.push(res.status)
      }
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })

  it('counts wrong reset codes per account, from any number of networks', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      const guesser = client(`203.0.113.${150 + i}`, false)
      const body = JSON.stringify({
        email: 'dora@x.example',
        code: String(100000 + i),
        password: 'p',
      })
      statuses.push((await guesser('POST', '/v1/password/reset', body)).status)
    }
    // The test upstream refuses every code here: 5 wrong ones reach it, then the account is held.
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429, 429])
  })

  it('answers an undocumented path like a missing one, without forwarding it', async () => {
    const scanner = client('198.51.100.40')
    expect((await scanner('GET', '/v1/debug/env')).status).toBe(404)
    expect(seen('/v1/debug/env')).toBe(false)
  })

  it('answers a scanner on a trap with a fake, never forwarded', async () => {
    const scanner = client('198.51.100.50')
    const env = await scanner('GET', '/.env')
    expect(env.status).toBe(200)
    expect(env.text).toMatch(/=/)
    expect(seen('/.env')).toBe(false)
  }, 10_000)
})

describe('the written config with --puzzles', () => {
  let upstream: Upstream
  let gw: Gateway

  beforeAll(async () => {
    upstream = await startUpstream()
    const file = join(dir, 'with-puzzles.yaml')
    const { text } = initConfig({
      openapi: join(dir, 'bank.yaml'),
      out: file,
      upstream: upstream.url,
      puzzles: true,
    })
    await writeFile(file, `${text}server:\n  trustedProxies: ['127.0.0.1/32']\n`)
    gw = await serve(file)
  })

  afterAll(async () => {
    await gw?.close()
    await upstream?.close()
  })

  it('asks a scraper rotating IPs, headers and cookies through a whole listing for puzzles', async () => {
    const statuses: number[] = []
    for (let page = 1; page <= 64; page++) {
      // A new address and browser each time, no cookie kept: every per-client budget is new.
      const res = await fetch(`${gw.url}/v1/branches?page=${page}`, {
        headers: { 'x-forwarded-for': `10.${page}.0.1`, 'user-agent': `scraper/${page}` },
      })
      await res.text()
      statuses.push(res.status)
    }
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true)
    expect(statuses.slice(60)).toEqual([401, 401, 401, 401])
    // What reached the listing: the 60 pages before the puzzles, no more.
    expect(upstream.received.filter((r) => r.url.startsWith('/v1/branches')).length).toBe(60)
  })
})

describe('the written config checks tokens at the edge', () => {
  let upstream: Upstream
  let jwks: JwksServer
  let gw: Gateway
  let key: TestKey
  const ISSUER = 'https://idp.bank.example/'

  beforeAll(async () => {
    upstream = await startUpstream()
    key = await testKey('RS256', 'bank-1')
    jwks = await startJwksServer([key.jwk])
    const file = join(dir, 'with-auth.yaml')
    const { text } = initConfig({
      openapi: join(dir, 'bank.yaml'),
      out: file,
      upstream: upstream.url,
      issuer: ISSUER,
      audience: 'bank-api',
      jwksUri: jwks.url,
    })
    await writeFile(file, text)
    gw = await serve(file)
  })

  afterAll(async () => {
    await gw?.close()
    await upstream?.close()
    await jwks?.close()
  })

  async function call(path: string, token?: string, method = 'GET', body?: string) {
    const headers: Record<string, string> = {}
    if (token) headers.authorization = `Bearer ${token}`
    if (body) headers['content-type'] = 'application/json'
    const res = await fetch(`${gw.url}${path}`, { method, headers, body })
    await res.text()
    return res.status
  }
  const token = (scope: string, k = key) => sign(k, ISSUER, { aud: 'bank-api', scope })

  it('needs a token where the document says so, and the scopes it lists', async () => {
    const reader = await token('accounts:read')
    expect(await call('/v1/accounts/7')).toBe(401)
    expect(await call('/v1/accounts/7', reader)).toBe(200)
    // A low-privilege token against the admin route, and against a transfer.
    expect(await call('/v1/admin/users', reader)).toBe(403)
    expect(await call('/v1/transfers', reader, 'POST', '{"from":7,"to":8,"amount":5}')).toBe(403)
    expect(await call('/v1/admin/users', await token('admin'))).toBe(200)
    const mover = await token('accounts:read transfers:write')
    expect(await call('/v1/transfers', mover, 'POST', '{"from":7,"to":8,"amount":5}')).toBe(200)
    expect(upstream.received.filter((r) => r.url === '/v1/admin/users')).toHaveLength(1)
  })

  it('lets the public operations and key clients through without one, and refuses a forged one', async () => {
    const forged = await token('admin', await testKey('RS256', 'bank-1'))
    // A key or a token, as the document says: neither is a 401 at the edge.
    expect(await call('/v1/partners/report')).toBe(401)
    const keyed = await fetch(`${gw.url}/v1/partners/report`, {
      headers: { 'x-partner-key': 'partner-1' },
    })
    await keyed.text()
    expect(keyed.status).toBe(200)
    expect(await call('/v1/partners/report', forged)).toBe(401)
    expect(await call('/v1/admin/users', forged)).toBe(401)
    expect(
      await call('/v1/register', undefined, 'POST', '{"email":"new@x.example","password":"p"}'),
    ).toBe(200)
  })

  it('refuses an invented or forged token on a public operation, lets an expired one pass as none, and any on signing in again', async () => {
    // A sweeper sending a new random token each time would be a new session each time.
    expect(await call('/v1/branches?page=2')).toBe(200)
    expect(await call('/v1/branches?page=2', 'junk-1')).toBe(401)
    const expired = await sign(key, ISSUER, { aud: 'bank-api', exp: 1_000_000_000 })
    // A genuine token past its lifetime on a public listing: anonymous, as without one (an
    // app keeps sending it until it refreshes); where a token is needed, a 401.
    expect(await call('/v1/branches?page=3', expired)).toBe(200)
    expect(await call('/v1/statements/abc', expired)).toBe(401)
    // A forged one (another key, the same kid) is refused even where a token is optional.
    const forged = await sign(await testKey('RS256', 'bank-1'), ISSUER, { aud: 'bank-api' })
    expect(await call('/v1/branches?page=4', forged)).toBe(401)
    // An app still sending its expired token with the sign-in gets through to sign in.
    const res = await fetch(`${gw.url}/v1/auth/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${expired}`, 'content-type': 'application/json' },
      body: '{"email":"ann@x.example","password":"p"}',
    })
    await res.text()
    expect(res.status).toBe(200)
  })
})

describe('bulwark init (the built CLI)', () => {
  function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
      execFile(process.execPath, [BIN, 'init', ...args], { cwd: dir }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
      })
    })
  }

  it('writes the file, says what it found, and will not overwrite it without --force', async () => {
    const first = await run(
      '--openapi',
      'bank.yaml',
      '-o',
      'cli.yaml',
      '--upstream',
      'http://127.0.0.1:9',
    )
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/cli\.yaml: written — 12 operations; sign-in: \/v1\/auth\/token/)
    expect(first.stdout).toMatch(
      /note: set BULWARK_DEVICE_SECRET, BULWARK_CHALLENGE_SECRET, BULWARK_CANARY_SECRET/,
    )
    const text = await readFile(join(dir, 'cli.yaml'), 'utf8')
    expect(text).toMatch(/^# Written by `bulwark init` from bank\.yaml/)
    const again = await run('--openapi', 'bank.yaml', '-o', 'cli.yaml')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/cli\.yaml exists; pass --force/)
    expect(await readFile(join(dir, 'cli.yaml'), 'utf8')).toBe(text)
  })

  it('writes into a new directory, the document named relative to the config', async () => {
    const r = await run('--openapi', 'bank.yaml', '-o', 'deploy/gw/bulwark.yaml')
    expect(r.code).toBe(0)
    const text = await readFile(join(dir, 'deploy/gw/bulwark.yaml'), 'utf8')
    expect(text).toContain('openapi: ../../bank.yaml')
    // …and it loads from there, as `bulwark serve` would.
    const config = await loadGatewayConfig(join(dir, 'deploy/gw/bulwark.yaml'), ENV)
    expect(config.contract!.openapi).toBe(join(dir, 'bank.yaml'))
  })

  it('names the problem in a broken document and writes nothing', async () => {
    await writeFile(
      join(dir, 'broken.yaml'),
      'openapi: 3.0.3\npaths:\n  /a:\n    get: { $ref: "#/nowhere" }\n',
    )
    const r = await run('--openapi', 'broken.yaml', '-o', 'never.yaml')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/broken\.yaml/)
    await expect(readFile(join(dir, 'never.yaml'), 'utf8')).rejects.toThrow()
  })
})
