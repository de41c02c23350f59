/**
 * The contract layer, keyword by keyword, through the real gateway in front of the demo shop:
 * each request is either refused with a 400 (or 415) problem naming the field and the rule, and
 * the shop never sees it, or forwarded with exactly the bytes that were sent.
 * Contract: test/fixtures/openapi/keywords.yaml.
 */
import { Client } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { config } from '../helpers/engine.js'

interface Case {
  readonly name: string
  /** `GET /search?q=mug` */
  readonly req: string
  readonly headers?: Record<string, string>
  readonly json?: unknown
  /** A raw body (sent as is); `json` sets content-type, `body` does not. */
  readonly body?: string
  /** The violation expected, or undefined when the request must reach the shop. */
  readonly error?: { in: string; field: string; rule: string }
  /** Status of a refusal; default 400. */
  readonly status?: number
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }
const line = { sku: 'ABC-1234', quantity: 2 }
const order = (extra: Record<string, unknown> = {}) => ({
  items: [line],
  currency: 'EUR',
  ...extra,
})
const withLine = (l: Record<string, unknown>) => ({ items: [{ ...line, ...l }], currency: 'EUR' })
const err = (where: string, field: string, rule: string) => ({ in: where, field, rule })
const MULTIPART = { 'content-type': 'multipart/form-data; boundary=b0undary' }
const multipart = (fields: Record<string, string>, file = true) =>
  [
    ...Object.entries(fields).map(
      ([k, v]) => `--b0undary\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
    ),
    file
      ? '--b0undary\r\ncontent-disposition: form-data; name="file"; filename="cat.png"\r\ncontent-type: image/png\r\n\r\nPNG...\r\n'
      : '',
    '--b0undary--\r\n',
  ].join('')

const CASES: readonly Case[] = [
  // path parameters
  { name: 'path integer', req: 'GET /items/7' },
  { name: 'path minimum', req: 'GET /items/0', error: err('path', 'id', 'minimum') },
  { name: 'path type', req: 'GET /items/abc', error: err('path', 'id', 'type') },
  { name: 'path integer, not a fraction', req: 'GET /items/1.5', error: err('path', 'id', 'type') },
  // Forms a backend reads differently (`parseInt('1e3')` is 1, Go refuses `7.0`) or inexactly.
  { name: 'path integer, not 1e3', req: 'GET /items/1e3', error: err('path', 'id', 'type') },
  { name: 'path integer, not 7.0', req: 'GET /items/7.0', error: err('path', 'id', 'type') },
  { name: 'path integer, not +7', req: 'GET /items/+7', error: err('path', 'id', 'type') },
  {
    name: 'path integer, not beyond 2^53',
    req: 'GET /items/9007199254740993',
    error: err('path', 'id', 'type'),
  },
  { name: 'mixed segment', req: 'GET /files/logo.png' },
  { name: 'mixed segment enum', req: 'GET /files/logo.gif', error: err('path', 'ext', 'enum') },
  { name: 'path pattern', req: 'GET /files/Logo_1.png', error: err('path', 'name', 'pattern') },
  { name: 'label style array', req: 'GET /labels/.1,2' },
  { name: 'label maxItems', req: 'GET /labels/.1,2,3,4', error: err('path', 'ids', 'maxItems') },
  { name: 'label style missing', req: 'GET /labels/1,2', error: err('path', 'ids', 'style') },
  { name: 'label item type', req: 'GET /labels/.1,x', error: err('path', 'ids/1', 'type') },
  // query parameters
  { name: 'query required present', req: 'GET /search?q=mug' },
  { name: 'query required', req: 'GET /search', error: err('query', 'q', 'required') },
  { name: 'query minLength', req: 'GET /search?q=m', error: err('query', 'q', 'minLength') },
  {
    name: 'query maxLength',
    req: `GET /search?q=${'m'.repeat(21)}`,
    error: err('query', 'q', 'maxLength'),
  },
  { name: 'query integer at maximum', req: 'GET /search?q=mug&limit=100' },
  {
    name: 'query integer, not 1e2',
    req: 'GET /search?q=mug&limit=1e2',
    error: err('query', 'limit', 'type'),
  },
  {
    name: 'query minimum',
    req: 'GET /search?q=mug&limit=0',
    error: err('query', 'limit', 'minimum'),
  },
  {
    name: 'query maximum',
    req: 'GET /search?q=mug&limit=101',
    error: err('query', 'limit', 'maximum'),
  },
  { name: 'query type', req: 'GET /search?q=mug&limit=ten', error: err('query', 'limit', 'type') },
  {
    name: 'query given twice',
    req: 'GET /search?q=mug&limit=5&limit=6',
    error: err('query', 'limit', 'duplicate'),
  },
  {
    name: 'query malformed escape',
    req: 'GET /search?q=%zz',
    error: err('query', 'q', 'encoding'),
  },
  { name: 'query enum', req: 'GET /search?q=mug&sort=asc' },
  {
    name: 'query enum refused',
    req: 'GET /search?q=mug&sort=random',
    error: err('query', 'sort', 'enum'),
  },
  { name: 'query boolean', req: 'GET /search?q=mug&active=true' },
  {
    name: 'query boolean refused',
    req: 'GET /search?q=mug&active=yes',
    error: err('query', 'active', 'type'),
  },
  { name: 'form explode array', req: 'GET /search?q=mug&ids=1&ids=2&ids=3' },
  {
    name: 'array maxItems',
    req: 'GET /search?q=mug&ids=1&ids=2&ids=3&ids=4',
    error: err('query', 'ids', 'maxItems'),
  },
  {
    name: 'array item type',
    req: 'GET /search?q=mug&ids=1&ids=x',
    error: err('query', 'ids/1', 'type'),
  },
  { name: 'form comma array', req: 'GET /search?q=mug&tags=a,b' },
  {
    name: 'uniqueItems',
    req: 'GET /search?q=mug&tags=a,a',
    error: err('query', 'tags', 'uniqueItems'),
  },
  {
    name: 'item maxLength',
    req: 'GET /search?q=mug&tags=toolong',
    error: err('query', 'tags/0', 'maxLength'),
  },
  { name: 'pipeDelimited', req: 'GET /search?q=mug&colors=red|blue' },
  {
    name: 'pipeDelimited item enum',
    req: 'GET /search?q=mug&colors=red|pink',
    error: err('query', 'colors/1', 'enum'),
  },
  { name: 'deepObject', req: 'GET /search?q=mug&price[min]=1&price[max]=5' },
  {
    name: 'deepObject minimum',
    req: 'GET /search?q=mug&price[min]=-1',
    error: err('query', 'price/min', 'minimum'),
  },
  {
    name: 'deepObject additionalProperties',
    req: 'GET /search?q=mug&price[avg]=3',
    error: err('query', 'price/avg', 'additionalProperties'),
  },
  // headers and cookies
  {
    name: 'header pattern',
    req: 'GET /search?q=mug',
    headers: { 'x-trace-id': '0123456789abcdef' },
  },
  {
    name: 'header pattern refused',
    req: 'GET /search?q=mug',
    headers: { 'x-trace-id': 'xyz' },
    error: err('header', 'x-trace-id', 'pattern'),
  },
  { name: 'cookie', req: 'GET /search?q=mug', headers: { cookie: 'session=abcdefgh' } },
  {
    name: 'cookie minLength',
    req: 'GET /search?q=mug',
    headers: { cookie: 'session=abc' },
    error: err('cookie', 'session', 'minLength'),
  },
  {
    name: 'cookie given twice',
    req: 'GET /search?q=mug',
    headers: { cookie: 'session=abcdefgh; session=ijklmnop' },
    error: err('cookie', 'session', 'duplicate'),
  },
  // JSON bodies
  {
    name: 'valid order',
    req: 'POST /orders',
    json: order({ note: null, tip: 1.5, tags: ['a', 'b'], version: 1 }),
  },
  {
    name: 'body bytes kept as sent',
    req: 'POST /orders',
    headers: JSON_TYPE,
    body: '{ "currency" : "USD",\n  "items":[{"quantity":1,"sku":"XYZ-0001"}] }',
  },
  { name: 'body required', req: 'POST /orders', error: err('body', '', 'required') },
  {
    name: 'minItems',
    req: 'POST /orders',
    json: { items: [], currency: 'EUR' },
    error: err('body', '/items', 'minItems'),
  },
  {
    name: 'maxItems',
    req: 'POST /orders',
    json: { items: Array(6).fill(line), currency: 'EUR' },
    error: err('body', '/items', 'maxItems'),
  },
  {
    name: 'negative quantity',
    req: 'POST /orders',
    json: withLine({ quantity: -1 }),
    error: err('body', '/items/0/quantity', 'minimum'),
  },
  {
    name: 'quantity maximum',
    req: 'POST /orders',
    json: withLine({ quantity: 100 }),
    error: err('body', '/items/0/quantity', 'maximum'),
  },
  {
    name: 'quantity as a string',
    req: 'POST /orders',
    json: withLine({ quantity: '2' }),
    error: err('body', '/items/0/quantity', 'type'),
  },
  {
    name: 'sku pattern',
    req: 'POST /orders',
    json: withLine({ sku: 'abc' }),
    error: err('body', '/items/0/sku', 'pattern'),
  },
  {
    name: 'nested required',
    req: 'POST /orders',
    json: { items: [{ sku: 'ABC-1234' }], currency: 'EUR' },
    error: err('body', '/items/0/quantity', 'required'),
  },
  {
    name: 'readOnly price',
    req: 'POST /orders',
    json: withLine({ price: 1 }),
    error: err('body', '/items/0/price', 'readOnly'),
  },
  {
    name: 'added price',
    req: 'POST /orders',
    json: order({ price: 1 }),
    error: err('body', '/price', 'additionalProperties'),
  },
  {
    name: 'top-level required',
    req: 'POST /orders',
    json: { items: [line] },
    error: err('body', '/currency', 'required'),
  },
  {
    name: 'body enum',
    req: 'POST /orders',
    json: order({ currency: 'GBP' }),
    error: err('body', '/currency', 'enum'),
  },
  {
    name: 'format email',
    req: 'POST /orders',
    json: order({ email: 'not-an-email' }),
    error: err('body', '/email', 'format'),
  },
  {
    name: 'format uuid',
    req: 'POST /orders',
    json: order({ txn: 'txn-12' }),
    error: err('body', '/txn', 'format'),
  },
  {
    name: 'format uuid accepted',
    req: 'POST /orders',
    json: order({
      txn: '0b6d5f4e-8f5a-4f0e-9a3c-2d1e7f8a9b0c',
      email: 'a@b.example',
      deliverOn: '2030-01-31',
    }),
  },
  {
    name: 'format date',
    req: 'POST /orders',
    json: order({ deliverOn: '2024-13-45' }),
    error: err('body', '/deliverOn', 'format'),
  },
  {
    name: 'minLength',
    req: 'POST /orders',
    json: order({ coupon: 'ab' }),
    error: err('body', '/coupon', 'minLength'),
  },
  {
    name: 'maxLength',
    req: 'POST /orders',
    json: order({ coupon: 'c'.repeat(13) }),
    error: err('body', '/coupon', 'maxLength'),
  },
  {
    name: 'type list',
    req: 'POST /orders',
    json: order({ note: 123 }),
    error: err('body', '/note', 'type'),
  },
  {
    name: 'multipleOf',
    req: 'POST /orders',
    json: order({ tip: 0.3 }),
    error: err('body', '/tip', 'multipleOf'),
  },
  {
    name: 'const',
    req: 'POST /orders',
    json: order({ version: 2 }),
    error: err('body', '/version', 'const'),
  },
  {
    name: 'exclusiveMinimum',
    req: 'POST /orders',
    json: order({ total: 0 }),
    error: err('body', '/total', 'exclusiveMinimum'),
  },
  {
    name: 'boolean',
    req: 'POST /orders',
    json: order({ giftWrap: 'yes' }),
    error: err('body', '/giftWrap', 'type'),
  },
  {
    name: 'body uniqueItems',
    req: 'POST /orders',
    json: order({ tags: ['a', 'a'] }),
    error: err('body', '/tags', 'uniqueItems'),
  },
  { name: 'top-level type', req: 'POST /orders', json: [order()], error: err('body', '', 'type') },
  {
    name: 'duplicate JSON key',
    req: 'POST /orders',
    headers: JSON_TYPE,
    body: '{"currency":"EUR","currency":"USD","items":[{"sku":"ABC-1234","quantity":1}]}',
    error: err('body', '', 'parse'),
  },
  {
    name: 'malformed JSON',
    req: 'POST /orders',
    headers: JSON_TYPE,
    body: '{"currency":',
    error: err('body', '', 'parse'),
  },
  {
    name: 'undocumented media type',
    req: 'POST /orders',
    headers: { 'content-type': 'text/plain' },
    body: 'x',
    error: err('body', '', 'mediaType'),
    status: 415,
  },
  {
    name: 'body where none is documented',
    req: 'GET /items/7',
    headers: JSON_TYPE,
    body: '{}',
    error: err('body', '', 'unexpected'),
  },
  // form bodies
  {
    name: 'form body',
    req: 'POST /login',
    headers: FORM,
    body: 'username=alice&password=pw&remember=true',
  },
  {
    name: 'form boolean',
    req: 'POST /login',
    headers: FORM,
    body: 'username=alice&password=pw&remember=maybe',
    error: err('body', '/remember', 'type'),
  },
  {
    name: 'form field twice',
    req: 'POST /login',
    headers: FORM,
    body: 'username=alice&username=bob&password=pw',
    error: err('body', '/username', 'duplicate'),
  },
  {
    name: 'form required',
    req: 'POST /login',
    headers: FORM,
    body: 'username=alice',
    error: err('body', '/password', 'required'),
  },
  {
    name: 'multipart body with a file',
    req: 'POST /upload',
    headers: MULTIPART,
    body: multipart({ title: 'cat', count: '2' }),
  },
  {
    name: 'multipart integer',
    req: 'POST /upload',
    headers: MULTIPART,
    body: multipart({ title: 'cat', count: 'two' }),
    error: err('body', '/count', 'type'),
  },
  {
    name: 'multipart required file',
    req: 'POST /upload',
    headers: MULTIPART,
    body: multipart({ title: 'cat' }, false),
    error: err('body', '/file', 'required'),
  },
  {
    name: 'multipart maxLength',
    req: 'POST /upload',
    headers: MULTIPART,
    body: multipart({ title: 'a long title' }),
    error: err('body', '/title', 'maxLength'),
  },
  {
    name: 'form additionalProperties',
    req: 'POST /login',
    headers: FORM,
    body: 'username=alice&password=pw&role=admin',
    error: err('body', '/role', 'additionalProperties'),
  },
]

let shop: Shop
let gw: Gateway
let client: Client

beforeAll(async () => {
  shop = await startShop({ port: 0 })
  gw = await startGateway(
    config({
      server: { host: '127.0.0.1' },
      upstreams: { shop: { url: shop.url } },
      routes: [{ path: '/*', upstream: 'shop' }],
      contract: { openapi: 'test/fixtures/openapi/keywords.yaml' },
    }),
    { port: 0 },
  )
  client = new Client(gw.url)
})

afterAll(async () => {
  await client.close()
  await gw.close()
  await shop.close()
})

describe('contract: every keyword, through the gateway', () => {
  it('has at least 40 cases, each valid request next to invalid ones', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40)
    expect(CASES.filter((c) => c.error === undefined).length).toBeGreaterThanOrEqual(15)
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length)
  })

  it.each(CASES)('$name: $req', async (c) => {
    const [method, path] = c.req.split(' ') as [string, string]
    const body = c.json !== undefined ? JSON.stringify(c.json) : c.body
    const headers = { ...(c.json !== undefined ? JSON_TYPE : {}), ...c.headers }
    const before = shop.received.at(-1)
    const res = await client.request({ method: method as 'GET', path, headers, body })
    const text = await res.body.text()
    const upstream = shop.received.at(-1)

    if (c.error) {
      expect(res.statusCode).toBe(c.status ?? 400)
      expect(res.headers['content-type']).toBe('application/problem+json')
      const problem = JSON.parse(text) as Record<string, unknown>
      expect(problem).toMatchObject({ type: 'about:blank', status: c.status ?? 400 })
      expect(problem.errors).toEqual([c.error])
      // The rule's name, never its limits, patterns or values: the answer teaches no schema.
      expect(Object.keys(problem).sort()).toEqual(['detail', 'errors', 'status', 'title', 'type'])
      expect(problem.detail).not.toMatch(/\d{2,}|\^|\[A-Z/)
      expect(upstream).toBe(before)
    } else {
      // The shop answered (404 for paths it does not serve, which is fine: it saw the request).
      expect(upstream).not.toBe(before)
      expect(res.headers['content-type']).not.toBe('application/problem+json')
      expect(upstream!.method).toBe(method)
      expect(upstream!.url).toBe(path)
      expect(upstream!.body).toBe(body ?? '')
    }
  })
})
