/**
 * `deceive` answers shaped like the API's own documented successes (red team 8: the generic
 * `{"success":true}` gave every fake away at the first comparison with a real answer). Each fake
 * is checked against the documented response schema with ajv, formats included.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { createAjv } from '../../src/layers/contract/ajv.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

const Account = {
  type: 'object',
  required: ['id', 'iban', 'holderName', 'balance', 'currency', 'createdAt', 'tags', 'owner'],
  properties: {
    id: { type: 'integer', minimum: 100000 },
    iban: {
      type: 'string',
      minLength: 15,
      maxLength: 34,
      pattern: '^GB[0-9]{2}[A-Z]{4}[0-9]{14}$',
    },
    reference: { type: 'string', example: 'ORD-2024-000123' },
    holderName: { type: 'string' },
    balance: { type: 'number', minimum: 0 },
    currency: { type: 'string', enum: ['EUR', 'USD'] },
    createdAt: { type: 'string', format: 'date-time' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
    owner: { $ref: '#/components/schemas/Person' },
    password: { type: 'string', writeOnly: true },
  },
}
const Person = {
  allOf: [
    {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' } },
    },
    {
      type: 'object',
      required: ['manager'],
      properties: {
        manager: { oneOf: [{ type: 'null' }, { $ref: '#/components/schemas/Person' }] },
      },
    },
  ],
}
const Payment = {
  type: 'object',
  required: ['id', 'status', 'amount'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: { const: 'captured' },
    amount: { type: 'integer', exclusiveMinimum: 0, maximum: 500 },
  },
}
const DOC = {
  openapi: '3.1.0',
  info: { title: 'bank', version: '1' },
  paths: {
    '/v1/accounts/{accountId}': {
      get: {
        parameters: [
          { name: 'accountId', in: 'path', required: true, schema: { type: 'integer' } },
        ],
        responses: {
          '404': { description: 'no' },
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Account' } } },
          },
        },
      },
    },
    '/v1/payments': {
      post: {
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'made',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payment' } } },
          },
          '402': { description: 'declined' },
        },
      },
    },
    '/v1/sessions/{sid}': { delete: { responses: { '204': { description: 'gone' } } } },
    '/v1/reports': {
      get: { responses: { '200': { description: 'csv', content: { 'text/csv': {} } } } },
    },
    '/v1/undescribed/{id}': { get: { responses: { '200': { description: 'ok' } } } },
  },
  components: { schemas: { Account, Person, Payment } },
}

/** An engine with `doc` as its contract (written to a temporary file) and `extra` config. */
function withContract(doc: unknown, extra: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-fake-'))
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc))
  return createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      contract: { openapi: join(dir, 'openapi.json') },
      ...extra,
    }),
    { store: new MemoryStore() },
  )
}

/** A limit that deceives every request after the first from an IP. */
const deceiveAll = (paths: string[]) => ({
  limits: {
    rules: [{ id: 'fake-all', paths, key: ['ip'], limit: 1, window: '1m', action: 'deceive' }],
  },
})

function setup() {
  const engine = withContract(DOC, deceiveAll(['/v1/*']))
  let n = 0
  return async (line: string, init: RawInit = {}) => {
    // First a request from a fresh IP (allowed), then the one that is answered with a fake.
    const ip = `198.51.100.${++n}`
    await engine.inspect(engine.prepare(raw(line, { ...init, ip })).ctx)
    const { ctx } = engine.prepare(raw(line, { ...init, ip }))
    return engine.inspect(ctx)
  }
}

const { ajv } = createAjv()
ajv.addSchema({ $id: 'bank', components: DOC.components })
const accountSchema = ajv.compile({ $ref: 'bank#/components/schemas/Account' })
const paymentSchema = ajv.compile({ $ref: 'bank#/components/schemas/Payment' })

describe('deceive: fakes shaped like the documented success', () => {
  it('answers like the route: its 2xx status, its fields and formats, the asked id echoed', async () => {
    const send = setup()
    const bodies = new Set<string>()
    for (const id of [100002, 100003, 100004]) {
      const d = await send(`GET /v1/accounts/${id}`)
      expect(d.action).toBe('deceive')
      const v = d.decisive!
      expect(v.status).toBe(200)
      expect(v.headers).toEqual({ 'content-type': 'application/json' })
      const body = JSON.parse(v.body!) as Record<string, unknown>
      expect(accountSchema(body), JSON.stringify(accountSchema.errors)).toBe(true)
      expect(body.id).toBe(id)
      expect(body).not.toHaveProperty('password')
      expect(String(body.holderName)).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/)
      // A pattern is followed; an example's digits are drawn afresh, its letters kept.
      expect(String(body.iban)).toMatch(/^GB[0-9]{2}[A-Z]{4}[0-9]{14}$/)
      expect(String(body.reference)).toMatch(/^ORD-[0-9]{4}-[0-9]{6}$/)
      bodies.add(v.body!)
    }
    // Each account is a different one…
    expect(bodies.size).toBe(3)
    // …and the same account asked for again is the same one (a bot comparing two answers for
    // one id sees no change), here from another client too.
    const again = await send('GET /v1/accounts/100003')
    expect(bodies.has(again.decisive!.body!)).toBe(true)

    const p = await send('POST /v1/payments', { json: { amount: 12 } })
    expect(p.action).toBe('deceive')
    expect(p.decisive?.status).toBe(201)
    const payment = JSON.parse(p.decisive!.body!) as Record<string, unknown>
    expect(paymentSchema(payment), JSON.stringify(paymentSchema.errors)).toBe(true)
    expect(payment.status).toBe('captured')
    // A payment made is a new one every time.
    const p2 = await send('POST /v1/payments', { json: { amount: 12 } })
    expect(JSON.parse(p2.decisive!.body!).id).not.toBe(payment.id)
  })

  it('answers 204 with no body where that is the success, and the generic fake where no JSON is documented', async () => {
    const send = setup()
    const gone = await send('DELETE /v1/sessions/abc')
    expect(gone.decisive).toMatchObject({ status: 204, body: '' })
    const csv = await send('GET /v1/reports')
    expect(csv.decisive?.status).toBe(200)
    expect(JSON.parse(csv.decisive!.body!)).toMatchObject({ success: true })
    // A success documented with no content at all: the generic fake, never an empty JSON body.
    const bare = await send('GET /v1/undescribed/7')
    expect(bare.decisive?.status).toBe(200)
    expect(JSON.parse(bare.decisive!.body!)).toMatchObject({ success: true })
  })

  it('carries no RateLimit headers: a fake must not say the client was counted out', async () => {
    const send = setup()
    const d = await send('GET /v1/accounts/100009')
    expect(Object.keys(d.decisive!.headers ?? {})).toEqual(['content-type'])
  })

  it('stops at a bounded size for a schema that fans out into itself', async () => {
    const props = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`c${i}`, { $ref: '#/components/schemas/Tree' }]),
    )
    const doc = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: {
        '/tree': {
          get: {
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Tree' } } },
              },
            },
          },
        },
      },
      // Twelve required children, each a Tree: 12^6 generators if nothing stopped it.
      components: {
        schemas: { Tree: { type: 'object', required: Object.keys(props), properties: props } },
      },
    }
    const engine = withContract(doc, deceiveAll(['/*']))
    await engine.inspect(engine.prepare(raw('GET /tree')).ctx)
    const d = await engine.inspect(engine.prepare(raw('GET /tree')).ctx)
    expect(d.action).toBe('deceive')
    const body = d.decisive!.body!
    expect(JSON.parse(body)).toHaveProperty('c11')
    expect(body.length).toBeLessThan(200_000)
  })

  it('a trap on a documented route answers like the route too (deception runs before the contract)', async () => {
    const engine = withContract(DOC, {
      deception: {
        fields: [{ name: 'website', paths: ['/v1/payments'] }],
        headers: [{ name: 'x-debug', body: '{"debug":true}' }],
      },
    })
    const send = async (line: string, init: RawInit) =>
      engine.inspect(engine.prepare(raw(line, { ...init, ip: '203.0.113.77' })).ctx)
    const d = await send('POST /v1/payments', { json: { amount: 5, website: 'http://spam' } })
    expect(d.decisive).toMatchObject({
      action: 'deceive',
      rule: 'deception.field.website',
      status: 201,
    })
    expect(d.decisive!.delayMs).toBeGreaterThan(0)
    expect(paymentSchema(JSON.parse(d.decisive!.body!))).toBe(true)
    // A trap with its own body keeps it.
    const own = await send('GET /v1/accounts/100001', { headers: { 'x-debug': '1' } })
    expect(own.decisive).toMatchObject({ rule: 'deception.header.x-debug', body: '{"debug":true}' })
  })
})

describe('deceive: credentials in a fake look like credentials', () => {
  it('a token is token-shaped, its type Bearer, its lifetime a lifetime (not "north", 46)', async () => {
    const Token = {
      type: 'object',
      required: ['access_token', 'token_type', 'expires_in', 'refresh_token'],
      properties: {
        access_token: { type: 'string' },
        token_type: { type: 'string' },
        expires_in: { type: 'integer' },
        refresh_token: { type: 'string' },
      },
    }
    const doc = {
      openapi: '3.1.0',
      info: { title: 'idp', version: '1' },
      paths: {
        '/oauth/token': {
          post: {
            requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
            responses: {
              '200': { description: 'a token', content: { 'application/json': { schema: Token } } },
            },
          },
        },
      },
    }
    const engine = withContract(doc, deceiveAll(['/oauth/*']))
    const seen = new Set<string>()
    for (let i = 1; i <= 5; i++) {
      const init: RawInit = { ip: `203.0.113.${i}`, json: {} }
      await engine.inspect(engine.prepare(raw('POST /oauth/token', init)).ctx)
      const d = await engine.inspect(engine.prepare(raw('POST /oauth/token', init)).ctx)
      expect(d.action).toBe('deceive')
      const t = JSON.parse(d.decisive!.body!) as Record<string, unknown>
      expect(t.access_token).toMatch(
        /^eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9\.[\w-]{120}\.[\w-]{43}$/,
      )
      expect(t.refresh_token).toMatch(/^[\w-]{43}$/)
      expect(t.token_type).toBe('Bearer')
      expect([900, 1800, 3600, 7200, 86_400]).toContain(t.expires_in)
      seen.add(t.access_token as string)
    }
    expect(seen.size).toBe(5)
    await engine.close()
  })
})

describe('deceive: a fake says back what the request sent', () => {
  it("echoes the body's fields where the answer has them (a transfer's from, to, amount)", async () => {
    const Transfer = {
      type: 'object',
      required: ['from', 'to', 'amount'],
      properties: {
        from: { type: 'integer' },
        to: { type: 'integer' },
        amount: { type: 'integer', minimum: 1, maximum: 100000 },
        note: { type: 'string', maxLength: 40 },
      },
    }
    const Done = {
      type: 'object',
      required: ['id', 'from', 'to', 'amount', 'status'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        from: { type: 'integer' },
        to: { type: 'integer' },
        amount: { type: 'integer' },
        note: { type: 'string' },
        status: { type: 'string', enum: ['booked'] },
      },
    }
    const doc = {
      openapi: '3.1.0',
      info: { title: 'bank', version: '1' },
      paths: {
        '/v1/transfers': {
          post: {
            requestBody: { content: { 'application/json': { schema: Transfer } } },
            responses: {
              '201': { description: 'booked', content: { 'application/json': { schema: Done } } },
            },
          },
        },
      },
    }
    const engine = withContract(doc, deceiveAll(['/v1/*']))
    const json = { from: 1000, to: 1001, amount: 5, note: 'rent' }
    const init: RawInit = { ip: '203.0.113.40', json }
    await engine.inspect(engine.prepare(raw('POST /v1/transfers', init)).ctx)
    const d = await engine.inspect(engine.prepare(raw('POST /v1/transfers', init)).ctx)
    expect(d.action).toBe('deceive')
    expect(d.decisive!.status).toBe(201)
    const answer = JSON.parse(d.decisive!.body!) as Record<string, unknown>
    expect(answer).toMatchObject({
      from: 1000,
      to: 1001,
      amount: 5,
      note: 'rent',
      status: 'booked',
    })
    expect(answer.id).toMatch(/^[0-9a-f-]{36}$/)
    await engine.close()
  })
})
