/**
 * The demo: examples/shop/bulwark.yaml in front of the shop enforces examples/shop/openapi.yaml.
 * Each test is another client (its own X-Forwarded-For and User-Agent): the demo's other layers
 * remember clients — a flagged one gets the deception layer's chaos, a tampering one risk.
 */
import { Client } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { loadGatewayConfig } from '../../src/config/gateway-config.js'
import { flagKey, parseFlagValue } from '../../src/identity/flags.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { raw } from '../helpers/engine.js'

let shop: Shop
let gw: Gateway
let client: Client

beforeAll(async () => {
  shop = await startShop({ port: 0 })
  const cfg = await loadGatewayConfig('examples/shop/bulwark.yaml', { SHOP_URL: shop.url })
  gw = await startGateway(
    { ...cfg, server: { ...cfg.server, trustedProxies: ['127.0.0.1/32'] } },
    { port: 0, host: '127.0.0.1' },
  )
  client = new Client(gw.url)
})

afterAll(async () => {
  await client.close()
  await gw.close()
  await shop.close()
})

let clients = 0
let as = ''

/** Requests from here on come from a new client. */
function newClient(): string {
  as = `198.51.100.${++clients}`
  return as
}

async function call(
  method: string,
  path: string,
  json?: unknown,
  extra: Record<string, string> = {},
) {
  const before = shop.received.at(-1)
  const headers = { 'x-forwarded-for': as, 'user-agent': `demo-test/${as}`, ...extra }
  const res = await client.request({
    method: method as 'GET',
    path,
    headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
  const body = await res.body.text()
  const last = shop.received.at(-1)
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    upstream: last === before ? undefined : last,
  }
}

const errors = (body: string) => (JSON.parse(body) as { errors: unknown[] }).errors

describe('demo: the shop behind its contract', () => {
  beforeEach(() => void newClient())

  it('answers the shop front end’s preflight at the edge', async () => {
    const r = await call('OPTIONS', '/api/cart', undefined, {
      origin: 'https://eu.shop.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    })
    expect(r).toMatchObject({ status: 204, upstream: undefined })
    expect(r.headers['access-control-allow-origin']).toBe('https://eu.shop.example')
  })
  it('lets the documented shop through, bodies untouched', async () => {
    expect((await call('GET', '/api/products/7')).status).toBe(200)
    expect((await call('GET', '/api/products?page=2&limit=10')).status).toBe(200)
    const add = await call('POST', '/api/cart', { productId: 3, quantity: 2 })
    expect(add.status).toBe(200)
    expect(add.upstream?.body).toBe('{"productId":3,"quantity":2}')
    const login = await call('POST', '/api/login', { username: 'alice', password: 'alice-pw' })
    expect(login.status).toBe(200)
  })

  it('refuses a negative quantity and a price the client adds, before the shop sees them', async () => {
    const negative = await call('POST', '/api/cart', { productId: 3, quantity: -1 })
    expect(negative).toMatchObject({ status: 400, upstream: undefined })
    expect(negative.headers['content-type']).toBe('application/problem+json')
    expect(errors(negative.body)).toEqual([{ in: 'body', field: '/quantity', rule: 'minimum' }])

    const priced = await call('POST', '/api/cart', { productId: 3, quantity: 1, price: 1 })
    expect(priced).toMatchObject({ status: 400, upstream: undefined })
    expect(errors(priced.body)).toEqual([{ in: 'body', field: '/price', rule: 'readOnly' }])

    const checkout = await call('POST', '/api/checkout', { total: 0, price: 1 })
    expect(checkout).toMatchObject({ status: 400, upstream: undefined })
    expect(errors(checkout.body)).toEqual([
      { in: 'body', field: '/total', rule: 'additionalProperties' },
    ])

    const token = await call('POST', '/api/checkout', { paymentToken: "tok_1' OR 1=1" })
    expect(errors(token.body)).toEqual([{ in: 'body', field: '/paymentToken', rule: 'pattern' }])

    const product = await call('GET', '/api/products/-1')
    expect(errors(product.body)).toEqual([{ in: 'path', field: 'id', rule: 'minimum' }])
    const debug = await call('GET', '/api/products?debug=1')
    expect(errors(debug.body)).toEqual([{ in: 'query', field: 'debug', rule: 'undocumented' }])
  })

  it('answers an undocumented method with the shop’s own 405 body and Allow header', async () => {
    const method = await call('DELETE', '/api/products/1')
    expect(method).toMatchObject({
      status: 405,
      body: '{"error":"method not allowed"}',
      upstream: undefined,
    })
    expect(method.headers.allow).toBe('GET, HEAD')
  })

  it('answers /api/internal guesses exactly as the shop answers an unknown route, and flags the guesser', async () => {
    const own = await fetch(`${shop.url}/api/nothing-here`)
    const guess = await call('GET', '/api/internal/users')
    expect(guess).toMatchObject({ status: own.status, body: await own.text(), upstream: undefined })
    expect(guess.headers['content-type']).toBe(own.headers.get('content-type'))
    const [flag] = await gw.engine.store.flagged([flagKey('ip', as)], Date.now())
    expect(parseFlagValue(flag!)).toMatchObject({
      rule: 'contract.undocumented',
      reason: 'GET /api/internal/users: path not in the contract',
    })
    // Treated like a honeypot hit: from now on the deception layer answers this client.
    const { ctx } = gw.engine.prepare(
      raw('GET /api/products/1', {
        ip: '127.0.0.1',
        headers: { 'x-forwarded-for': as, 'user-agent': `demo-test/${as}` },
      }),
    )
    const d = await gw.engine.inspect(ctx)
    expect(d.verdicts[0]).toMatchObject({
      rule: 'deception.chaos',
      data: { flaggedBy: 'contract.undocumented' },
    })
  })
})
