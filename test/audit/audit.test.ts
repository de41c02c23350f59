import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateLog } from '../../bench/logs-generate.js'
import { runAudit } from '../../src/audit/audit.js'
import { openApiFromText } from '../../src/audit/openapi.js'
import type { EndpointReport } from '../../src/audit/report.js'
import { suggestConfig } from '../../src/audit/suggest.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { bulwarkLine, nginxLine, T0, tempDir } from '../logs/fixtures.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('bulwark-audit-')
})
afterAll(() => tmp.cleanup())

const MIN = 60_000
const find = (eps: readonly EndpointReport[], method: string, template: string) =>
  eps.find((e) => e.method === method && e.template === template)

describe('audit on a small hand-written log', () => {
  it('groups endpoints by folded template with status mix and per-IP rate percentiles', async () => {
    const lines: string[] = []
    // A: 10 product views in minute 0, 2 in minute 1; B: 1 in minute 0.
    for (let i = 0; i < 10; i++)
      lines.push(nginxLine({ ip: '10.0.0.1', time: T0 + i * 1000, path: `/api/products/${i}` }))
    for (let i = 0; i < 2; i++)
      lines.push(nginxLine({ ip: '10.0.0.1', time: T0 + MIN + i, path: `/API/products/${i}?x=1` }))
    lines.push(nginxLine({ ip: '10.0.0.2', time: T0 + 5, path: '/api/products/5', status: 404 }))
    // C: three logins in minute 0, two of them refused.
    for (const status of [401, 401, 200])
      lines.push(
        nginxLine({ ip: '10.0.0.3', time: T0 + 10, method: 'POST', path: '/api/login', status }),
      )
    lines.push(nginxLine({ ip: '10.0.0.4', time: T0 + 20, path: '/wp-login.php', status: 404 }))
    lines.push(nginxLine({ ip: '10.0.0.4', time: T0 + 21, path: '/api/a%2fb', status: 400 }))
    lines.push('not a log line')
    const file = await tmp.write('small.log', lines.join('\n') + '\n')

    const r = await runAudit([file])
    expect(r).toMatchObject({
      lines: 19,
      records: 18,
      malformed: 1,
      skipped: 0,
      overflow: 0,
      evicted: 0,
    })
    expect(r.ambiguous).toEqual({ count: 1, examples: ['GET /api/a%2fb'] })
    expect(r.endpoints.map((e) => `${e.method} ${e.template}`)).toEqual([
      'POST /api/login',
      'GET /api/products/:id',
      'GET /wp-login.php',
    ])
    const products = find(r.endpoints, 'GET', '/api/products/:id')!
    expect(products).toMatchObject({
      requests: 13,
      identities: 2,
      statuses: { '200': 12, '404': 1 },
      auth: false,
      rate: { samples: 3, p50: 2, p90: 10, p99: 10, max: 10 },
      top: [
        { ip: '10.0.0.1', requests: 12, error: 0 },
        { ip: '10.0.0.2', requests: 1, error: 0 },
      ],
      example: '/api/products/0',
    })
    expect(products).not.toHaveProperty('documented')
    const login = find(r.endpoints, 'POST', '/api/login')!
    expect(login).toMatchObject({
      auth: true,
      statuses: { '200': 1, '401': 2 },
      rate: { samples: 1, p99: 3 },
      failedRate: { samples: 1, p99: 2, max: 2 },
    })
    expect(login).not.toHaveProperty('accountRate')
    // Over all routes, per IP-minute: A 10 and 2, B 1, C 3, D 1.
    expect(r.overall).toEqual({ samples: 5, p50: 2, p90: 10, p99: 10, max: 10 })
    expect(r.identities).toBe(4)
    expect(r.from).toBe(new Date(T0).toISOString())
  })

  it('measures per-account rates on login routes from Bulwark logs', async () => {
    const lines = []
    for (let i = 0; i < 6; i++)
      lines.push(
        bulwarkLine({
          ip: `10.1.0.${i}`,
          time: T0 + i,
          method: 'POST',
          path: '/api/login',
          account: 'alice',
          status: 401,
        }),
      )
    lines.push(
      bulwarkLine({ ip: '10.1.0.9', time: T0, method: 'POST', path: '/api/login', account: 'bob' }),
    )
    const r = await runAudit([await tmp.write('accounts.log', lines.join('\n'))])
    const login = find(r.endpoints, 'POST', '/api/login')!
    expect(login.accountRate).toEqual({ samples: 2, p50: 1, p90: 6, p99: 6, max: 6 })
    expect(login.rate).toMatchObject({ samples: 7, max: 1 })
  })

  it('caps the endpoint table: the rest is counted under (other)', async () => {
    const lines = ['a', 'b', 'c', 'd', 'e'].map((p) => nginxLine({ path: `/${p}` }))
    const r = await runAudit([await tmp.write('many.log', lines.join('\n'))], { maxEndpoints: 3 })
    expect(r.endpoints.map((e) => [e.template, e.requests])).toEqual([
      ['(other)', 2],
      ['/a', 1],
      ['/b', 1],
      ['/c', 1],
    ])
    expect(r.overflow).toBe(2)
  })

  it('keeps the table bounded whatever the methods', async () => {
    const lines = ['A', 'B', 'C', 'D', 'E'].map((m) => nginxLine({ method: `X${m}`, path: '/x' }))
    const r = await runAudit([await tmp.write('methods.log', lines.join('\n'))], {
      maxEndpoints: 2,
    })
    expect(r.endpoints.map((e) => [e.method, e.template, e.requests])).toEqual([
      ['(other)', '(other)', 3],
      ['XA', '/x', 1],
      ['XB', '/x', 1],
    ])
  })
})

describe('audit on a generated log', () => {
  let file: string
  beforeAll(async () => {
    file = tmp.path('generated.log')
    await generateLog(file, { lines: 20_000, identities: 500, seed: 3 })
  })

  it('finds every endpoint of the traffic, ids folded', async () => {
    const r = await runAudit([file])
    expect(r.records + r.malformed).toBe(20_000)
    expect(r.malformed).toBeGreaterThan(0)
    expect(r.endpoints.map((e) => `${e.method} ${e.template}`)).toEqual([
      'GET /.env',
      'GET /.git/config',
      'GET /admin/config.php',
      'POST /api/checkout',
      'POST /api/login',
      'GET /api/orders/:id',
      'GET /api/products',
      'GET /api/products/:id',
      'GET /api/users/:id',
      'GET /health',
      'GET /phpmyadmin',
      'GET /wp-login.php',
    ])
    const total = r.endpoints.reduce((n, e) => n + e.requests, 0)
    expect(total).toBe(r.records)
  })

  it('reports undocumented endpoints against an OpenAPI file, and documented ones never seen', async () => {
    const api = openApiFromText(
      [
        'openapi: 3.1.0',
        'paths:',
        '  /api/products: { get: {} }',
        '  /api/products/{productId}: { get: {} }',
        '  /api/login: { post: {} }',
        '  /api/checkout: { post: {} }',
        '  /api/cart: { get: {}, delete: {} }',
        '  /health: { get: {} }',
      ].join('\n'),
      'shop.yaml',
    )
    const r = await runAudit([file], { api })
    expect(r.openapi).toBe('shop.yaml')
    expect(find(r.endpoints, 'GET', '/api/products/:productId')).toMatchObject({ documented: true })
    expect(r.undocumented!.map((u) => `${u.method} ${u.template}`)).toEqual([
      'GET /.env',
      'GET /.git/config',
      'GET /admin/config.php',
      'GET /api/orders/:id',
      'GET /api/users/:id',
      'GET /phpmyadmin',
      'GET /wp-login.php',
    ])
    expect(r.unseen).toEqual([
      { method: 'GET', template: '/api/cart' },
      { method: 'DELETE', template: '/api/cart' },
    ])
  })

  it('suggests a config in monitor mode that the gateway accepts', async () => {
    const r = await runAudit([file])
    const s = suggestConfig(r, { margin: 3 })
    const config = parseGatewayConfig(s.text, 'suggested.yaml', {})
    expect(config.mode).toBe('monitor')
    // Scanner paths only ever got 404: no route and no rule for them.
    expect(config.routes.map((x) => x.path)).toEqual(['/api/*', '/health'])
    const rules = config.limits!.rules
    expect(rules.map((x) => x.id)).toEqual([
      'post-api-checkout-per-ip',
      'post-api-login-per-ip',
      'post-api-login-failures-per-ip',
      'get-api-orders-id-per-ip',
      'get-api-products-per-ip',
      'get-api-products-id-per-ip',
      'get-api-users-id-per-ip',
      'get-health-per-ip',
      'ip-ceiling',
    ])
    const products = find(r.endpoints, 'GET', '/api/products/:id')!
    expect(rules.find((x) => x.id === 'get-api-products-id-per-ip')).toMatchObject({
      paths: ['/api/products/:id'],
      methods: ['GET'],
      key: ['ip'],
      limit: Math.max(5, Math.ceil(products.rate.p99 * 3)),
      window: 60_000,
    })
    expect(rules.find((x) => x.id === 'post-api-login-failures-per-ip')).toMatchObject({
      count: 'outcomes',
      outcomes: [401, 403],
    })
    expect(s.text).toContain('# GET /api/products/:id: ')
    expect(s.text).not.toContain('*a1')
    expect(s.rules).toBe(9)
  })

  it('adds per-account rules and a guessed identity.account when the logs carry accounts', async () => {
    const json = tmp.path('generated-json.log')
    await generateLog(json, { lines: 5_000, format: 'bulwark', identities: 200, seed: 5 })
    const r = await runAudit([json])
    const s = suggestConfig(r, { minLimit: 1 })
    const config = parseGatewayConfig(s.text, 'suggested.yaml', {})
    expect(config.identity.account).toEqual([{ body: 'username', paths: ['/api/login'] }])
    const perAccount = config.limits!.rules.find((x) => x.id === 'post-api-login-per-account')!
    const login = find(r.endpoints, 'POST', '/api/login')!
    expect(perAccount).toMatchObject({
      key: ['account'],
      limit: Math.ceil(login.accountRate!.p99 * 2),
    })
    expect(s.notes).toContain(
      'identity.account is a guess (the body field "username"): set it to the field your login uses',
    )
  })
})
