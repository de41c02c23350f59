/**
 * `cost:` — a request counted as the number of operations it carries (red team 9: a batch
 * endpoint read 500 documents in 25 requests past per-request limits).
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, sender, type RawInit } from '../helpers/engine.js'

const T0 = 1_800_000_000_000

function setup(rule: Record<string, unknown>) {
  let now = T0
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      limits: {
        rules: [{ id: 'items', key: ['ip'], limit: 10, window: '60s', ...rule }],
      },
    }),
    { clock: { now: () => now }, store: new MemoryStore() },
  )
  return {
    advance: (ms: number) => (now += ms),
    send: sender(engine),
  }
}

const ops = (n: number) => ({
  operations: Array.from({ length: n }, (_, i) => ({ path: `/documents/${i}` })),
})

describe('limits cost', () => {
  it('field:NAME — a list counts as its length, whole or not at all', async () => {
    const t = setup({ cost: 'field:operations' })
    expect((await t.send('POST /batch', { json: ops(6) })).action).toBe('allow')
    const d = await t.send('POST /batch', { json: ops(5) })
    expect(d.action).toBe('throttle')
    expect(d.decisive?.reason).toBe(
      'ip "127.0.0.1": 11 counted by field:operations > 10 per 60s (this one counts as 5)',
    )
    expect(d.decisive?.data).toMatchObject({ cost: 5 })
    // The refused 5 took nothing: 4 still fit, then a single request does not.
    expect((await t.send('POST /batch', { json: ops(4) })).action).toBe('allow')
    expect((await t.send('POST /batch', { json: { operations: [] } })).action).toBe('throttle')
  })

  it('a batch larger than the limit is always refused; a small request after it still fits', async () => {
    const t = setup({ cost: 'field:operations' })
    expect((await t.send('POST /batch', { json: ops(11) })).action).toBe('throttle')
    expect((await t.send('POST /batch', { json: ops(1) })).action).toBe('allow')
  })

  it('numbers, objects, and requests without the field', async () => {
    const t = setup({ cost: 'field:count' })
    for (const count of [2.5, -3, '1e3', ' 4', true])
      expect((await t.send('POST /export', { json: { count } })).decisive?.status).toBe(400)
    expect((await t.send('POST /export', { json: { count: 7 } })).action).toBe('allow')
    expect((await t.send('POST /export', { json: { count: '2' } })).action).toBe('allow')
    expect((await t.send('POST /export', { json: { other: 1 } })).action).toBe('allow') // 1
    expect((await t.send('POST /export', { json: { count: { a: 1 } } })).action).toBe('throttle')
  })

  it('a form field counts its copies', async () => {
    const t = setup({ cost: 'field:id' })
    const form = (body: string): RawInit => ({
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect((await t.send('POST /bulk', form('id=1&id=2&id=3&id=4&id=5&id=6'))).action).toBe('allow')
    expect((await t.send('POST /bulk', form('id=1&id=2&id=3&id=4&id=5'))).action).toBe('throttle')
    expect((await t.send('POST /bulk', form('id=9'))).action).toBe('allow')
  })

  it('body: a JSON list (a GraphQL batch) counts its entries', async () => {
    const t = setup({ cost: 'body' })
    const q = Array.from({ length: 8 }, () => ({ query: '{ me { id } }' }))
    expect((await t.send('POST /graphql', { json: q })).action).toBe('allow')
    expect((await t.send('POST /graphql', { json: q.slice(0, 3) })).action).toBe('throttle')
    expect((await t.send('POST /graphql', { json: { query: '{ a }' } })).action).toBe('allow')
  })

  it('query:NAME — a page size; not a whole number is refused', async () => {
    const t = setup({ cost: 'query:limit', limit: 100 })
    expect((await t.send('GET /items?limit=60')).action).toBe('allow')
    expect((await t.send('GET /items?limit=50')).action).toBe('throttle')
    expect((await t.send('GET /items')).action).toBe('allow')
    expect((await t.send('GET /items?limit=0x10')).decisive?.status).toBe(400)
    expect((await t.send('GET /items?limit=5&limit=5')).decisive?.status).toBe(400)
  })

  it('GCRA takes the cost whole too', async () => {
    const t = setup({ cost: 'header:x-items', algorithm: 'gcra', burst: 10 })
    const h = (n: number): RawInit => ({ headers: { 'x-items': String(n) } })
    expect((await t.send('GET /a', h(9))).action).toBe('allow')
    expect((await t.send('GET /a', h(2))).action).toBe('throttle')
    expect((await t.send('GET /a', h(1))).action).toBe('allow')
    t.advance(12_000) // two intervals of 6 s back
    expect((await t.send('GET /a', h(2))).action).toBe('allow')
  })

  it('{ field, paths, methods } counts only the operations that match, each one', async () => {
    // An exports budget of 3 that a batch endpoint must not get around, and that a batch of
    // reads must not use up (red team 9: 60 exports in 3 batches of mixed operations).
    const t = setup({
      limit: 3,
      cost: { field: 'operations', paths: ['/exports', '/exports/*'], methods: ['POST'] },
    })
    const batch = (...items: unknown[]) => ({ json: { operations: items } })
    const read = (i: number) => ({ method: 'GET', path: `/documents/${i}` })
    const exp = { method: 'post', path: '/exports' }
    // Reads cost nothing: the rule does not count the request at all.
    for (let i = 0; i < 5; i++)
      expect((await t.send('POST /batch', batch(read(1), read(2), read(3), read(4)))).action).toBe(
        'allow',
      )
    // Exports count wherever they hide: an absolute URL, a relative path, a query, another
    // case, dot segments, a GET of an export's status does not.
    const tricks = [
      exp,
      { method: 'POST', path: 'https://api.example.com/Exports?format=csv' },
      { method: ' post ', path: 'exports/../exports/123' },
      { method: 'GET', path: '/exports/123' },
    ]
    const d = await t.send('POST /batch', batch(read(5), ...tricks, read(6)))
    expect(d.action).toBe('allow')
    // 3 counted: one more export is over, in a batch or not.
    const over = await t.send('POST /batch', batch(read(7), exp))
    expect(over.action).toBe('throttle')
    expect(over.decisive?.reason).toBe(
      'ip "127.0.0.1": 4 counted by field:operations (POST /exports /exports/*) > 3 per 60s',
    )
    // An item that does not say what it does counts (fail safe).
    t.advance(120_000)
    const unclear = [{ method: 'POST' }, 'POST /exports', { method: 'POST', path: '/exports%2Fx' }]
    expect((await t.send('POST /batch', batch(...unclear))).action).toBe('allow')
    expect((await t.send('POST /batch', batch(exp))).action).toBe('throttle')
  })

  it('{ field } names its fields: a Graph-style batch of requests with a url', async () => {
    const t = setup({
      limit: 2,
      cost: { field: 'requests', paths: ['/me/sendMail'], pathField: 'url' },
    })
    const mail = { id: '1', method: 'POST', url: '/me/sendMail' }
    const json = { requests: [mail, { id: '2', method: 'GET', url: '/me/messages' }, mail] }
    expect((await t.send('POST /$batch', { json })).action).toBe('allow')
    expect((await t.send('POST /$batch', { json: { requests: [mail] } })).action).toBe('throttle')
    expect(() => setup({ cost: { field: 'requests' } })).toThrow(/expected paths, methods or both/)
  })

  it('is only for count: requests, and names what it reads', () => {
    expect(() => setup({ count: 'outcomes', outcomes: [401], cost: 'field:x' })).toThrow(
      /"cost"[^]*only applies with count: requests/,
    )
    expect(() => setup({ cost: 'param:x' })).toThrow(
      /expected body, field:NAME, query:NAME or header:NAME; got \\"param:x\\"/,
    )
  })
})
