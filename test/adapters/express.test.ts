import { createServer, type Server } from 'node:http'
import express5 from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkExpress, keepRawBody } from '../../src/adapters/express.js'
import { createBulwark, type Bulwark, type Inspection } from '../../src/index.js'
import {
  appAnswer,
  close,
  decisions,
  ECHO_POLICY,
  eventually,
  listen,
  logins,
  POLICY,
  send,
} from './helpers.js'

let servers: Server[] = []
let bulwarks: Bulwark[] = []
afterEach(async () => {
  await Promise.all(servers.map(close))
  await Promise.all(bulwarks.map((b) => b.close()))
  servers = []
  bulwarks = []
})

type Placement = 'before-parser' | 'after-parser-raw' | 'after-parser'

/** Loosely typed: the same app is built with Express 4 and Express 5. */
type AnyExpress = (() => any) & {
  json: (o?: object) => any
  urlencoded: (o?: object) => any
  Router: () => any
}

const versions: [string, AnyExpress][] = [
  ['express 5', express5 as unknown as AnyExpress],
  ['express 4', express4 as unknown as AnyExpress],
]

describe.each(versions)('%s', (_name, express) => {
  async function start(placement: Placement, config: Record<string, unknown> = POLICY) {
    const bulwark = await createBulwark({ config })
    bulwarks.push(bulwark)
    const calls: string[] = []
    const seen: (Inspection | undefined)[] = []
    const app = express()
    const guard = bulwarkExpress(bulwark, {
      identify: (req) => req.headers['x-user'] as string | undefined,
    })
    const parsers = (verify?: typeof keepRawBody) => [
      express.json(verify ? { verify } : {}),
      express.urlencoded({ extended: false, ...(verify ? { verify } : {}) }),
    ]
    if (placement === 'before-parser') app.use(guard, ...parsers())
    else app.use(...parsers(placement === 'after-parser-raw' ? keepRawBody : undefined), guard)
    app.use((req: any, res: any) => {
      calls.push(req.originalUrl)
      seen.push(res.locals.bulwark)
      const a = appAnswer(req.method, req.path, req.body)
      res.status(a.status).json(a.json)
    })
    const server = createServer(app)
    servers.push(server)
    return { url: await listen(server), calls, seen }
  }

  it('answers a breached limit itself, the way the proxy does', async () => {
    const app = await start('before-parser')
    expect(await logins(app.url, 3, 'victim')).toEqual([401, 401, 429])
    expect(app.calls).toHaveLength(2)
    const r = await send(app.url, '/login', { json: { username: 'VICTIM' } })
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toMatch(/^\d+$/)
    expect(r.json()).toEqual({
      error: 'Too Many Requests',
      status: 429,
      requestId: r.headers['x-request-id'],
    })
  })

  it.each(['before-parser', 'after-parser-raw'] as const)(
    '%s: the app parses the same body, and an ambiguous one is refused',
    async (placement) => {
      const app = await start(placement, ECHO_POLICY)
      const r = await send(app.url, '/echo', { json: { username: 'alice', list: [1, 2] } })
      expect(r.json()).toEqual({ body: { username: 'alice', list: [1, 2] } })
      expect(app.seen.at(-1)!.context.identity.account).toBe('alice')
      const form = await send(app.url, '/echo', {
        body: 'username=Bob&x=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(form.json()).toEqual({ body: { username: 'Bob', x: '1' } })
      expect(app.seen.at(-1)!.context.identity.account).toBe('bob')
      const dup = await send(app.url, '/login', {
        body: '{"username":"a","username":"victim"}',
        headers: { 'content-type': 'application/json' },
      })
      expect(dup.status).toBe(400)
      const twice = await send(app.url, '/login', {
        body: 'username=a&username=b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(twice.status).toBe(400)
      expect(app.calls).toEqual(['/echo', '/echo'])
    },
  )

  it('after-parser without the raw body: reads the parsed body; a repeated key is no longer seen', async () => {
    const app = await start('after-parser', ECHO_POLICY)
    const r = await send(app.url, '/echo', { json: { username: 'Carol' } })
    expect(r.json()).toEqual({ body: { username: 'Carol' } })
    expect(app.seen.at(-1)!.context.identity.account).toBe('carol')
    // The app and Bulwark both read the last value, so they agree, but nothing is refused.
    const dup = await send(app.url, '/echo', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.json()).toEqual({ body: { username: 'victim' } })
    expect(app.seen.at(-1)!.context.identity.account).toBe('victim')
    // A form field given twice is still refused (the parser keeps both).
    const twice = await send(app.url, '/login', {
      body: 'username=a&username=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(twice.status).toBe(400)
    // Limits count on the parsed account as on the wire.
    expect(await logins(app.url, 3, 'dave')).toEqual([401, 401, 429])
  })

  it('counts failed logins from the status the app answered', async () => {
    const app = await start('before-parser')
    const d = decisions()
    try {
      const from = '203.0.113.7'
      for (const u of ['a', 'b'])
        expect((await send(app.url, '/login', { json: { username: u }, from })).status).toBe(401)
      expect((await send(app.url, '/login', { json: { username: 'c' }, from })).status).toBe(429)
      await eventually(() => d.messages.length === 3)
      expect(d.messages.map((m) => [m.outcome.status, m.decision.decisive?.rule])).toEqual([
        [401, undefined],
        [401, undefined],
        [429, 'limits.failed-logins'],
      ])
    } finally {
      d.stop()
    }
  })

  it('takes the account from `identify` and exposes the inspection on res.locals', async () => {
    const app = await start('before-parser')
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'alice' } })).status).toBe(200)
    expect(app.seen.at(-1)).toMatchObject({
      kind: 'proceed',
      context: { identity: { account: 'alice' } },
    })
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'ALICE' } })).status).toBe(429)
  })

  it('refuses ambiguous targets and blocks by network, before any route', async () => {
    const app = await start('before-parser')
    expect((await send(app.url, '/a%2fb')).status).toBe(400)
    expect((await send(app.url, '/products/1;jsessionid=x')).status).toBe(400)
    expect((await send(app.url, '/Admin/users', { from: '203.0.113.1' })).status).toBe(404)
    expect((await send(app.url, '/admin/users', { from: '10.2.3.4' })).status).toBe(200)
    expect(app.calls).toEqual(['/admin/users'])
  })

  it('inside a mounted router, matches rules on the full path (originalUrl)', async () => {
    const bulwark = await createBulwark({ config: POLICY })
    bulwarks.push(bulwark)
    const app = express()
    const router = express.Router()
    router.use(bulwarkExpress(bulwark), express.json())
    router.post('/login', (req: any, res: any) => {
      const a = appAnswer('POST', '/login', req.body)
      res.status(a.status).json(a.json)
    })
    // The rules name /login; mounted under /v1 the router sees /login but the target is /v1/login.
    app.use('/v1', router)
    app.use(bulwarkExpress(bulwark, {}), (_req: any, res: any) => res.json({}))
    const server = createServer(app)
    servers.push(server)
    const url = await listen(server)
    // /v1/login is not /login: no login rule applies, the router answers every time
    expect(await logins(url, 3, 'erin', 'wrong', '/v1/login')).toEqual([401, 401, 401])
    expect((await send(url, '/v1/admin/x', { from: '203.0.113.2' })).status).toBe(200)
  })

  it('passes errors from `identify` to Express’s error handling', async () => {
    const bulwark = await createBulwark({ config: POLICY })
    bulwarks.push(bulwark)
    const app = express()
    app.use(
      bulwarkExpress(bulwark, {
        identify: () => {
          throw new Error('auth store down')
        },
      }),
    )
    app.use((err: Error, _req: any, res: any, _next: any) =>
      res.status(503).json({ error: err.message }),
    )
    const server = createServer(app)
    servers.push(server)
    const r = await send(await listen(server), '/x')
    expect(r.status).toBe(503)
    expect(r.json()).toEqual({ error: 'auth store down' })
  })
})
