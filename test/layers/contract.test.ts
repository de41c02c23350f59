import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bodyState } from '../../src/engine/context.js'
import { toEffect } from '../../src/engine/effect.js'
import { createEngine } from '../../src/engine/engine.js'
import type { Verdict } from '../../src/engine/types.js'
import { flagKey, identityFlagKeys, parseFlagValue } from '../../src/identity/flags.js'
import { bodyFields } from '../../src/request/body.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

const T0 = 1_800_000_000_000
const FIX = 'test/fixtures/openapi'

function setup(contract: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const store = new MemoryStore()
  const reads = { count: 0 }
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      contract,
      ...extra,
    }),
    { clock: { now: () => T0 }, store },
  )
  return {
    engine,
    store,
    reads,
    async send(line: string, init: RawInit = {}) {
      const r = raw(line, init)
      const counted = {
        ...r,
        readBody: (cap: number) => {
          reads.count++
          return r.readBody(cap)
        },
      }
      const { ctx, refusal } = engine.prepare(counted)
      expect(refusal).toBeUndefined()
      const decision = await engine.inspect(ctx)
      return {
        ctx,
        decision,
        verdict: decision.verdicts.find((v) => v.rule.startsWith('contract.')),
      }
    },
  }
}

const problem = (v: Verdict | undefined) =>
  JSON.parse(v?.body ?? '{}') as {
    status: number
    errors: { in: string; field: string; rule: string }[]
  }

describe('contract: undocumented requests', () => {
  const base = { openapi: `${FIX}/keywords.yaml` }

  it('block: an unknown path is a 404 and an unknown method a 405, shaped like the backend’s own', async () => {
    const t = setup({
      ...base,
      notFound: { body: '{"error":"not found"}' },
      methodNotAllowed: { body: '{"error":"method not allowed"}' },
    })
    const guess = await t.send('GET /api/internal/users', { ip: '203.0.113.9' })
    expect(guess.decision.action).toBe('block')
    expect(guess.verdict).toMatchObject({
      rule: 'contract.undocumented',
      reason: 'GET /api/internal/users: path not in the contract',
      status: 404,
      body: '{"error":"not found"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      data: { signal: 'undocumented', weight: 5, method: 'GET', path: '/api/internal/users' },
    })
    const effect = toEffect(guess.decision, guess.ctx.id)
    expect(effect).toMatchObject({ kind: 'respond', status: 404, body: '{"error":"not found"}' })

    const method = await t.send('DELETE /items/7')
    expect(method.verdict).toMatchObject({
      status: 405,
      reason: 'DELETE /items/7: method not in the contract (documented: GET, HEAD)',
      headers: { allow: 'GET, HEAD' },
      body: '{"error":"method not allowed"}',
    })
  })

  it('block without a configured body answers with the gateway’s plain error body', async () => {
    const t = setup(base)
    const d = await t.send('GET /nope')
    const effect = toEffect(d.decision, d.ctx.id)
    expect(effect).toMatchObject({ kind: 'respond', status: 404 })
    expect(JSON.parse((effect as { body: string }).body)).toEqual({
      error: 'Not Found',
      status: 404,
      requestId: d.ctx.id,
    })
  })

  it('monitor: forwards, and the event says what would have happened and what was asked', async () => {
    const t = setup({ ...base, undocumented: 'monitor' })
    const d = await t.send('POST /admin/debug')
    expect(d.decision.action).toBe('allow')
    expect(d.decision.wouldHave).toBe('block')
    expect(d.verdict).toMatchObject({
      monitor: true,
      reason: 'POST /admin/debug: path not in the contract',
    })
    // Validation still enforces: monitor is about undocumented requests only.
    expect((await t.send('GET /items/0')).decision.action).toBe('block')
  })

  it('flag: answers 404 and flags the client’s IP and fingerprint, like a honeypot hit', async () => {
    const t = setup({ ...base, undocumented: 'flag', flagTtl: '10m' })
    const d = await t.send('GET /api/internal/export', {
      ip: '198.51.100.4',
      headers: { 'user-agent': 'sweeper/1.0' },
    })
    expect(d.verdict).toMatchObject({ status: 404, monitor: false })
    const keys = identityFlagKeys(d.ctx.identity)
    expect(keys).toEqual([
      flagKey('ip', '198.51.100.4'),
      flagKey('ipPrefix', '198.51.100.4'),
      flagKey('fingerprint', d.ctx.identity.fingerprint!),
    ])
    expect(d.verdict?.data?.flagged).toEqual(keys)
    const values = t.store.flagged(keys, T0 + 1) as string[]
    for (const v of values)
      expect(parseFlagValue(v)).toEqual({
        rule: 'contract.undocumented',
        reason: 'GET /api/internal/export: path not in the contract',
        at: T0,
        expiresAt: T0 + 600_000,
        // Who set it: a shared facet's flag is corroborated only by the same client's other half.
        fingerprint: d.ctx.identity.fingerprint,
        net: '198.51.100.4',
      })
    expect(t.store.flagged(keys, T0 + 11 * 60_000)).toEqual([undefined, undefined, undefined])
    // A documented request flags nobody.
    await t.send('GET /items/7', { ip: '198.51.100.5' })
    expect(t.store.flagged([flagKey('ip', '198.51.100.5')], T0)).toEqual([undefined])
  })

  it('flag: what a browser asks for by itself (its icon) is answered 404 but flags nobody', async () => {
    const t = setup({ ...base, undocumented: 'flag' })
    for (const path of ['/favicon.ico', '/apple-touch-icon-120x120-precomposed.png']) {
      const d = await t.send(`GET ${path}`, { ip: '198.51.100.7' })
      expect(d.verdict).toMatchObject({ status: 404, monitor: false })
      expect(d.verdict?.data?.flagged).toBeUndefined()
      expect(d.verdict?.data?.weight).toBe(0)
    }
    expect(t.store.flagged([flagKey('ip', '198.51.100.7')], T0)).toEqual([undefined])
    // Not a way around the flag: the same client's next undocumented request is flagged.
    const d = await t.send('GET /favicon.ico.bak', { ip: '198.51.100.7' })
    expect(d.verdict?.data?.flagged).toContain(flagKey('ip', '198.51.100.7'))
  })

  it('flagFacets narrows what an undocumented request flags (not the office NAT)', async () => {
    const t = setup({ ...base, undocumented: 'flag', flagFacets: ['fingerprint', 'device'] })
    const d = await t.send('GET /api/internal/export', {
      ip: '198.51.100.6',
      headers: { 'user-agent': 'sweeper/1.0' },
    })
    const fp = flagKey('fingerprint', d.ctx.identity.fingerprint!)
    expect(d.verdict?.data?.flagged).toEqual([fp])
    const [ipFlag, fpFlag] = t.store.flagged([flagKey('ip', '198.51.100.6'), fp], T0) as (
      string | undefined
    )[]
    expect(ipFlag).toBeUndefined()
    // The flag says which client set it, though only the fingerprint is flagged: the behaviour
    // layer counts it in full on that network only (red team 9 recheck: it said no network).
    expect(parseFlagValue(fpFlag!)).toMatchObject({
      rule: 'contract.undocumented',
      net: '198.51.100.6',
      fingerprint: d.ctx.identity.fingerprint,
    })
  })

  it('flag in monitor mode flags nobody (monitor never acts)', async () => {
    const t = setup({ ...base, undocumented: 'flag', mode: 'monitor' })
    const d = await t.send('GET /api/internal/export', { ip: '198.51.100.4' })
    expect(d.decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(d.verdict?.data?.flagged).toBeUndefined()
    expect(t.store.flagged([flagKey('ip', '198.51.100.4')], T0)).toEqual([undefined])
  })

  it('exempts prefixes that have no contract yet: neither refused nor validated', async () => {
    const t = setup({ ...base, exempt: ['/internal-legacy/*', '/health'] })
    expect(
      (await t.send('POST /internal-legacy/v1/anything', { json: { x: 1 } })).decision.action,
    ).toBe('allow')
    expect((await t.send('GET /health')).decision.action).toBe('allow')
    expect((await t.send('GET /healthz')).decision.action).toBe('block')
  })

  it('paths are case-sensitive, as OpenAPI says; a near miss is named', async () => {
    const t = setup(base)
    const d = await t.send('GET /Items/7')
    expect(d.verdict?.reason).toBe(
      'GET /Items/7: path not in the contract (differs in case from /items/{id})',
    )
    const loose = setup({ ...base, caseSensitive: false })
    expect((await loose.send('GET /Items/7')).decision.action).toBe('allow')
    expect((await loose.send('GET /ITEMS/0')).verdict?.rule).toBe('contract.invalid')
  })

  it('HEAD is documented wherever GET is; a trailing slash is the same path', async () => {
    const t = setup(base)
    expect((await t.send('HEAD /items/7')).decision.action).toBe('allow')
    expect((await t.send('GET /items/7/')).decision.action).toBe('allow')
    expect((await t.send('HEAD /orders')).verdict?.status).toBe(405)
  })

  it('a CORS preflight is judged by the method it asks about', async () => {
    const t = setup(base)
    const pre = (method: string, path: string) =>
      t.send(`OPTIONS ${path}`, {
        headers: { origin: 'https://shop.example', 'access-control-request-method': method },
      })
    expect((await pre('POST', '/orders')).verdict).toBeUndefined()
    expect((await pre('DELETE', '/orders')).verdict).toMatchObject({ status: 405 })
    expect((await pre('GET', '/secret')).verdict).toMatchObject({ status: 404 })
    // OPTIONS without a preflight's headers is an ordinary (undocumented) method.
    expect((await t.send('OPTIONS /orders')).verdict).toMatchObject({ status: 405 })
  })

  it('serves paths under the first server URL’s path, or under basePath', async () => {
    const t = setup({ openapi: `${FIX}/petstore-31.yaml` })
    expect((await t.send('GET /v1/pets/3')).decision.action).toBe('allow')
    expect((await t.send('GET /pets/3')).verdict?.status).toBe(404)
    const api = setup({ openapi: `${FIX}/petstore-31.yaml`, basePath: '/api' })
    expect((await api.send('GET /api/pets/3')).decision.action).toBe('allow')
  })

  it('several documents add their paths; the same operation twice is a config error', async () => {
    const t = setup({ openapi: [`${FIX}/keywords.yaml`, `${FIX}/petstore-30.yaml`] })
    expect((await t.send('GET /items/7')).decision.action).toBe('allow')
    expect((await t.send('GET /v1/pets/7')).decision.action).toBe('allow')
    expect(() =>
      setup({ openapi: [`${FIX}/petstore-30.yaml`, `${FIX}/petstore-31.yaml`], basePath: '/' }),
    ).toThrow(/POST \/pets is described twice/)
  })
})

describe('contract: refusals', () => {
  it('names the field and the rule in an RFC 9457 problem, with a tampering signal', async () => {
    const t = setup({ openapi: `${FIX}/keywords.yaml`, signals: { tampering: 25 } })
    const d = await t.send('POST /orders', {
      json: { items: [{ sku: 'ABC-1234', quantity: -3 }], currency: 'EUR' },
    })
    expect(d.decision.action).toBe('block')
    expect(d.verdict).toMatchObject({
      rule: 'contract.invalid',
      reason: 'POST /orders: body field /items/0/quantity breaks "minimum"',
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      data: {
        signal: 'tampering',
        weight: 25,
        operation: 'POST /orders',
        errors: [{ in: 'body', field: '/items/0/quantity', rule: 'minimum' }],
      },
    })
    expect(JSON.parse(d.verdict!.body!)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail:
        'The request does not match the API contract: body field /items/0/quantity breaks "minimum".',
      errors: [{ in: 'body', field: '/items/0/quantity', rule: 'minimum' }],
    })
    expect(toEffect(d.decision, d.ctx.id)).toMatchObject({
      kind: 'respond',
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
    })
  })

  it('monitor mode: the problem is logged as "would have", the request goes through', async () => {
    const t = setup({ openapi: `${FIX}/keywords.yaml`, mode: 'monitor' })
    const d = await t.send('GET /search?q=m')
    expect(d.decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(d.verdict).toMatchObject({ monitor: true, rule: 'contract.invalid' })
  })

  it('lists every parameter that cannot be read, and does not read the body after one', async () => {
    const t = setup({ openapi: `${FIX}/keywords.yaml` })
    const d = await t.send('GET /search?q=mug&limit=1&limit=2&sort=up&sort=down')
    expect(problem(d.verdict).errors).toEqual([
      { in: 'query', field: 'limit', rule: 'duplicate' },
      { in: 'query', field: 'sort', rule: 'duplicate' },
    ])
    const b = await t.send('POST /orders?x=1', {
      json: { items: [], currency: 'EUR' },
      headers: { cookie: 'a=1' },
    })
    expect(problem(b.verdict).errors).toEqual([{ in: 'body', field: '/items', rule: 'minItems' }])
  })

  it('unknownQuery: refuse names a query parameter the operation does not declare', async () => {
    const t = setup({ openapi: `${FIX}/keywords.yaml`, validate: { unknownQuery: 'refuse' } })
    expect((await t.send('GET /search?q=mug&price[min]=2&ids=1')).decision.action).toBe('allow')
    const d = await t.send('GET /search?q=mug&debug=true')
    expect(problem(d.verdict).errors).toEqual([
      { in: 'query', field: 'debug', rule: 'undocumented' },
    ])
    const open = setup({ openapi: `${FIX}/keywords.yaml` })
    expect((await open.send('GET /search?q=mug&debug=true')).decision.action).toBe('allow')
  })

  it('refuses another spelling of a declared query parameter, even under unknownQuery: allow', async () => {
    const t = setup({ openapi: `${FIX}/keywords.yaml` })
    expect((await t.send('GET /search?q=mug&limit=10')).decision.action).toBe('allow')
    // A case-insensitive backend reads `Limit` as `limit`, a value the contract never checked.
    for (const target of ['/search?q=mug&Limit=1000000', '/search?q=mug&limit=10&LIMIT=1000000']) {
      const d = await t.send(`GET ${target}`)
      expect(d.decision.action, target).toBe('block')
      expect(problem(d.verdict).errors[0], target).toMatchObject({ in: 'query', rule: 'spelling' })
    }
  })

  it('validate: parts switched off are not checked (and a body is then not read)', async () => {
    const t = setup({
      openapi: `${FIX}/keywords.yaml`,
      validate: { body: false, query: false, headers: false, cookies: false },
    })
    expect(
      (await t.send('GET /search?limit=0', { headers: { 'x-trace-id': 'x' } })).verdict,
    ).toBeUndefined()
    expect((await t.send('POST /orders', { json: { items: 'x' } })).verdict).toBeUndefined()
    expect(t.reads.count).toBe(0)
    // Path parameters are part of the route: always checked.
    expect((await t.send('GET /items/0')).verdict?.rule).toBe('contract.invalid')
  })
})

describe('contract: one body parse, shared and forwarded', () => {
  it('reads the body once for the contract, identity and limits, and keeps its bytes', async () => {
    const t = setup(
      { openapi: `${FIX}/keywords.yaml` },
      {
        identity: { account: [{ body: 'email', paths: ['/orders'] }] },
        limits: {
          rules: [
            { id: 'per-account', paths: ['/orders'], key: ['account'], limit: 5, window: '1m' },
          ],
        },
      },
    )
    const text =
      '{ "items": [ {"sku":"ABC-1234","quantity":1} ],\n "currency":"EUR", "email":"Bob@Example.com" }'
    const d = await t.send('POST /orders', {
      body: text,
      headers: { 'content-type': 'application/json' },
    })
    expect(d.decision.action).toBe('allow')
    expect(t.reads.count).toBe(1)
    expect(d.ctx.identity.account).toBe('bob@example.com')
    // The upstream is sent these very bytes (the proxy forwards the buffered body as is).
    expect(bodyState(d.ctx)?.value?.bytes.toString()).toBe(text)
    const fields = await bodyFields(d.ctx)
    expect(fields.ok && fields.value).toEqual(JSON.parse(text))
    expect(await bodyFields(d.ctx)).toBe(fields)
  })
})

describe('contract: $ref across files', () => {
  const t = () => setup({ openapi: `${FIX}/split/api.yaml` })

  it('resolves parameters, bodies, schemas and path items from files next to the document', async () => {
    const s = t()
    expect((await s.send('GET /orders/ord_12')).decision.action).toBe('allow')
    expect(problem((await s.send('GET /orders/12')).verdict).errors).toEqual([
      { in: 'path', field: 'orderId', rule: 'pattern' },
    ])
    const order = { amount: { value: 100, currency: 'EUR' }, lines: [{ quantity: 1 }] }
    expect((await s.send('POST /orders', { json: order })).decision.action).toBe('allow')
    const cases: [unknown, string, string][] = [
      [{ ...order, amount: { value: 1, currency: 'eur' } }, '/amount/currency', 'pattern'],
      [{ ...order, amount: { value: 1 } }, '/amount/currency', 'required'],
      [{ ...order, lines: [{ quantity: 0 }] }, '/lines/0/quantity', 'minimum'],
      [
        { ...order, parent: { ...order, parent: { lines: [] } } },
        '/parent/parent/amount',
        'required',
      ],
    ]
    for (const [json, field, rule] of cases)
      expect(problem((await s.send('POST /orders', { json })).verdict).errors).toEqual([
        { in: 'body', field, rule },
      ])
    expect(
      problem((await s.send('POST /refunds', { json: { orderId: 'x' } })).verdict).errors,
    ).toEqual([{ in: 'body', field: '/orderId', rule: 'pattern' }])
  })

  it('refuses remote refs, refs out of the directory and refs to nothing, naming file and line', () => {
    expect(() => setup({ openapi: `${FIX}/remote-ref.yaml` })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: `${FIX}/remote-ref.yaml:9 paths["/x"].post.requestBody.content["application/json"].schema.$ref: $ref "https://schemas.example/x.json" is remote: only files next to the document may be referenced (copy the file next to the document and refer to it by a relative path)`,
      }),
    )
    expect(() => setup({ openapi: `${FIX}/outside/escape.yaml` })).toThrow(
      /outside\/escape\.yaml:9 .*leaves the document's directory/,
    )
    expect(() => setup({ openapi: `${FIX}/broken-ref.yaml` })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: `${FIX}/broken-ref.yaml:7 paths["/x"].get.parameters[0].$ref: $ref "${new URL(`../../${FIX}/broken-ref.yaml`, import.meta.url).href}#/components/parameters/Nope" points at nothing`,
      }),
    )
  })

  it('reports a broken schema keyword, an unreadable file and a Swagger 2.0 document', () => {
    expect(() => setup({ openapi: `${FIX}/bad-schema.yaml` })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: `${FIX}/bad-schema.yaml:11 paths["/x"].get.parameters[0].schema.minimum: expected a number, got "one"`,
      }),
    )
    expect(() => setup({ openapi: `${FIX}/missing.yaml` })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_UNREADABLE' }),
    )
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-contract-'))
    writeFileSync(join(dir, 'swagger.json'), '{"swagger":"2.0","paths":{}}')
    expect(() => setup({ openapi: join(dir, 'swagger.json') })).toThrow(
      /swagger: expected an OpenAPI 3.0 or 3.1 document \("openapi: 3.1.0"\), got "2.0" \(convert Swagger 2.0 to OpenAPI 3 first\)/,
    )
  })
})

describe('contract: OpenAPI 3.0 and 3.1', () => {
  const pet = { name: 'Rex', tag: 'good' }
  // [what, body, 3.0 violation, 3.1 violation]
  const CASES: [string, Record<string, unknown>, string | undefined, string | undefined][] = [
    ['a plain pet', pet, undefined, undefined],
    ['null tag: nullable (3.0) / type list (3.1)', { ...pet, tag: null }, undefined, undefined],
    ['null kind: nullable enum / enum with null', { ...pet, kind: null }, undefined, undefined],
    ['a kind outside the enum', { ...pet, kind: 'cow' }, '/kind enum', '/kind enum'],
    [
      '3.1 ignores 3.0’s nullable keyword',
      { ...pet, legacy: null },
      '/legacy additionalProperties',
      '/legacy type',
    ],
    [
      'null owner: 3.0 keeps nullable next to a $ref',
      { ...pet, owner: null },
      undefined,
      '/owner type',
    ],
    [
      '3.1 applies keywords next to a $ref, 3.0 ignores them',
      { ...pet, owner: { name: 'A' } },
      undefined,
      '/owner/email required',
    ],
    [
      'weight at an exclusive minimum (boolean in 3.0, number in 3.1)',
      { ...pet, weight: 0 },
      '/weight exclusiveMinimum',
      '/weight exclusiveMinimum',
    ],
    ['weight just above it', { ...pet, weight: 0.1 }, undefined, undefined],
    ['a tag of the wrong type', { ...pet, tag: 5 }, '/tag type', '/tag type'],
  ]

  for (const [version, file, col] of [
    ['3.0', 'petstore-30.yaml', 2],
    ['3.1', 'petstore-31.yaml', 3],
  ] as const) {
    it.each(CASES)(`${version}: %s`, async (...c) => {
      const t = setup({ openapi: `${FIX}/${file}` })
      const d = await t.send('POST /v1/pets', { json: c[1] })
      const expected = c[col]
      if (expected === undefined) expect(d.verdict).toBeUndefined()
      else {
        const [field, rule] = expected.split(' ')
        expect(problem(d.verdict).errors).toEqual([{ in: 'body', field, rule }])
      }
    })
    it(`${version}: exclusiveMinimum on a path parameter`, async () => {
      const t = setup({ openapi: `${FIX}/${file}` })
      expect((await t.send('GET /v1/pets/1')).verdict).toBeUndefined()
      expect(problem((await t.send('GET /v1/pets/0')).verdict).errors).toEqual([
        { in: 'path', field: 'petId', rule: 'exclusiveMinimum' },
      ])
    })
  }
})

describe('contract: compiled once, at load', () => {
  afterEach(() => vi.restoreAllMocks())

  /** 100 resources × 5 operations, each resource with its own schemas, as JSON. */
  function bigContract(): string {
    const schemas: Record<string, unknown> = {}
    const paths: Record<string, unknown> = {}
    const ok = { 200: { description: 'ok' } }
    const id = { $ref: '#/components/parameters/Id' }
    const body = (s: string) => ({
      required: true,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${s}` } } },
    })
    for (let r = 0; r < 100; r++) {
      schemas[`New${r}`] = {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 20 + r },
          [`count${r}`]: { type: 'integer', minimum: 0, maximum: 1000 },
          email: { type: 'string', format: 'email' },
          tags: { type: 'array', maxItems: 10, items: { type: 'string', pattern: '^[a-z]+$' } },
        },
      }
      schemas[`Patch${r}`] = {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          name: { type: 'string', maxLength: 20 + r },
          status: { enum: ['open', 'closed', `s${r}`] },
        },
      }
      paths[`/v1/res${r}`] = {
        get: {
          parameters: [
            { $ref: '#/components/parameters/Page' },
            { name: `f${r}`, in: 'query', schema: { type: 'string', maxLength: r + 1 } },
          ],
          responses: ok,
        },
        post: { requestBody: body(`New${r}`), responses: ok },
      }
      paths[`/v1/res${r}/{id}`] = {
        get: { parameters: [id], responses: ok },
        patch: { parameters: [id], requestBody: body(`Patch${r}`), responses: ok },
        delete: { parameters: [id], responses: ok },
      }
    }
    const doc = {
      openapi: '3.1.0',
      info: { title: 'big', version: '1' },
      paths,
      components: {
        schemas,
        parameters: {
          Id: {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[a-z0-9]{8,32}$' },
          },
          Page: { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
        },
      },
    }
    const file = join(mkdtempSync(join(tmpdir(), 'bulwark-contract-')), 'big.json')
    writeFileSync(file, JSON.stringify(doc, null, 2))
    return file
  }

  it('loads a contract of 500 operations in under a second, then never compiles again', async () => {
    const file = bigContract()
    setup({ openapi: `${FIX}/keywords.yaml` }) // warm the JIT, as any earlier load would
    // CPU time, best of three loads (each compiles everything afresh): what loading costs,
    // without what other processes on a busy machine cost it.
    let best = Infinity
    let t: ReturnType<typeof setup> | undefined
    for (let i = 0; i < 3; i++) {
      const before = process.cpuUsage()
      t = setup({ openapi: file })
      const cpu = process.cpuUsage(before)
      best = Math.min(best, (cpu.user + cpu.system) / 1000)
    }
    expect(best).toBeLessThan(1000)
    const big = t!

    const spies = (
      ['compile', 'compileAsync', 'getSchema', 'addSchema', 'validate', 'validateSchema'] as const
    ).map((m) => vi.spyOn(Ajv2020.prototype, m))
    let refused = 0
    for (let r = 0; r < 100; r++) {
      const ok = [
        await big.send(`GET /v1/res${r}?page=2`),
        await big.send(`POST /v1/res${r}`, { json: { name: 'a', email: 'a@b.example' } }),
        await big.send(`GET /v1/res${r}/abcdefgh12`),
        await big.send(`PATCH /v1/res${r}/abcdefgh12`, { json: { status: 'closed' } }),
        await big.send(`DELETE /v1/res${r}/abcdefgh12`),
      ]
      for (const d of ok) expect(d.decision.action).toBe('allow')
      const bad = [
        await big.send(`GET /v1/res${r}?page=0`),
        await big.send(`POST /v1/res${r}`, { json: { name: 'a', price: 1 } }),
        await big.send(`PATCH /v1/res${r}/abcdefgh12`, { json: {} }),
      ]
      for (const d of bad) expect(d.verdict?.rule).toBe('contract.invalid')
      refused += bad.length
    }
    expect(refused).toBe(300)
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
  })
})
